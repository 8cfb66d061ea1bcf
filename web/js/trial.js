// #/trials/ID: one trial. Status and timings (with its rung in an adaptive
// sweep; its device class, and "waiting for a worker of class X" while it
// waits for a class no live worker serves), headline metrics, learning curves (each loss its own series, log or
// linear), the grid metrics of the evaluations during training against steps,
// what the units' maps are (grid, square, oblique, band, ...) against steps,
// the evaluation's pictures per arena, the attempts with worker and error,
// every metric, and the config. A trial that is not final is polled every
// 3 s, so its curves grow while it trains; polling stops when it is final.
import { plot } from './charts.js';
import {
  FINAL, api, arenasOf, authedUrl, fmtDuration, fmtNum, fmtTime, h, headlineMetrics, metricLabel, poll,
  liveClasses, renderIfChanged, statusBadge, trialState, waitingFor,
} from './util.js';

const LOSSES = ['total', 'sep', 'inv', 'cap', 'coniso'];
const PICTURES = [
  ['ratemaps.png', 'Rate maps (top 32 units by grid score)'],
  ['autocorrelograms.png', 'Autocorrelograms'],
  ['periods.png', 'Period histogram by module'],
  ['distance.png', 'Distance curve (generalisation)'],
  ['module_power.png', 'Fourier power per module'],
  ['phases.png', "Units' phases in their module's unit cell"],
];

export async function render(app, [idText]) {
  const id = parseInt(idText, 10);
  let t = await api('trials/' + id);
  const head = h('div');
  const metrics = h('div', { class: 'metric-cards' });
  const curveControls = h('div', { class: 'controls' });
  const curveEl = h('div', { class: 'chart tall', dataset: { chart: 'curve' } });
  const lrEl = h('div', { class: 'chart short', dataset: { chart: 'lr' } });
  const evalNote = h('div', { class: 'controls' });
  const evalEl = h('div', { class: 'chart', dataset: { chart: 'evals' } });
  const patternEl = h('div', { class: 'chart none', dataset: { chart: 'patterns' } });
  const pictures = h('div', { id: 'pictures' });
  const attempts = h('div', { class: 'table-wrap' });
  const allMetrics = h('div', { class: 'table-wrap' });
  const config = h('pre', { class: 'config', id: 'config' });
  app.append(
    h('div', { class: 'crumbs' }, h('a', { href: '#/sweeps' }, 'Sweeps'), ' / ',
      h('a', { href: '#/sweeps/' + t.sweep_id + '?tab=trials', id: 'sweep-link' }, 'sweep ' + t.sweep_id), ' / ', 'trial ' + id),
    head, metrics,
    h('section', { class: 'card' }, h('h2', null, 'Learning curves'), curveControls, curveEl, lrEl),
    h('section', { class: 'card' }, h('h2', null, 'Grid metrics during training'), evalNote, evalEl, patternEl),
    h('section', null, h('h2', null, 'Evaluation'), pictures),
    h('section', { class: 'card' }, h('h2', null, 'Attempts'), attempts),
    h('div', { class: 'two-col' },
      h('section', { class: 'card' }, h('h2', null, 'Config'), config),
      h('section', { class: 'card' }, h('h2', null, 'All metrics'), allMetrics)),
  );

  let logScale = true;
  let curve = null;
  const drawCurve = () => {
    if (curve) curveChart(curveEl, lrEl, curveControls, curve, logScale, (v) => { logScale = v; drawCurve(); }, FINAL.includes(t.status));
  };

  let evals = null;
  const draw = async (trial) => {
    const [c, e] = await Promise.all([api(`trials/${trial.id}/curve`), api(`trials/${trial.id}/evals`)]);
    const latest = e.evals.length ? e.evals[e.evals.length - 1] : null;
    // A trial that waits for a worker: is there a live one of its class?
    const waiting = trial.status === 'pending' || trial.status === 'queued'
      ? waitingFor(trial, await liveClasses().catch(() => null)) : '';
    renderIfChanged(head, JSON.stringify([trial.status, trial.step, trial.worker, trial.error, trial.attempts, trial.finished_at, trial.rung, waiting]), () => header(trial, waiting));
    renderIfChanged(metrics, JSON.stringify([trial.metrics, latest]), () => metricCards(trial, latest));
    renderIfChanged(attempts, JSON.stringify(trial.attempts), () => attemptsTable(trial.attempts || []));
    renderIfChanged(allMetrics, JSON.stringify(trial.metrics), () => metricsTable(trial.metrics || {}, FINAL.includes(trial.status)));
    // The latest pictures keep their names while a trial trains: the step of
    // the latest evaluation in their URL makes the browser fetch new ones.
    renderIfChanged(pictures, JSON.stringify([trial.artifacts, latest && latest.step]), () => pictureSheet(trial, latest && latest.step));
    renderIfChanged(config, JSON.stringify(trial.config), () => JSON.stringify(trial.config, null, 2));
    if (JSON.stringify(c) !== JSON.stringify(curve)) {
      curve = c;
      drawCurve();
    }
    if (JSON.stringify(e) !== JSON.stringify(evals)) {
      evals = e;
      evalChart(evalEl, evalNote, e, FINAL.includes(trial.status));
      patternChart(patternEl, e);
    }
  };
  await draw(t);
  let first = true;
  return poll(async () => {
    if (first) { first = false; return; }
    if (FINAL.includes(t.status)) return; // final: nothing moves any more
    t = await api('trials/' + id);
    await draw(t);
  }, 3000);
}

function header(t, waiting) {
  const dur = t.started_at && t.finished_at ? t.finished_at - t.started_at
    : (t.started_at && t.status === 'running' ? Date.now() / 1000 - t.started_at : null);
  return [
    h('h1', null, t.name, ' ', statusBadge(t.status),
      trialState(t) ? h('span', { class: 'muted state', id: 'trial-state' }, ' ', trialState(t)) : null,
      waiting ? h('span', { class: 'muted state', id: 'trial-waiting' }, ' ', waiting) : null),
    h('dl', { class: 'facts' },
      fact('variant', t.variant),
      fact('overrides', Object.keys(t.overrides || {}).length
        ? Object.entries(t.overrides).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : '(none)'),
      fact('step', t.total_steps ? `${t.step}/${t.total_steps}` : t.step),
      t.target_steps && !FINAL.includes(t.status) ? fact('pauses at', t.target_steps) : null,
      fact('device class', t.device_class || 'cpu'),
      fact('worker', t.worker || '–'),
      fact('round', t.round),
      fact('attempts', Array.isArray(t.attempts) ? t.attempts.length : t.attempts),
      fact('started', fmtTime(t.started_at)),
      fact('finished', fmtTime(t.finished_at)),
      fact('duration', fmtDuration(dur))),
    t.error ? h('div', { class: 'error', id: 'trial-error' }, t.error) : null,
  ];
}

function fact(k, v) {
  return h('div', null, h('dt', null, k), h('dd', null, v));
}

// Headline metrics of every arena: the final ones, or while the trial trains
// those of its latest evaluation (said so, with its step).
function metricCards(t, latest) {
  let values = t.metrics || {};
  let suffix = '';
  if (!Object.keys(values).length && latest) {
    values = latest.metrics;
    suffix = ` (step ${latest.step})`;
  }
  const names = Object.keys(values);
  const arenas = arenasOf(names);
  const cards = [];
  for (const a of arenas) {
    const thr = values['eval.' + a + '.grid_score.threshold'];
    for (const m of headlineMetrics(names, a, thr)) cards.push([metricLabel(m) + suffix, values[m]]);
  }
  if ('loss.total' in values) cards.push(['final loss', values['loss.total']]);
  if (!cards.length) {
    return h('p', { class: 'muted' }, { succeeded: 'No metrics recorded.', failed: 'No metrics: the trial failed.', canceled: 'No metrics: the trial was canceled.' }[t.status]
      || 'Metrics appear when the trial has finished.');
  }
  return cards.map(([label, v]) => h('div', { class: 'metric-card' }, h('div', { class: 'v' }, fmtNum(v)), h('div', { class: 'k' }, label)));
}

function curveChart(el, lrEl, controls, c, logScale, setLog, final) {
  const steps = c.step || [];
  const present = LOSSES.filter((k) => Array.isArray(c[k]) && c[k].some((v) => v !== null));
  // A log axis cannot show zero or negative values (the capacity loss is
  // negative): such a loss is left out of the log view, and said so.
  const nonPositive = present.filter((k) => c[k].some((v) => v !== null && v <= 0));
  const shown = logScale ? present.filter((k) => !nonPositive.includes(k)) : present;
  controls.replaceChildren();
  controls.append(...[
    h('label', null, h('input', { type: 'checkbox', id: 'log-scale', checked: logScale, onchange: (e) => setLog(e.target.checked) }), ' log scale'),
    logScale && nonPositive.length
      ? h('span', { class: 'muted' }, ` ${nonPositive.join(', ')} ${nonPositive.length > 1 ? 'have' : 'has'} values ≤ 0 and ${nonPositive.length > 1 ? 'are' : 'is'} shown on the linear scale only.`)
      : null,
    h('span', { class: 'muted' }, ` ${steps.length} points (at most 500 are stored per trial).`)].filter(Boolean));
  el.classList.toggle('none', !steps.length);
  lrEl.classList.toggle('none', !steps.length);
  if (!steps.length) {
    controls.replaceChildren(h('span', { class: 'muted' }, final ? 'No curve was recorded.' : 'No curve yet.'));
    el.dataset.points = '0';
    return;
  }
  const series = shown.map((k) => ({
    name: k, type: 'line', showSymbol: steps.length < 40, symbolSize: 4, sampling: 'lttb',
    lineStyle: { width: k === 'total' ? 2.5 : 1.5 },
    data: steps.map((s, i) => [s, c[k][i]]),
  }));
  plot(el, {
    grid: { left: 60, right: 20, top: 36, bottom: 40 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis', valueFormatter: (v) => fmtNum(v, 4) },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 26, min: 'dataMin', max: 'dataMax' },
    yAxis: logScale ? { type: 'log', name: 'loss' } : { type: 'value', name: 'loss', scale: true },
    dataZoom: [{ type: 'inside', xAxisIndex: 0 }],
    series,
  }, steps.length * shown.length);
  if (Array.isArray(c.lr) && c.lr.some((v) => v !== null)) {
    plot(lrEl, {
      grid: { left: 60, right: 20, top: 20, bottom: 30 },
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmtNum(v, 6) },
      xAxis: { type: 'value', min: 'dataMin', max: 'dataMax' },
      yAxis: { type: 'log', name: 'learning rate' },
      series: [{ name: 'lr', type: 'line', step: 'end', showSymbol: false, color: '#6b6b6b', data: steps.map((s, i) => [s, c.lr[i]]) }],
    }, steps.length);
  }
}

// The grid metrics of the evaluations during training against steps: the
// headline scores of the first arena on the left axis, unit counts (grid
// units, modules) on the right.
function evalChart(el, note, e, final) {
  const rows = e.evals || [];
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
  const arena = arenasOf(names)[0];
  if (!rows.length || !arena) {
    note.replaceChildren(h('span', { class: 'muted' }, final
      ? 'This trial was not evaluated during training.'
      : 'No evaluation during training yet: points appear at each evaluation step.'));
    el.classList.add('none');
    el.dataset.points = '0';
    return;
  }
  el.classList.remove('none');
  const thr = rows[rows.length - 1].metrics['eval.' + arena + '.grid_score.threshold'];
  // Phase tiling (1 random, 2.15 even) shares the score axis: it shows a module's
  // phases spreading over its cell after the lattice has formed.
  const scores = [...headlineMetrics(names, arena, thr).filter((m) => !m.endsWith('.n_modules')),
    ...[`eval.${arena}.phase_tiling`].filter((m) => names.includes(m))];
  // Distinct modules: those that are no harmonic of a longer one (docs/analysis.md).
  const counts = ['n_grid', 'n_modules', 'n_modules_distinct'].map((m) => `eval.${arena}.${m}`)
    .filter((m) => names.includes(m));
  const series = [...scores, ...counts].map((m) => ({
    name: metricLabel(m, false), type: 'line', yAxisIndex: counts.includes(m) ? 1 : 0,
    showSymbol: true, symbolSize: 5, connectNulls: false,
    lineStyle: counts.includes(m) ? { type: 'dashed', width: 1.5 } : { width: 2 },
    data: rows.map((r) => [r.step, r.metrics[m] ?? null]),
  }));
  const points = series.reduce((n, s) => n + s.data.filter(([, v]) => v !== null).length, 0);
  note.replaceChildren(h('span', { class: 'muted' },
    `${rows.length} evaluations (arena ${arena})`, e.steps > rows.length ? `, thinned from ${e.steps}` : '',
    '. Dashed: unit counts, right axis.'));
  plot(el, {
    grid: { left: 60, right: 60, top: 36, bottom: 40 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis', valueFormatter: (v) => fmtNum(v, 3) },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 26, min: 'dataMin', max: 'dataMax' },
    yAxis: [{ type: 'value', name: 'score', scale: true }, { type: 'value', name: 'units', minInterval: 1, splitLine: { show: false } }],
    series,
  }, points);
}

// What the units' maps are at each evaluation, as the Fourier check names them
// (docs/analysis.md section 3), stacked: a lattice forming shows as band units
// turning into square, oblique or grid ones before any unit passes the grid
// score. Only the patterns the evaluations counted are drawn.
const PATTERNS = [
  ['grid', 'hexagonal', '#4a9b5b'], ['partial', 'partial hexagon', '#9cc9a4'], ['square', 'square', '#d1613c'],
  ['oblique', 'oblique', '#c29b2c'], ['band', 'band', '#3b6fb6'], ['none', 'no clear period', '#cfcfcf'],
];

function patternChart(el, e) {
  const rows = e.evals || [];
  const arena = arenasOf([...new Set(rows.flatMap((r) => Object.keys(r.metrics)))])[0];
  const key = (p) => `eval.${arena}.patterns.${p}`;
  const present = arena ? PATTERNS.filter(([p]) => rows.some((r) => key(p) in r.metrics)) : [];
  if (!present.length) {
    el.classList.add('none');
    el.dataset.points = '0';
    return;
  }
  el.classList.remove('none');
  el.dataset.series = present.map(([p]) => p).join(',');
  const series = present.map(([p, label, color]) => ({
    name: label, type: 'line', stack: 'units', color, areaStyle: { opacity: 0.85 }, lineStyle: { width: 0 },
    showSymbol: false, data: rows.map((r) => [r.step, r.metrics[key(p)] ?? null]),
  }));
  const points = series.reduce((n, s) => n + s.data.filter(([, v]) => v !== null).length, 0);
  plot(el, {
    grid: { left: 60, right: 60, top: 30, bottom: 24 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis', valueFormatter: (v) => fmtNum(v, 0) },
    xAxis: { type: 'value', min: 'dataMin', max: 'dataMax' },
    yAxis: { type: 'value', name: 'units', minInterval: 1, max: 'dataMax' },
    series,
  }, points);
}

// The pictures the worker stored, one block per arena folder, in the order
// a scientist reads them; pictures not in PICTURES come after. While the
// trial trains they are its latest evaluation's, captioned with its step.
function pictureSheet(t, version) {
  const arts = (t.artifacts || []).filter((a) => (a.mime || '').startsWith('image/'));
  if (!arts.length) {
    return h('p', { class: 'muted' }, t.status === 'succeeded'
      ? 'No pictures were stored for this trial (the worker was built without Cairo, or evaluation is off).'
      : 'Pictures appear at its first evaluation during training (probe.every), or when it has been evaluated.');
  }
  const byArena = new Map();
  for (const a of arts) {
    const slash = a.name.lastIndexOf('/');
    const folder = slash >= 0 ? a.name.slice(0, slash) : '';
    if (!byArena.has(folder)) byArena.set(folder, []);
    byArena.get(folder).push(a);
  }
  const order = (a) => {
    const base = a.name.slice(a.name.lastIndexOf('/') + 1);
    const i = PICTURES.findIndex(([p]) => p === base);
    return i < 0 ? PICTURES.length : i;
  };
  const folders = [...byArena.keys()].sort((a, b) => (parseFloat(a.replace(/\D+/g, ' ')) || 0) - (parseFloat(b.replace(/\D+/g, ' ')) || 0));
  return folders.map((folder) => h('div', { class: 'arena' },
    folder ? h('h3', null, folder.replace(/^arena_/, 'arena ')) : null,
    h('div', { class: 'pictures' }, byArena.get(folder).sort((a, b) => order(a) - order(b)).map((a) => {
      const base = a.name.slice(a.name.lastIndexOf('/') + 1);
      const known = PICTURES.find(([p]) => p === base);
      const url = a.url || `api/v1/trials/${t.id}/artifacts/${a.name}`;
      // Relative, like every API call here; versioned by the latest evaluation.
      const src = url.replace(/^\//, '') + (version ? '?v=' + version : '');
      return h('figure', { class: base === 'ratemaps.png' || base === 'autocorrelograms.png' ? 'wide' : '' },
        h('a', { href: src, target: '_blank', rel: 'noopener' },
          withAuth(h('img', { src, alt: known ? known[1] : base, loading: 'lazy', dataset: { artifact: a.name } }), src)),
        // An evaluation during training drew it (the final one replaces it).
        h('figcaption', null, (known ? known[1] : base) + (a.step != null ? ` (step ${a.step})` : '')));
    }))));
}

// With a stored token (--auth-reads) the picture comes from a fetch that sends it.
function withAuth(img, src) {
  authedUrl(src).then((url) => { if (url !== src) img.src = url; }).catch(() => {});
  return img;
}

const ATTEMPT_COLS = ['round', 'delivery', 'worker', 'started_at', 'finished_at', 'outcome', 'status', 'error'];

function attemptsTable(attempts) {
  if (!attempts.length) return h('p', { class: 'muted' }, 'Not started yet.');
  // The columns the coordinator sends, known ones first in a fixed order.
  const keys = [...new Set(attempts.flatMap((a) => Object.keys(a)))];
  const cols = [...ATTEMPT_COLS.filter((k) => keys.includes(k)), ...keys.filter((k) => !ATTEMPT_COLS.includes(k))];
  const hasTimes = keys.includes('started_at');
  return h('table', { class: 'grid', id: 'attempts-table' },
    h('thead', null, h('tr', null, cols.map((k) => h('th', null, k.replace(/_at$/, ''))), hasTimes ? h('th', { class: 'num' }, 'duration') : null)),
    h('tbody', null, attempts.map((a) => h('tr', null,
      cols.map((k) => {
        const v = a[k];
        if (k.endsWith('_at')) return h('td', { class: 'nowrap' }, fmtTime(v));
        if (k === 'error') return h('td', { class: v ? 'bad small' : '' }, v || '');
        if (k === 'outcome' || k === 'status') return h('td', null, v ? h('span', { class: 'badge s-' + v }, v) : (a.finished_at ? '' : h('span', { class: 'muted' }, 'no result')));
        return h('td', null, v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
      }),
      hasTimes ? h('td', { class: 'num' }, a.started_at && a.finished_at ? fmtDuration(a.finished_at - a.started_at) : '–') : null))));
}

function metricsTable(m, final) {
  const names = Object.keys(m).sort();
  if (!names.length) return h('p', { class: 'muted' }, final ? 'None.' : 'None yet.');
  return h('table', { class: 'grid compact', id: 'metrics-table' },
    h('tbody', null, names.map((k) => h('tr', null, h('td', { class: 'mono small' }, k), h('td', { class: 'num' }, fmtNum(m[k], 4))))));
}
