// @ts-check
// The selected experiment's log, virtualised: a bounded pool of absolutely positioned rows
// inside a tall spacer, its end pushed with ticks, older lines fetched by range when scrolled to.

import { h, setText } from "./dom.js";
/** @import { Channel } from "./channel.js" */
/** @import { Notify } from "./parts.js" */
/** @import { LineJson, LogPart, RowJson } from "./protocol.js" */

const ROW_H = 18; // px, fixed: virtualisation depends on it (matches .nbexp-log-row in CSS)
const MAX_SPACER_PX = 8_000_000; // browsers cap element heights; taller logs are scaled
const OVERSCAN = 10; // rows drawn above and below the viewport
const CACHE_LIMIT = 20_000; // log lines kept in the browser; far-away ones are dropped
const FETCH_MARGIN = 200; // extra lines asked for around what is shown

/** Fill a log row from a line: plain text, or text with colour spans; null/undefined: not here yet.
 * @param {HTMLElement} node @param {LineJson | null | undefined} payload */
function setLineContent(node, payload) {
  if (payload == null) {
    node.textContent = "\u2026";
    node.classList.add("nbexp-log-missing");
    return;
  }
  node.classList.remove("nbexp-log-missing");
  if (typeof payload === "string") {
    node.textContent = payload;
    return;
  }
  const [text, spans] = payload;
  node.textContent = "";
  let at = 0;
  for (const [start, end, style] of spans || []) {
    if (start > at) node.append(text.slice(at, start));
    const span = document.createElement("span");
    span.textContent = text.slice(start, end);
    if (style.includes(":")) span.style.cssText = style;
    else span.className = style.split(/\s+/).map((s) => `nbexp-sgr-${s}`).join(" ");
    node.append(span);
    at = Math.max(at, end);
  }
  if (at < text.length) node.append(text.slice(at));
}

/**
 * @typedef {object} LogState
 * @property {number | null} id the experiment shown
 * @property {number | null} attempt
 * @property {number} total lines in the log
 * @property {Map<number, LineJson>} cache line number -> line
 * @property {boolean} follow keep the end in view
 * @property {Set<string>} asked ranges requested and not answered yet
 */

/**
 * The rows of the log: a bounded pool of absolutely positioned rows inside a tall spacer (scaled
 * down past MAX_SPACER_PX), placed for the viewport's scroll position.
 */
function makeLogRows() {
  const spacer = h("div", { class: "nbexp-log-spacer" });
  const viewport = h("div", { class: "nbexp-log-viewport", tabindex: "0" }, spacer);
  /** @type {Array<{node: HTMLDivElement, line: number, payload: LineJson | undefined}>} */
  const pool = [];

  /** @param {number} total lines in the log */
  function geometry(total) {
    const contentH = total * ROW_H;
    const spacerH = Math.min(contentH, MAX_SPACER_PX);
    const clientH = viewport.clientHeight || 300;
    const maxScroll = Math.max(0, spacerH - clientH);
    const contentMax = Math.max(0, contentH - clientH);
    const vTop = maxScroll > 0 ? viewport.scrollTop * (contentMax / maxScroll) : 0;
    return { spacerH, clientH, vTop };
  }
  /** Whether the view is at (or within two rows of) the end. @param {number} total */
  function atEnd(total) {
    const { spacerH, clientH } = geometry(total);
    return viewport.scrollTop + clientH >= spacerH - 2 * ROW_H;
  }
  /** Scroll to the end; whether that moved the view. @param {number} total */
  function scrollToEnd(total) {
    const { spacerH, clientH } = geometry(total);
    const bottom = Math.max(0, spacerH - clientH);
    if (Math.abs(viewport.scrollTop - bottom) <= 1) return false;
    viewport.scrollTop = bottom;
    return true;
  }
  /** Draw the lines in view; the range shown and whether a line in it is not cached yet.
   * @param {number} total @param {Map<number, LineJson>} cache */
  function draw(total, cache) {
    const { spacerH, clientH, vTop } = geometry(total);
    if (spacer.style.height !== `${spacerH}px`) spacer.style.height = `${spacerH}px`;
    const capacity = Math.ceil(clientH / ROW_H) + 2 * OVERSCAN;
    const first = Math.max(0, Math.floor(vTop / ROW_H) - OVERSCAN);
    const count = Math.max(0, Math.min(total - first, capacity));
    const top = viewport.scrollTop - (vTop - first * ROW_H);
    while (pool.length < count) {
      const node = h("div", { class: "nbexp-log-row" });
      pool.push({ node, line: -1, payload: undefined });
      spacer.append(node);
    }
    let missing = false;
    pool.forEach((entry, i) => {
      entry.node.hidden = i >= count;
      if (i < count) missing = drawLine(entry, first + i, cache.get(first + i), top + i * ROW_H) || missing;
    });
    // Trim the pool when the viewport shrank, so the DOM stays bounded.
    while (pool.length > count && pool.length > capacity) pool.pop()?.node.remove();
    return { first, count, missing };
  }
  /** Put a line in a pool row at `top` px; whether the line is not here yet.
   * @param {typeof pool[number]} entry @param {number} line @param {LineJson | undefined} payload @param {number} top */
  function drawLine(entry, line, payload, top) {
    const { node } = entry;
    node.style.top = `${top}px`;
    if (entry.line !== line || entry.payload !== payload) {
      entry.line = line;
      entry.payload = payload;
      node.dataset.line = String(line);
      setLineContent(node, payload);
      // Long lines are cut at the edge; the whole line shows on hover.
      const text = node.textContent || "";
      if (text.length > 120) node.title = text; else node.removeAttribute("title");
    }
    return payload === undefined;
  }
  /** Another log: every row is redrawn at the next draw. */
  function forget() {
    for (const entry of pool) { entry.line = -1; entry.node.dataset.line = ""; }
  }
  return { viewport, atEnd, scrollToEnd, draw, forget };
}

/** The log's header: which experiment, how many lines, following or paused. */
function makeLogHeader() {
  const title = h("span", { class: "nbexp-log-title" });
  const info = h("span", { class: "nbexp-log-info" });
  const followBtn = h("button", { class: "nbexp-btn nbexp-follow", title: "follow the end of the log", text: "following" });
  const jumpBtn = h("button", { class: "nbexp-btn nbexp-jump", text: "\u2193 jump to end", hidden: true });
  const el = h("div", { class: "nbexp-log-header" }, title, info, h("span", { class: "nbexp-spacer" }), followBtn, jumpBtn);
  /** @param {LogState} state @param {RowJson | undefined} row */
  function draw(state, row) {
    setText(title, row ? `#${row.id} ${row.name}${row.attempt > 1 ? ` (attempt ${row.attempt})` : ""}`
      : "Select an experiment to see its log");
    setText(info, state.id != null ? `${state.total.toLocaleString()} lines` : "");
    setText(followBtn, state.follow ? "following" : "paused");
    followBtn.classList.toggle("nbexp-on", state.follow);
    followBtn.hidden = state.id == null;
    jumpBtn.hidden = state.follow || state.id == null;
  }
  return { el, followBtn, jumpBtn, draw };
}

/**
 * The selected experiment's log. Its end comes with ticks; lines scrolled back to are asked for
 * by range, and the browser keeps at most CACHE_LIMIT of them.
 * @param {{channel: Channel, notify: Notify, selected: () => number | null, rowOf: (id: number | null) => RowJson | undefined}} deps
 */
export function makeLogView({ channel, notify, selected, rowOf }) {
  const header = makeLogHeader();
  const rows = makeLogRows();
  const note = h("div", { class: "nbexp-log-note", hidden: true });
  const el = h("section", { class: "nbexp-log", "aria-label": "log" }, header.el, note, rows.viewport);
  /** @type {LogState} */
  const state = { id: null, attempt: null, total: 0, cache: new Map(), follow: true, asked: new Set() };
  let drawPending = 0;
  let programmaticScroll = false;

  function scheduleDraw() {
    if (!drawPending) drawPending = requestAnimationFrame(() => { drawPending = 0; draw(); });
  }
  function draw() {
    if (state.follow && state.total > 0 && rows.scrollToEnd(state.total)) programmaticScroll = true;
    const { first, count, missing } = rows.draw(state.total, state.cache);
    if (missing) fetchAround(first, count);
    drawHeader();
  }
  const drawHeader = () => header.draw(state, rowOf(state.id));
  /** Ask the kernel for the lines around what is shown. @param {number} first @param {number} count */
  function fetchAround(first, count) {
    const { id, attempt } = state;
    if (id == null || attempt == null) return;
    const start = Math.max(0, first - FETCH_MARGIN);
    const end = Math.min(state.total, first + count + FETCH_MARGIN);
    const key = `${id}:${attempt}:${Math.floor(start / 100)}`;
    if (state.asked.has(key)) return;
    state.asked.add(key);
    channel.request({ type: "log_range", id, attempt, start, end }, (reply) => {
      state.asked.delete(key);
      if (reply.type === "error") { notify(reply.message); return; }
      if (reply.type !== "log_lines" || reply.id !== state.id || reply.attempt !== state.attempt) return;
      reply.lines.forEach((line, i) => state.cache.set(reply.start + i, line));
      state.total = Math.max(state.total, reply.total);
      trimCache(first);
      scheduleDraw();
    }, (message) => { state.asked.delete(key); notify(message); });
  }
  /** @param {number} around */
  function trimCache(around) {
    if (state.cache.size <= CACHE_LIMIT) return;
    const keep = CACHE_LIMIT / 2;
    for (const line of state.cache.keys()) {
      if (Math.abs(line - around) > keep && line < state.total - 500) state.cache.delete(line);
    }
  }
  /** Drop what is shown and start over from `log` (a reset part). @param {LogPart} log */
  function reset(log) {
    Object.assign(state, { id: log.id ?? null, attempt: log.attempt ?? null, total: log.total || 0, follow: true });
    state.cache.clear();
    state.asked.clear();
    const lines = Array.isArray(log.lines) ? log.lines : [];
    lines.forEach((line, i) => state.cache.set((log.start || 0) + i, line));
    note.hidden = !log.note;
    note.textContent = log.note || "";
    rows.forget();
    scheduleDraw();
  }
  /** A log part from a tick or snapshot. @param {LogPart} log */
  function apply(log) {
    if (log.reset) { if (log.id === selected()) reset(log); return; }
    if (log.id !== state.id || log.attempt !== state.attempt) return;
    if (log.stale) {
      const [from, to] = log.stale;
      for (const line of state.cache.keys()) if (line >= from && line < to) state.cache.delete(line);
    }
    state.total = log.total ?? state.total;
    const changed = log.lines && !Array.isArray(log.lines) ? log.lines : {};
    for (const [line, payload] of Object.entries(changed)) state.cache.set(Number(line), payload);
    trimCache(state.total);
    scheduleDraw();
  }
  /** Show experiment `id` (the kernel then sends its log), or nothing. @param {number | null} id */
  function select(id) {
    if (id == null) reset({ total: 0, lines: [], start: 0 });
    else if (state.id !== id) {
      Object.assign(state, { id, attempt: null, total: 0 });
      state.cache.clear();
      drawHeader();
      scheduleDraw();
    }
  }
  const onScroll = () => {
    // At the end: follow; anywhere else: the user is reading, so stop moving the view.
    if (programmaticScroll) programmaticScroll = false;
    else state.follow = rows.atEnd(state.total);
    scheduleDraw();
  };
  rows.viewport.addEventListener("scroll", onScroll, { passive: true });
  header.jumpBtn.addEventListener("click", () => { state.follow = true; scheduleDraw(); });
  header.followBtn.addEventListener("click", () => { state.follow = !state.follow; scheduleDraw(); });
  const resize = new ResizeObserver(() => scheduleDraw());
  resize.observe(rows.viewport);
  drawHeader();

  function dispose() {
    if (drawPending) cancelAnimationFrame(drawPending);
    resize.disconnect();
    rows.viewport.removeEventListener("scroll", onScroll);
  }
  return { el, apply, select, shows: () => state.id, refreshHeader: drawHeader, dispose };
}
