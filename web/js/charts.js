// Plots with Apache ECharts, the dashboard's one front-end library. It is
// loaded on first use (the sweeps and workers pages never pay for it) from
// web/node_modules, which scripts/bootstrap installs with `npm ci`.
//
// Why ECharts rather than uPlot: the dashboard needs line plots with error
// bars, a heat map and parallel coordinates. uPlot is smaller and faster for
// long time series, but has neither a heat map nor parallel coordinates, so a
// second library (or hand-written canvas code) would be needed. ECharts does
// all of them on canvas, with tooltips, log axes and brushing, in one
// self-contained ES module and no build step. Our series are small (at most
// 500 curve points, one point per group, 1000 lines in parallel coordinates).

import { h } from './util.js';

let loading = null;
const live = new Set();

export function loadECharts() {
  if (!loading) loading = import('../node_modules/echarts/dist/echarts.esm.min.js');
  return loading;
}

window.addEventListener('resize', () => { for (const c of live) c.resize(); });

// Disposes every chart of the page being left (the router calls this).
export function disposeCharts() {
  for (const c of live) c.dispose();
  live.clear();
}

const PALETTE = ['#3b6fb6', '#d1613c', '#4a9b5b', '#8e5ab5', '#c29b2c', '#3aa3a8', '#c04a7a', '#6b6b6b'];

// Draws `option` into `el` (reusing its chart), and records on the element
// what was drawn once ECharts has rendered it: data-rendered="1" and
// data-points (the number of data items), which the browser test reads.
export async function plot(el, option, points) {
  let echarts;
  try {
    echarts = await loadECharts();
  } catch (e) {
    loading = null; // try again on the next plot
    el.replaceChildren(h('div', { class: 'error' },
      'The plotting library did not load (', e.message, '). Its files come from web/node_modules: run scripts/bootstrap, or npm ci in web/.'));
    return null;
  }
  if (!el.isConnected) return null;
  let chart = echarts.getInstanceByDom(el);
  if (!chart) {
    chart = echarts.init(el, null, { renderer: 'canvas' });
    live.add(chart);
    chart.on('finished', () => {
      el.dataset.rendered = '1';
      el.dataset.points = String(el._points);
    });
  }
  el._points = points;
  chart.setOption({ color: PALETTE, animationDuration: 300, textStyle: { fontFamily: 'inherit' }, ...option }, true);
  return chart;
}

export function errorBarSeries(name, rows, color) {
  // rows: [[x, mean, sd], ...]; draws a vertical bar mean ± sd with caps. The
  // ends are data dimensions 3 and 4, so the y axis stretches to show them.
  const data = rows.map(([x, mean, sd]) => {
    const d = Number.isFinite(sd) ? sd : 0;
    return [x, mean, Number.isFinite(sd) ? sd : NaN, mean - d, mean + d];
  });
  return {
    name,
    type: 'custom',
    silent: true,
    z: 5,
    itemStyle: { color },
    encode: { x: 0, y: [3, 4] },
    renderItem(params, api) {
      const x = api.value(0);
      const mean = api.value(1);
      const sd = api.value(2);
      if (!Number.isFinite(mean) || !Number.isFinite(sd)) return null;
      const lo = api.coord([x, mean - sd]);
      const hi = api.coord([x, mean + sd]);
      const cap = 5;
      const style = { stroke: api.visual('color'), lineWidth: 1.5 };
      return {
        type: 'group',
        children: [
          { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style },
          { type: 'line', shape: { x1: lo[0] - cap, y1: lo[1], x2: lo[0] + cap, y2: lo[1] }, style },
          { type: 'line', shape: { x1: hi[0] - cap, y1: hi[1], x2: hi[0] + cap, y2: hi[1] }, style },
        ],
      };
    },
    data,
  };
}

export { PALETTE };
