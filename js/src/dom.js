// @ts-check
// Small helpers every part uses: `h` builds elements, `setText` changes text only when it
// differs, and the fmt*/…Text functions turn a row's fields into what the page shows.

/** @import { ProgressJson, RowJson } from "./protocol.js" */

/**
 * An element with attributes ("class", "text", "on<event>" listeners, anything else as an
 * attribute; null, undefined and false leave it out) and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | null | undefined)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

/** Set a node's text only when it differs (no needless DOM mutations every tick).
 * @param {HTMLElement} node @param {string} text */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** @param {number | null | undefined} seconds */
export function fmtDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  seconds = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  const ss = seconds % 60;
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  if (hh > 0) return `${hh}h ${pad(mm)}m`;
  if (mm > 0) return `${mm}m ${pad(ss)}s`;
  return `${ss}s`;
}

/** The runtime shown for a row: ticking while it runs, paused time left out.
 * @param {RowJson} row @param {number} now */
export function runtimeOf(row, now) {
  if (row.started == null) return "";
  let end = row.ended ?? (row.status === "running" ? now : row.paused_at ?? row.started);
  if (row.paused_at != null) end = Math.min(end, row.paused_at); // the clock stopped then
  return fmtDuration(end - row.started - (row.paused_seconds || 0));
}

/** The runtime with the attempt's time limit, "12m 03s / 1h 00m", once it has started.
 * @param {RowJson} row @param {number} now */
export function runtimeWithLimit(row, now) {
  const runtime = runtimeOf(row, now);
  return runtime && row.time_limit ? `${runtime} / ${fmtDuration(row.time_limit)}` : runtime;
}

/** @param {RowJson} row */
export function pidText(row) {
  // Local experiments show their pid while they run; Slurm ones their job id (queued too) and
  // the node once Slurm placed it.
  if (row.executor === "slurm") {
    const job = row.job_id ? `slurm ${row.job_id}` : "slurm";
    return row.node ? `${job} on ${row.node}` : job;
  }
  return row.status === "running" && row.pid ? String(row.pid) : "";
}

/** @param {RowJson} row */
export function reasonText(row) {
  return row.reason || (row.exit_code != null ? `exit ${row.exit_code}` : "");
}

/** @param {RowJson["gpus"]} gpus */
export function fmtGpus(gpus) {
  if (gpus == null) return "\u2014";
  if (typeof gpus === "number") return `any ${gpus}`;
  if (Array.isArray(gpus)) return gpus.map((g) => (typeof g === "string" ? g.slice(0, 12) : g)).join(",");
  return String(gpus);
}

/** @param {number | null | undefined} mib */
export function fmtGiB(mib) {
  return mib == null ? "?" : (mib / 1024).toFixed(mib >= 10240 ? 0 : 1);
}

/** What a progress bar shows: percent, ETA (seconds) and the details for its tooltip.
 * @param {ProgressJson | null} p */
export function progressOf(p) {
  if (!p) return null;
  let pct = p.percent;
  if (pct == null && p.n != null && p.total) pct = (100 * p.n) / p.total;
  const details = [p.description, p.n != null ? `${p.n}${p.total ? "/" + p.total : ""}` : null,
    p.rate != null ? `${Number(p.rate).toPrecision(3)} ${p.unit || "it"}/s` : null,
    ...Object.entries(p.metrics || {}).map(([k, v]) => `${k}=${Number(v).toPrecision(4)}`)];
  return { pct, eta: p.remaining, title: details.filter((d) => d).join("  ") };
}
