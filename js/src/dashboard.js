// @ts-check
// The dashboard: wires its parts (header and status table, GPU panel, log view; each a factory
// returning its element and the functions that update it) to the model. Python pushes only what
// changed ("tick" messages); runtimes tick in the browser between pushes.

import { makeChannel } from "./channel.js";
import { makeChartPanel } from "./chart.js";
import { h } from "./dom.js";
import { makeGpuPanel } from "./gpus.js";
import { makeLogView } from "./logview.js";
import { makeNotices } from "./parts.js";
import { makeHeader, makeStatusTable } from "./table.js";
/** @import { ActionDoneMessage, DashboardTraits, ErrorMessage, KernelMessage, Model, RowJson, SnapshotMessage, TickMessage } from "./protocol.js" */

/** @param {{model: Model<DashboardTraits>, el: HTMLElement}} ctx */
export function renderDashboard({ model, el }) {
  let clockOffset = 0; // server seconds - browser seconds
  const now = () => Date.now() / 1000 + clockOffset;
  const channel = makeChannel(model);
  const notices = makeNotices();
  const header = makeHeader(model);
  const selected = () => model.get("selected");
  const table = makeStatusTable({ channel, now, selected, onSelect: select, onActionReply, notify: notices.show });
  const gpus = makeGpuPanel();
  const log = makeLogView({ channel, notify: notices.show, selected, rowOf: (id) => table.get(id) });
  const chart = makeChartPanel({ channel, notify: notices.show, rowOf: (id) => table.get(id), rows: () => table.all() });
  const root = h("div", { class: "nbexp-root nbexp-dashboard" }, header.el, notices.el, table.el,
    h("div", { class: "nbexp-lower" }, gpus.el, log.el), chart.el);
  el.append(root);

  function refilter() {
    table.applyFilter(header.accepts);
    header.update(table.all());
  }
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
    refilter();
  }
  /** @param {TickMessage | SnapshotMessage} msg */
  function applyTick(msg) {
    if (msg.now != null) clockOffset = msg.now - Date.now() / 1000;
    for (const row of msg.rows || []) upsertRow(row);
    if (msg.type === "tick") for (const id of msg.removed || []) removeRow(id);
    if (msg.type === "snapshot") {
      const ids = new Set((msg.rows || []).map((r) => r.id));
      for (const id of table.ids()) if (!ids.has(id)) removeRow(id);
    }
    const rowsChanged = Boolean(msg.rows || msg.type === "snapshot" || (msg.type === "tick" && msg.removed));
    if (gpus.apply(msg) || rowsChanged) gpus.draw(table.all());
    if (msg.log) log.apply(msg.log);
    if (msg.type === "tick" && msg.chart) chart.apply(msg.chart);
    if (rowsChanged) { refilter(); chart.rowsChanged(); }
    if (msg.type === "tick") for (const problem of msg.problems || []) notices.show(problem, "warn");
  }
  /** @param {KernelMessage} msg */
  const onMsg = (msg) => {
    if (channel.resolve(msg)) return;
    if (msg.type === "tick" || msg.type === "snapshot") applyTick(msg);
    else if (msg.type === "error") notices.show(msg.message);
  };
  const onFilterChange = () => { header.syncSearch(); refilter(); };
  model.on("msg:custom", onMsg);
  model.on("change:status_filter", onFilterChange);
  model.on("change:search", onFilterChange);

  gpus.draw([]);
  refilter();
  model.send({ type: "hello" });

  return () => {
    try { model.send({ type: "bye" }); } catch (e) { /* the comm may already be closed */ }
    model.off("msg:custom", onMsg);
    model.off("change:status_filter", onFilterChange);
    model.off("change:search", onFilterChange);
    for (const part of [channel, notices, header, table, log, chart]) part.dispose();
    root.remove();
  };
}
