// @ts-check
// The dashboard: wires its parts (header and status table, GPU panel, log view; each a factory
// returning its element and the functions that update it) to the model. Python pushes only what
// changed ("tick" messages); runtimes tick in the browser between pushes.

import { makeChannel } from "./channel.js";
import { icon } from "./icons.js";
import { makeChartPanel } from "./chart.js";
import { h } from "./dom.js";
import { makeGpuPanel } from "./gpus.js";
import { makeLogView } from "./logview.js";
import { makeNotices } from "./parts.js";
import { makeRunsTable } from "./table.js";
import { makeToasts } from "./toast.js";
/** @import { ActionDoneMessage, DashboardTraits, ErrorMessage, KernelMessage, Model, RowJson, SnapshotMessage, TickMessage } from "./protocol.js" */

// Width classes from the output area's own width (not the window's): below NARROW minor columns
// go, below STACK the GPU panel goes above the log, below TINY only the essentials stay.
const NARROW = 1100;
const STACK = 760;
const TINY = 620;
// The kernel says something at least every 5 s (a heartbeat tick): silent three times as long,
// it is gone (a dead or restarted kernel), and the page says so instead of looking alive.
const SILENT_MS = 15_000;

/** @param {{model: Model<DashboardTraits>, el: HTMLElement}} ctx */
export function renderDashboard({ model, el }) {
  let clockOffset = 0; // server seconds - browser seconds
  const now = () => Date.now() / 1000 + clockOffset;
  const channel = makeChannel(model);
  const notices = makeNotices();
  const selected = () => model.get("selected");
  const table = makeRunsTable({ model, channel, now, selected, onSelect: select, onActionReply, notify: notices.show });
  const gpus = makeGpuPanel();
  const toasts = makeToasts({ onSelect: select });
  const log = makeLogView({ channel, notify: notices.show, selected, rowOf: (id) => table.get(id), model });
  const gone = h("div", { class: "nbexp-disconnected-note", hidden: true }, icon("disconnected"),
    "disconnected \u2014 run the cell again");
  const chart = makeChartPanel({ channel, notify: notices.show, rowOf: (id) => table.get(id), rows: () => table.all() });
  const root = h("div", { class: "nbexp-root nbexp-dashboard" }, gone, toasts.el, notices.el, table.el,
    h("div", { class: "nbexp-lower" }, gpus.el, log.el), chart.el);
  el.append(root);

  const widths = new ResizeObserver(() => {
    const width = root.clientWidth;
    root.classList.toggle("nbexp-narrow", width > 0 && width < NARROW);
    root.classList.toggle("nbexp-stack", width > 0 && width < STACK);
    root.classList.toggle("nbexp-tiny", width > 0 && width < TINY);
  });
  widths.observe(root);
  let heard = Date.now();
  const watchdog = setInterval(() => {
    const silent = Date.now() - heard > SILENT_MS;
    if (silent === gone.hidden) {
      gone.hidden = !silent;
      root.classList.toggle("nbexp-disconnected", silent);
      table.setLive(!silent);
    }
  }, 1000);
  /** @param {number | null} id */
  function select(id) {
    model.set("selected", id);
    model.save_changes();
    table.markSelected(id);
    log.select(id);
    chart.select(id);
  }
  /** @param {RowJson} row */
  function upsertRow(row) {
    if (table.upsert(row) && log.shows() === row.id) log.refreshHeader();
  }
  /** @param {number} id */
  function removeRow(id) {
    table.remove(id);
    if (model.get("selected") === id) select(null);
  }
  /** @param {ActionDoneMessage | ErrorMessage} reply */
  function onActionReply(reply) {
    if (reply.type === "error") { notices.show(reply.message); return; }
    if (reply.row == null) removeRow(reply.id);
    else upsertRow(reply.row);
    notices.show(reply.message, "info");
  }
  /** @param {TickMessage | SnapshotMessage} msg */
  function applyTick(msg) {
    if (msg.now != null) clockOffset = msg.now - Date.now() / 1000;
    table.apply(msg);
    for (const row of msg.rows || []) if (log.shows() === row.id) log.refreshHeader();
    if (msg.type === "tick") for (const id of msg.removed || []) removeRow(id);
    const rowsChanged = Boolean(msg.rows || msg.type === "snapshot" || (msg.type === "tick" && msg.removed));
    if (msg.gpu_holders) held = msg.gpu_holders;
    if (gpus.apply(msg) || msg.gpu_holders) gpus.draw(held);
    if (msg.log) log.apply(msg.log);
    if (msg.type === "tick" && msg.chart) chart.apply(msg.chart);
    if (rowsChanged) chart.rowsChanged();
    if (msg.type === "tick") for (const problem of msg.problems || []) notices.show(problem, "warn");
    if (msg.type === "tick") for (const ended of msg.ended || []) toasts.show(ended);
  }
  /** @param {KernelMessage} msg */
  const onMsg = (msg) => {
    heard = Date.now();
    if (channel.resolve(msg)) return;
    if (msg.type === "tick" || msg.type === "snapshot") applyTick(msg);
    else if (msg.type === "error") notices.show(msg.message);
  };
  /** @type {Record<string, Array<[number, string]>>} GPU index -> ours holding it */
  let held = {};
  model.on("msg:custom", onMsg);

  gpus.draw(held);
  model.send({ type: "hello", view: table.view, limit: table.limit() });

  return () => {
    try { model.send({ type: "bye", view: table.view }); } catch (e) { /* the comm may already be closed */ }
    model.off("msg:custom", onMsg);
    clearInterval(watchdog);
    widths.disconnect();
    for (const part of [channel, notices, table, log, toasts, chart]) part.dispose();
    root.remove();
  };
}
