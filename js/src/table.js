// @ts-check
// The runs table, virtualised: the kernel filters and sorts every experiment and sends each view
// a window of the result (ids, and rows it lacks) plus counts; the page draws only the rows in
// sight (a pool reused as it scrolls) between two spacer rows, and asks for another window when
// the scroll leaves the one it has (one request at a time; a newer wish replaces an older one).
// Above it: counts, status chips, the group filter, search, hide-ended, grouping and the column
// chooser (the model's traits, shared with Python); a bar for bulk actions on a selection.

import "./table.css";
import { fmtGpus, h, pidText, reasonText, runtimeWithLimit, setText } from "./dom.js";
import { icon } from "./icons.js";
import { badge, makeActions, makeProgress } from "./parts.js";
/** @import { Channel } from "./channel.js" */
/** @import { Notify } from "./parts.js" */
/** @import { ActionDoneMessage, ActionRefusedMessage, BestRunJson, CountsJson, DashboardTraits, ErrorMessage, GroupLineJson, Model, RowJson, RowsMessage, SnapshotMessage, TickMessage, WindowJson } from "./protocol.js" */

export const ROW_H = 30; // px, fixed (virtualisation depends on it; .nbexp-trow in table.css)
// Rows drawn above and below the visible ones. Scrolling within them changes nothing in the
// page (the browser only moves pixels); past SLACK rows from their edge, the rows are drawn anew.
const OVERSCAN = 24;
const SLACK = 3;
const MARGIN = 80; // rows asked for beyond what is drawn, so short scrolls need no request
const STATUS_ORDER = ["running", "paused", "queued", "pending", "completed", "interrupted", "error"];
const ENDED = new Set(["completed", "interrupted", "error"]);

/**
 * The columns: label, the sort key a click on its header sets (null: not sortable), and whether
 * it shows by default. Params and metrics add "param:NAME" / "metric:NAME" columns.
 * @type {Record<string, {label: string, sort: string | null, on: boolean, cls: string}>}
 */
const FIXED = {
  id: { label: "#", sort: "id", on: true, cls: "nbexp-c-id nbexp-id" },
  name: { label: "name", sort: "name", on: true, cls: "nbexp-c-name nbexp-name" },
  status: { label: "status", sort: "status", on: true, cls: "nbexp-c-status nbexp-status" },
  group: { label: "group", sort: "group", on: false, cls: "nbexp-c-group" },
  gpus: { label: "GPUs", sort: "gpus", on: true, cls: "nbexp-c-gpus nbexp-gpus-cell" },
  pid: { label: "pid / job", sort: null, on: true, cls: "nbexp-c-pid nbexp-pid" },
  node: { label: "node", sort: null, on: false, cls: "nbexp-c-node" },
  runtime: { label: "runtime", sort: "runtime", on: true, cls: "nbexp-c-runtime nbexp-runtime" },
  reason: { label: "reason", sort: "reason", on: true, cls: "nbexp-c-reason nbexp-reason" },
  progress: { label: "progress", sort: "progress", on: true, cls: "nbexp-c-progress nbexp-progress-td" },
  spark: { label: "metric", sort: null, on: true, cls: "nbexp-c-spark" },
  actions: { label: "actions", sort: null, on: true, cls: "nbexp-c-actions nbexp-actions-td" },
};
const DEFAULT_COLUMNS = Object.keys(FIXED).filter((key) => FIXED[key].on);
// Highest first on a first click (numbers); text columns start from A.
const TEXT_SORTS = new Set(["name", "group", "reason", "status"]);

/** @param {string} key */
function columnLabel(key) {
  if (FIXED[key]) return FIXED[key].label;
  return key.slice(key.indexOf(":") + 1);
}
/** @param {string} key */
function columnSort(key) {
  return FIXED[key] ? FIXED[key].sort : key;
}

/** A number as a table shows it (4 significant digits). @param {unknown} value */
function fmtValue(value) {
  if (value == null) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : Number(value.toPrecision(4)).toString();
  return String(value);
}

/** The row's main metric over its attempt, as a small line (null values are gaps).
 * @param {Array<number | null>} values */
function spark(values) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "nbexp-row-spark");
  svg.setAttribute("viewBox", "0 0 60 16");
  svg.setAttribute("preserveAspectRatio", "none");
  const clean = /** @type {number[]} */ (values.filter((v) => v != null && isFinite(v)));
  if (clean.length >= 2) {
    const lo = Math.min(...clean);
    const span = Math.max(...clean) - lo || 1;
    const step = 60 / (values.length - 1);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", values.map((v, i) => (v == null ? null : `${(i * step).toFixed(1)},${(15 - (14 * (v - lo)) / span).toFixed(1)}`)).filter((p) => p).join(" "));
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
  }
  return svg;
}

/**
 * @typedef {object} TableDeps
 * @property {Model<DashboardTraits>} model
 * @property {Channel} channel
 * @property {() => number} now the kernel's clock, in seconds
 * @property {() => number | null} selected the experiment whose log is shown
 * @property {(id: number | null) => void} onSelect
 * @property {(reply: ActionDoneMessage | ErrorMessage) => void} onActionReply
 * @property {Notify} notify
 */

// -- one row ------------------------------------------------------------------------------------

/**
 * One <tr> of an experiment, built once and updated in place (so action buttons and an open
 * confirmation survive updates), reused for another experiment when the table scrolls.
 * @param {string[]} columns
 * @param {TableDeps} deps
 * @param {{toggle: (id: number, shift: boolean) => void, isPicked: (id: number) => boolean, onReply: (reply: any) => void}} selection
 */
function makeTableRow(columns, deps, selection) {
  /** @type {Record<string, HTMLTableCellElement>} */
  const cells = {};
  const pick = h("input", { type: "checkbox", class: "nbexp-pick", "aria-label": "select" });
  const progress = makeProgress();
  const actions = makeActions(deps.channel, selection.onReply, deps.notify);
  /** @type {RowJson | null} */
  let row = null;
  let sparkKey = "";
  const el = h("tr", { class: "nbexp-row nbexp-trow", tabindex: "0" });
  el.append(h("td", { class: "nbexp-c-pick" }, pick));
  for (const key of columns) {
    const cell = h("td", { class: FIXED[key] ? FIXED[key].cls : "nbexp-c-extra" });
    cells[key] = cell;
    el.append(cell);
  }
  if (cells.progress) cells.progress.append(progress.el);
  if (cells.actions) cells.actions.append(actions.el);
  el.addEventListener("click", (ev) => {
    const target = /** @type {HTMLElement} */ (ev.target);
    if (row && target !== pick && !target.closest(".nbexp-actions")) deps.onSelect(row.id);
  });
  el.addEventListener("keydown", (ev) => { if (row && ev.key === "Enter" && ev.target === el) deps.onSelect(row.id); });
  pick.addEventListener("click", (ev) => { ev.stopPropagation(); if (row) selection.toggle(row.id, ev.shiftKey); });

  /** @param {RowJson} next */
  function update(next) {
    const statusChanged = !row || next.status !== row.status || next.id !== row.id;
    row = next;
    el.className = `nbexp-row nbexp-trow nbexp-row-${row.status}${deps.selected() === row.id ? " nbexp-selected" : ""}`;
    el.dataset.id = String(row.id);
    el.dataset.status = row.status;
    pick.checked = selection.isPicked(row.id);
    for (const key of columns) fill(key, cells[key], statusChanged);
    progress.update(row.progress);
    actions.update(row);
  }
  /** @param {string} key @param {HTMLTableCellElement} cell @param {boolean} statusChanged */
  function fill(key, cell, statusChanged) {
    if (!row) return;
    if (key === "status") { if (statusChanged) cell.replaceChildren(badge(row.status)); return; }
    if (key === "progress" || key === "actions") return;
    if (key === "spark") {
      const values = row.spark || [];
      const next = `${row.main_metric}:${values.join(",")}`;
      if (next !== sparkKey) {
        sparkKey = next;
        const latest = row.main_metric != null ? row.metrics?.[row.main_metric] : null;
        cell.replaceChildren(...(values.length ? [spark(values)] : []),
          h("span", { class: "nbexp-spark-value", text: latest != null ? fmtValue(latest) : "" }));
        cell.title = row.main_metric ? `${row.main_metric} over the attempt (latest ${fmtValue(latest)})` : "";
      }
      return;
    }
    const text = cellText(key, row, deps.now());
    setText(cell, text);
    if (key === "name" || key === "reason" || key.includes(":")) cell.title = text;
  }
  function tickRuntime() {
    if (row && cells.runtime) setText(cells.runtime, runtimeWithLimit(row, deps.now()));
  }
  /** @param {boolean} on */
  function setPicked(on) { pick.checked = on; el.classList.toggle("nbexp-picked", on); }
  return { el, update, tickRuntime, setPicked, row: () => row };
}

/** @param {string} key @param {RowJson} row @param {number} now */
function cellText(key, row, now) {
  switch (key) {
    case "id": return String(row.id);
    case "name": return row.name;
    case "group": return row.group || "";
    case "gpus": return fmtGpus(row.gpus);
    case "pid": return pidText(row);
    case "node": return row.node || "";
    case "runtime": return runtimeWithLimit(row, now);
    case "reason": return reasonText(row);
    default: {
      const name = key.slice(key.indexOf(":") + 1);
      const source = key.startsWith("param:") ? row.params : row.metrics;
      return fmtValue(source ? source[name] : null);
    }
  }
}

/**
 * A group's summary line: fold caret, name, how many run / wait / failed, its best run.
 * @param {(name: string) => void} onFold
 * @param {(name: string) => void} onFilter
 */
function makeGroupLine(onFold, onFilter) {
  const caret = h("button", { class: "nbexp-btn nbexp-fold", title: "fold or unfold its rows" }, icon("caret"));
  const name = h("span", { class: "nbexp-group-name" });
  const summary = h("span", { class: "nbexp-group-summary" });
  const only = h("button", { class: "nbexp-btn nbexp-group-only", text: "only this group" });
  const cell = h("td", { colspan: "99" }, caret, name, summary, only);
  const el = h("tr", { class: "nbexp-group-line nbexp-trow" }, cell);
  let current = "";
  caret.addEventListener("click", (ev) => { ev.stopPropagation(); onFold(current); });
  only.addEventListener("click", (ev) => { ev.stopPropagation(); onFilter(current); });
  /** @param {GroupLineJson} line */
  function update(line) {
    current = line.name;
    el.dataset.group = line.name;
    el.classList.toggle("nbexp-folded", line.collapsed);
    setText(name, line.name);
    const s = line.statuses;
    const parts = [`${line.total} run${line.total === 1 ? "" : "s"}`];
    for (const [status, word] of [["running", "running"], ["queued", "queued"], ["error", "failed"], ["completed", "done"]]) {
      if (s[status]) parts.push(`${s[status]} ${word}`);
    }
    if (line.paused) parts.push("queue paused");
    if (line.max_parallel) parts.push(`max ${line.max_parallel} at once`);
    const best = /** @type {BestRunJson | null} */ (line.best);
    if (best) parts.push(`best ${best.metric} ${fmtValue(best.value)} (#${best.id})`);
    setText(summary, parts.join(" \u00B7 "));
  }
  return { el, update };
}

// -- the header --------------------------------------------------------------------------------

/**
 * Title, counts, status chips, group filter, search, hide ended, grouping and the column
 * chooser; each sets one of the model's traits (the kernel answers with every view's window).
 * @param {Model<DashboardTraits>} model
 */
function makeHeader(model) {
  const set = (/** @type {keyof DashboardTraits} */ name, /** @type {any} */ value) => { model.set(name, value); model.save_changes(); };
  const search = h("input", { class: "nbexp-search", type: "search", placeholder: "search name, params, tags", value: model.get("search") || "" });
  const filters = h("div", { class: "nbexp-filters" });
  const counts = h("span", { class: "nbexp-counts" });
  const groups = h("select", { class: "nbexp-group-filter", "aria-label": "group" });
  const hideEnded = h("input", { type: "checkbox", class: "nbexp-hide-ended" });
  const grouped = h("input", { type: "checkbox", class: "nbexp-grouped" });
  const chooseBtn = h("button", { class: "nbexp-btn nbexp-columns-btn", title: "choose the columns" }, icon("columns"), " columns");
  const chooser = h("div", { class: "nbexp-columns-menu", hidden: true });
  const el = h("div", { class: "nbexp-header" },
    h("span", { class: "nbexp-title", text: "nbexp" }),
    h("span", { class: "nbexp-home", title: "NBEXP_HOME", text: model.get("home") || "" }),
    counts, h("span", { class: "nbexp-spacer" }), filters, groups,
    h("label", { class: "nbexp-toggle" }, hideEnded, "hide ended"),
    h("label", { class: "nbexp-toggle" }, grouped, "by group"),
    search, h("span", { class: "nbexp-columns" }, chooseBtn, chooser));
  /** @type {CountsJson | null} */
  let last = null;

  /** @param {string} status */
  function toggle(status) {
    const next = new Set(model.get("status_filter") || []);
    next.has(status) ? next.delete(status) : next.add(status);
    set("status_filter", STATUS_ORDER.filter((s) => next.has(s)));
  }
  /** @param {CountsJson | null} c */
  function update(c) {
    if (c) last = c;
    const data = last;
    const active = new Set(model.get("status_filter") || []);
    const statuses = data ? data.statuses : {};
    // Chips with a count, the active ones always (so a filter can be turned off).
    filters.replaceChildren(...STATUS_ORDER.filter((s) => statuses[s] || active.has(s)).map((s) => h("button", {
      class: `nbexp-chip nbexp-status-${s}${active.has(s) ? " nbexp-chip-on" : ""}`,
      "data-status": s, "aria-pressed": active.has(s) ? "true" : "false",
      text: `${s} ${(statuses[s] || 0).toLocaleString()}`, onclick: () => toggle(s),
    })));
    if (data) {
      const shown = data.shown === data.total ? "" : ` \u00B7 ${data.shown.toLocaleString()} shown`;
      setText(counts, `${data.total.toLocaleString()} experiment${data.total === 1 ? "" : "s"}${shown}`);
      const wanted = model.get("group_filter") || "";
      const names = [...new Set([...(wanted ? [wanted] : []), ...data.groups])];
      const key = names.join("\n");
      if (groups.dataset.key !== key) {
        groups.dataset.key = key;
        groups.replaceChildren(h("option", { value: "", text: "all groups" }), ...names.map((n) => h("option", { value: n, text: n })));
      }
      groups.value = wanted;
      groups.hidden = !names.length;
    }
    hideEnded.checked = Boolean(model.get("hide_ended"));
    grouped.checked = Boolean(model.get("grouped"));
    if (search.value !== (model.get("search") || "") && document.activeElement !== search) search.value = model.get("search") || "";
  }
  /** The column chooser: fixed columns, then params and metrics seen. */
  function drawChooser() {
    const shown = new Set(columnsOf(model));
    const params = last ? last.params.map((n) => `param:${n}`) : [];
    const metrics = last ? last.metrics.map((n) => `metric:${n}`) : [];
    /** @param {string} key */
    const box = (key) => {
      const input = h("input", { type: "checkbox", "data-column": key });
      input.checked = shown.has(key);
      input.addEventListener("change", () => {
        const now = columnsOf(model).filter((k) => k !== key);
        set("columns", input.checked ? [...now, key] : now);
      });
      return h("label", { class: "nbexp-column-choice" }, input, key.includes(":") ? `${key.split(":")[0]} ${columnLabel(key)}` : columnLabel(key));
    };
    chooser.replaceChildren(
      ...Object.keys(FIXED).filter((k) => k !== "actions" && k !== "id").map(box),
      ...(params.length ? [h("div", { class: "nbexp-muted", text: "params" }), ...params.map(box)] : []),
      ...(metrics.length ? [h("div", { class: "nbexp-muted", text: "metrics" }), ...metrics.map(box)] : []),
      h("button", { class: "nbexp-btn", text: "defaults", onclick: () => set("columns", []) }));
  }
  const onSearch = () => set("search", search.value);
  search.addEventListener("input", onSearch);
  groups.addEventListener("change", () => set("group_filter", groups.value));
  hideEnded.addEventListener("change", () => set("hide_ended", hideEnded.checked));
  grouped.addEventListener("change", () => set("grouped", grouped.checked));
  chooseBtn.addEventListener("click", () => { chooser.hidden = !chooser.hidden; if (!chooser.hidden) drawChooser(); });
  const onOutside = (/** @type {MouseEvent} */ ev) => {
    if (!chooser.hidden && !(/** @type {Node} */ (ev.target)).isConnected) return;
    if (!chooser.hidden && !el.querySelector(".nbexp-columns")?.contains(/** @type {Node} */ (ev.target))) chooser.hidden = true;
  };
  document.addEventListener("click", onOutside, true);
  return { el, update, redrawChooser: () => { if (!chooser.hidden) drawChooser(); },
    dispose: () => { search.removeEventListener("input", onSearch); document.removeEventListener("click", onOutside, true); } };
}

/** The columns shown: the model's, or the defaults. @param {Model<DashboardTraits>} model */
function columnsOf(model) {
  const chosen = model.get("columns") || [];
  return chosen.length ? chosen : DEFAULT_COLUMNS;
}

// -- the table ---------------------------------------------------------------------------------

/**
 * The runs table of one view: header, bulk bar, refusal offers and the virtualised rows.
 * @param {TableDeps} deps
 */
export function makeRunsTable(deps) {
  const { model, channel, notify } = deps;
  const view = `v${Math.floor(Math.random() * 2 ** 31).toString(36)}`;
  const header = makeHeader(model);
  /** @type {Map<number, RowJson>} the rows the kernel sent that the page still holds */
  const rows = new Map();
  /** @type {WindowJson} */
  let win = { view, offset: 0, total: 0, items: [], groups: {} };
  /** @type {Set<number>} */
  const picked = new Set();
  let allMatching = false; // the bulk bar acts on everything the filter shows
  let lastPick = -1; // the item index clicked last (shift-click selects the range)
  let columns = columnsOf(model);
  let live = true;

  const padTop = h("tr", { class: "nbexp-pad" });
  const padBottom = h("tr", { class: "nbexp-pad" });
  const tbody = h("tbody", {}, padTop, padBottom);
  const headRow = h("tr");
  const pickAll = h("input", { type: "checkbox", class: "nbexp-pick-all", "aria-label": "select the rows shown" });
  const table = h("table", { class: "nbexp-table" }, h("thead", {}, headRow), tbody);
  const wrap = h("div", { class: "nbexp-table-wrap" }, table);
  const empty = h("div", { class: "nbexp-empty", text: "No experiments yet." });
  const bulkBar = h("div", { class: "nbexp-bulk", hidden: true });
  const offers = h("div", { class: "nbexp-offers" });
  const el = h("div", { class: "nbexp-runs" }, header.el, bulkBar, offers, wrap, empty);

  /** @type {Map<number, ReturnType<typeof makeTableRow>>} */
  const parts = new Map();
  /** @type {Map<string, ReturnType<typeof makeGroupLine>>} */
  const lines = new Map();
  /** @type {HTMLTableRowElement[]} */
  const fillers = [];
  const selection = {
    toggle: pickRow,
    isPicked: (/** @type {number} */ id) => allMatching || picked.has(id),
    onReply: onActionReply,
  };

  // -- header row and columns -----------------------------------------------------------------
  function drawHead() {
    const sort = model.get("sort") || "id";
    const desc = model.get("descending") !== false;
    headRow.replaceChildren(h("th", { class: "nbexp-c-pick" }, pickAll), ...columns.map((key) => {
      const key2 = columnSort(key);
      const sorted = key2 != null && key2 === sort;
      const th = h("th", { class: `${FIXED[key] ? FIXED[key].cls : "nbexp-c-extra"}${key2 ? " nbexp-sortable" : ""}${sorted ? " nbexp-sorted" : ""}`,
        "data-column": key, title: key2 ? `sort by ${columnLabel(key)}` : "",
        "aria-sort": sorted ? (desc ? "descending" : "ascending") : null }, columnLabel(key));
      if (sorted) th.append(icon(desc ? "down" : "up"));
      if (key2) th.addEventListener("click", () => {
        const next = key2 === sort ? !desc : !TEXT_SORTS.has(key2);
        model.set("sort", key2); model.set("descending", next); model.save_changes();
      });
      return th;
    }));
  }
  function rebuildColumns() {
    columns = columnsOf(model);
    for (const part of parts.values()) part.el.remove();
    parts.clear();
    drawHead();
    draw();
  }

  // -- selection and bulk actions --------------------------------------------------------------
  /** @param {number} id @param {boolean} shift */
  function pickRow(id, shift) {
    allMatching = false;
    const at = win.items.indexOf(id);
    if (shift && lastPick >= 0 && at >= 0) {
      const [a, b] = [Math.min(lastPick, at), Math.max(lastPick, at)];
      for (const item of win.items.slice(a, b + 1)) if (typeof item === "number") picked.add(item);
    } else if (picked.has(id)) picked.delete(id);
    else picked.add(id);
    lastPick = at;
    refreshPicks();
  }
  function refreshPicks() {
    for (const part of parts.values()) { const row = part.row(); if (row) part.setPicked(allMatching || picked.has(row.id)); }
    const count = allMatching ? win.total : picked.size;
    bulkBar.hidden = count === 0;
    if (count) drawBulk(count);
    pickAll.checked = count > 0;
  }
  /** @param {number} count @param {string | null} [asking] */
  function drawBulk(count, asking = null) {
    const what = allMatching ? `all ${count.toLocaleString()} shown by the filter` : `${count} selected`;
    if (asking) {
      bulkBar.replaceChildren(h("span", { class: "nbexp-confirm-text", text: `${asking} ${what}?` }),
        h("button", { class: "nbexp-btn nbexp-danger nbexp-confirm", "data-action": asking, text: `yes, ${asking}`, onclick: () => sendBulk(asking) }),
        h("button", { class: "nbexp-btn nbexp-cancel", text: "cancel", onclick: () => drawBulk(count) }));
      return;
    }
    bulkBar.replaceChildren(h("span", { class: "nbexp-bulk-count", text: what }),
      ...["stop", "restart", "remove"].map((action) => h("button", { class: `nbexp-btn nbexp-bulk-${action}`, "data-action": action,
        text: action, onclick: () => drawBulk(count, action) })),
      allMatching || win.total <= picked.size ? "" : h("button", { class: "nbexp-btn nbexp-pick-matching",
        text: `select all ${win.total.toLocaleString()} shown`, onclick: () => { allMatching = true; refreshPicks(); } }),
      h("button", { class: "nbexp-btn nbexp-bulk-clear", text: "clear", onclick: clearPicks }));
  }
  function clearPicks() { picked.clear(); allMatching = false; refreshPicks(); }
  /** @param {string} action */
  function sendBulk(action) {
    for (const b of bulkBar.querySelectorAll("button")) b.disabled = true;
    channel.request({ type: "bulk", action, ids: allMatching ? [] : [...picked], matching: allMatching }, (reply) => {
      if (reply.type === "error") { notify(reply.message); drawBulk(picked.size); return; }
      if (reply.type !== "bulk_done") return;
      const refused = reply.refused.slice(0, 3).map((r) => `#${r.id}: ${r.message}`).join("; ");
      notify(refused ? `${reply.message}: ${refused}` : reply.message, reply.refused.length ? "warn" : "info");
      clearPicks();
    }, (message) => { notify(message); refreshPicks(); });
  }
  pickAll.addEventListener("change", () => {
    if (!pickAll.checked) { clearPicks(); return; }
    for (const item of win.items) if (typeof item === "number") picked.add(item);
    refreshPicks();
  });

  // -- action replies: a refusal for busy GPUs offers a way out ---------------------------------
  /** @param {ActionDoneMessage | ErrorMessage | ActionRefusedMessage} reply */
  function onActionReply(reply) {
    if (reply.type === "refused") { offer(reply); return; }
    deps.onActionReply(reply);
  }
  /** @param {ActionRefusedMessage} reply */
  function offer(reply) {
    const item = h("div", { class: "nbexp-notice nbexp-notice-warn nbexp-offer", "data-id": reply.id },
      h("span", { text: reply.message }),
      ...reply.offers.map((action) => h("button", { class: `nbexp-btn nbexp-offer-${action.split(" ")[0]}`, "data-action": action,
        text: action.startsWith("queue") ? "queue it" : "force", title: action.startsWith("queue") ? "wait in the queue until its GPUs are free" : "start now, ignoring the GPU check",
        onclick: () => { item.remove(); channel.request({ type: "action", id: reply.id, action }, (r) => onActionReply(/** @type {any} */ (r)), (m) => notify(m)); } })),
      h("button", { class: "nbexp-btn nbexp-dismiss", "aria-label": "dismiss", onclick: () => item.remove() }, icon("close")));
    offers.append(item);
    while (offers.children.length > 3) offers.firstChild?.remove();
  }

  // -- drawing ----------------------------------------------------------------------------------
  let pending = 0;
  let dirty = true; // the rows or the window changed: draw even if the scroll did not move far
  /** @type {{from: number, to: number}} */
  let drawn = { from: 0, to: 0 };
  function scheduleDraw(changed = true) {
    dirty = dirty || changed;
    if (!pending) pending = requestAnimationFrame(() => { pending = 0; draw(); });
  }
  /** Draw new rows at once (an answer someone waits for), not a frame later. */
  function drawNow() {
    if (pending) { cancelAnimationFrame(pending); pending = 0; }
    dirty = true;
    draw();
  }

  /** The items in sight, and the range to draw around them (with overscan). */
  function visibleRange() {
    const headH = /** @type {HTMLElement} */ (table.tHead)?.offsetHeight || ROW_H;
    const height = Math.max(ROW_H, (wrap.clientHeight || 360) - headH);
    const first = Math.floor(wrap.scrollTop / ROW_H);
    const last = Math.min(win.total, first + Math.ceil(height / ROW_H));
    return { first, last, from: Math.max(0, first - OVERSCAN), to: Math.min(win.total, last + OVERSCAN) };
  }
  let narrow = false; // the last draw drew only the rows in sight: widen it next frame
  function draw() {
    if (toTop) { toTop = false; wrap.scrollTop = 0; }
    const seen = visibleRange();
    const { first, last } = seen;
    const covered = first >= drawn.from + (drawn.from > 0 ? SLACK : 0)
      && last <= drawn.to - (drawn.to < win.total ? SLACK : 0);
    if (!dirty && covered && !narrow) return; // what is drawn still covers the view
    // New data: the rows in sight first (what the user waits for), the overscan a frame later.
    const quick = dirty && !narrow;
    dirty = false;
    narrow = quick;
    const from = quick ? Math.max(0, first - 2) : seen.from;
    const to = quick ? Math.min(win.total, last + 2) : seen.to;
    drawn = { from, to };
    if (quick) scheduleDraw(false);
    padTop.style.height = `${from * ROW_H}px`;
    padBottom.style.height = `${Math.max(0, win.total - to) * ROW_H}px`;
    /** @type {HTMLElement[]} */
    const wanted = [];
    let missing = 0;
    const itemAt = (/** @type {number} */ i) => (i >= win.offset && i < win.offset + win.items.length ? win.items[i - win.offset] : undefined);
    // Rows that left the view are reused for those that come in (a row is many elements).
    const needed = new Set();
    for (let i = from; i < to; i++) { const item = itemAt(i); if (typeof item === "number") needed.add(item); }
    const spare = [];
    for (const [id, part] of parts) if (!needed.has(id)) { parts.delete(id); spare.push(part); }
    for (let i = from; i < to; i++) {
      const item = itemAt(i);
      if (typeof item === "number" && rows.has(item)) {
        const row = /** @type {RowJson} */ (rows.get(item));
        let part = parts.get(item);
        if (!part) { part = spare.pop() || makeTableRow(columns, deps, selection); parts.set(item, part); }
        if (part.row() !== row) part.update(row);
        wanted.push(part.el);
      } else if (typeof item === "string" && win.groups[item]) {
        let line = lines.get(item);
        if (!line) { line = makeGroupLine(fold, (name) => { model.set("group_filter", name); model.save_changes(); }); lines.set(item, line); }
        line.update(win.groups[item]);
        wanted.push(line.el);
      } else {
        // Not here yet (a window is on its way): a placeholder keeps the scroll smooth.
        const filler = fillers[missing] || (fillers[missing] = h("tr", { class: "nbexp-trow nbexp-row-missing" }, h("td", { colspan: "99", text: "\u2026" })));
        missing++;
        wanted.push(filler);
      }
    }
    // Put the rows in sight between the spacers, moving only what is out of place.
    let at = /** @type {ChildNode | null} */ (padTop.nextSibling);
    for (const node of wanted) {
      if (at !== node) tbody.insertBefore(node, at);
      else at = at.nextSibling;
      at = node.nextSibling;
    }
    while (at && at !== padBottom) { const next = at.nextSibling; at.remove(); at = next; }
    if (missing || from < win.offset || to > win.offset + win.items.length) askWindow(from, to);
    empty.hidden = win.total > 0;
    const counts = lastCounts;
    empty.textContent = counts && counts.total ? "No experiment matches the filter." : "No experiments yet.";
  }
  /** @param {string} name */
  function fold(name) {
    const now = new Set(model.get("collapsed") || []);
    now.has(name) ? now.delete(name) : now.add(name);
    model.set("collapsed", [...now]);
    model.save_changes();
  }

  // -- windows ----------------------------------------------------------------------------------
  let inFlight = false;
  /** @type {{offset: number, limit: number} | null} */
  let wish = null;
  /** Ask for the window around [from, to); one request at a time, the newest wish wins.
   * @param {number} from @param {number} to */
  function askWindow(from, to) {
    const offset = Math.max(0, from - MARGIN);
    wish = { offset, limit: to - from + 2 * MARGIN };
    if (!inFlight) sendWish();
  }
  function sendWish() {
    if (!wish) return;
    const { offset, limit } = wish;
    wish = null;
    inFlight = true;
    channel.request({ type: "window", view, offset, limit }, (reply) => {
      inFlight = false;
      if (reply.type === "rows") takeRows(reply);
      else if (reply.type === "error") notify(reply.message);
      const { first, last } = visibleRange();
      if (wish && !(first >= win.offset && last <= win.offset + win.items.length)) sendWish();
      else wish = null;
    }, (message) => { inFlight = false; notify(message); });
  }
  /** @param {RowsMessage} reply */
  function takeRows(reply) {
    for (const row of reply.rows) rows.set(row.id, row);
    for (const id of reply.forget) rows.delete(id);
    if (reply.window.view === view) win = reply.window;
    update(reply.counts);
    drawNow();
  }
  /** @type {CountsJson | null} */
  let lastCounts = null;
  /** @param {CountsJson | null | undefined} counts */
  function update(counts) {
    if (counts) lastCounts = counts;
    header.update(counts || null);
    header.redrawChooser();
  }

  /** What a tick or snapshot brings for the table. @param {TickMessage | SnapshotMessage} msg */
  function apply(msg) {
    for (const row of msg.rows || []) rows.set(row.id, row);
    if (msg.type === "tick") {
      for (const id of msg.removed || []) { rows.delete(id); picked.delete(id); }
      for (const id of msg.forget || []) rows.delete(id);
    }
    const mine = msg.windows ? msg.windows[view] : undefined;
    if (mine) win = mine;
    if (msg.counts || mine || msg.rows) update(msg.counts);
    if (mine) drawNow(); // a new order or filter: shown in the frame about to be painted
    else scheduleDraw();
  }
  /** An action's answer brings the fresh row. @param {RowJson} row */
  function upsert(row) {
    const before = rows.get(row.id);
    rows.set(row.id, row);
    const part = parts.get(row.id);
    if (part && part.row()) part.update(row);
    return !before || before.status !== row.status;
  }
  /** @param {number} id */
  function remove(id) { rows.delete(id); picked.delete(id); scheduleDraw(); }
  /** @param {number | null} id */
  function markSelected(id) {
    for (const part of parts.values()) { const row = part.row(); part.el.classList.toggle("nbexp-selected", row != null && row.id === id); }
  }

  const onScroll = () => scheduleDraw(false);
  wrap.addEventListener("scroll", onScroll, { passive: true });
  const resize = new ResizeObserver(() => scheduleDraw());
  resize.observe(wrap);
  const onColumns = () => rebuildColumns();
  // Back to the top, at the next frame's draw (not now: that would force a layout at once).
  let toTop = false;
  const onSort = () => { drawHead(); toTop = true; scheduleDraw(); };
  const onFilter = () => { header.update(null); toTop = true; scheduleDraw(); clearPicks(); };
  model.on("change:columns", onColumns);
  model.on("change:sort", onSort);
  model.on("change:descending", onSort);
  for (const name of ["status_filter", "search", "group_filter", "hide_ended", "grouped"]) model.on(`change:${name}`, onFilter);
  const ticker = setInterval(() => {
    if (!live) return;
    for (const part of parts.values()) if (part.row()?.status === "running" && part.el.isConnected) part.tickRuntime();
  }, 1000);
  drawHead();
  header.update(null);

  return {
    el, view, apply, upsert, remove, markSelected,
    /** The rows the first window should hold (the view's height). */
    limit: () => Math.ceil((wrap.clientHeight || 360) / ROW_H) + OVERSCAN,
    /** @param {number | null} id */
    get: (id) => (id == null ? undefined : rows.get(id)),
    all: () => [...rows.values()],
    /** Ended rows no longer tick; a dead kernel's page stops its clocks. @param {boolean} on */
    setLive: (on) => { live = on; },
    ended: (/** @type {RowJson} */ row) => ENDED.has(row.status),
    dispose: () => {
      clearInterval(ticker);
      if (pending) cancelAnimationFrame(pending);
      resize.disconnect();
      wrap.removeEventListener("scroll", onScroll);
      model.off("change:columns", onColumns);
      model.off("change:sort", onSort);
      model.off("change:descending", onSort);
      for (const name of ["status_filter", "search", "group_filter", "hide_ended", "grouped"]) model.off(`change:${name}`, onFilter);
      header.dispose();
    },
  };
}
