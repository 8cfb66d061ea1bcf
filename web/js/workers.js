// #/workers: the workers the coordinator has heard from lately (it forgets one
// silent past --worker-timeout-s), the device classes each claims from, what each runs and its last heartbeat,
// polled every 2 s. Names of running trials are fetched once per trial id.
import { api, fmtAgo, h, poll, renderIfChanged } from './util.js';

const trialNames = new Map(); // id -> {name, sweep_id} (a trial's name never changes)

export async function render(app) {
  const body = h('tbody');
  const info = h('p', { class: 'muted', id: 'workers-info' });
  app.append(
    h('h1', null, 'Workers'),
    info,
    h('table', { class: 'grid', id: 'workers-table' },
      h('thead', null, h('tr', null,
        h('th', null, 'name'), h('th', null, 'classes'), h('th', null, 'host'), h('th', { class: 'num' }, 'pid'),
        h('th', { class: 'num' }, 'slots'), h('th', null, 'running'), h('th', null, 'last heartbeat'))),
      body));
  const rows = new Map();

  const refresh = async () => {
    const data = await api('workers');
    const workers = [...data.workers].sort((a, b) => a.name.localeCompare(b.name));
    const missing = workers.flatMap((w) => w.running_trials || []).filter((id) => !trialNames.has(id));
    await Promise.all(missing.slice(0, 20).map(async (id) => {
      try {
        const t = await api('trials/' + id);
        trialNames.set(id, { name: t.name, sweep_id: t.sweep_id });
      } catch (e) { /* shown by id only */ }
    }));
    const now = Date.now() / 1000;
    const seen = new Set();
    for (const w of workers) {
      seen.add(w.name);
      let tr = rows.get(w.name);
      if (!tr) {
        tr = h('tr', { dataset: { worker: w.name } });
        rows.set(w.name, tr);
      }
      // Redrawn every poll only because "x s ago" moves; cheap for a few hundred rows.
      renderIfChanged(tr, JSON.stringify(w) + Math.floor(now - w.last_seen), () => row(w, now));
      body.append(tr); // keeps the sorted order; moving a node is cheap
    }
    for (const [name, tr] of rows) if (!seen.has(name)) { tr.remove(); rows.delete(name); }
    const busy = workers.filter((w) => (w.running_trials || []).length).length;
    renderIfChanged(info, `${workers.length}/${busy}`, () => (workers.length
      ? `${workers.length} worker${workers.length > 1 ? 's' : ''} alive, ${busy} busy.`
      : 'No worker has reported lately. Start one with `sic-worker --redis HOST:PORT`.'));
  };
  return poll(refresh, 2000);
}

function row(w, now) {
  const age = now - w.last_seen;
  const running = w.running_trials || [];
  return [
    h('td', null, w.name),
    h('td', { dataset: { col: 'classes' } }, (w.classes && w.classes.length ? w.classes : ['cpu']).join(', ')),
    h('td', null, w.host || '–'),
    h('td', { class: 'num' }, w.pid ?? '–'),
    h('td', { class: 'num' }, `${running.length}/${w.concurrency ?? '?'}`),
    h('td', null, running.length ? running.map((id, i) => {
      const t = trialNames.get(id);
      return [i ? ', ' : '', h('a', { href: '#/trials/' + id, title: t ? 'sweep ' + t.sweep_id : '' }, t ? t.name : 'trial ' + id)];
    }) : h('span', { class: 'muted' }, 'idle')),
    h('td', { class: age > 10 ? 'bad' : '' }, h('span', { class: 'dot ' + (age > 10 ? 'stale' : 'alive') }), fmtAgo(w.last_seen)),
  ];
}
