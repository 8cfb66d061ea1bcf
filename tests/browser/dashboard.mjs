// The dashboard in a real browser: Debian's /usr/bin/chromium, headless,
// driven by playwright-core, against a real sic-coordinator with real workers
// (dashboard_test.py starts them and runs this script).
//
//   node dashboard.mjs
//   env: SIC_URL       the coordinator's HTTP address, e.g. http://127.0.0.1:PORT
//        SIC_TOKEN     its token (the sweeps are submitted through POST /api/v1/sweeps)
//        SIC_SPECS     JSON: {"ablations": SPEC, "lambda": SPEC}
//        SIC_WORKERS   comma-separated names of the running workers
//        SIC_SHOTS     folder for the screenshots
//        SIC_SEARCH    JSON from tests/service/search_fixture.py create: an adaptive
//                      sweep written into the coordinator's file (optional)
//        SIC_DB, SIC_FIXTURE  that file and that script (add-eval while a trial page is open)
//        SIC_ONLY=search      only the adaptive sweep's and the queue view's checks (dashboard_test.py --only-search:
//                      no workers, no training; for work on those views)
//
// Every expected value is read from the REST API of the same coordinator;
// nothing about the trained networks is hard-coded. Exits non-zero with one
// line per failed check.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
let chromium;
try {
  ({ chromium } = await import(path.join(here, 'node_modules', 'playwright-core', 'index.mjs')));
} catch (e) {
  console.error('dashboard: playwright-core is missing; run scripts/bootstrap (npm ci in tests/browser)');
  process.exit(2);
}

const URL0 = process.env.SIC_URL;
const TOKEN = process.env.SIC_TOKEN || '';
const SPECS = JSON.parse(process.env.SIC_SPECS);
const WORKERS = (process.env.SIC_WORKERS || '').split(',').filter(Boolean);
const SHOTS = process.env.SIC_SHOTS;
const WAIT_MS = parseInt(process.env.SIC_WAIT_MS || '300000', 10);
const SEARCH = JSON.parse(process.env.SIC_SEARCH || 'null');
fs.mkdirSync(SHOTS, { recursive: true });

const failures = [];
const timings = [];
function check(ok, what) {
  if (ok) console.log('ok   ' + what);
  else {
    console.log('FAIL ' + what);
    failures.push(what);
  }
  return ok;
}

async function api(p, init) {
  const res = await fetch(URL0 + '/api/v1/' + p, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${p}: ${res.status} ${body.error}`);
  return body;
}

// A number shown in a cell ("0.226 ± 0.034 +0.024") against the API's value.
function near(text, value) {
  if (value === null || value === undefined) return /–/.test(text);
  const m = /(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)/i.exec(text);
  if (!m) return false;
  const shown = parseFloat(m[1]);
  return Math.abs(shown - value) <= Math.max(5e-4, Math.abs(value) * 0.01);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(30000);

const problems = [];
const apiRequests = [];
page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
page.on('requestfailed', (r) => {
  // A picture request the router aborted by leaving the page is not a failure.
  if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
});
page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
page.on('request', (r) => { if (r.url().includes('/api/v1/')) apiRequests.push(r.url()); });

// Like page.$$eval, but the query and the function run in one task of the
// page, so a row that live polling redraws cannot be caught half detached.
function $$(sel, fn) {
  return page.evaluate(`(${fn.toString()})([...document.querySelectorAll(${JSON.stringify(sel)})])`);
}

async function shot(name) {
  const file = path.join(SHOTS, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  console.log('screenshot ' + file);
}

async function timed(what, fn) {
  const t0 = Date.now();
  const r = await fn();
  timings.push(`${what} ${Date.now() - t0} ms`);
  return r;
}

// Charts matching `selector` drawn, with their data-points.
async function chartPoints(selector, count) {
  await page.waitForFunction(([sel, n]) => {
    const els = [...document.querySelectorAll(sel)];
    return els.length === n && els.every((e) => e.dataset.rendered === '1');
  }, [selector, count], { timeout: 30000 });
  return $$(selector, (els) => els.map((e) => ({
    points: parseInt(e.dataset.points, 10),
    canvas: (() => { const c = e.querySelector('canvas'); return c ? [c.width, c.height] : [0, 0]; })(),
    metric: e.dataset.metric || e.dataset.key || e.dataset.chart,
  })));
}

function headline(metricNames, arena) {
  const p = `eval.${arena}.`;
  const out = ['max_score60', 'median_score60', 'n_modules'].map((m) => p + m).filter((m) => metricNames.includes(m));
  const f = metricNames.filter((m) => m.startsWith(p + 'fraction_grid.'));
  if (f.length) out.push(f.includes(p + 'fraction_grid.0.3') ? p + 'fraction_grid.0.3' : f[0]);
  return out;
}

// Thousands separators out ("2,450" -> "2450"), whatever the browser's locale.
function digits(text) {
  return text.replace(/(\d)[,.\u202f\u00a0 ](?=\d{3}(?!\d))/g, '$1');
}

// The fixture's adaptive sweep (tests/service/search_fixture.py): every value
// expected is read from /search of the same coordinator, or from what the
// fixture says it wrote.
async function searchChecks() {
  const e = SEARCH.expected;
  await timed('sweep page, search view', async () => {
    await page.goto(`${URL0}/#/sweeps/${SEARCH.sweep}`);
    await page.waitForSelector('[data-chart="objective"]');
  });
  check(await page.isVisible('nav.tabs a.active[data-tab="search"]'), 'an adaptive sweep opens on its search view');
  const search = await api(`sweeps/${SEARCH.sweep}/search`);
  check(search.steps.trained === e.trained && search.steps.full === e.full, `/search steps: ${JSON.stringify(search.steps)}`);
  const stepsText = digits(await page.textContent('#search-steps'));
  check(stepsText.includes(`${e.trained} steps trained of ${e.full}`) && stepsText.includes(`${e.saved} saved`),
    `steps saved shown: ${stepsText}`);
  const [obj] = await chartPoints('[data-chart="objective"]', 1);
  check(obj.points === e.objective_points && obj.canvas[0] > 0, `objective by trial: ${obj.points} points (expected ${e.objective_points})`);
  const best = await page.getAttribute('[data-chart="objective"]', 'data-best');
  check(parseFloat(best) === e.best, `best so far ends at ${best} (expected ${e.best})`);
  for (const r of search.rungs) {
    const rows = await $$(`#rung-${r.rung} tbody tr`, (trs) => trs.map((tr) => ({
      id: parseInt(tr.dataset.trial, 10), promoted: /promoted/.test(tr.querySelector('td.promoted').textContent),
      value: tr.querySelector('td[data-value]').dataset.value,
    })));
    check(rows.length === e.rungs[r.rung] && JSON.stringify(rows.map((x) => x.id)) === JSON.stringify(r.trials.map((t) => t.id)),
      `rung ${r.rung} table: ${rows.length} trials in the API's order (best first)`);
    check(rows.filter((x) => x.promoted).length === e.promoted[r.rung], `rung ${r.rung}: ${e.promoted[r.rung]} marked promoted`);
  }
  const slices = await chartPoints('[data-chart="slice"]', 2);
  const axes = await $$('[data-chart="slice"]', (els) => els.map((el) => [el.dataset.key, el.dataset.axis]));
  check(JSON.stringify(axes) === JSON.stringify([['loss.lambda_cap', 'value'], ['optim.lr', 'log']]),
    `slice plots per parameter, log axis for the log-uniform one: ${JSON.stringify(axes)}`);
  check(slices.every((c) => c.points === e.objective_points), `slice plots: ${slices.map((c) => c.points)} points`);
  await shot('sweep-search');

  // The trials table: the new statuses filter, and the state in words.
  await page.goto(`${URL0}/#/sweeps/${SEARCH.sweep}?tab=trials`);
  await page.waitForSelector('#trials-table tbody tr[data-trial]');
  await page.selectOption('#filter-status', 'paused');
  await page.waitForFunction(() => document.querySelectorAll('#trials-table tbody tr[data-trial]').length === 2);
  const paused = await $$('#trials-table tbody tr[data-trial]', (trs) => trs.map((tr) => tr.textContent));
  check(paused.every((t) => /paused at rung \d \(\d+ steps\)/.test(t)), `paused filter: ${paused.length} trials, each "paused at rung k"`);

  // A paused trial's page: curves and evaluations against steps, polled.
  await timed('trial page with evaluations', async () => {
    await page.goto(`${URL0}/#/trials/${SEARCH.live}`);
    await page.waitForSelector('[data-chart="evals"]');
  });
  check((await page.textContent('#trial-state')).includes('paused at rung 1 (300 steps)'), 'the trial page says "paused at rung 1 (300 steps)"');
  const [ev] = await chartPoints('[data-chart="evals"]', 1);
  check(ev.points === e.eval_points && ev.canvas[0] > 0, `evaluations chart: ${ev.points} points (expected ${e.eval_points}, NaNs left out)`);
  const [cv] = await chartPoints('[data-chart="curve"]', 1);
  check(cv.points > 0, `the paused trial's learning curve: ${cv.points} points`);
  // What the maps are, stacked: only the patterns the evaluations counted.
  const [pt] = await chartPoints('[data-chart="patterns"]', 1);
  const drawn = await page.getAttribute('[data-chart="patterns"]', 'data-series');
  check(pt.points === e.pattern_points && pt.canvas[0] > 0 && drawn === 'grid,square,band,none',
    `patterns chart: ${pt.points} points (expected ${e.pattern_points}), series ${drawn} (expected grid,square,band,none)`);
  await page.evaluate(() => { window.__notReloaded = true; });
  execFileSync('/usr/bin/python3', [process.env.SIC_FIXTURE, 'add-eval', process.env.SIC_DB, String(SEARCH.live), '400']);
  const grown = await page.waitForFunction((n) => parseInt(document.querySelector('[data-chart="evals"]').dataset.points, 10) === n,
    e.eval_points + e.eval_series, { timeout: 20000 }).then(() => true, () => false);
  check(grown && await page.evaluate(() => window.__notReloaded === true), 'a new evaluation appears on the open trial page without a reload');
  const patternsGrown = await page.waitForFunction((n) => parseInt(document.querySelector('[data-chart="patterns"]').dataset.points, 10) === n,
    e.pattern_points + e.pattern_series, { timeout: 20000 }).then(() => true, () => false);
  check(patternsGrown, 'the new evaluation\'s patterns join the patterns chart');
  await shot('trial-evals');
}

// The Queue page and what the sweep list and a trial say about waiting: a
// sweep of a device class no worker serves ("a100"), submitted now. Until each
// class has its own queue a cpu worker may claim its trial from the shared
// stream; then the checks that need it waiting say they were skipped.
async function queueChecks() {
  const spec = {
    name: 'browser-a100', description: 'Dashboard test: a class no worker serves.',
    base: SPECS.lambda.base,
    priority: -1, max_running: 3, resources: { device: 'a100' },
  };
  const r = await api('sweeps', { method: 'POST', headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });
  const id = r.sweep_id;
  const sweep = await api('sweeps/' + id);
  const [trialId] = (await api(`sweeps/${id}/trials`)).trials.map((t) => t.id);
  const waits = async () => ['pending', 'queued'].includes((await api('trials/' + trialId)).status);

  // The sweep list: owner and priority columns, and the user filter.
  await page.goto(`${URL0}/#/sweeps`);
  await page.waitForSelector(`tr[data-sweep="${id}"]`);
  const cells = await $$(`tr[data-sweep="${id}"] td[data-col]`, (tds) => Object.fromEntries(tds.map((td) => [td.dataset.col, td.textContent])));
  check(cells.priority === '-1' && cells.owner === (sweep.owner || '–'), `sweep list: owner "${cells.owner}", priority ${cells.priority} (API: "${sweep.owner}", ${sweep.priority})`);
  await page.fill('#filter-owner', 'nobody-here');
  await page.press('#filter-owner', 'Enter');
  await page.waitForFunction(() => /owner=nobody-here/.test(location.hash));
  await page.waitForFunction(() => /No sweeps of nobody-here|0 of this page/.test(document.body.textContent));
  check((await page.$$('tr[data-sweep]')).length === 0, 'the user filter of a user with no sweeps lists none');
  if (sweep.owner) {
    await page.goto(`${URL0}/#/sweeps?owner=${encodeURIComponent(sweep.owner)}`);
    await page.waitForSelector(`tr[data-sweep="${id}"]`);
    const owners = await $$('tr[data-sweep] td[data-col="owner"]', (tds) => tds.map((td) => td.textContent));
    check(owners.every((o) => o === sweep.owner), `the user filter shows only ${sweep.owner}'s sweeps (${owners.length})`);
  }
  await shot('sweeps-owner');

  // The Queue page: every class of the API, the workers' class with its
  // workers, the a100 sweep with its reason.
  await timed('queue page', async () => {
    await page.goto(`${URL0}/#/queue`);
    await page.waitForSelector('section.queue-class');
  });
  const q = await api('queue');
  const shown = await $$('section.queue-class', (els) => els.map((el) => el.dataset.class));
  check(JSON.stringify(shown) === JSON.stringify(q.classes.map((c) => c.class)), `queue page shows the classes ${shown.join(', ')}`);
  if (WORKERS.length) {
    const cpu = q.classes.find((c) => c.class === 'cpu');
    const workersShown = await page.textContent('section.queue-class[data-class="cpu"] dd[data-col="workers"]');
    check(cpu && cpu.workers === WORKERS.length && workersShown === String(cpu.workers), `class cpu: ${workersShown} live workers shown`);
  }
  const reasonCell = `section.queue-class[data-class="a100"] tr[data-sweep="${id}"] td[data-col="reason"]`;
  const want = 'no live worker serves class a100';
  const shownReason = await page.waitForFunction(([sel, text]) => document.querySelector(sel)?.textContent === text, [reasonCell, want], { timeout: 10000 })
    .then(() => true, () => false);
  if (shownReason || await waits()) {
    check(shownReason, `queue page: the a100 sweep "${want}"`);
  } else {
    console.log('skip a100 reason: a cpu worker claimed the trial (no per-class queues yet)');
  }
  await shot('queue');

  // The trial's page and row: its class, and that it waits for a worker of it.
  await page.goto(`${URL0}/#/trials/${trialId}`);
  await page.waitForSelector('dl.facts');
  const facts = await page.textContent('dl.facts');
  check(facts.includes('device class') && facts.includes('a100'), 'the trial page shows the device class');
  if (await waits()) {
    const note = await page.waitForSelector('#trial-waiting', { timeout: 10000 }).then((el) => el.textContent(), () => '');
    check(note.includes('waiting for a worker of class a100'), `the trial page says "${note.trim()}"`);
    await page.goto(`${URL0}/#/sweeps/${id}?tab=trials`);
    await page.waitForSelector(`#trials-table tr[data-trial="${trialId}"]`);
    const row = await page.waitForFunction((tid) => document.querySelector(`#trials-table tr[data-trial="${tid}"] .waiting`)?.textContent, trialId, { timeout: 10000 })
      .then((h) => h.jsonValue(), () => '');
    check(row === 'waiting for a worker of class a100', `the trials table says "${row}"`);
    const cls = await page.textContent(`#trials-table tr[data-trial="${trialId}"] td[data-col="class"]`);
    check(cls === 'a100', `the trials table shows class ${cls}`);
  } else {
    console.log('skip "waiting for a worker": a cpu worker claimed the trial (no per-class queues yet)');
  }
  await api(`sweeps/${id}/cancel`, { method: 'POST', headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' } });
}

const ONLY_SEARCH = process.env.SIC_ONLY === 'search';

try {
  if (ONLY_SEARCH) {
    await searchChecks();
    await queueChecks();
    throw null; // done: on to the closing checks
  }
  // ---- sweeps list, live: opened before anything is submitted.
  await timed('sweeps page (empty)', async () => {
    await page.goto(URL0 + '/#/sweeps');
    await page.waitForSelector('#sweeps-table');
  });
  await page.evaluate(() => { window.__notReloaded = true; });
  const submitted = {};
  for (const [key, spec] of Object.entries(SPECS)) {
    const r = await api('sweeps', { method: 'POST', headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });
    submitted[key] = { id: r.sweep_id, name: spec.name, trials: r.trials };
    console.log(`submitted ${spec.name} as sweep ${r.sweep_id} (${r.trials.length} trials)`);
  }
  const ids = Object.values(submitted).map((s) => s.id);
  await page.waitForFunction((ids) => ids.every((id) => document.querySelector(`tr[data-sweep="${id}"]`)), ids, { timeout: 10000 });
  check(true, 'submitted sweeps appear on the open sweeps page without a reload');
  // Watch the done counts move while the workers train, then end at total.
  const seen = new Set();
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const cells = await $$('tr[data-sweep] td[data-col="done"]', (tds) => tds.map((td) => td.closest('tr').dataset.sweep + ':' + td.textContent));
    cells.filter((c) => ids.includes(parseInt(c, 10))).forEach((c) => seen.add(c));
    const finished = await Promise.all(ids.map(async (id) => {
      const s = await api('sweeps/' + id);
      const done = s.counts.succeeded + s.counts.failed + s.counts.canceled;
      return done === s.total && cells.includes(`${id}:${s.total}/${s.total}`);
    }));
    if (finished.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error('sweeps did not finish in time: ' + JSON.stringify(cells));
    await page.waitForTimeout(250);
  }
  check(await page.evaluate(() => window.__notReloaded === true), 'the sweeps page was not reloaded');
  check(seen.size >= ids.length + 2, `done counts were updated live (${[...seen].join(' ')})`);
  for (const [key, s] of Object.entries(submitted)) {
    const row = await page.textContent(`tr[data-sweep="${s.id}"]`);
    check(row.includes(s.name), `sweeps list shows ${s.name} (${key})`);
  }
  const abl = submitted.ablations;
  const lam = submitted.lambda;
  const ablFailed = await page.textContent(`tr[data-sweep="${abl.id}"] td[data-col="failed"]`);
  const ablSweep = await api('sweeps/' + abl.id);
  check(parseInt(ablFailed, 10) === ablSweep.counts.failed && ablSweep.counts.failed > 0,
    `failed count of the ablations shown (${ablFailed}, API ${ablSweep.counts.failed})`);
  await shot('sweeps');

  // ---- the ablation view: follow the link from the list.
  await timed('sweep page, variants view', async () => {
    await page.click(`tr[data-sweep="${abl.id}"] a[href="#/sweeps/${abl.id}"]`);
    await page.waitForSelector('#variants-table');
  });
  const arena = ablSweep.metric_names.map((m) => /^eval\.([0-9.]+m)\./.exec(m)).filter(Boolean).map((m) => m[1])
    .sort((a, b) => parseFloat(a) - parseFloat(b))[0];
  check(!!arena, `the ablations reported evaluation metrics (arena ${arena})`);
  const metrics = headline(ablSweep.metric_names, arena);
  check(metrics.length === 4, `headline metrics present: ${metrics.join(', ')}`);
  const summary = await api(`sweeps/${abl.id}/summary`);
  const charts = await chartPoints('[data-chart="variants"]', metrics.length);
  for (const c of charts) {
    const withData = summary.groups.filter((g) => g.metrics[c.metric] && g.metrics[c.metric].n > 0).length;
    check(c.points === withData && c.canvas[0] > 0 && c.canvas[1] > 0,
      `variants plot of ${c.metric}: ${c.points} bars drawn (API: ${withData} variants with results), canvas ${c.canvas}`);
  }
  const rows = await $$('#variants-table tbody tr', (trs) => trs.map((tr) => ({
    variant: tr.dataset.variant, baseline: tr.classList.contains('baseline'), text: tr.textContent,
    cells: Object.fromEntries([...tr.querySelectorAll('td[data-metric]')].map((td) => [td.dataset.metric, td.textContent])),
  })));
  check(JSON.stringify(rows.map((r) => r.variant)) === JSON.stringify(ablSweep.variants),
    `variants table rows in the sweep's order: ${rows.map((r) => r.variant).join(', ')}`);
  check(rows[0] && rows[0].variant === 'baseline' && rows[0].baseline && rows.filter((r) => r.baseline).length === 1,
    'the baseline row is first and the only one marked');
  for (const r of rows) {
    const g = summary.groups.find((x) => x.variant === r.variant);
    for (const m of metrics) {
      const st = g && g.metrics[m];
      check(near(r.cells[m] || '', st ? st.mean : null), `variants table ${r.variant} ${m}: "${r.cells[m]}" vs API mean ${st ? st.mean : null}`);
    }
    const failed = g ? g.counts.failed : 0;
    if (failed) check(r.text.includes(`${failed} failed`), `variant ${r.variant} shows ${failed} failed`);
  }
  check(!apiRequests.some((u) => /\/sweeps\/\d+\/trials/.test(u)), 'the variants view fetched no trials (the summary drives it)');
  check(apiRequests.filter((u) => u.includes('/summary')).every((u) => /[?&]metrics=/.test(u)), 'the summary is asked only for the metrics shown (metrics=)');
  await shot('sweep-variants');

  // ---- trials table: server-side sorting, filtering and paging.
  await page.click('nav.tabs a[data-tab="trials"]');
  await page.waitForSelector('#trials-table tbody tr[data-trial]');
  const byIndex = await api(`sweeps/${abl.id}/trials`, undefined).catch(() => null);
  const listed = await api(`sweeps/${abl.id}/trials?limit=50`);
  let names = await $$('#trials-table tbody tr[data-trial] a.trial-link', (as) => as.map((a) => a.textContent));
  check(JSON.stringify(names) === JSON.stringify(listed.trials.map((t) => t.name)),
    `trials table lists the API's trials in index order (${names.length} of ${listed.total})`);
  check(byIndex && byIndex.total === abl.trials.length, `the sweep holds the ${abl.trials.length} submitted trials`);
  const sortKey = `eval.${arena}.max_score60`;
  apiRequests.length = 0;
  await page.click(`#trials-table th[data-sort="${sortKey}"] a`); // asc
  await page.waitForSelector(`#trials-table th.sorted[data-sort="${sortKey}"]`);
  await page.click(`#trials-table th[data-sort="${sortKey}"] a`); // desc
  const desc = await api(`sweeps/${abl.id}/trials?sort=${encodeURIComponent(sortKey)}&order=desc&limit=50`);
  await page.waitForFunction((first) => document.querySelector('#trials-table tbody tr[data-trial] a.trial-link')?.textContent === first,
    desc.trials[0].name);
  names = await $$('#trials-table tbody tr[data-trial] a.trial-link', (as) => as.map((a) => a.textContent));
  check(JSON.stringify(names) === JSON.stringify(desc.trials.map((t) => t.name)), `sorted by ${sortKey} descending, as the server sorts`);
  check(apiRequests.some((u) => u.includes('sort=' + encodeURIComponent(sortKey)) && u.includes('order=desc')), 'sorting is a server query (sort=, order=)');
  check(apiRequests.filter((u) => /\/trials\?/.test(u)).every((u) => /[?&]metrics=/.test(u)), 'trial pages are asked only for the metrics shown (metrics=)');
  const shownScores = await $$(`#trials-table tbody tr[data-trial] td[data-metric="${sortKey}"]`, (tds) => tds.map((td) => td.textContent));
  check(desc.trials.every((t, i) => near(shownScores[i] || '', t.metrics[sortKey] ?? null)), 'the score column shows the API values');
  await page.selectOption('#filter-status', 'failed');
  const failedTrials = await api(`sweeps/${abl.id}/trials?status=failed`);
  await page.waitForFunction((n) => document.querySelectorAll('#trials-table tbody tr[data-trial]').length === n, failedTrials.total);
  names = await $$('#trials-table tbody tr[data-trial] a.trial-link', (as) => as.map((a) => a.textContent));
  check(failedTrials.total > 0 && names.every((n) => failedTrials.trials.some((t) => t.name === n)), `status filter: ${names.join(', ')}`);
  await page.selectOption('#filter-status', '');
  await page.waitForFunction((first) => document.querySelector('#trials-table tbody tr[data-trial] a.trial-link')?.textContent === first, desc.trials[0].name);
  check(apiRequests.every((u) => !/[?&]limit=(\d+)/.test(u) || parseInt(/[?&]limit=(\d+)/.exec(u)[1], 10) <= 1000), 'no request asks for more than 1000 trials');
  await shot('sweep-trials');

  // ---- sweep -> trial: click the best trial.
  const best = desc.trials[0];
  await timed('trial page', async () => {
    await page.click(`#trials-table tr[data-trial="${best.id}"] a.trial-link`);
    await page.waitForFunction((id) => location.hash === '#/trials/' + id, best.id);
    await page.waitForSelector('#attempts-table');
  });
  check((await page.textContent('h1')).includes(best.name), `trial page of ${best.name}`);
  const detail = await api('trials/' + best.id);
  const curve = await api(`trials/${best.id}/curve`);
  const losses = ['total', 'sep', 'inv', 'cap', 'coniso'].filter((k) => curve[k] && curve[k].some((v) => v !== null));
  const positive = losses.filter((k) => curve[k].every((v) => v === null || v > 0));
  let [cv] = await chartPoints('[data-chart="curve"]', 1);
  check(curve.step.length > 0 && cv.points === curve.step.length * positive.length && cv.canvas[0] > 0,
    `learning curves, log scale: ${cv.points} points (${curve.step.length} steps x ${positive.length} positive losses)`);
  await page.uncheck('#log-scale');
  await page.waitForFunction((n) => parseInt(document.querySelector('[data-chart="curve"]').dataset.points, 10) === n, curve.step.length * losses.length);
  check(true, `learning curves, linear scale: every loss (${losses.join(', ')})`);
  const arts = detail.artifacts.map((a) => a.name);
  for (const want of ['ratemaps.png', 'autocorrelograms.png', 'periods.png', 'distance.png']) {
    check(arts.includes(`arena_${arena}/${want}`), `the worker stored arena_${arena}/${want}`);
  }
  const imgs = await page.$$('img[data-artifact]');
  for (const img of imgs) await img.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => [...document.querySelectorAll('img[data-artifact]')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 20000 })
    .catch(() => {});
  const loaded = await $$('img[data-artifact]', (is) => is.map((i) => [i.dataset.artifact, i.naturalWidth, i.naturalHeight]));
  check(loaded.length === arts.length && loaded.every(([, w, hgt]) => w > 0 && hgt > 0),
    `every picture loaded: ${loaded.map(([n, w, hgt]) => `${n} ${w}x${hgt}`).join(', ')}`);
  const config = JSON.parse(await page.textContent('#config'));
  check(JSON.stringify(config) === JSON.stringify(detail.config), 'the config shown is the trial\'s config');
  const attempts = await $$('#attempts-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
  check(attempts.length === detail.attempts.length && attempts.length >= 1 && attempts.some((t) => t.includes(best.worker)),
    `attempts table: ${attempts.length} row(s) with worker ${best.worker}`);
  check(WORKERS.includes(best.worker), `the trial ran on one of our workers (${best.worker})`);
  await page.check('#log-scale');
  await page.waitForFunction((n) => parseInt(document.querySelector('[data-chart="curve"]').dataset.points, 10) === n, curve.step.length * positive.length);
  await shot('trial');

  // ---- a failed trial: its error and attempts.
  const failed = failedTrials.trials[0];
  await page.goto(`${URL0}/#/trials/${failed.id}`);
  await page.waitForSelector('#attempts-table');
  const err = await page.textContent('#trial-error');
  check(err === failed.error && /Not a directory/.test(err), `failed trial shows its error: ${err}`);
  const fDetail = await api('trials/' + failed.id);
  const fRows = await $$('#attempts-table tbody tr', (trs) => trs.length);
  check(fRows === fDetail.attempts.length && fRows > 1, `failed trial lists its ${fRows} attempts`);
  await shot('trial-failed');

  // ---- the lambda grid: plots against each key and the heat map.
  await timed('sweep page, grid view', async () => {
    await page.goto(`${URL0}/#/sweeps/${lam.id}`);
    await page.waitForSelector('[data-chart="heatmap"]');
  });
  const lamSweep = await api('sweeps/' + lam.id);
  const lamSummary = await api(`sweeps/${lam.id}/summary`);
  check(JSON.stringify(lamSweep.grid_keys) === JSON.stringify(Object.keys(SPECS.lambda.grid)), `grid keys ${lamSweep.grid_keys}`);
  const metric = `eval.${arena}.max_score60`;
  const pointsWithData = lamSummary.groups.filter((g) => g.metrics[metric] && g.metrics[metric].n > 0).length;
  const lines = await chartPoints('[data-chart="lambda"]', lamSweep.grid_keys.length);
  for (const c of lines) check(c.points === pointsWithData && c.canvas[0] > 0, `${metric} vs ${c.metric}: ${c.points} points (API: ${pointsWithData} grid points)`);
  const [hm] = await chartPoints('[data-chart="heatmap"]', 1);
  const cells = Object.values(SPECS.lambda.grid).reduce((n, v) => n * v.length, 1);
  check(hm.points === cells && pointsWithData === cells, `heat map: ${hm.points} cells of a ${cells}-point grid`);
  await shot('sweep-grid');
  // Another metric from the picker redraws every plot.
  await page.selectOption('#lambda-metric', 'loss.total');
  await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1]).get('metric') === 'loss.total');
  await chartPoints('[data-chart="lambda"]', lamSweep.grid_keys.length);
  check(true, 'metric picker redraws the grid plots');

  // ---- parallel coordinates.
  await timed('parallel coordinates', async () => {
    await page.click('nav.tabs a[data-tab="parallel"]');
    await chartPoints('[data-chart="parallel"]', 1);
  });
  const [pc] = await chartPoints('[data-chart="parallel"]', 1);
  check(pc.points === lamSweep.counts.succeeded && pc.canvas[0] > 0, `parallel coordinates: ${pc.points} lines (API: ${lamSweep.counts.succeeded} succeeded)`);
  await shot('sweep-parallel');

  // ---- workers.
  await page.goto(`${URL0}/#/workers`);
  await page.waitForSelector('#workers-table tbody tr');
  const wrows = await $$('#workers-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.worker, tr.textContent]));
  const apiWorkers = (await api('workers')).workers;
  check(WORKERS.every((w) => wrows.some(([n, text]) => n === w && / ago/.test(text))) && wrows.length === apiWorkers.length,
    `workers page lists ${wrows.map(([n]) => n).join(', ')} with their last heartbeat`);
  await shot('workers');

  // ---- Back goes back through the hash routes.
  await page.goBack();
  await page.waitForSelector('[data-chart="parallel"]');
  check(true, 'Back returns to the previous page');

  // ---- the queue view, owners and priorities, a trial waiting for its class.
  await queueChecks();

  // ---- an adaptive sweep: the search view, and a paused trial's evaluations.
  if (SEARCH) await searchChecks();
} catch (e) {
  if (e !== null) {
    failures.push('error: ' + (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e));
    console.log('FAIL ' + failures[failures.length - 1]);
    await shot('failure').catch(() => {});
  }
} finally {
  await browser.close();
}

check(problems.length === 0, `no console errors, failed requests or HTTP errors (${problems.length})`);
for (const p of problems) console.log('  ' + p);
console.log('timings: ' + timings.join(', '));
const passed = failures.length === 0;
console.log(passed ? 'dashboard: all checks passed' : `dashboard: ${failures.length} check(s) failed`);
process.exit(passed ? 0 : 1);
