// Small helpers shared by the pages: building DOM without innerHTML (names and
// errors are user text), talking to /api/v1, formatting numbers and times, and
// polling that pauses while the tab is hidden.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// A coordinator started with --auth-reads wants its token on reads too. The
// dashboard asks for it once (on the first 401) and keeps it in this
// browser's localStorage; it is sent only to this origin, as a header.
const TOKEN_KEY = 'sicToken';
let asking = null;

export function authHeaders() {
  const t = localStorage.getItem(TOKEN_KEY);
  return t ? { Authorization: 'Bearer ' + t } : {};
}

function askToken() {
  if (!asking) {
    asking = Promise.resolve().then(() => {
      const t = window.prompt('This coordinator needs its token to show data (--auth-reads). Token:');
      if (t) localStorage.setItem(TOKEN_KEY, t.trim());
      else localStorage.removeItem(TOKEN_KEY);
      asking = null;
      return !!t;
    });
  }
  return asking;
}

// An <img> or a download link of the API: with a token, the bytes are fetched
// with it and shown from a blob (a plain src or href cannot carry a header).
export async function authedUrl(url) {
  if (!localStorage.getItem(TOKEN_KEY)) return url;
  const res = await fetch(url, { headers: authHeaders() });
  return res.ok ? URL.createObjectURL(await res.blob()) : url;
}

// onclick of a download link of the API: with a stored token, fetched with it.
export async function authedDownload(event) {
  if (!localStorage.getItem(TOKEN_KEY)) return;
  event.preventDefault();
  const link = event.currentTarget;
  const a = document.createElement('a');
  a.href = await authedUrl(link.getAttribute('href'));
  a.download = link.getAttribute('download') || '';
  a.click();
}

// GET a JSON answer of the coordinator. Relative URLs, so the dashboard also
// works behind a proxy that serves it under a path prefix.
export async function api(path, params, retried) {
  let url = 'api/v1/' + path;
  if (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += '?' + s;
  }
  let res;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json', ...authHeaders() } });
  } catch (e) {
    connection(false, 'cannot reach the coordinator');
    throw new ApiError(0, 'cannot reach the coordinator');
  }
  if (res.status === 401 && !retried && await askToken()) return api(path, params, true);
  if (!res.ok) {
    let msg = res.status + ' ' + res.statusText;
    try {
      const body = await res.json();
      if (body && body.error) msg = body.error;
    } catch (e) { /* not JSON */ }
    if (res.status >= 500) connection(false, msg);
    throw new ApiError(res.status, msg);
  }
  connection(true);
  return res.json();
}

export function connection(ok, why) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.textContent = ok ? '' : why;
  el.classList.toggle('bad', !ok);
}

// Runs fn now and then every `ms` while the page is visible, until the
// returned stop() is called (the router calls it when the page changes).
// A slow answer never stacks calls: the next one is scheduled after it ends.
export function poll(fn, ms) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (!document.hidden) {
      try { await fn(); } catch (e) { /* shown by api() in the header */ }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  const onVisible = () => { if (!document.hidden && timer !== null) { clearTimeout(timer); tick(); } };
  document.addEventListener('visibilitychange', onVisible);
  tick();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

// ---- formatting

export function fmtNum(v, digits = 3) {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(digits);
}

// A parameter value as written in a spec: 0.1, not 0.100.
export function fmtParam(v) {
  if (typeof v === 'number' && Number.isFinite(v)) return String(Number(v.toPrecision(6)));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function fmtMeanSd(stat, digits = 3) {
  if (!stat || stat.mean === null || stat.mean === undefined) return '–';
  let s = fmtNum(stat.mean, digits);
  if (stat.sd !== null && stat.sd !== undefined) s += ' ± ' + fmtNum(stat.sd, digits);
  return s;
}

export function fmtTime(t) {
  if (!t) return '–';
  const d = new Date(t * 1000);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return '–';
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
}

export function fmtAgo(t) {
  if (!t) return '–';
  return fmtDuration(Math.max(0, Date.now() / 1000 - t)) + ' ago';
}

// A trial's statuses in life-cycle order, and the final ones: a mirror of
// TrialStatuses() and IsFinalStatus() in common/trial_state.cc, the one home
// of the life cycle (docs/sweep-service.md). waiting: made, not started by the
// scheduler; paused: checkpointed at a rung; stopped: cut early, for good.
export const STATUSES = ['waiting', 'pending', 'queued', 'running', 'paused', 'succeeded', 'failed', 'stopped', 'canceled'];
export const FINAL = ['succeeded', 'failed', 'stopped', 'canceled'];
// Not final, and training or about to: pages that show one poll it.
export const LIVE = STATUSES.filter((s) => !FINAL.includes(s));

export function statusBadge(status) {
  return h('span', { class: 'badge s-' + status }, status);
}

// What an adaptive sweep's trial is doing, in words (as `sicctl show` says
// it), or '' for a trial that never reached a rung and is not waiting. A
// trial that reaches a rung pauses there, so one with a rung that is neither
// paused nor stopped was promoted from it.
export function trialState(t) {
  const rung = t.rung === null || t.rung === undefined || t.rung < 0 ? null : t.rung;
  if (t.status === 'waiting') return 'waiting for the scheduler';
  if (rung === null) return '';
  if (t.status === 'paused') return `paused at rung ${rung} (${t.steps_done} steps)`;
  if (t.status === 'stopped') return `stopped early at rung ${rung} (${t.steps_done}/${t.total_steps} steps)`;
  if (t.status === 'failed' || t.status === 'canceled') return `after rung ${rung}`;
  return `promoted from rung ${rung}`;
}

// The device classes some live worker claims from (a worker that names none
// is older than classes and claims cpu trials), from /api/v1/workers; asked
// at most once per 2 s however many parts of a page want it.
let classesAsked = null;
export function liveClasses() {
  const now = Date.now();
  if (!classesAsked || now - classesAsked.at > 2000) {
    const p = api('workers').then((d) => new Set(d.workers.flatMap((w) => (w.classes && w.classes.length ? w.classes : ['cpu']))));
    classesAsked = { at: now, p };
    p.catch(() => { if (classesAsked && classesAsked.p === p) classesAsked = null; });
  }
  return classesAsked.p;
}

// "waiting for a worker of class cuda" for a trial that waits for a worker
// (pending or queued) of a class no live worker serves, else ''.
export function waitingFor(t, classes) {
  if (!classes || (t.status !== 'pending' && t.status !== 'queued')) return '';
  const c = t.device_class || 'cpu';
  return classes.has(c) ? '' : 'waiting for a worker of class ' + c;
}

// A stacked bar of a sweep's trial counts, one segment per status.
export function progressBar(counts, total) {
  const bar = h('div', { class: 'progress', title: STATUSES.map((s) => s + ' ' + (counts[s] || 0)).join(', ') });
  if (!total) return bar;
  for (const s of ['succeeded', 'stopped', 'failed', 'canceled', 'running', 'paused', 'queued', 'pending', 'waiting']) {
    const n = counts[s] || 0;
    if (n) bar.append(h('span', { class: 'seg s-' + s, style: { width: (100 * n / total) + '%' } }));
  }
  return bar;
}

// Replaces the children of `el` only when `key` differs from what was drawn
// last, so live polling does not rebuild (and flicker) unchanged parts.
export function renderIfChanged(el, key, build) {
  if (el._drawnKey === key) return false;
  el._drawnKey = key;
  el.replaceChildren();
  append(el, [build()]);
  return true;
}

export function errorBox(e) {
  return h('div', { class: 'error' }, e instanceof Error ? e.message : String(e));
}

// Metric names of one evaluation arena: "eval.2m.max_score60" -> arena "2m".
export function arenasOf(metricNames) {
  const arenas = new Set();
  for (const m of metricNames || []) {
    const match = /^eval\.([0-9.]+m)\./.exec(m);
    if (match) arenas.add(match[1]);
  }
  return [...arenas].sort((a, b) => parseFloat(a) - parseFloat(b));
}

// The headline metrics of a sweep for one arena: grid scores, modules and the
// fraction of grid cells at the threshold the evaluation used (0.3 unless the
// sweep's `eval.<L>m.grid_score.threshold` says otherwise).
export function headlineMetrics(metricNames, arena, thresholdValue) {
  const names = new Set(metricNames || []);
  const out = [];
  const p = 'eval.' + arena + '.';
  for (const m of ['max_score60', 'median_score60', 'n_modules']) if (names.has(p + m)) out.push(p + m);
  const fractions = [...names].filter((m) => m.startsWith(p + 'fraction_grid.'));
  if (fractions.length) {
    const want = thresholdValue !== undefined && thresholdValue !== null ? thresholdValue : 0.3;
    let best = fractions[0];
    let bestDist = Infinity;
    for (const f of fractions) {
      const t = parseFloat(f.slice((p + 'fraction_grid.').length));
      if (Math.abs(t - want) < bestDist) { best = f; bestDist = Math.abs(t - want); }
    }
    out.push(best);
  }
  return out;
}

export const METRIC_LABELS = {
  max_score60: 'max grid score',
  median_score60: 'median grid score',
  n_modules: 'modules',
  n_modules_distinct: 'distinct modules',
  n_grid: 'grid units',
  phase_tiling: 'phase tiling',
};

// "eval.2m.max_score60" -> "max grid score (2m)"; withArena false drops "(2m)"
// where the sweep has one arena only.
export function metricLabel(name, withArena = true) {
  const m = /^eval\.([0-9.]+m)\.(.*)$/.exec(name);
  if (!m) return name;
  const [, arena, rest] = m;
  const suffix = withArena ? ' (' + arena + ')' : '';
  if (METRIC_LABELS[rest]) return METRIC_LABELS[rest] + suffix;
  const f = /^fraction_grid\.(.*)$/.exec(rest);
  if (f) return 'fraction grid > ' + f[1] + suffix;
  return rest + suffix;
}
