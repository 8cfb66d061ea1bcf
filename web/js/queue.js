// #/queue: what waits in each device class's queue and why, from
// /api/v1/queue, polled every 2 s. One card per class (its live workers, their
// slots and how many are free; its trials not yet fed, queued in Redis and
// running) with the sweeps that have trials there, highest priority first,
// each with the reason its trials wait ("no live worker serves class cuda",
// "at its cap (max_running 2)", ...: coordinator/queue_view.h).
import { api, h, poll, renderIfChanged } from './util.js';

export async function render(app) {
  const info = h('p', { class: 'muted', id: 'queue-info' });
  const list = h('div', { id: 'queue' });
  app.append(h('h1', null, 'Queue'), info, list);
  const cards = new Map();

  const refresh = async () => {
    const data = await api('queue');
    const seen = new Set();
    for (const c of data.classes) {
      seen.add(c.class);
      let card = cards.get(c.class);
      if (!card) {
        card = h('section', { class: 'card queue-class', dataset: { class: c.class } });
        cards.set(c.class, card);
      }
      renderIfChanged(card, JSON.stringify(c), () => classCard(c));
      list.append(card); // keeps the server's order (by class name)
    }
    for (const [name, card] of cards) if (!seen.has(name)) { card.remove(); cards.delete(name); }
    const cap = data.max_running_per_user;
    renderIfChanged(info, JSON.stringify([data.classes.length, cap]), () => [
      data.classes.length ? '' : 'Nothing waits and no worker has reported lately. ',
      cap ? `Each user may have at most ${cap} trials queued or running (--max-running-per-user), unless an admin gave them a quota (sicctl quota).`
        : 'No per-user cap on running trials, except the quotas an admin set (sicctl quota).',
    ]);
  };
  return poll(refresh, 2000);
}

function classCard(c) {
  const noWorker = c.workers === 0;
  return [
    h('h2', null, 'class ', h('span', { class: 'class-name' }, c.class)),
    h('dl', { class: 'facts' },
      fact('workers', c.workers, noWorker ? 'bad' : '', 'workers'),
      fact('slots (free)', `${c.slots} (${c.idle} free)`, '', 'slots'),
      fact('not yet fed', c.pending, '', 'pending'),
      fact('queued', c.queued, '', 'queued'),
      fact('running', c.running, '', 'running')),
    c.sweeps.length ? h('table', { class: 'grid queue-sweeps' },
      h('thead', null, h('tr', null,
        h('th', { class: 'num' }, 'sweep'), h('th', null, 'name'), h('th', null, 'owner'),
        h('th', { class: 'num' }, 'priority'), h('th', { class: 'num' }, 'not yet fed'), h('th', { class: 'num' }, 'queued'),
        h('th', { class: 'num' }, 'running'), h('th', { class: 'num' }, 'cap'),
        h('th', { class: 'num', title: "the owner's quota (sicctl quota), else the per-user default" }, "owner's cap"),
        h('th', { class: 'wide' }, 'why it waits'))),
      h('tbody', null, c.sweeps.map((s) => h('tr', { dataset: { sweep: s.sweep_id } },
        h('td', { class: 'num' }, s.sweep_id),
        h('td', null, h('a', { href: '#/sweeps/' + s.sweep_id }, s.name || '(unnamed)')),
        h('td', { dataset: { col: 'owner' } }, s.owner || h('span', { class: 'muted' }, '–')),
        h('td', { class: 'num', dataset: { col: 'priority' } }, s.priority),
        h('td', { class: 'num' }, s.pending),
        h('td', { class: 'num' }, s.queued),
        h('td', { class: 'num' }, s.running),
        h('td', { class: 'num' }, s.max_running || '–'),
        h('td', { class: 'num', dataset: { col: 'owner_cap' } }, s.owner_cap || '–'),
        h('td', { class: 'wide' + (/no live worker/.test(s.reason) ? ' bad' : ''), dataset: { col: 'reason' } },
          s.reason || h('span', { class: 'muted' }, 'nothing waits')))))) : h('p', { class: 'muted' }, 'Nothing of this class waits or runs.'),
  ];
}

function fact(k, v, cls, col) {
  return h('div', null, h('dt', null, k), h('dd', { class: cls || null, dataset: { col } }, v));
}
