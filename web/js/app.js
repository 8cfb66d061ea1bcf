// The dashboard's router: one page per hash route, each a module whose
// render(app, params, query) draws into <main> and returns a function that
// stops its polling. Routes:
//   #/sweeps                 sweeps and their progress (live)
//   #/sweeps/ID?tab=...      one sweep: variants, lambda plots, trials, parallel coordinates
//   #/trials/ID              one trial: curves, pictures, config, attempts
//   #/queue                  what waits in each device class's queue, and why (live)
//   #/workers                workers and what they run (live)
// setQuery (nav.js) changes the query; a page with update(query) redraws itself.
import { disposeCharts } from './charts.js';
import { parseHash } from './nav.js';
import { errorBox, h } from './util.js';
import * as sweeps from './sweeps.js';
import * as sweep from './sweep.js';
import * as queue from './queue.js';
import * as trial from './trial.js';
import * as workers from './workers.js';

const routes = [
  [/^\/sweeps\/?$/, sweeps, 'sweeps'],
  [/^\/sweeps\/(\d+)$/, sweep, 'sweeps'],
  [/^\/trials\/(\d+)$/, trial, 'sweeps'],
  [/^\/queue\/?$/, queue, 'queue'],
  [/^\/workers\/?$/, workers, 'workers'],
];

let stop = null;
let current = null;

async function route() {
  const { path, query } = parseHash();
  const app = document.getElementById('app');
  // Same page, other query (a tab, a sort order): let the page update itself.
  if (current && current.path === path && current.page.update) {
    current.page.update(query);
    return;
  }
  if (stop) stop();
  stop = null;
  disposeCharts();
  for (const [re, page, nav] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === nav);
    app.replaceChildren();
    current = { path, page };
    try {
      stop = (await page.render(app, m.slice(1), query)) || null;
    } catch (e) {
      app.replaceChildren(errorBox(e));
    }
    return;
  }
  current = null;
  app.replaceChildren(h('h1', null, 'Not found'), h('p', null, h('a', { href: '#/sweeps' }, 'Back to the sweeps')));
}

window.addEventListener('hashchange', route);
route();
