// @ts-check
// The chart panel: one metric's curves for the chosen runs, overlaid (uPlot: canvas, made for
// long time series, bundled into the widget — no CDN, GPU servers are often offline). Log
// scale, EMA smoothing (TensorBoard's, debiased), a read-out of every run's value nearest the
// pointer, and live updates that carry only new points: the kernel sends each run's history
// once, then per tick [start, steps, values] — keep what you have before `start`, replace the
// rest (see src/nbexp/_ui/chart.py).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./chart.css";
import { h, setText } from "./dom.js";
/** @import { ChartDataMessage, ChartPart, ChartPoints, Reply, RowJson } from "./protocol.js" */
/** @import { Channel } from "./channel.js" */

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
  "#17becf", "#bcbd22", "#7f7f7f"];
const HEIGHT = 240;

/**
 * One run's history as the browser holds it.
 * @typedef {object} Curve
 * @property {number[]} x steps
 * @property {Array<number | null>} y values (null: NaN or inf in the log)
 */

/** @param {Array<number | null>} values @param {number} weight @param {boolean} positive */
export function smooth(values, weight, positive) {
  /** @type {Array<number | null>} */
  const out = new Array(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v == null || !isFinite(v) || (positive && v <= 0)) { out[i] = null; continue; }
    if (weight <= 0) { out[i] = v; continue; }
    last = last * weight + (1 - weight) * v;
    count++;
    out[i] = last / (1 - Math.pow(weight, count)); // debiased: the first points are not pulled to 0
  }
  return out;
}

/** The index of the point whose x is nearest `x` (xs sorted, as steps are). @param {number[]} xs @param {number} x */
export function nearest(xs, x) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x) ? lo - 1 : lo;
}

/** @param {number | null | undefined} v */
function fmt(v) {
  if (v == null) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(+v.toPrecision(5));
}

/**
 * @param {{channel: Channel, notify: (text: string) => void,
 *          rowOf: (id: number) => RowJson | undefined, rows: () => RowJson[]}} deps
 */
export function makeChartPanel({ channel, notify, rowOf, rows }) {
  /** @type {number[]} */ let ids = [];
  /** @type {string | null} */ let metric = null;
  /** @type {Map<number, Curve>} */ const curves = new Map();
  /** @type {uPlot | null} */ let plot = null;
  let plotKey = "";
  let frame = 0;
  let logScale = false;
  let weight = 0;
  /** @type {number | null} */ let measureFrom = null;

  const metricSelect = h("select", { class: "nbexp-chart-metric", title: "metric", onchange: () => {
    metric = metricSelect.value || null;
    request();
  } });
  const logBox = h("input", { type: "checkbox", class: "nbexp-chart-log", onchange: () => { logScale = logBox.checked; redraw(true); } });
  const smoothLabel = h("span", { class: "nbexp-chart-smooth-value", text: "0" });
  const smoothRange = h("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: "0",
    class: "nbexp-chart-smooth", title: "smoothing (exponential moving average)",
    oninput: () => { weight = Number(smoothRange.value); setText(smoothLabel, smoothRange.value); redraw(false); } });
  const chips = h("span", { class: "nbexp-chart-runs" });
  const adder = h("select", { class: "nbexp-chart-add", title: "add a run to the chart", onchange: () => {
    const id = Number(adder.value);
    adder.value = "";
    if (id && !ids.includes(id)) setRuns([...ids, id]);
  } });
  const plotEl = h("div", { class: "nbexp-chart-plot" });
  const readout = h("div", { class: "nbexp-chart-readout" });
  const note = h("div", { class: "nbexp-chart-note", text: "select a run with metrics to chart them" });
  const el = h("div", { class: "nbexp-chart" },
    h("div", { class: "nbexp-chart-bar" }, metricSelect,
      h("label", {}, logBox, " log"),
      h("label", {}, "smooth ", smoothRange, smoothLabel), chips, adder),
    note, plotEl, readout);
  /** @type {any} */ (el).__nbexpChart = { setRuns, state: () => ({ ids, metric, curves }) };

  /** Plot these runs (the metric stays when they have it). @param {number[]} next */
  function setRuns(next) {
    ids = next.slice(0, 50);
    request();
  }

  function request() {
    if (!ids.length) { curves.clear(); drawChips(); redraw(true); return; }
    channel.request({ type: "chart", ids, metric }, onData, (text) => notify(text));
  }

  /** @param {Reply} reply */
  function onData(reply) {
    if (reply.type === "error") { notify(reply.message); return; }
    if (reply.type !== "chart_data") return;
    const data = /** @type {ChartDataMessage} */ (reply);
    metric = data.metric;
    metricSelect.replaceChildren(...data.metrics.map((m) => h("option", { value: m, text: m, selected: m === metric })));
    curves.clear();
    for (const [id, points] of Object.entries(data.series)) merge(Number(id), points);
    el.dataset.points = String([...curves.values()].reduce((n, c) => n + c.x.length, 0));
    drawChips();
    measureFrom = performance.now(); // until uPlot's draw hook: data prepared and drawn
    redraw(true);
  }

  /** @param {number} id @param {ChartPoints} points */
  function merge(id, points) {
    const [start, xs, ys] = points;
    let curve = curves.get(id);
    if (!curve) { curve = { x: [], y: [] }; curves.set(id, curve); }
    curve.x.length = Math.min(curve.x.length, start);
    curve.y.length = curve.x.length;
    for (let i = 0; i < xs.length; i++) { curve.x.push(xs[i]); curve.y.push(ys[i]); }
  }

  /** A tick's new points. @param {ChartPart} part */
  function apply(part) {
    if (part.metric !== metric) return;
    for (const [id, points] of Object.entries(part.series)) if (ids.includes(Number(id))) merge(Number(id), points);
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; redraw(false); });
  }

  function drawChips() {
    chips.replaceChildren(...ids.map((id, i) => {
      const row = rowOf(id);
      return h("span", { class: "nbexp-chart-chip", "data-id": id, style: `border-color:${COLORS[i % COLORS.length]}` },
        h("span", { class: "nbexp-chart-swatch", style: `background:${COLORS[i % COLORS.length]}` }),
        `#${id} ${row ? row.name : ""}`,
        h("button", { class: "nbexp-chart-remove", title: "remove from the chart", text: "\u00D7",
          onclick: () => setRuns(ids.filter((x) => x !== id)) }));
    }));
    rowsChanged();
  }

  /** Offer the runs that have metrics and are not plotted yet. */
  function rowsChanged() {
    const options = rows().filter((r) => !ids.includes(r.id) && r.metrics && Object.keys(r.metrics).length);
    const key = options.map((r) => r.id).join(",");
    if (adder.dataset.key === key) return;
    adder.dataset.key = key;
    adder.replaceChildren(h("option", { value: "", text: "+ run" }),
      ...options.slice(0, 500).map((r) => h("option", { value: r.id, text: `#${r.id} ${r.name}` })));
  }

  /** @param {boolean} rebuild */
  function redraw(rebuild) {
    const shown = ids.filter((id) => curves.get(id)?.x.length);
    note.hidden = shown.length > 0;
    plotEl.hidden = !shown.length;
    if (!shown.length) { plot?.destroy(); plot = null; return; }
    /** @type {any[]} */
    const data = [null, ...shown.map((id) => {
      const c = /** @type {Curve} */ (curves.get(id));
      return [c.x, smooth(c.y, weight, logScale)];
    })];
    const key = `${shown.join(",")}|${logScale}|${metric}`;
    if (plot && !rebuild && key === plotKey) { plot.setData(data); return; }
    plot?.destroy();
    plotKey = key;
    const width = Math.max(300, plotEl.clientWidth || el.clientWidth || 600);
    plot = new uPlot({
      mode: 2,
      width,
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { show: false } },
      scales: { x: { time: false, auto: true }, y: { auto: true, distr: logScale ? 3 : 1 } },
      axes: [{ label: "step" }, { label: metric ?? "" }],
      series: [{}, ...shown.map((id) => ({
        label: `#${id}`,
        stroke: COLORS[ids.indexOf(id) % COLORS.length],
        width: 1.5,
        facets: [{ scale: "x", auto: true }, { scale: "y", auto: true }],
        paths: uPlot.paths.linear?.(),
        points: { show: false },
      }))],
      hooks: {
        setCursor: [(u) => showReadout(u, shown)],
        draw: [() => {
          // How long the last whole-history draw took, from its data (the browser test reads it).
          if (measureFrom != null) el.dataset.drawMs = (performance.now() - measureFrom).toFixed(1);
          measureFrom = null;
        }],
      },
    }, data, plotEl);
  }

  /** Each run's point nearest the pointer's step: its value (and smoothed value).
   * @param {uPlot} u @param {number[]} shown */
  function showReadout(u, shown) {
    const left = u.cursor.left ?? -1;
    if (left < 0) { readout.replaceChildren(); return; }
    const step = u.posToVal(left, "x");
    readout.replaceChildren(...shown.map((id) => {
      const c = /** @type {Curve} */ (curves.get(id));
      const i = nearest(c.x, step);
      const smoothed = weight > 0 ? smooth(c.y.slice(0, i + 1), weight, logScale)[i] : null;
      const row = rowOf(id);
      return h("div", { class: "nbexp-chart-read", "data-id": id },
        h("span", { class: "nbexp-chart-swatch", style: `background:${COLORS[ids.indexOf(id) % COLORS.length]}` }),
        `#${id} ${row ? row.name : ""}  step ${fmt(c.x[i])}  ${metric}=${fmt(c.y[i])}` +
          (smoothed != null ? ` (smoothed ${fmt(smoothed)})` : ""));
    }));
  }

  /** The table's selection joins the chart (the first run, or one more). @param {number | null} id */
  function select(id) {
    if (id == null || ids.includes(id)) return;
    const row = rowOf(id);
    if (!row || !row.metrics || !Object.keys(row.metrics).length) return;
    setRuns(ids.length ? [...ids, id] : [id]);
  }

  const onResize = () => { if (plot) plot.setSize({ width: Math.max(300, plotEl.clientWidth), height: HEIGHT }); };
  window.addEventListener("resize", onResize);

  return {
    el,
    apply,
    select,
    setRuns,
    rowsChanged,
    dispose() {
      window.removeEventListener("resize", onResize);
      if (frame) cancelAnimationFrame(frame);
      plot?.destroy();
      plot = null;
    },
  };
}
