// #/sweeps: every sweep, newest first, with its owner, priority and progress,
// polled every 2 s. Rows are keyed by sweep id and rebuilt only when that
// sweep changed. #/sweeps?owner=U shows one user's sweeps (asked of the
// server with owner=U; a coordinator that ignores the parameter is filtered
// here, on the page it sent).
import { setQuery } from './nav.js';
import { FINAL, api, fmtTime, h, poll, progressBar, renderIfChanged } from './util.js';

const PAGE = 100;

export async function render(app, _params, query) {
  const offset = Math.max(0, parseInt(query.get('offset') || '0', 10) || 0);
  const owner = query.get('owner') || '';
  const body = h('tbody');
  const owners = h('datalist', { id: 'owners' });
  const info = h('span', { class: 'muted' });
  const pager = h('div', { class: 'pager' });
  app.append(
    h('h1', null, 'Sweeps'),
    h('div', { class: 'controls' },
      h('label', null, 'user ', h('input', {
        id: 'filter-owner', list: 'owners', value: owner, placeholder: 'everyone', size: 16,
        onchange: (e) => setQuery({ owner: e.target.value.trim(), offset: '' }, { replace: true }),
      })), owners,
      owner ? [' ', h('a', { href: '#/sweeps', id: 'clear-owner' }, 'everyone')] : null),
    h('table', { class: 'grid', id: 'sweeps-table' },
      h('thead', null, h('tr', null,
        h('th', { class: 'num' }, 'id'), h('th', null, 'name'), h('th', null, 'owner'),
        h('th', { class: 'num', title: 'higher is fed first' }, 'priority'), h('th', null, 'created'),
        h('th', { class: 'wide' }, 'progress'),
        h('th', { class: 'num' }, 'done'), h('th', { class: 'num' }, 'running'),
        h('th', { class: 'num' }, 'queued'), h('th', { class: 'num' }, 'failed'))),
      body),
    h('div', { class: 'below' }, info, pager),
  );
  const rows = new Map();
  const seenOwners = new Set(owner ? [owner] : []);

  const refresh = async () => {
    const data = await api('sweeps', { offset, limit: PAGE, owner });
    for (const s of data.sweeps) if (s.owner) seenOwners.add(s.owner);
    renderIfChanged(owners, [...seenOwners].sort().join('\n'), () => [...seenOwners].sort().map((o) => h('option', { value: o })));
    // A coordinator that does not know owner= sends everyone's: filtered here.
    const ignored = owner && data.sweeps.some((s) => s.owner !== owner);
    if (ignored) data.sweeps = data.sweeps.filter((s) => s.owner === owner);
    const seen = new Set();
    let before = null;
    // Newest first: walk backwards so each row can be placed before the previous one.
    for (let i = data.sweeps.length - 1; i >= 0; i--) {
      const s = data.sweeps[i];
      seen.add(s.id);
      let tr = rows.get(s.id);
      if (!tr) {
        tr = h('tr', { dataset: { sweep: s.id } });
        rows.set(s.id, tr);
      }
      renderIfChanged(tr, JSON.stringify(s), () => row(s));
      if (tr.nextSibling !== before || tr.parentNode !== body) body.insertBefore(tr, before);
      before = tr;
    }
    for (const [id, tr] of rows) if (!seen.has(id)) { tr.remove(); rows.delete(id); }
    if (ignored) {
      renderIfChanged(info, `mine/${data.sweeps.length}`, () => `${data.sweeps.length} of this page's sweeps are ${owner}'s`);
    } else if (!data.sweeps.length) {
      renderIfChanged(info, 'empty', () => (owner ? `No sweeps of ${owner}.` : data.total ? 'No sweeps on this page.' : 'No sweeps yet: submit one with `sicctl sweep SPEC.json`.'));
    } else {
      renderIfChanged(info, `${offset}/${data.sweeps.length}/${data.total}`,
        () => `${offset + 1}–${offset + data.sweeps.length} of ${data.total} sweeps`);
    }
    const at = (o) => '#/sweeps?' + new URLSearchParams({ ...(owner ? { owner } : {}), offset: o }).toString();
    renderIfChanged(pager, `${offset}/${data.total}`, () => [
      offset > 0 ? h('a', { href: at(Math.max(0, offset - PAGE)) }, '← newer') : null,
      offset + PAGE < data.total ? h('a', { href: at(offset + PAGE) }, 'older →') : null,
    ]);
  };
  return poll(refresh, 2000);
}

function row(s) {
  const c = s.counts || {};
  const done = FINAL.reduce((n, k) => n + (c[k] || 0), 0);
  return [
    h('td', { class: 'num' }, s.id),
    h('td', null, h('a', { href: '#/sweeps/' + s.id }, s.name || '(unnamed)'),
      s.canceled ? h('span', { class: 'badge s-canceled' }, 'canceled') : null,
      s.description ? h('div', { class: 'muted small clip', title: s.description }, s.description) : null),
    h('td', { dataset: { col: 'owner' } }, s.owner
      ? h('a', { href: '#/sweeps?owner=' + encodeURIComponent(s.owner), title: 'only ' + s.owner + "'s sweeps" }, s.owner)
      : h('span', { class: 'muted' }, '–')),
    h('td', { class: 'num', dataset: { col: 'priority' } }, s.priority ?? 0),
    h('td', { class: 'nowrap' }, fmtTime(s.created_at)),
    h('td', { class: 'wide' }, progressBar(c, s.total)),
    h('td', { class: 'num', dataset: { col: 'done' } }, `${done}/${s.total}`),
    h('td', { class: 'num', dataset: { col: 'running' } }, c.running || 0),
    h('td', { class: 'num', dataset: { col: 'queued' } }, (c.queued || 0) + (c.pending || 0)),
    h('td', { class: 'num' + (c.failed ? ' bad' : ''), dataset: { col: 'failed' } }, c.failed || 0),
  ];
}
