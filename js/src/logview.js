// @ts-check
// The selected experiment's log, virtualised: a bounded pool of rows drawn for the lines in sight
// inside a tall spacer, its end pushed with ticks, older lines fetched by bounded range requests
// (one at a time: a newer wish replaces an older one, so a drag through a million lines sends a
// handful of requests, never a backlog). Tools: search over the whole log (in the kernel) with
// jumps between matches, copy that keeps line breaks, copy all / download (raw or as shown),
// wrap, line numbers, an attempt picker, and the end marker the view draws below an ended
// attempt (the log file is never written). Colours come from the theme's ANSI palette, made
// readable (contrast ≥ 4.5:1) against the log's background.

import "./logview.css";
import { h, setText } from "./dom.js";
import { icon } from "./icons.js";
/** @import { Channel } from "./channel.js" */
/** @import { Notify } from "./parts.js" */
/** @import { AttemptJson, DashboardTraits, LineJson, LogPart, Model, RowJson } from "./protocol.js" */

const ROW_H = 18; // px, fixed: virtualisation depends on it (matches .nbexp-log-row in CSS)
const MAX_SPACER_PX = 8_000_000; // browsers cap element heights; taller logs are scaled
const OVERSCAN = 10; // rows drawn above and below the viewport
const CACHE_LIMIT = 20_000; // log lines kept in the browser; far-away ones are dropped
const FETCH_MARGIN = 200; // extra lines asked for around what is shown
const MAX_RANGE = 1000; // the kernel serves at most this many lines per request

// -- colours ------------------------------------------------------------------------------------

const NAMES = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
// JupyterLab's own ANSI colours, for pages without its stylesheet (Notebook 7 has it; VS Code,
// Voila and plain pages may not).
const FALLBACK = ["#3e424d", "#e75c58", "#00a250", "#ddb62b", "#208ffb", "#d160c4", "#60c6c8", "#c5c1b4",
  "#282c36", "#b22b31", "#007427", "#b27d12", "#0065ca", "#a03196", "#258f8f", "#a1a6b2"];
const MIN_CONTRAST = 4.5;

/** @param {string} css @returns {[number, number, number] | null} */
function rgb(css) {
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(css);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const hex = /^#([0-9a-f]{6})$/i.exec(css.trim());
  if (hex) return /** @type {[number, number, number]} */ ([0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16)));
  return null;
}
/** WCAG relative luminance. @param {[number, number, number]} c */
function luminance(c) {
  const [r, g, b] = c.map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
/** @param {[number, number, number]} a @param {[number, number, number]} b */
export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
/** `color` moved toward `toward` just enough to read on `bg` (4.5:1); as CSS.
 * @param {[number, number, number]} color @param {[number, number, number]} bg @param {[number, number, number]} toward */
export function readable(color, bg, toward) {
  let c = color;
  for (let t = 0.1; contrast(c, bg) < MIN_CONTRAST && t <= 1.001; t += 0.1) {
    c = /** @type {[number, number, number]} */ (color.map((v, i) => Math.round(v + (toward[i] - v) * t)));
  }
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/**
 * The theme's 16 ANSI colours (what JupyterLab uses for ANSI output in the current theme, read
 * from a probe styled by its stylesheet), each made readable on the log's background, as CSS
 * variables on `target`; named colours in a span then follow the theme, light or dark.
 * @param {HTMLElement} target the log view (its background is the one text must read on)
 */
function applyPalette(target) {
  const viewport = /** @type {HTMLElement} */ (target.querySelector(".nbexp-log-viewport") || target);
  const style = getComputedStyle(viewport);
  const bg = rgb(style.backgroundColor) || [255, 255, 255];
  const fg = rgb(style.color) || [0, 0, 0];
  const probe = h("div", { class: "jp-RenderedText jp-ThemedContainer nbexp-ansi-probe" });
  const pre = h("pre");
  probe.append(pre);
  const spans = [...NAMES, ...NAMES.map((n) => `${n}-intense`)].map((name) => h("span", { class: `ansi-${name}-fg`, text: "x" }));
  pre.append(...spans);
  target.append(probe);
  const plain = getComputedStyle(pre).color;
  spans.forEach((span, i) => {
    const seen = getComputedStyle(span).color;
    const base = (seen !== plain && rgb(seen)) || /** @type {[number, number, number]} */ (rgb(FALLBACK[i]));
    const name = i < 8 ? NAMES[i] : `bright_${NAMES[i - 8]}`;
    target.style.setProperty(`--nbexp-ansi-${name}`, readable(base, bg, fg));
    // As a background: the colour itself, with black or white text, whichever reads better.
    target.style.setProperty(`--nbexp-ansi-${name}-bg`, `rgb(${base.join(", ")})`);
    target.style.setProperty(`--nbexp-ansi-${name}-on`, contrast(base, [0, 0, 0]) >= contrast(base, [255, 255, 255]) ? "#000" : "#fff");
  });
  probe.remove();
  return { bg, fg };
}

/** @type {Map<string, string>} a true colour made readable, per colour and background */
const adjusted = new Map();

/**
 * Style a span from the kernel's words ("f:red b:blue bold inverse link:URL"): the theme's
 * named colours, true colours made readable, inverse swapped once.
 * @param {HTMLElement} span @param {string} words @param {{bg: [number, number, number], fg: [number, number, number]}} theme
 */
function styleSpan(span, words, theme) {
  /** @type {string | null} */ let fg = null;
  /** @type {string | null} */ let bg = null;
  let inverse = false;
  for (const word of words.split(" ")) {
    if (word.startsWith("f:")) fg = word.slice(2);
    else if (word.startsWith("b:")) bg = word.slice(2);
    else if (word === "inverse") inverse = true;
    else if (word.startsWith("link:")) span.dataset.link = word.slice(5);
    else if (word) span.classList.add(`nbexp-sgr-${word}`);
  }
  /** @param {string} c @param {boolean} asBg */
  const css = (c, asBg) => {
    if (!c.startsWith("#")) return asBg ? `var(--nbexp-ansi-${c}-bg)` : `var(--nbexp-ansi-${c})`;
    if (asBg) return c;
    const key = `${c}/${theme.bg.join(",")}`;
    if (!adjusted.has(key)) adjusted.set(key, readable(/** @type {[number, number, number]} */ (rgb(c)), theme.bg, theme.fg));
    return /** @type {string} */ (adjusted.get(key));
  };
  if (inverse) {
    // Swapped once: the text takes the background's colour (the log's if none) and the other way.
    span.style.color = bg ? (bg.startsWith("#") ? bg : `var(--nbexp-ansi-${bg}-bg)`) : "var(--nbexp-log-bg)";
    span.style.backgroundColor = fg ? (fg.startsWith("#") ? fg : `var(--nbexp-ansi-${fg}-bg)`) : "var(--nbexp-log-fg)";
    return;
  }
  if (fg) span.style.color = css(fg, false);
  if (bg) {
    span.style.backgroundColor = css(bg, true);
    if (!fg && !bg.startsWith("#")) span.style.color = `var(--nbexp-ansi-${bg}-on)`;
  }
}

/** Fill a log row from a line: plain text, or text with style spans; null/undefined: not here yet.
 * @param {HTMLElement} node @param {LineJson | null | undefined} payload @param {{bg: [number, number, number], fg: [number, number, number]}} theme */
function setLineContent(node, payload, theme) {
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
  for (const [start, end, words] of spans || []) {
    if (start > at) node.append(text.slice(at, start));
    const span = document.createElement("span");
    // A coloured span may end in blanks past the text the kernel kept: they show (a bar).
    span.textContent = text.slice(start, end).padEnd(end - start, " ");
    styleSpan(span, words, theme);
    node.append(span);
    at = Math.max(at, end);
  }
  if (at < text.length) node.append(text.slice(at));
}

// -- the rows -----------------------------------------------------------------------------------

/**
 * @typedef {object} LogState
 * @property {number | null} id the experiment shown
 * @property {number | null} attempt
 * @property {number} total lines in the log
 * @property {Map<number, LineJson>} cache line number -> line
 * @property {boolean} follow keep the end in view
 * @property {string | null} end how the attempt ended (the marker), once it did
 * @property {AttemptJson[]} attempts
 * @property {number | null} mark a line to highlight (the current search match)
 */

/**
 * The rows of the log: a bounded pool of rows, in flow inside a block placed at the first drawn
 * line of a tall spacer (scaled down past MAX_SPACER_PX). Wrapped lines grow; others are one row.
 * @param {{bg: [number, number, number], fg: [number, number, number]}} theme
 */
function makeLogRows(theme) {
  const flow = h("div", { class: "nbexp-log-flow" });
  const spacer = h("div", { class: "nbexp-log-spacer" }, flow);
  const viewport = h("div", { class: "nbexp-log-viewport", tabindex: "0" }, spacer);
  const endRow = h("div", { class: "nbexp-log-end", hidden: true });
  /** @type {Array<{node: HTMLDivElement, line: number, payload: LineJson | undefined}>} */
  const pool = [];

  /** @param {number} rows lines, plus the end marker's row */
  function geometry(rows) {
    const contentH = rows * ROW_H;
    const spacerH = Math.min(contentH, MAX_SPACER_PX);
    const clientH = viewport.clientHeight || 300;
    const maxScroll = Math.max(0, spacerH - clientH);
    const contentMax = Math.max(0, contentH - clientH);
    const vTop = maxScroll > 0 ? viewport.scrollTop * (contentMax / maxScroll) : 0;
    return { spacerH, clientH, vTop };
  }
  /** Whether the view is at (or within two rows of) the end. @param {number} rows */
  function atEnd(rows) {
    const { spacerH, clientH } = geometry(rows);
    return viewport.scrollTop + clientH >= spacerH - 2 * ROW_H;
  }
  /** Scroll to the end; whether that moved the view. @param {number} rows */
  function scrollToEnd(rows) {
    const { spacerH, clientH } = geometry(rows);
    const bottom = Math.max(0, spacerH - clientH);
    if (Math.abs(viewport.scrollTop - bottom) <= 1) return false;
    viewport.scrollTop = bottom;
    return true;
  }
  /** Scroll so that `line` is in the middle. @param {number} line @param {number} rows */
  function scrollToLine(line, rows) {
    const { spacerH, clientH } = geometry(rows);
    const contentH = rows * ROW_H;
    const target = Math.max(0, line * ROW_H - clientH / 2);
    const scale = contentH > clientH ? (spacerH - clientH) / (contentH - clientH) : 1;
    viewport.scrollTop = Math.max(0, Math.min(spacerH - clientH, target * scale));
  }
  /** Draw the lines in view; the range shown and whether a line in it is not cached yet.
   * @param {LogState} state */
  function draw(state) {
    const rows = state.total + (state.end ? 1 : 0);
    const { spacerH, clientH, vTop } = geometry(rows);
    if (spacer.style.height !== `${spacerH}px`) spacer.style.height = `${spacerH}px`;
    const capacity = Math.ceil(clientH / ROW_H) + 2 * OVERSCAN;
    const first = Math.max(0, Math.floor(vTop / ROW_H) - OVERSCAN);
    const count = Math.max(0, Math.min(state.total - first, capacity));
    flow.style.top = `${viewport.scrollTop - (vTop - first * ROW_H)}px`;
    while (pool.length < count) {
      const node = h("div", { class: "nbexp-log-row" });
      pool.push({ node, line: -1, payload: undefined });
      flow.insertBefore(node, endRow);
    }
    if (!endRow.isConnected) flow.append(endRow);
    let missing = false;
    pool.forEach((entry, i) => {
      entry.node.hidden = i >= count;
      if (i < count) missing = drawLine(entry, first + i, state.cache.get(first + i), state.mark) || missing;
    });
    while (pool.length > count && pool.length > capacity) pool.pop()?.node.remove();
    // The end marker, drawn by the view (the log file is never written), below the last line.
    endRow.hidden = !state.end || first + count < state.total;
    setText(endRow, state.end ? `\u25A0 ${state.end}` : "");
    return { first, count, missing };
  }
  /** @param {typeof pool[number]} entry @param {number} line @param {LineJson | undefined} payload @param {number | null} mark */
  function drawLine(entry, line, payload, mark) {
    const { node } = entry;
    if (entry.line !== line || entry.payload !== payload) {
      entry.line = line;
      entry.payload = payload;
      node.dataset.line = String(line);
      node.dataset.ln = String(line + 1);
      setLineContent(node, payload, theme);
      const text = node.textContent || "";
      if (text.length > 120) node.title = text; else node.removeAttribute("title");
    }
    node.classList.toggle("nbexp-log-mark", mark === line);
    return payload === undefined;
  }
  /** Another log: every row is redrawn at the next draw. */
  function forget() {
    for (const entry of pool) { entry.line = -1; entry.node.dataset.line = ""; }
  }
  return { viewport, atEnd, scrollToEnd, scrollToLine, draw, forget };
}

// -- the header and its tools ---------------------------------------------------------------------

/** @param {string} name @param {string} title @param {string} [cls] */
function tool(name, title, cls = "") {
  return h("button", { class: `nbexp-btn nbexp-log-tool ${cls}`, title, "aria-label": title }, icon(name));
}

function makeLogHeader() {
  const title = h("span", { class: "nbexp-log-title" });
  const info = h("span", { class: "nbexp-log-info" });
  const attempts = h("select", { class: "nbexp-attempts", "aria-label": "attempt", hidden: true });
  const query = h("input", { class: "nbexp-log-search", type: "search", placeholder: "search the log" });
  const found = h("span", { class: "nbexp-log-found" });
  const prev = tool("up", "previous match", "nbexp-log-prev");
  const next = tool("down", "next match", "nbexp-log-next");
  const wrapBtn = tool("wrap", "wrap long lines", "nbexp-log-wrap-btn");
  const numbersBtn = tool("numbers", "line numbers", "nbexp-log-numbers-btn");
  const copyBtn = tool("copy", "copy the whole log (as shown)", "nbexp-log-copy-all");
  const rawBtn = h("button", { class: "nbexp-btn nbexp-log-tool nbexp-log-download-raw", title: "download the log file as written" }, icon("download"), " raw");
  const textBtn = h("button", { class: "nbexp-btn nbexp-log-tool nbexp-log-download-text", title: "download the log as shown (colours and redraws applied)" }, icon("download"), " text");
  const followBtn = h("button", { class: "nbexp-btn nbexp-follow", title: "follow the end of the log", text: "following" });
  const jumpBtn = h("button", { class: "nbexp-btn nbexp-jump", text: "\u2193 jump to end", hidden: true });
  const tools = h("span", { class: "nbexp-log-tools" }, query, found, prev, next, wrapBtn, numbersBtn, copyBtn, rawBtn, textBtn);
  const el = h("div", { class: "nbexp-log-header" }, title, attempts, info, h("span", { class: "nbexp-spacer" }), tools, followBtn, jumpBtn);
  /** @param {LogState} state @param {RowJson | undefined} row */
  function draw(state, row) {
    setText(title, row ? `#${row.id} ${row.name}` : "Select an experiment to see its log");
    setText(info, state.id != null ? `${state.total.toLocaleString()} lines` : "");
    setText(followBtn, state.follow ? "following" : "paused");
    followBtn.classList.toggle("nbexp-on", state.follow);
    followBtn.hidden = state.id == null;
    jumpBtn.hidden = state.follow || state.id == null;
    tools.hidden = state.id == null || state.attempt == null;
    const key = state.attempts.map((a) => `${a.attempt}:${a.status}:${a.end}`).join("|");
    if (attempts.dataset.key !== key) {
      attempts.dataset.key = key;
      attempts.replaceChildren(...state.attempts.map((a) => h("option", { value: String(a.attempt),
        text: `attempt ${a.attempt} \u00B7 ${a.end || a.status}` })));
    }
    attempts.hidden = state.attempts.length < 2;
    if (state.attempt != null) attempts.value = String(state.attempt);
  }
  return { el, attempts, query, found, prev, next, wrapBtn, numbersBtn, copyBtn, rawBtn, textBtn, followBtn, jumpBtn, draw };
}

// -- the view -----------------------------------------------------------------------------------

/**
 * The selected experiment's log. Its end comes with ticks; lines scrolled back to are asked for
 * by range, and the browser keeps at most CACHE_LIMIT of them.
 * @param {{channel: Channel, notify: Notify, selected: () => number | null, rowOf: (id: number | null) => RowJson | undefined, model?: Model<DashboardTraits>}} deps
 */
export function makeLogView({ channel, notify, selected, rowOf, model }) {
  const theme = { bg: /** @type {[number, number, number]} */ ([255, 255, 255]), fg: /** @type {[number, number, number]} */ ([0, 0, 0]) };
  const header = makeLogHeader();
  const rows = makeLogRows(theme);
  const note = h("div", { class: "nbexp-log-note", hidden: true });
  const el = h("section", { class: "nbexp-log", "aria-label": "log" }, header.el, note, rows.viewport);
  /** @type {LogState} */
  const state = { id: null, attempt: null, total: 0, cache: new Map(), follow: true, end: null, attempts: [], mark: null };
  /** @type {{query: string, matches: number[], at: number, truncated: boolean}} */
  const found = { query: "", matches: [], at: -1, truncated: false };
  let drawPending = 0;
  let programmaticScroll = false;

  function scheduleDraw() {
    if (!drawPending) drawPending = requestAnimationFrame(() => { drawPending = 0; draw(); });
  }
  function draw() {
    const total = state.total + (state.end ? 1 : 0);
    if (state.follow && state.total > 0 && rows.scrollToEnd(total)) programmaticScroll = true;
    const { first, count, missing } = rows.draw(state);
    if (missing) wantRange(first, count);
    drawHeader();
  }
  const drawHeader = () => header.draw(state, rowOf(state.id));

  // Range requests: bounded, one in flight; a newer wish replaces an older one not yet sent.
  /** @type {{start: number, end: number} | null} */
  let wish = null;
  let inFlight = false;
  /** @param {number} first @param {number} count */
  function wantRange(first, count) {
    if (state.id == null || state.attempt == null) return;
    const start = Math.max(0, first - FETCH_MARGIN);
    wish = { start, end: Math.min(state.total, start + Math.min(MAX_RANGE, count + 2 * FETCH_MARGIN)) };
    if (!inFlight) sendWish();
  }
  function sendWish() {
    const { id, attempt } = state;
    if (!wish || id == null || attempt == null) return;
    const { start, end } = wish;
    wish = null;
    inFlight = true;
    channel.request({ type: "log_range", id, attempt, start, end }, (reply) => {
      inFlight = false;
      if (reply.type === "error") { notify(reply.message); return; }
      if (reply.type === "log_lines" && reply.id === state.id && reply.attempt === state.attempt) {
        reply.lines.forEach((line, i) => state.cache.set(reply.start + i, line));
        state.total = Math.max(state.total, reply.total);
        trimCache(reply.start);
        scheduleDraw(); // draws, and sends the newest wish if lines in sight are still missing
      }
      if (wish) sendWish();
    }, (message) => { inFlight = false; notify(message); });
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
    Object.assign(state, { id: log.id ?? null, attempt: log.attempt ?? null, total: log.total || 0,
      follow: true, end: log.end || null, attempts: log.attempts || [], mark: null });
    state.cache.clear();
    wish = null;
    Object.assign(found, { query: "", matches: [], at: -1, truncated: false });
    setText(header.found, "");
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
    if (log.end != null) state.end = log.end || null;
    state.total = log.total ?? state.total;
    const changed = log.lines && !Array.isArray(log.lines) ? log.lines : {};
    for (const [line, payload] of Object.entries(changed)) state.cache.set(Number(line), payload);
    trimCache(state.total);
    scheduleDraw();
  }
  /** Show experiment `id` (the kernel then sends its log), or nothing. @param {number | null} id */
  function select(id) {
    if (model && model.get("attempt") != null) { model.set("attempt", null); model.save_changes(); }
    if (id == null) reset({ total: 0, lines: [], start: 0 });
    else if (state.id !== id) {
      Object.assign(state, { id, attempt: null, total: 0, end: null, attempts: [] });
      state.cache.clear();
      drawHeader();
      scheduleDraw();
    }
  }

  // -- search ----------------------------------------------------------------------------------
  let searchTimer = 0;
  function search() {
    const query = header.query.value;
    const { id, attempt } = state;
    if (!query || id == null || attempt == null) {
      Object.assign(found, { query: "", matches: [], at: -1 });
      state.mark = null;
      setText(header.found, "");
      scheduleDraw();
      return;
    }
    setText(header.found, "searching\u2026");
    channel.request({ type: "log_search", id, attempt, query, regex: false, case: false }, (reply) => {
      if (reply.type === "error") { setText(header.found, ""); notify(reply.message); return; }
      if (reply.type !== "log_matches" || reply.query !== header.query.value) return; // superseded
      Object.assign(found, { query: reply.query, matches: reply.matches, at: -1, truncated: reply.truncated });
      jump(1);
    }, (message) => { setText(header.found, ""); notify(message); });
  }
  /** Go to the next (+1) or previous (-1) match. @param {number} step */
  function jump(step) {
    const n = found.matches.length;
    if (!n) { setText(header.found, found.query ? "no match" : ""); state.mark = null; scheduleDraw(); return; }
    found.at = (found.at + step + n) % n;
    const line = found.matches[found.at];
    state.mark = line;
    state.follow = false;
    rows.scrollToLine(line, state.total + (state.end ? 1 : 0));
    setText(header.found, `${found.at + 1} of ${n.toLocaleString()}${found.truncated ? "+" : ""}`);
    scheduleDraw();
  }
  header.query.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = window.setTimeout(search, 250); });
  header.query.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); if (found.query === header.query.value && found.matches.length) jump(ev.shiftKey ? -1 : 1); else search(); }
  });
  header.prev.addEventListener("click", () => jump(-1));
  header.next.addEventListener("click", () => jump(1));

  // -- copy, copy all, downloads ------------------------------------------------------------------
  /** The selected text with one line break per log line (rows are separate blocks). @param {ClipboardEvent} ev */
  function onCopy(ev) {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !ev.clipboardData) return;
    const rowOfNode = (/** @type {Node | null} */ n) => /** @type {HTMLElement | null} */ (n && (n.nodeType === 1 ? /** @type {Element} */ (n) : n.parentElement)?.closest(".nbexp-log-row"));
    const a = rowOfNode(sel.anchorNode);
    const b = rowOfNode(sel.focusNode);
    if (!a || !b || a === b) return; // within one line the browser's own copy is right
    const lines = [];
    const [top, bottom] = Number(a.dataset.line) <= Number(b.dataset.line) ? [a, b] : [b, a];
    for (let n = Number(top.dataset.line); n <= Number(bottom.dataset.line); n++) {
      const line = state.cache.get(n);
      lines.push(line == null ? "" : typeof line === "string" ? line : line[0]);
    }
    const range = sel.getRangeAt(0);
    const from = offsetIn(top, range.startContainer, range.startOffset);
    const upto = offsetIn(bottom, range.endContainer, range.endOffset);
    lines[0] = lines[0].slice(from ?? 0);
    if (upto != null) lines[lines.length - 1] = lines[lines.length - 1].slice(0, upto);
    ev.clipboardData.setData("text/plain", lines.join("\n"));
    ev.preventDefault();
  }
  /** The text offset of (node, offset) within a row. @param {HTMLElement} row @param {Node} node @param {number} offset */
  function offsetIn(row, node, offset) {
    if (!row.contains(node)) return null;
    const range = document.createRange();
    range.selectNodeContents(row);
    range.setEnd(node, offset);
    return range.toString().length;
  }
  /** Every piece of an export, then `done` with them. @param {string} format @param {(pieces: string[]) => void} done */
  function exportAll(format, done) {
    const { id, attempt } = state;
    if (id == null || attempt == null) return;
    /** @type {string[]} */
    const pieces = [];
    notify(`reading the whole log (${format})\u2026`, "info");
    const ask = (/** @type {number} */ cursor) => channel.request({ type: "log_export", id, attempt, format, cursor }, (reply) => {
      if (reply.type === "error") { notify(reply.message); return; }
      if (reply.type !== "log_chunk") return;
      pieces.push(reply.data);
      if (reply.cursor == null) done(pieces); else ask(reply.cursor);
    }, (message) => notify(message));
    ask(0);
  }
  /** @param {BlobPart[]} parts @param {string} type @param {string} name */
  function save(parts, type, name) {
    const url = URL.createObjectURL(new Blob(parts, { type }));
    const link = h("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  const fileName = (/** @type {string} */ ext) => `nbexp-${state.id}-attempt-${state.attempt}.${ext}`;
  header.copyBtn.addEventListener("click", () => exportAll("text", (pieces) => {
    navigator.clipboard.writeText(pieces.join("")).then(() => notify("the whole log is on the clipboard", "info"),
      () => notify("the browser refused the clipboard: download the text instead"));
  }));
  header.rawBtn.addEventListener("click", () => exportAll("raw", (pieces) => {
    save(pieces.map((p) => Uint8Array.from(atob(p), (c) => c.charCodeAt(0))), "application/octet-stream", fileName("log"));
  }));
  header.textBtn.addEventListener("click", () => exportAll("text", (pieces) => save(pieces, "text/plain", fileName("txt"))));

  // -- wrap, numbers, attempts, follow -------------------------------------------------------------
  header.wrapBtn.addEventListener("click", () => {
    const on = rows.viewport.classList.toggle("nbexp-log-wrapped");
    header.wrapBtn.classList.toggle("nbexp-on", on);
    scheduleDraw();
  });
  header.numbersBtn.addEventListener("click", () => {
    const on = rows.viewport.classList.toggle("nbexp-log-numbered");
    header.numbersBtn.classList.toggle("nbexp-on", on);
  });
  header.attempts.addEventListener("change", () => {
    if (!model) return;
    const picked = Number(header.attempts.value);
    const latest = Math.max(...state.attempts.map((a) => a.attempt));
    model.set("attempt", picked === latest ? null : picked);
    model.save_changes();
  });
  const onScroll = () => {
    // At the end: follow; anywhere else: the user is reading, so stop moving the view.
    if (programmaticScroll) programmaticScroll = false;
    else state.follow = rows.atEnd(state.total + (state.end ? 1 : 0));
    scheduleDraw();
  };
  rows.viewport.addEventListener("scroll", onScroll, { passive: true });
  rows.viewport.addEventListener("copy", onCopy);
  header.jumpBtn.addEventListener("click", () => { state.follow = true; scheduleDraw(); });
  header.followBtn.addEventListener("click", () => { state.follow = !state.follow; scheduleDraw(); });
  const resize = new ResizeObserver(() => scheduleDraw());
  resize.observe(rows.viewport);
  // The theme's palette once drawn, and again when JupyterLab switches theme.
  const repaint = () => { Object.assign(theme, applyPalette(el)); adjusted.clear(); rows.forget(); scheduleDraw(); };
  requestAnimationFrame(repaint);
  const themeWatch = new MutationObserver(repaint);
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class"] });
  drawHeader();

  function dispose() {
    if (drawPending) cancelAnimationFrame(drawPending);
    clearTimeout(searchTimer);
    resize.disconnect();
    themeWatch.disconnect();
    rows.viewport.removeEventListener("scroll", onScroll);
    rows.viewport.removeEventListener("copy", onCopy);
  }
  return { el, apply, select, shows: () => state.id, refreshHeader: drawHeader, dispose };
}
