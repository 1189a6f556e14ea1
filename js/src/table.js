// @ts-check
// The status table (one <tr> per experiment, built once and updated in place) and the header
// above it: title, counts, the status chips and the search box that filter it.

import { fmtGpus, h, pidText, reasonText, runtimeOf, setText } from "./dom.js";
import { badge, makeActions, makeProgress } from "./parts.js";
/** @import { Channel } from "./channel.js" */
/** @import { Notify } from "./parts.js" */
/** @import { ActionDoneMessage, DashboardTraits, ErrorMessage, Model, RowJson } from "./protocol.js" */

const STATUS_ORDER = ["running", "queued", "pending", "completed", "interrupted", "error"];

// -- header and filters ---------------------------------------------------------------------------

/**
 * Title, home, counts, status chips and the search box. The filter lives in the model's
 * `status_filter` and `search` traits; `accepts(row)` applies it.
 * @param {Model<DashboardTraits>} model
 */
export function makeHeader(model) {
  const search = h("input", { class: "nbexp-search", type: "search", placeholder: "search by name",
    value: model.get("search") || "" });
  const filters = h("div", { class: "nbexp-filters" });
  const counts = h("span", { class: "nbexp-counts" });
  const el = h("div", { class: "nbexp-header" },
    h("span", { class: "nbexp-title", text: "nbexp" }),
    h("span", { class: "nbexp-home", title: "NBEXP_HOME", text: model.get("home") || "" }),
    counts, h("span", { class: "nbexp-spacer" }), filters, search);

  /** @param {string} status */
  function toggle(status) {
    const next = new Set(model.get("status_filter") || []);
    next.has(status) ? next.delete(status) : next.add(status);
    model.set("status_filter", STATUS_ORDER.filter((s) => next.has(s)));
    model.save_changes();
  }
  /** Chips with a count per status, and the total. @param {RowJson[]} rows */
  function update(rows) {
    const active = new Set(model.get("status_filter") || []);
    filters.replaceChildren(...STATUS_ORDER.map((s) => h("button", {
      class: `nbexp-chip nbexp-status-${s}${active.has(s) ? " nbexp-chip-on" : ""}`,
      "data-status": s, "aria-pressed": active.has(s) ? "true" : "false",
      text: `${s} ${rows.filter((r) => r.status === s).length}`, onclick: () => toggle(s),
    })));
    counts.textContent = `${rows.length} experiment${rows.length === 1 ? "" : "s"}`;
  }
  /** @param {RowJson} row */
  function accepts(row) {
    const active = model.get("status_filter") || [];
    const text = (model.get("search") || "").trim().toLowerCase();
    if (active.length && !active.includes(row.status)) return false;
    return !text || row.name.toLowerCase().includes(text) || String(row.id) === text;
  }
  const onSearch = () => { model.set("search", search.value); model.save_changes(); };
  search.addEventListener("input", onSearch);
  /** The search trait changed elsewhere (Python, another view): show it. */
  function syncSearch() {
    if (search.value !== model.get("search")) search.value = model.get("search");
  }
  return { el, update, accepts, syncSearch, dispose: () => search.removeEventListener("input", onSearch) };
}

// -- status table ---------------------------------------------------------------------------------

/**
 * @typedef {object} TableDeps
 * @property {Channel} channel
 * @property {() => number} now the kernel's clock, in seconds
 * @property {() => number | null} selected the experiment whose log is shown
 * @property {(id: number | null) => void} onSelect
 * @property {(reply: ActionDoneMessage | ErrorMessage) => void} onActionReply
 * @property {Notify} notify
 */

/**
 * One <tr> of the status table, built once: update() changes only what changed, so the action
 * buttons (and an open confirmation) survive updates.
 * @param {RowJson} first
 * @param {TableDeps} deps
 */
function makeTableRow(first, deps) {
  const td = (/** @type {string} */ cls, /** @type {Node[]} */ ...children) => h("td", { class: cls }, ...children);
  const cells = {
    id: td("nbexp-id"), name: td("nbexp-name"), status: td("nbexp-status"), gpus: td("nbexp-gpus-cell"),
    pid: td("nbexp-pid"), runtime: td("nbexp-runtime"), reason: td("nbexp-reason"),
  };
  const progress = makeProgress();
  const actions = makeActions(deps.channel, deps.onActionReply, deps.notify);
  let row = first;
  const el = h("tr", { tabindex: "0", onclick: () => deps.onSelect(row.id),
    onkeydown: (/** @type {KeyboardEvent} */ ev) => { if (ev.key === "Enter" && ev.target === el) deps.onSelect(row.id); } },
  cells.id, cells.name, cells.status, cells.gpus, cells.pid, cells.runtime, cells.reason,
  td("nbexp-progress-td", progress.el), td("nbexp-actions-td", actions.el));

  /** @param {RowJson} next */
  function update(next) {
    const statusChanged = next.status !== el.dataset.status;
    row = next;
    el.className = `nbexp-row nbexp-row-${row.status}${deps.selected() === row.id ? " nbexp-selected" : ""}`;
    el.dataset.id = String(row.id);
    el.dataset.status = row.status;
    if (statusChanged) cells.status.replaceChildren(badge(row.status));
    setText(cells.id, String(row.id));
    setText(cells.name, row.name);
    cells.name.title = row.name;
    setText(cells.gpus, fmtGpus(row.gpus));
    setText(cells.pid, pidText(row));
    tickRuntime();
    setText(cells.reason, reasonText(row));
    cells.reason.title = reasonText(row);
    progress.update(row.progress);
    actions.update(row);
  }
  function tickRuntime() {
    setText(cells.runtime, runtimeOf(row, deps.now()));
  }
  /** @param {boolean} on */
  function setSelected(on) {
    el.classList.toggle("nbexp-selected", on);
  }
  update(first);
  return { el, update, tickRuntime, setSelected, row: () => row };
}

/**
 * The table of experiments, in id order, with its "no experiments" line; running rows' runtimes
 * tick every second between pushes.
 * @param {TableDeps} deps
 */
export function makeStatusTable(deps) {
  /** @type {Map<number, ReturnType<typeof makeTableRow>>} */
  const parts = new Map();
  const tbody = h("tbody");
  const empty = h("div", { class: "nbexp-empty", text: "No experiments yet." });
  const table = h("table", { class: "nbexp-table" },
    h("thead", {}, h("tr", {}, ...["#", "name", "status", "GPUs", "pid / job", "runtime", "exit / reason",
      "progress", "actions"].map((t) => h("th", { text: t })))), tbody);
  const el = h("div", { class: "nbexp-table-wrap" }, table, empty);

  /** Add or update a row; whether its status changed. @param {RowJson} row */
  function upsert(row) {
    const part = parts.get(row.id);
    if (part) {
      const before = part.row().status;
      part.update(row);
      return before !== row.status;
    }
    const added = makeTableRow(row, deps);
    parts.set(row.id, added);
    const after = [...parts.keys()].filter((k) => k > row.id).sort((a, b) => a - b)[0];
    tbody.insertBefore(added.el, after != null ? parts.get(after)?.el ?? null : null);
    return true;
  }
  /** @param {number} id */
  function remove(id) {
    parts.get(id)?.el.remove();
    parts.delete(id);
  }
  /** Show only the rows `accepts` takes. @param {(row: RowJson) => boolean} accepts */
  function applyFilter(accepts) {
    let shown = 0;
    for (const part of parts.values()) {
      part.el.hidden = !accepts(part.row());
      if (!part.el.hidden) shown++;
    }
    empty.hidden = shown > 0;
    empty.textContent = parts.size ? "No experiment matches the filter." : "No experiments yet.";
  }
  /** @param {number | null} id */
  function markSelected(id) {
    for (const [rid, part] of parts) part.setSelected(rid === id);
  }
  const ticker = setInterval(() => {
    for (const part of parts.values()) if (part.row().status === "running") part.tickRuntime();
  }, 1000);
  return {
    el, upsert, remove, applyFilter, markSelected,
    /** @param {number | null} id */
    get: (id) => (id == null ? undefined : parts.get(id)?.row()),
    all: () => [...parts.values()].map((p) => p.row()),
    ids: () => [...parts.keys()],
    dispose: () => clearInterval(ticker),
  };
}
