// #/sweeps/ID: one sweep. Tabs (in the hash, so links and Back keep them):
//   variants  the ablation view: headline metrics per variant, mean ± sd over seeds
//   lambda    metric against each grid key, and a heat map for a 2-D grid
//   trials    the trials table; sorting, filtering and paging are done by the server
//   parallel  parallel coordinates over parameters and metrics (first 1000 finished trials)
//   search    for sweeps with an objective, search or schedule: objective by
//             trial with the best so far, the rungs, objective against each parameter
// Aggregates come from /summary, which the coordinator keeps up to date, so
// nothing here ever fetches all trials of a sweep.
import { setQuery } from './nav.js';
import { PALETTE, errorBarSeries, plot } from './charts.js';
import {
  FINAL, LIVE, STATUSES, api, arenasOf, authedDownload, errorBox, fmtDuration, fmtMeanSd, fmtNum, fmtParam, fmtTime, h,
  headlineMetrics, liveClasses, metricLabel, poll, progressBar, renderIfChanged, statusBadge, trialState, waitingFor,
} from './util.js';

const PARALLEL_CAP = 1000;

let state = null;

export async function render(app, [idText], query) {
  const id = parseInt(idText, 10);
  const sweep = await api('sweeps/' + id);
  const header = h('div', { class: 'sweep-head' });
  const tabs = h('nav', { class: 'tabs' });
  const body = h('div', { class: 'tab-body' });
  app.append(
    h('div', { class: 'crumbs' }, h('a', { href: '#/sweeps' }, 'Sweeps'), ' / ', 'sweep ' + id),
    header, tabs, body);
  state = { id, sweep, header, tabs, body, tab: null, query, summary: null, summaryKey: null, summaryCurrent: true, refreshTab: null };
  drawHeader();
  update(query);
  let first = true;
  return poll(async () => {
    if (first) { first = false; return; } // just fetched
    const before = JSON.stringify(state.sweep.counts);
    const s = await api('sweeps/' + id);
    if (state.id !== id) return;
    state.sweep = s;
    drawHeader();
    // Running trials move without changing the counts; a finished sweep only
    // changes when trials are retried.
    // The coordinator's listings may trail the store by about a second, so
    // the tab is refreshed twice more after the counts last moved.
    if (JSON.stringify(s.counts) !== before) state.settle = 2;
    const behind = (!state.summaryCurrent && (state.tab === 'variants' || state.tab === 'lambda'))
      || (state.parallelBehind && state.tab === 'parallel');
    if (state.refreshTab && (!isFinished(s) || state.settle > 0 || behind)) {
      state.settle = Math.max(0, (state.settle || 0) - 1);
      await state.refreshTab();
    }
  }, 2000);
}

function isFinished(s) {
  return s.total > 0 && FINAL.reduce((n, k) => n + (s.counts[k] || 0), 0) === s.total;
}

// Whether the sweep's spec has an objective, a search or a schedule.
function isAdaptive(s) {
  const spec = s.spec || {};
  return ['objective', 'search', 'schedule'].some((k) => spec[k] && typeof spec[k] === 'object');
}

function availableTabs(s) {
  const tabs = [];
  if (isAdaptive(s)) tabs.push(['search', 'Search']);
  if ((s.variants || []).length > 1) tabs.push(['variants', 'Variants']);
  if ((s.grid_keys || []).length) tabs.push(['lambda', (s.grid_keys.length === 2 ? 'Grid' : 'Parameters')]);
  tabs.push(['trials', 'Trials'], ['parallel', 'Parallel coordinates']);
  return tabs;
}

export function update(query) {
  state.query = query;
  const tabs = availableTabs(state.sweep);
  let tab = query.get('tab');
  if (!tabs.some(([k]) => k === tab)) tab = tabs[0][0];
  renderIfChanged(state.tabs, tab, () => tabs.map(([k, label]) =>
    h('a', { href: tabHref(k), class: k === tab ? 'active' : '', dataset: { tab: k } }, label)));
  const tabKey = tab + '|' + (query.get('arena') || '') + '|' + (query.get('metric') || '') + '|' + (query.get('variant') || '');
  if (tab === 'trials') {
    if (state.tab !== 'trials') {
      state.tab = 'trials';
      state.tabKey = tabKey;
      state.body.replaceChildren();
      state.refreshTab = trialsTab(state.body);
    } else {
      state.refreshTab();
    }
    return;
  }
  if (state.tab === tab && state.tabKey === tabKey) return;
  state.tab = tab;
  state.tabKey = tabKey;
  state.body.replaceChildren();
  const draw = { variants: variantsTab, lambda: lambdaTab, parallel: parallelTab, search: searchTab }[tab];
  state.refreshTab = draw(state.body);
}

function tabHref(tab) {
  return '#/sweeps/' + state.id + '?tab=' + tab;
}

function drawHeader() {
  const s = state.sweep;
  const c = s.counts || {};
  const done = FINAL.reduce((n, k) => n + (c[k] || 0), 0);
  const dead = s.dead_letters || { count: 0, latest: [] };
  renderIfChanged(state.header, JSON.stringify([s.counts, s.canceled, dead.count, s.owner, s.priority, s.max_running, s.preempt]), () => [
    h('h1', null, s.name || 'sweep ' + s.id, s.canceled ? h('span', { class: 'badge s-canceled' }, 'canceled') : null),
    s.description ? h('p', { class: 'muted' }, s.description) : null,
    h('p', { class: 'muted small', id: 'sweep-owner' },
      'owner ', s.owner ? h('a', { href: '#/sweeps?owner=' + encodeURIComponent(s.owner) }, s.owner) : '–',
      ` · priority ${s.priority ?? 0}`, s.preempt ? ' (may preempt lower priorities)' : '',
      s.max_running ? ` · at most ${s.max_running} running` : ''),
    h('div', { class: 'head-row' },
      h('div', { class: 'head-progress' }, progressBar(c, s.total)),
      h('span', { id: 'sweep-counts' }, `${done}/${s.total} done · `,
        STATUSES.filter((k) => c[k]).map((k, i) => [i ? ', ' : '', h('span', { class: 'c-' + k }, `${c[k]} ${k}`)])),
      h('span', { class: 'muted' }, ' · created ', fmtTime(s.created_at)),
      h('span', { class: 'links' },
        h('a', { href: `api/v1/sweeps/${s.id}/export?format=csv`, download: `sweep-${s.id}.csv`, onclick: authedDownload }, 'CSV'), ' ',
        h('a', { href: `api/v1/sweeps/${s.id}/export?format=json`, download: `sweep-${s.id}.json`, onclick: authedDownload }, 'JSON'))),
    // Results the coordinator could not record (dead letters): say so, with the latest reason.
    dead.count ? h('div', { class: 'warning', id: 'dead-letters', role: 'alert' },
      `${dead.count} result${dead.count === 1 ? '' : 's'} could not be recorded`,
      dead.latest.length ? ': ' + dead.latest[0].error : '') : null,
  ]);
}

// ---------------------------------------------------------------- summary

// The summary with the metrics a view needs (metrics=, so a 500-point grid
// costs kilobytes, not megabytes). Fetched again when the sweep's counts
// moved, or when the last answer did not yet add up to them: the coordinator
// may serve a summary up to a second old while results arrive, and the last
// one of a sweep must not stay on screen.
async function summary(metrics) {
  const want = [...new Set(metrics)].sort();
  const key = JSON.stringify([state.sweep.counts, want]);
  if (state.summary && state.summaryKey === key && state.summaryCurrent) return { data: state.summary, changed: false };
  const data = await api('sweeps/' + state.id + '/summary', want.length ? { metrics: want.join(',') } : undefined);
  const counts = data.groups.reduce((c, g) => addCounts(c, g.counts), {});
  state.summaryCurrent = STATUSES.every((k) => (counts[k] || 0) === (state.sweep.counts[k] || 0));
  state.summary = data;
  state.summaryKey = key;
  return { data, changed: true };
}

// Every metric the headline of an arena may use (the fraction of grid cells at
// each threshold, and the threshold the evaluation used to pick one of them).
function headlineCandidates(arena) {
  if (!arena) return [];
  const p = 'eval.' + arena + '.';
  return (state.sweep.metric_names || []).filter((m) => m.startsWith(p) &&
    (/^(max_score60|median_score60|n_modules|grid_score\.threshold)$/.test(m.slice(p.length)) || m.startsWith(p + 'fraction_grid.')));
}

function currentArena() {
  const arenas = arenasOf(state.sweep.metric_names || []);
  const arena = state.query.get('arena');
  return arenas.includes(arena) ? arena : arenas[0];
}

// Pools groups (several grid points of one variant, or seeds at several
// values of the other grid keys) into one mean and sample sd, exactly.
function pool(stats) {
  let n = 0, sum = 0, ss = 0, nan = 0;
  for (const st of stats) {
    if (!st) continue;
    nan += st.nan || 0;
    if (!st.n) continue;
    n += st.n;
    sum += st.n * st.mean;
    ss += (st.n > 1 && st.sd !== null ? (st.n - 1) * st.sd * st.sd : 0) + st.n * st.mean * st.mean;
  }
  if (!n) return { n: 0, nan, mean: null, sd: null };
  const mean = sum / n;
  const sd = n > 1 ? Math.sqrt(Math.max(0, (ss - n * mean * mean) / (n - 1))) : null;
  return { n, nan, mean, sd };
}

function addCounts(into, counts) {
  for (const [k, v] of Object.entries(counts || {})) into[k] = (into[k] || 0) + v;
  return into;
}

// Arena and headline metric names for this sweep (first arena unless ?arena=).
function headline(summaryData) {
  const names = state.sweep.metric_names || [];
  const arenas = arenasOf(names);
  let arena = state.query.get('arena');
  if (!arenas.includes(arena)) arena = arenas[0];
  let threshold;
  if (arena && summaryData) {
    const t = pool(summaryData.groups.map((g) => g.metrics['eval.' + arena + '.grid_score.threshold']));
    if (t.n) threshold = t.mean;
  }
  const metrics = arena ? headlineMetrics(names, arena, threshold) : [];
  return { arenas, arena, metrics };
}

function arenaPicker(arenas, arena) {
  if (arenas.length < 2) return null;
  return h('label', null, 'arena ',
    h('select', { onchange: (e) => setQuery({ arena: e.target.value }) },
      arenas.map((a) => h('option', { value: a, selected: a === arena }, a))));
}

function noResults(el, what) {
  el.replaceChildren(h('p', { class: 'muted empty' }, what));
}

// ---------------------------------------------------------------- variants

function variantsTab(body) {
  const controls = h('div', { class: 'controls' });
  const charts = h('div', { class: 'chart-grid four' });
  const table = h('div', { class: 'table-wrap' });
  body.append(controls, charts, table);
  const refresh = async () => {
    let data;
    try {
      ({ data } = await summary(headlineCandidates(currentArena())));
    } catch (e) {
      body.replaceChildren(errorBox(e));
      return;
    }
    const key = JSON.stringify(data) + state.tabKey;
    if (body._drawn === key) return;
    body._drawn = key;
    const { arenas, arena, metrics } = headline(data);
    const variants = state.sweep.variants || [];
    const baseline = variants[0];
    // One row per variant, in the sweep's order (baseline first).
    const byVariant = new Map(variants.map((v) => [v, { variant: v, groups: [] }]));
    for (const g of data.groups) {
      if (!byVariant.has(g.variant)) byVariant.set(g.variant, { variant: g.variant, groups: [] });
      byVariant.get(g.variant).groups.push(g);
    }
    const rows = [...byVariant.values()].map((r) => ({
      ...r,
      trials: r.groups.reduce((n, g) => n + g.trials, 0),
      counts: r.groups.reduce((c, g) => addCounts(c, g.counts), {}),
      point: r.groups.length === 1 ? r.groups[0].point : null,
      stats: Object.fromEntries(metrics.map((m) => [m, pool(r.groups.map((g) => g.metrics[m]))])),
    }));
    const pooled = rows.some((r) => r.groups.length > 1);
    renderIfChanged(controls, JSON.stringify([arenas, arena, pooled]), () => [
      arenaPicker(arenas, arena),
      h('span', { class: 'muted' },
        'Mean ± sd over seeds', pooled ? ' (pooled over the grid points of each variant)' : '',
        '; ★ and the dashed line mark the baseline.')]);
    if (!metrics.length) {
      noResults(charts, 'No evaluation results yet: the plots appear when the first trial has been scored.');
    } else {
      charts.replaceChildren();
      for (const m of metrics) {
        const el = h('div', { class: 'chart', dataset: { chart: 'variants', metric: m } });
        charts.append(h('div', { class: 'card' }, h('h3', null, metricLabel(m)), el));
        variantChart(el, m, rows, baseline);
      }
    }
    table.replaceChildren(variantTable(rows, metrics, baseline));
  };
  refresh();
  return refresh;
}

function variantChart(el, metric, rows, baseline) {
  const names = rows.map((r) => r.variant);
  const base = rows.find((r) => r.variant === baseline);
  const baseMean = base ? base.stats[metric].mean : null;
  const bars = rows.map((r) => ({
    value: r.stats[metric].mean,
    itemStyle: { color: r.variant === baseline ? '#6b6b6b' : PALETTE[0] },
    n: r.stats[metric].n,
  }));
  const errs = rows.map((r, i) => [i, r.stats[metric].mean, r.stats[metric].sd]);
  const points = rows.filter((r) => r.stats[metric].n > 0).length;
  plot(el, {
    grid: { left: 50, right: 16, top: 16, bottom: 16, containLabel: true },
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' },
      formatter: (ps) => {
        const r = rows[ps[0].dataIndex];
        const st = r.stats[metric];
        return `<b>${escapeHtml(r.variant)}</b>${r.variant === baseline ? ' (baseline)' : ''}<br>` +
          `${fmtMeanSd(st)}<br>n = ${st.n}${st.nan ? `, ${st.nan} NaN` : ''}`;
      },
    },
    xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: names.length > 2 ? 30 : 0,
      formatter: (v) => (v === baseline ? v + ' ★' : v) } },
    yAxis: { type: 'value', scale: false },
    series: [
      {
        type: 'bar', data: bars, barMaxWidth: 48,
        markLine: baseMean === null ? undefined : {
          silent: true, symbol: 'none', precision: 12, lineStyle: { type: 'dashed', color: '#6b6b6b' },
          label: { formatter: 'baseline', position: 'insideEndTop', color: '#6b6b6b' },
          data: [{ yAxis: baseMean }],
        },
      },
      errorBarSeries('sd', errs, '#222'),
    ],
  }, points);
}

function variantTable(rows, metrics, baseline) {
  const base = rows.find((r) => r.variant === baseline);
  return h('table', { class: 'grid', id: 'variants-table' },
    h('thead', null, h('tr', null,
      h('th', null, 'variant'), h('th', null, 'overrides'), h('th', { class: 'num' }, 'trials'),
      h('th', null, 'status'),
      metrics.map((m) => h('th', { class: 'num' }, metricLabel(m))))),
    h('tbody', null, rows.map((r) => h('tr', { class: r.variant === baseline ? 'baseline' : '', dataset: { variant: r.variant } },
      h('td', null, h('a', { href: `#/sweeps/${state.id}?tab=trials&variant=${encodeURIComponent(r.variant)}` }, r.variant),
        r.variant === baseline ? h('span', { class: 'badge baseline-badge' }, 'baseline') : null),
      h('td', { class: 'small mono' }, r.point ? overridesText(r.point) : (r.groups.length ? r.groups.length + ' grid points' : '')),
      h('td', { class: 'num' }, r.trials),
      h('td', { class: 'small' }, countsText(r.counts)),
      metrics.map((m) => {
        const st = r.stats[m];
        const b = base && r !== base ? base.stats[m] : null;
        const delta = b && b.mean !== null && st.mean !== null ? st.mean - b.mean : null;
        return h('td', { class: 'num', dataset: { metric: m }, title: `n = ${st.n}${st.nan ? ', ' + st.nan + ' NaN' : ''}` },
          fmtMeanSd(st),
          delta !== null && Math.abs(delta) > 1e-12 ? h('span', { class: 'delta ' + (delta < 0 ? 'down' : 'up') }, (delta < 0 ? ' ' : ' +') + fmtNum(delta)) : null);
      })))));
}

function countsText(counts) {
  return STATUSES.filter((k) => counts[k]).map((k, i) => [i ? ', ' : '', h('span', { class: 'c-' + k }, `${counts[k]} ${k}`)]);
}

function overridesText(point) {
  const e = Object.entries(point || {});
  return e.length ? e.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : '(none)';
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// ---------------------------------------------------------------- lambda

function lambdaTab(body) {
  const controls = h('div', { class: 'controls' });
  const charts = h('div', { class: 'chart-grid' });
  body.append(controls, charts);
  const refresh = async () => {
    const names = state.sweep.metric_names || [];
    const candidates = headlineCandidates(currentArena());
    let metric = state.query.get('metric');
    // Bookkeeping counters are the last resort (trials without evaluation).
    if (!names.includes(metric)) {
      metric = candidates.find((m) => m.endsWith('.max_score60')) || names.find((m) => m === 'loss.total')
        || names.find((m) => m !== 'steps' && m !== 'resumed_from_step') || names[0];
    }
    let data;
    try {
      ({ data } = await summary(metric ? [...candidates, metric] : candidates));
    } catch (e) {
      body.replaceChildren(errorBox(e));
      return;
    }
    const key = JSON.stringify(data) + state.tabKey;
    if (body._drawn === key) return;
    body._drawn = key;
    const keys = data.grid_keys || state.sweep.grid_keys || [];
    const { arenas, arena, metrics } = headline(data);
    const variants = state.sweep.variants || [];
    let variant = state.query.get('variant');
    if (!variants.includes(variant)) variant = variants[0];
    const groups = data.groups.filter((g) => !variant || g.variant === variant);
    const options = [...new Set([...metrics, ...names.filter((m) => m.startsWith('loss.')), ...names])];
    renderIfChanged(controls, JSON.stringify([options, metric, variant, arenas, arena]), () => [
      h('label', null, 'metric ',
        h('select', { id: 'lambda-metric', onchange: (e) => setQuery({ metric: e.target.value }, { replace: true }) },
          options.map((m) => h('option', { value: m, selected: m === metric }, metricLabel(m))))),
      variants.length > 1 ? h('label', null, ' variant ',
        h('select', { onchange: (e) => setQuery({ variant: e.target.value }, { replace: true }) },
          variants.map((v) => h('option', { value: v, selected: v === variant }, v)))) : null,
      arenaPicker(arenas, arena),
      h('span', { class: 'muted' }, ' Mean ± sd over seeds.')]);
    if (!metric) {
      noResults(charts, 'No results yet: the plots appear when the first trial has finished.');
      return;
    }
    charts.replaceChildren();
    for (const k of keys) {
      const el = h('div', { class: 'chart', dataset: { chart: 'lambda', key: k } });
      charts.append(h('div', { class: 'card' }, h('h3', null, metricLabel(metric), ' vs ', h('span', { class: 'mono' }, k)), el));
      lambdaChart(el, k, keys, groups, metric);
    }
    if (keys.length === 2) {
      const el = h('div', { class: 'chart', dataset: { chart: 'heatmap' } });
      charts.append(h('div', { class: 'card' }, h('h3', null, metricLabel(metric), ': ',
        h('span', { class: 'mono' }, keys[0]), ' × ', h('span', { class: 'mono' }, keys[1])), el));
      heatmap(el, keys, groups, metric);
    }
  };
  refresh();
  return refresh;
}

function sortValues(values) {
  const numeric = values.every((v) => typeof v === 'number');
  return { numeric, values: [...values].sort((a, b) => (numeric ? a - b : String(a).localeCompare(String(b)))) };
}

function keyOf(v) {
  return JSON.stringify(v === undefined ? null : v);
}

function lambdaChart(el, key, keys, groups, metric) {
  const others = keys.filter((k) => k !== key);
  // One series per combination of the other grid keys when there are few,
  // else pooled over them.
  const combos = new Map();
  for (const g of groups) {
    const label = others.map((k) => `${k}=${fmtParam(g.point[k])}`).join(', ');
    if (!combos.has(label)) combos.set(label, []);
    combos.get(label).push(g);
  }
  const split = combos.size <= 8;
  const seriesGroups = split ? [...combos.entries()] : [['all', groups]];
  const { numeric, values } = sortValues([...new Set(groups.map((g) => g.point[key]))]);
  const series = [];
  let points = 0;
  seriesGroups.forEach(([label, gs], i) => {
    const color = PALETTE[i % PALETTE.length];
    const data = [];
    for (const v of values) {
      const st = pool(gs.filter((g) => keyOf(g.point[key]) === keyOf(v)).map((g) => g.metrics[metric]));
      if (st.mean === null) continue;
      points++;
      data.push([numeric ? v : String(v), st.mean, st.sd === null ? NaN : st.sd, st.n]);
    }
    const name = label || metric;
    series.push({ name, type: 'line', data, symbolSize: 7, itemStyle: { color }, lineStyle: { width: 2 } });
    series.push({ ...errorBarSeries(name, data, color) });
  });
  plot(el, {
    grid: { left: 56, right: 16, top: seriesGroups.length > 1 ? 40 : 16, bottom: 40 },
    legend: seriesGroups.length > 1 ? { type: 'scroll', top: 0, data: series.filter((s) => s.type === 'line').map((s) => s.name) } : undefined,
    tooltip: {
      trigger: 'item',
      formatter: (p) => `${escapeHtml(p.seriesName)}<br>${escapeHtml(key)} = ${escapeHtml(fmtParam(p.value[0]))}<br>` +
        `${fmtMeanSd({ mean: p.value[1], sd: Number.isNaN(p.value[2]) ? null : p.value[2] })} (n = ${p.value[3]})`,
    },
    xAxis: numeric ? { type: 'value', name: key, nameLocation: 'middle', nameGap: 26, scale: true }
      : { type: 'category', data: values.map(String), name: key, nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'value', scale: true },
    series,
  }, points);
}

function heatmap(el, keys, groups, metric) {
  const [kx, ky] = keys;
  const xs = sortValues([...new Set(groups.map((g) => g.point[kx]))]).values;
  const ys = sortValues([...new Set(groups.map((g) => g.point[ky]))]).values;
  const data = [];
  let lo = Infinity, hi = -Infinity;
  xs.forEach((x, i) => ys.forEach((y, j) => {
    const st = pool(groups.filter((g) => keyOf(g.point[kx]) === keyOf(x) && keyOf(g.point[ky]) === keyOf(y)).map((g) => g.metrics[metric]));
    if (st.mean === null) return;
    lo = Math.min(lo, st.mean);
    hi = Math.max(hi, st.mean);
    data.push({ value: [i, j, st.mean], sd: st.sd, n: st.n });
  }));
  for (const d of data) {
    // Dark text on light cells, light text on dark ones.
    const t = hi > lo ? (d.value[2] - lo) / (hi - lo) : 0;
    d.label = { color: t > 0.55 ? '#fff' : '#111' };
  }
  if (!data.length) { lo = 0; hi = 1; }
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  plot(el, {
    grid: { left: 70, right: 90, top: 16, bottom: 50 },
    tooltip: {
      formatter: (p) => `${escapeHtml(kx)} = ${escapeHtml(fmtParam(xs[p.value[0]]))}<br>${escapeHtml(ky)} = ${escapeHtml(fmtParam(ys[p.value[1]]))}<br>` +
        `${fmtMeanSd({ mean: p.value[2], sd: p.data.sd })} (n = ${p.data.n})`,
    },
    xAxis: { type: 'category', data: xs.map(fmtParam), name: kx, nameLocation: 'middle', nameGap: 30, splitArea: { show: true } },
    yAxis: { type: 'category', data: ys.map(fmtParam), name: ky, nameLocation: 'middle', nameGap: 50, splitArea: { show: true } },
    visualMap: { min: lo, max: hi, calculable: true, orient: 'vertical', right: 0, top: 'middle', itemHeight: 160,
      inRange: { color: ['#f7fbff', '#9ecae1', '#3182bd', '#08306b'] }, formatter: (v) => fmtNum(v) },
    series: [{
      type: 'heatmap', data,
      // Values written in the cells while they are big enough to read.
      label: { show: xs.length <= 12 && ys.length <= 16, formatter: (p) => fmtNum(p.value[2]) },
      emphasis: { itemStyle: { borderColor: '#000', borderWidth: 1 } },
    }],
  }, data.length);
}

// ---------------------------------------------------------------- trials

const PAGE_SIZES = [25, 50, 100, 500];

function trialsTab(body) {
  const controls = h('div', { class: 'controls' });
  const wrap = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'below' });
  body.append(controls, wrap, pager);
  let seq = 0;
  const refresh = async () => {
    const q = state.query;
    const names = state.sweep.metric_names || [];
    const { arena, metrics } = headline(state.summary);
    const extra = (q.get('cols') || '').split(',').filter((m) => names.includes(m));
    const cols = [...new Set([...metrics, ...(names.includes('loss.total') ? ['loss.total'] : []), ...extra])];
    const params = {
      offset: Math.max(0, parseInt(q.get('offset') || '0', 10) || 0),
      limit: PAGE_SIZES.includes(parseInt(q.get('limit'), 10)) ? parseInt(q.get('limit'), 10) : 50,
      sort: q.get('sort') || 'index',
      order: q.get('order') === 'desc' ? 'desc' : 'asc',
      status: q.get('status') || '',
      variant: q.get('variant') || '',
      metrics: cols.join(','), // only the metrics the table shows
    };
    const mine = ++seq;
    let data;
    try {
      data = await api(`sweeps/${state.id}/trials`, params);
    } catch (e) {
      if (mine === seq) wrap.replaceChildren(errorBox(e));
      return;
    }
    if (mine !== seq) return; // a newer request (another sort or page) is under way
    // Trials waiting for a worker: which classes have a live one?
    const classes = data.trials.some((t) => t.status === 'pending' || t.status === 'queued')
      ? await liveClasses().catch(() => null) : null;
    if (mine !== seq) return;
    renderIfChanged(controls, JSON.stringify([params.status, params.variant, params.limit, cols, names.length, arena]),
      () => trialControls(params, cols, names));
    renderIfChanged(wrap, JSON.stringify([data.trials, cols, params.sort, params.order, classes && [...classes]]),
      () => trialTable(data.trials, cols, params, classes));
    const first = data.total ? data.offset + 1 : 0;
    const last = data.offset + data.trials.length;
    renderIfChanged(pager, JSON.stringify([first, last, data.total]), () => [
      h('span', { class: 'muted', id: 'trials-range' }, `${first}–${last} of ${data.total} trials`),
      h('span', { class: 'pager' },
        data.offset > 0 ? h('a', { href: '#', onclick: pageTo(Math.max(0, data.offset - data.limit)) }, '← previous') : null,
        last < data.total ? h('a', { href: '#', onclick: pageTo(data.offset + data.limit) }, 'next →') : null),
    ]);
  };
  refresh();
  return refresh;
}

function pageTo(offset) {
  return (e) => { e.preventDefault(); setQuery({ offset: offset || '' }, { replace: true }); };
}

function trialControls(params, cols, names) {
  const variants = state.sweep.variants || [];
  const statusOptions = [['', 'any status'], ...STATUSES.map((s) => [s, s]), [LIVE.join(','), 'unfinished']];
  const addable = names.filter((m) => !cols.includes(m));
  return [
    h('label', null, 'status ', h('select', { id: 'filter-status', onchange: (e) => setQuery({ status: e.target.value, offset: '' }, { replace: true }) },
      statusOptions.map(([v, label]) => h('option', { value: v, selected: v === params.status }, label)))),
    variants.length > 1 ? h('label', null, ' variant ', h('select', { id: 'filter-variant', onchange: (e) => setQuery({ variant: e.target.value, offset: '' }, { replace: true }) },
      h('option', { value: '' }, 'any'), variants.map((v) => h('option', { value: v, selected: v === params.variant }, v)))) : null,
    h('label', null, ' rows ', h('select', { onchange: (e) => setQuery({ limit: e.target.value, offset: '' }, { replace: true }) },
      PAGE_SIZES.map((n) => h('option', { value: n, selected: n === params.limit }, n)))),
    addable.length ? h('label', null, ' add column ', h('select', {
      id: 'add-column',
      onchange: (e) => {
        const cur = (state.query.get('cols') || '').split(',').filter(Boolean);
        setQuery({ cols: [...cur, e.target.value].join(',') }, { replace: true });
      },
    }, h('option', { value: '' }, '…'), addable.map((m) => h('option', { value: m }, m)))) : null,
  ];
}

const FIXED_COLS = [
  ['index', '#', 'num'], ['name', 'name', ''], ['variant', 'variant', ''], ['status', 'status', ''],
  [null, 'step', 'num'], [null, 'attempts', 'num'], [null, 'class', ''], [null, 'worker', ''],
  ['started_at', 'started', ''], [null, 'duration', 'num'],
];

function trialTable(trials, cols, params, classes) {
  const oneArena = arenasOf(state.sweep.metric_names).length <= 1;
  const extra = (state.query.get('cols') || '').split(',').filter(Boolean);
  const sortHeader = (field, label, cls, removable) => {
    const active = params.sort === field;
    const next = active && params.order === 'asc' ? 'desc' : 'asc';
    const arrow = active ? (params.order === 'asc' ? ' ▲' : ' ▼') : '';
    if (!field) return h('th', { class: cls }, label);
    return h('th', { class: cls + ' sortable' + (active ? ' sorted' : ''), dataset: { sort: field }, title: 'sort by ' + field },
      h('a', { href: '#', onclick: (e) => { e.preventDefault(); setQuery({ sort: field, order: next, offset: '' }, { replace: true }); } }, label + arrow),
      removable ? h('a', { href: '#', class: 'remove', title: 'remove column', onclick: (e) => {
        e.preventDefault();
        setQuery({ cols: extra.filter((m) => m !== field).join(',') }, { replace: true });
      } }, '×') : null);
  };
  return h('table', { class: 'grid', id: 'trials-table' },
    h('thead', null, h('tr', null,
      FIXED_COLS.map(([f, label, cls]) => sortHeader(f, label, cls)),
      cols.map((m) => sortHeader(m, metricLabel(m, !oneArena), 'num', extra.includes(m))))),
    h('tbody', null, trials.length ? trials.map((t) => h('tr', { dataset: { trial: t.id } },
      h('td', { class: 'num' }, t.index),
      h('td', null, h('a', { href: '#/trials/' + t.id, class: 'trial-link' }, t.name),
        t.error ? h('div', { class: 'small bad clip narrow', title: t.error }, t.error) : null),
      h('td', null, t.variant),
      h('td', null, statusBadge(t.status), trialState(t) ? h('div', { class: 'small muted' }, trialState(t)) : null,
        waitingFor(t, classes) ? h('div', { class: 'small muted waiting' }, waitingFor(t, classes)) : null),
      h('td', { class: 'num' }, t.status === 'running' && t.total_steps ? h('span', { title: `${t.step}/${t.total_steps}` },
        h('progress', { max: t.total_steps, value: t.step }), ' ', Math.round(100 * t.step / t.total_steps) + '%') : (t.step || '–')),
      h('td', { class: 'num' }, t.attempts),
      h('td', { dataset: { col: 'class' } }, t.device_class || 'cpu'),
      h('td', null, t.worker || '–'),
      h('td', { class: 'nowrap' }, fmtTime(t.started_at)),
      h('td', { class: 'num' }, t.finished_at && t.started_at ? fmtDuration(t.finished_at - t.started_at) : '–'),
      cols.map((m) => h('td', { class: 'num', dataset: { metric: m } }, fmtNum(t.metrics ? t.metrics[m] : undefined)))))
      : h('tr', null, h('td', { colspan: FIXED_COLS.length + cols.length, class: 'muted empty' }, 'No trials match.'))));
}

// ---------------------------------------------------------------- parallel coordinates

function parallelTab(body) {
  const note = h('p', { class: 'muted', id: 'parallel-note' });
  const el = h('div', { class: 'chart tall', dataset: { chart: 'parallel' } });
  body.append(note, h('div', { class: 'card' }, el));
  const refresh = async () => {
    const s = state.sweep;
    const key = JSON.stringify(s.counts) + state.tabKey;
    if (body._drawn === key) return;
    body._drawn = key;
    const { metrics } = headline(state.summary);
    const names = s.metric_names || [];
    const metricDims = [...new Set([...metrics, ...(names.includes('loss.total') ? ['loss.total'] : [])])];
    let data;
    try {
      data = await api(`sweeps/${state.id}/trials`, { status: 'succeeded', limit: PARALLEL_CAP, sort: 'index', metrics: metricDims.join(',') });
    } catch (e) {
      body.replaceChildren(errorBox(e));
      return;
    }
    const trials = data.trials;
    // The listing may trail the store by a second: draw it, and look again at
    // the next poll until it has every succeeded trial.
    state.parallelBehind = data.total !== (s.counts.succeeded || 0);
    if (state.parallelBehind) body._drawn = null;
    // Parameters: every override key a trial has (the seed is a replicate, not a parameter).
    const paramKeys = [...new Set(trials.flatMap((t) => Object.keys(t.overrides || {})))].filter((k) => k !== 'run.seed').sort();
    const dims = [];
    if ((s.variants || []).length > 1) dims.push({ name: 'variant', get: (t) => t.variant, category: s.variants });
    for (const k of paramKeys) {
      const vals = trials.map((t) => (t.overrides || {})[k]).filter((v) => v !== undefined);
      const numeric = vals.every((v) => typeof v === 'number');
      dims.push(numeric ? { name: k, get: (t) => (t.overrides || {})[k] ?? null }
        : { name: k, get: (t) => String((t.overrides || {})[k] ?? '(base)'), category: [...new Set(trials.map((t) => String((t.overrides || {})[k] ?? '(base)')))] });
    }
    for (const m of metricDims) dims.push({ name: metricLabel(m), get: (t) => (t.metrics || {})[m] ?? null, metric: m });
    note.replaceChildren(data.total > trials.length
      ? `Showing the first ${trials.length} of ${data.total} succeeded trials (at most ${PARALLEL_CAP} are drawn). `
      : `${trials.length} succeeded trials. `, 'Drag along an axis to select a range.');
    if (!trials.length || !dims.length) {
      el.dataset.points = '0';
      el.dataset.rendered = '1';
      note.textContent = 'No succeeded trials yet.';
      return;
    }
    const colorDim = dims.findIndex((d) => d.metric && d.metric.endsWith('max_score60'));
    const rows = trials.map((t) => dims.map((d) => d.get(t)));
    const colorVals = colorDim >= 0 ? rows.map((r) => r[colorDim]).filter((v) => v !== null) : [];
    plot(el, {
      grid: {},
      parallel: { left: 60, right: 150, top: 40, bottom: 30, parallelAxisDefault: { nameLocation: 'end', nameGap: 14, nameTextStyle: { fontSize: 11 }, scale: true } },
      parallelAxis: dims.map((d, i) => (d.category ? { dim: i, name: d.name, type: 'category', data: d.category } : { dim: i, name: d.name })),
      visualMap: colorVals.length ? {
        type: 'continuous', dimension: colorDim, min: Math.min(...colorVals), max: Math.max(...colorVals),
        right: 10, top: 'middle', itemHeight: 140, calculable: true, text: ['', 'max grid score'],
        inRange: { color: ['#4575b4', '#fee090', '#d73027'] }, formatter: (v) => fmtNum(v),
      } : undefined,
      series: [{ type: 'parallel', lineStyle: { width: 1.5, opacity: 0.75 }, data: rows, progressive: 500 }],
    }, rows.length);
  };
  refresh();
  return refresh;
}

// ---------------------------------------------------------------- search

// An adaptive sweep from /search: the steps it saved, the objective by trial
// number with the best so far, the trials at each rung (best first, promoted
// marked), and the objective against each parameter (log axis where the
// search draws it log-uniformly). Values are the final objective of a
// succeeded trial, else the signal of its latest rung (hollow markers).
function searchTab(body) {
  const stepsEl = h('p', { id: 'search-steps' });
  const objEl = h('div', { class: 'chart', dataset: { chart: 'objective' } });
  const objTitle = h('h3');
  const rungsEl = h('div', { id: 'rungs' });
  const slices = h('div', { class: 'chart-grid' });
  body.append(stepsEl, h('div', { class: 'card' }, objTitle, objEl),
    h('h2', null, 'Rungs'), rungsEl, h('h2', null, 'Objective against each parameter'), slices);
  const refresh = async () => {
    let data;
    try {
      data = await api(`sweeps/${state.id}/search`);
    } catch (e) {
      body.replaceChildren(errorBox(e));
      return;
    }
    const key = JSON.stringify(data);
    if (body._drawn === key) return;
    body._drawn = key;
    const objective = data.objective || {};
    const schedule = data.schedule || {};
    const metric = objective.metric || schedule.metric || 'objective';
    const maximize = (objective.direction || schedule.direction || 'max') !== 'min';
    const st = data.steps;
    stepsEl.replaceChildren(st.full
      ? `${st.trained.toLocaleString()} steps trained of ${st.full.toLocaleString()} for the ${st.started} started configurations in full: ` +
        `${st.saved.toLocaleString()} saved (${Math.round(100 * st.saved / st.full)}%).`
      : 'No configuration has started yet.');
    objTitle.replaceChildren(metricLabel(metric), maximize ? ' (higher is better)' : ' (lower is better)');
    objectiveChart(objEl, data.trials, maximize);
    const byId = new Map(data.trials.map((t) => [t.id, t]));
    rungsEl.replaceChildren(...(data.rungs.length ? data.rungs.map((r) => rungTable(r, byId))
      : [h('p', { class: 'muted' }, 'No trial has reached a rung yet.')]));
    const spec = (data.search && data.search.params) || {};
    const keys = [...new Set([...Object.keys(spec), ...data.trials.flatMap((t) => Object.keys(t.params || {}))])]
      .filter((k) => k !== 'run.seed').sort();
    slices.replaceChildren();
    for (const k of keys) {
      const el = h('div', { class: 'chart', dataset: { chart: 'slice', key: k } });
      slices.append(h('div', { class: 'card' }, h('h3', null, metricLabel(metric), ' vs ', h('span', { class: 'mono' }, k)), el));
      sliceChart(el, k, data.trials, spec[k]);
    }
    if (!keys.length) slices.append(h('p', { class: 'muted' }, 'The search varies no parameter.'));
  };
  refresh();
  return refresh;
}

function valued(trials) {
  return trials.filter((t) => t.value !== null && t.value !== undefined);
}

function objectiveChart(el, trials, maximize) {
  const done = valued(trials).filter((t) => t.value_from === 'objective');
  const atRung = valued(trials).filter((t) => t.value_from === 'rung');
  // Best so far over the trials in number order: final objectives only.
  const best = [];
  let b = null;
  for (const t of [...done].sort((x, y) => x.index - y.index)) {
    if (b === null || (maximize ? t.value > b : t.value < b)) b = t.value;
    best.push([t.index, b]);
  }
  const point = (t) => ({ value: [t.index, t.value], name: t.name, id: t.id, rung: t.rung });
  el.dataset.best = best.length ? String(best[best.length - 1][1]) : '';
  plot(el, {
    grid: { left: 60, right: 20, top: 36, bottom: 40 },
    legend: { top: 0 },
    tooltip: {
      trigger: 'item',
      formatter: (p) => (p.seriesName === 'best so far' ? `best so far: ${fmtNum(p.value[1], 4)}`
        : `${escapeHtml(p.data.name)}<br>${fmtNum(p.value[1], 4)}${p.seriesName === 'at a rung' ? ` (rung ${p.data.rung})` : ''}`),
    },
    xAxis: { type: 'value', name: 'trial number', nameLocation: 'middle', nameGap: 26, minInterval: 1, scale: true },
    yAxis: { type: 'value', scale: true },
    series: [
      { name: 'finished', type: 'scatter', symbolSize: 8, data: done.map(point) },
      { name: 'at a rung', type: 'scatter', symbol: 'emptyCircle', symbolSize: 8, data: atRung.map(point) },
      { name: 'best so far', type: 'line', step: 'end', showSymbol: false, lineStyle: { width: 2 }, color: '#d1613c', data: best },
    ],
  }, done.length + atRung.length).then((chart) => {
    if (!chart) return;
    // A click on a trial's point opens its page.
    chart.off('click');
    chart.on('click', (p) => { if (p.data && p.data.id) location.hash = '#/trials/' + p.data.id; });
  });
}

function rungTable(r, byId) {
  const promoted = r.trials.filter((t) => t.promoted).length;
  return h('div', { class: 'card rung', dataset: { rung: r.rung } },
    h('h3', null, `Rung ${r.rung} · step ${r.step} · ${r.trials.length} trial${r.trials.length === 1 ? '' : 's'} · ${promoted} promoted`),
    h('table', { class: 'grid compact', id: 'rung-' + r.rung },
      h('thead', null, h('tr', null, h('th', { class: 'num' }, 'rank'), h('th', null, 'trial'), h('th', null, 'status now'),
        h('th', { class: 'num' }, 'value'), h('th', null, 'promoted'))),
      h('tbody', null, r.trials.map((e, i) => {
        const t = byId.get(e.id) || { name: 'trial ' + e.id, status: '' };
        return h('tr', { dataset: { trial: e.id } },
          h('td', { class: 'num' }, i + 1),
          h('td', null, h('a', { href: '#/trials/' + e.id, class: 'trial-link' }, t.name)),
          h('td', null, t.status ? statusBadge(t.status) : ''),
          h('td', { class: 'num', dataset: { value: e.value === null ? '' : e.value } }, fmtNum(e.value, 4)),
          h('td', { class: 'promoted' }, e.promoted ? h('span', { title: 'promoted ' + fmtTime(e.promoted_at) }, '✓ promoted') : ''));
      }))));
}

// The objective against one parameter, one point per trial with a value.
function sliceChart(el, key, trials, dist) {
  const log = !!(dist && typeof dist === 'object' && dist.log_uniform);
  const rows = valued(trials).filter((t) => t.params && t.params[key] !== undefined);
  const numeric = rows.every((t) => typeof t.params[key] === 'number');
  const cats = numeric ? null : [...new Set(rows.map((t) => fmtParam(t.params[key])))].sort();
  const point = (t) => ({ value: [numeric ? t.params[key] : fmtParam(t.params[key]), t.value], name: t.name });
  const done = rows.filter((t) => t.value_from === 'objective');
  const atRung = rows.filter((t) => t.value_from === 'rung');
  plot(el, {
    grid: { left: 56, right: 16, top: 30, bottom: 40 },
    legend: { top: 0 },
    tooltip: { trigger: 'item', formatter: (p) => `${escapeHtml(p.data.name)}<br>${escapeHtml(key)} = ${escapeHtml(fmtParam(p.value[0]))}<br>${fmtNum(p.value[1], 4)}` },
    xAxis: numeric ? { type: log ? 'log' : 'value', name: key + (log ? ' (log)' : ''), nameLocation: 'middle', nameGap: 26, scale: true }
      : { type: 'category', data: cats, name: key, nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'value', scale: true },
    series: [
      { name: 'finished', type: 'scatter', symbolSize: 8, data: done.map(point) },
      { name: 'at a rung', type: 'scatter', symbol: 'emptyCircle', symbolSize: 8, data: atRung.map(point) },
    ],
  }, rows.length);
  el.dataset.axis = numeric ? (log ? 'log' : 'value') : 'category';
}
