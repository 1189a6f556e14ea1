// nbexp front end (anywidget ES module): the dashboard and the compact experiment card.
// Python pushes only what changed (custom "tick" messages); this module keeps the state, ticks
// runtimes locally between pushes and draws a virtualised log (a bounded pool of absolutely
// positioned rows inside a tall spacer), fetching older lines by range when scrolled to.

const ROW_H = 18; // px, fixed: virtualisation depends on it (matches .nbexp-log-row in CSS)
const MAX_SPACER_PX = 8_000_000; // browsers cap element heights; taller logs are scaled
const OVERSCAN = 10; // rows drawn above and below the viewport
const CACHE_LIMIT = 20_000; // log lines kept in the browser; far-away ones are dropped
const FETCH_MARGIN = 200; // extra lines asked for around what is shown
const SPARK_POINTS = 300; // GPU readings kept per GPU for the sparklines
const NOTICE_MS = 8000;

const STATUS = {
  completed: { icon: "\u2714", label: "completed" },
  interrupted: { icon: "\u270B", label: "interrupted" },
  error: { icon: "\u25B2", label: "error" },
  running: { icon: "", label: "running" },
  queued: { icon: "\u25F7", label: "queued" },
  pending: { icon: "\u25CB", label: "pending" },
};
const STATUS_ORDER = ["running", "queued", "pending", "completed", "interrupted", "error"];
const CONFIRM = new Set(["stop", "remove"]);

// -- small helpers ------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
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

function fmtDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  seconds = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  const ss = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (hh > 0) return `${hh}h ${pad(mm)}m`;
  if (mm > 0) return `${mm}m ${pad(ss)}s`;
  return `${ss}s`;
}

function pidText(row) {
  // Local experiments show their pid while they run; Slurm ones their job id (queued too).
  if (row.executor === "slurm") return row.job_id ? `slurm ${row.job_id}` : "slurm";
  return row.status === "running" && row.pid ? String(row.pid) : "";
}

function fmtGpus(gpus) {
  if (gpus == null) return "\u2014";
  if (typeof gpus === "number") return `any ${gpus}`;
  if (Array.isArray(gpus)) return gpus.map((g) => (typeof g === "string" ? g.slice(0, 12) : g)).join(",");
  return String(gpus);
}

function fmtGiB(mib) {
  return mib == null ? "?" : (mib / 1024).toFixed(mib >= 10240 ? 0 : 1);
}

// Progress JSON comes from nbexp.progress; read it tolerantly (fields may be absent).
function progressOf(p) {
  if (!p) return null;
  let pct = p.percent ?? (p.fraction != null ? p.fraction * 100 : null);
  if (pct == null && p.n != null && p.total) pct = (100 * p.n) / p.total;
  const eta = p.eta ?? p.remaining ?? p.eta_seconds ?? null;
  const details = [p.description, p.n != null ? `${p.n}${p.total ? "/" + p.total : ""}` : null,
    p.rate != null ? `${Number(p.rate).toPrecision(3)} ${p.unit || "it"}/s` : null,
    ...Object.entries(p.metrics || {}).map(([k, v]) => `${k}=${Number(v).toPrecision(4)}`)];
  return { pct, eta, title: details.filter((d) => d).join("  ") };
}

function setLineContent(node, payload) {
  // A line is plain text, or [text, [[start, end, style], ...]] with colour spans.
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

function badge(status) {
  const info = STATUS[status] || { icon: "?", label: status };
  const icon = status === "running"
    ? h("span", { class: "nbexp-spinner", "aria-hidden": "true" })
    : h("span", { class: "nbexp-badge-icon", "aria-hidden": "true", text: info.icon });
  return h("span", { class: `nbexp-badge nbexp-status-${status}`, title: info.label }, icon,
    h("span", { class: "nbexp-badge-label", text: info.label }));
}

function progressCell(progress, now) {
  const p = progressOf(progress);
  if (!p || p.pct == null) return h("span", { class: "nbexp-muted", text: "" });
  const pct = Math.max(0, Math.min(100, p.pct));
  const bar = h("div", { class: "nbexp-progress", role: "progressbar", "aria-valuenow": pct.toFixed(0) },
    h("div", { class: "nbexp-progress-fill", style: `width:${pct.toFixed(1)}%` }));
  let eta = "";
  if (typeof p.eta === "number") eta = `ETA ${fmtDuration(p.eta)}`;
  else if (typeof p.eta === "string" && p.eta) eta = `ETA ${p.eta}`;
  return h("div", { class: "nbexp-progress-cell", title: p.title }, bar,
    h("span", { class: "nbexp-progress-text", text: `${pct.toFixed(0)}%${eta ? " \u00B7 " + eta : ""}` }));
}

function sparkline(values, max, cls) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", `nbexp-spark ${cls}`);
  svg.setAttribute("viewBox", "0 0 100 24");
  svg.setAttribute("preserveAspectRatio", "none");
  const clean = values.filter((v) => v != null);
  if (clean.length >= 2 && max > 0) {
    const step = 100 / (values.length - 1);
    const pts = values.map((v, i) => `${(i * step).toFixed(2)},${(24 - (24 * Math.min(v ?? 0, max)) / max).toFixed(2)}`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" "));
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
  }
  return svg;
}

// -- shared plumbing ------------------------------------------------------------------------------

function makeChannel(model) {
  // Request/response over custom messages; replies carry the request's "req".
  let nextReq = 1;
  const waiting = new Map();
  return {
    request(content, onReply) {
      const req = nextReq++;
      if (onReply) waiting.set(req, onReply);
      model.send({ ...content, req });
      return req;
    },
    resolve(msg) {
      if (msg.req == null || !waiting.has(msg.req)) return false;
      const fn = waiting.get(msg.req);
      waiting.delete(msg.req);
      fn(msg);
      return true;
    },
  };
}

function actionButtons(row, channel, onResult) {
  const box = h("div", { class: "nbexp-actions" });
  const drawButtons = () => {
    box.replaceChildren(...(row.actions || []).map((action) =>
      h("button", {
        class: `nbexp-btn nbexp-action nbexp-action-${action.replace(" ", "-")}`,
        "data-action": action, title: `${action} experiment ${row.id}`, text: action,
        onclick: (ev) => { ev.stopPropagation(); CONFIRM.has(action) ? confirm(action) : send(action); },
      })));
  };
  const send = (action) => {
    for (const b of box.querySelectorAll("button")) b.disabled = true;
    channel.request({ type: "action", id: row.id, action }, (reply) => {
      for (const b of box.querySelectorAll("button")) b.disabled = false;
      onResult(reply);
    });
  };
  const confirm = (action) => {
    box.replaceChildren(
      h("span", { class: "nbexp-confirm-text", text: `${action} #${row.id}?` }),
      h("button", { class: "nbexp-btn nbexp-danger nbexp-confirm", "data-action": action, text: `yes, ${action}`,
        onclick: (ev) => { ev.stopPropagation(); drawButtons(); send(action); } }),
      h("button", { class: "nbexp-btn nbexp-cancel", text: "cancel",
        onclick: (ev) => { ev.stopPropagation(); drawButtons(); } }));
  };
  drawButtons();
  return box;
}

// -- the dashboard --------------------------------------------------------------------------------

function renderDashboard({ model, el }) {
  const cleanups = [];
  const rows = new Map(); // id -> row
  const trs = new Map(); // id -> <tr>
  let clockOffset = 0; // server seconds - browser seconds
  let gpuInfo = null;
  let gpuReadings = [];
  const gpuHistory = []; // per GPU: [[mem, util, temp, power], ...]
  let gpuForeign = {}; // GPU index -> [{pid, user, mem (MiB)}]: processes nbexp did not start
  const channel = makeChannel(model);
  const now = () => Date.now() / 1000 + clockOffset;

  // Layout
  const notice = h("div", { class: "nbexp-notices", role: "status", "aria-live": "polite" });
  const search = h("input", { class: "nbexp-search", type: "search", placeholder: "search by name",
    value: model.get("search") || "" });
  const filters = h("div", { class: "nbexp-filters" });
  const counts = h("span", { class: "nbexp-counts" });
  const header = h("div", { class: "nbexp-header" },
    h("span", { class: "nbexp-title", text: "nbexp" }),
    h("span", { class: "nbexp-home", title: "NBEXP_HOME", text: model.get("home") || "" }),
    counts, h("span", { class: "nbexp-spacer" }), filters, search);
  const tbody = h("tbody");
  const empty = h("div", { class: "nbexp-empty", text: "No experiments yet." });
  const table = h("table", { class: "nbexp-table" },
    h("thead", {}, h("tr", {}, ...["#", "name", "status", "GPUs", "pid / job", "runtime", "exit / reason",
      "progress", "actions"].map((t) => h("th", { text: t })))), tbody);
  const gpuPanel = h("section", { class: "nbexp-gpus", "aria-label": "GPUs" });
  const logTitle = h("span", { class: "nbexp-log-title", text: "Select an experiment to see its log" });
  const logInfo = h("span", { class: "nbexp-log-info" });
  const followBtn = h("button", { class: "nbexp-btn nbexp-follow", title: "follow the end of the log", text: "following" });
  const jumpBtn = h("button", { class: "nbexp-btn nbexp-jump", text: "\u2193 jump to end", hidden: true });
  const spacer = h("div", { class: "nbexp-log-spacer" });
  const viewport = h("div", { class: "nbexp-log-viewport", tabindex: "0" }, spacer);
  const logNote = h("div", { class: "nbexp-log-note", hidden: true });
  const logPanel = h("section", { class: "nbexp-log", "aria-label": "log" },
    h("div", { class: "nbexp-log-header" }, logTitle, logInfo, h("span", { class: "nbexp-spacer" }), followBtn, jumpBtn),
    logNote, viewport);
  const root = h("div", { class: "nbexp-root nbexp-dashboard" }, header, notice,
    h("div", { class: "nbexp-table-wrap" }, table, empty),
    h("div", { class: "nbexp-lower" }, gpuPanel, logPanel));
  el.append(root);

  // Notices: inline, dismissable, never a traceback
  function showNotice(text, kind = "error") {
    const item = h("div", { class: `nbexp-notice nbexp-notice-${kind}` }, h("span", { text }),
      h("button", { class: "nbexp-btn nbexp-dismiss", "aria-label": "dismiss", text: "\u00D7",
        onclick: () => item.remove() }));
    notice.append(item);
    while (notice.children.length > 3) notice.firstChild.remove();
    const t = setTimeout(() => item.remove(), NOTICE_MS);
    cleanups.push(() => clearTimeout(t));
  }

  // Filters
  function drawFilters() {
    const active = new Set(model.get("status_filter") || []);
    filters.replaceChildren(...STATUS_ORDER.map((s) => {
      const n = [...rows.values()].filter((r) => r.status === s).length;
      return h("button", {
        class: `nbexp-chip nbexp-status-${s}${active.has(s) ? " nbexp-chip-on" : ""}`,
        "data-status": s, "aria-pressed": active.has(s) ? "true" : "false", text: `${s} ${n}`,
        onclick: () => {
          const next = new Set(model.get("status_filter") || []);
          next.has(s) ? next.delete(s) : next.add(s);
          model.set("status_filter", STATUS_ORDER.filter((x) => next.has(x)));
          model.save_changes();
        },
      });
    }));
  }
  function visible(row) {
    const active = model.get("status_filter") || [];
    const text = (model.get("search") || "").trim().toLowerCase();
    if (active.length && !active.includes(row.status)) return false;
    return !text || row.name.toLowerCase().includes(text) || String(row.id) === text;
  }
  function applyFilter() {
    let shown = 0;
    for (const [id, tr] of trs) {
      const show = visible(rows.get(id));
      tr.hidden = !show;
      if (show) shown++;
    }
    empty.hidden = shown > 0;
    empty.textContent = rows.size ? "No experiment matches the filter." : "No experiments yet.";
    counts.textContent = `${rows.size} experiment${rows.size === 1 ? "" : "s"}`;
    drawFilters();
  }
  const onSearch = () => { model.set("search", search.value); model.save_changes(); };
  search.addEventListener("input", onSearch);

  // Table
  function runtimeOf(row) {
    if (row.started == null) return "";
    const end = row.ended ?? (row.status === "running" ? now() : row.started);
    return fmtDuration(end - row.started);
  }
  function onActionResult(reply) {
    if (reply.type === "error") { showNotice(reply.message); return; }
    if (reply.row === null || reply.row === undefined) removeRow(reply.id);
    else upsertRow(reply.row);
    showNotice(reply.message, "info");
    applyFilter();
  }
  function drawRow(tr, row) {
    const reason = row.reason || (row.exit_code != null ? `exit ${row.exit_code}` : "");
    tr.className = `nbexp-row nbexp-row-${row.status}${model.get("selected") === row.id ? " nbexp-selected" : ""}`;
    tr.dataset.id = row.id;
    tr.dataset.status = row.status;
    tr.replaceChildren(
      h("td", { class: "nbexp-id", text: row.id }),
      h("td", { class: "nbexp-name", title: row.name, text: row.name }),
      h("td", { class: "nbexp-status" }, badge(row.status)),
      h("td", { class: "nbexp-gpus-cell", text: fmtGpus(row.gpus) }),
      h("td", { class: "nbexp-pid", text: pidText(row) }),
      h("td", { class: "nbexp-runtime", text: runtimeOf(row) }),
      h("td", { class: "nbexp-reason", title: reason, text: reason }),
      h("td", { class: "nbexp-progress-td" }, progressCell(row.progress)),
      h("td", { class: "nbexp-actions-td" }, actionButtons(row, channel, onActionResult)));
  }
  function upsertRow(row) {
    const old = rows.get(row.id);
    rows.set(row.id, row);
    let tr = trs.get(row.id);
    if (!tr) {
      tr = h("tr", { tabindex: "0", onclick: () => select(row.id),
        onkeydown: (ev) => { if (ev.key === "Enter" && ev.target === tr) select(row.id); } });
      trs.set(row.id, tr);
      const after = [...trs.keys()].filter((k) => k > row.id).sort((a, b) => a - b)[0];
      tbody.insertBefore(tr, after != null ? trs.get(after) : null);
    }
    drawRow(tr, row);
    if (old && old.status !== row.status && logState.id === row.id) drawLogHeader();
  }
  function removeRow(id) {
    rows.delete(id);
    trs.get(id)?.remove();
    trs.delete(id);
    if (model.get("selected") === id) select(null);
  }
  function select(id) {
    model.set("selected", id);
    model.save_changes();
    for (const [rid, tr] of trs) tr.classList.toggle("nbexp-selected", rid === id);
    if (id == null) resetLog({ id: null, total: 0, lines: [], start: 0 });
    else if (logState.id !== id) { logState.id = id; logState.total = 0; logState.cache.clear(); drawLogHeader(); scheduleDraw(); }
  }
  const ticker = setInterval(() => {
    for (const [id, row] of rows) {
      if (row.status !== "running") continue;
      const cell = trs.get(id)?.querySelector(".nbexp-runtime");
      if (cell) cell.textContent = runtimeOf(row);
    }
  }, 1000);
  cleanups.push(() => clearInterval(ticker));

  // GPU panel
  function holdersOf(gpu) {
    const out = [];
    for (const row of rows.values()) {
      if (row.status !== "running" || !Array.isArray(row.assigned)) continue;
      if (row.assigned.some((g) => g === gpu.index || g === gpu.uuid)) out.push(row);
    }
    return out;
  }
  // Someone else's process: shown apart from nbexp's own, so nobody takes it for one of theirs.
  function foreignLabel(p) {
    return `pid ${p.pid}${p.user ? ` (${p.user})` : ""}${p.mem != null ? ` \u00B7 ${fmtGiB(p.mem)} GiB` : ""}`;
  }
  function holdersLine(gpu, holders) {
    const foreign = gpuForeign[gpu.index] || [];
    if (!holders.length && !foreign.length) return h("div", { class: "nbexp-gpu-holders", text: "free" });
    const ours = holders.map((r) => `#${r.id} ${r.name}`);
    const theirs = foreign.map(foreignLabel);
    const line = h("div", { class: "nbexp-gpu-holders", title: `held by ${[...ours, ...theirs].join(", ")}` },
      `held by ${ours.join(", ")}${ours.length && theirs.length ? ", " : ""}`);
    theirs.forEach((text, i) => line.append(i ? ", " : "",
      h("span", { class: "nbexp-gpu-foreign", "data-pid": foreign[i].pid, title: "not started by nbexp: someone else's process", text })));
    return line;
  }
  function drawGpus() {
    if (!gpuInfo) { gpuPanel.replaceChildren(h("div", { class: "nbexp-muted", text: "GPUs: waiting for the first reading\u2026" })); return; }
    const title = h("div", { class: "nbexp-panel-title" }, h("span", { text: "GPUs" }),
      gpuInfo.simulated ? h("span", { class: "nbexp-simulated", text: "simulated" }) : null,
      // Slurm experiments run on the cluster's GPUs, which this panel does not show.
      h("span", { class: "nbexp-muted nbexp-gpus-scope", text: "this machine only" }));
    if (!gpuInfo.gpus.length) {
      gpuPanel.replaceChildren(title, h("div", { class: "nbexp-nogpu" },
        h("div", { class: "nbexp-nogpu-title", text: "No GPU" }),
        h("div", { class: "nbexp-muted", text: gpuInfo.reason || "no GPU was found" })));
      return;
    }
    const meters = gpuInfo.gpus.map((gpu, i) => {
      const [mem, util, temp, power] = gpuReadings[i] || [];
      const memPct = gpu.mem_total ? (100 * (mem ?? 0)) / gpu.mem_total : 0;
      const hist = gpuHistory[i] || [];
      const holders = holdersOf(gpu);
      const bar = (cls, pct, label) => h("div", { class: "nbexp-meter-row" },
        h("span", { class: "nbexp-meter-label", text: label }),
        h("div", { class: `nbexp-meter ${cls}` }, h("div", { class: "nbexp-meter-fill", style: `width:${Math.max(0, Math.min(100, pct)).toFixed(1)}%` })));
      return h("div", { class: "nbexp-gpu", "data-index": gpu.index },
        h("div", { class: "nbexp-gpu-head" },
          h("span", { class: "nbexp-gpu-index", text: `GPU ${gpu.index}` }),
          h("span", { class: "nbexp-gpu-name", title: gpu.uuid || "", text: gpu.name || "" })),
        bar("nbexp-meter-mem", memPct, `mem ${fmtGiB(mem)}/${fmtGiB(gpu.mem_total)} GiB`),
        bar("nbexp-meter-util", util ?? 0, `util ${util ?? "?"}%`),
        h("div", { class: "nbexp-gpu-stats" },
          h("span", { text: temp != null ? `${temp}\u00B0C` : "" }),
          h("span", { text: power != null ? `${power} W` : "" }),
          gpu.problem ? h("span", { class: "nbexp-gpu-problem", text: gpu.problem }) : null),
        h("div", { class: "nbexp-gpu-sparks", title: `last ${Math.round(hist.length / 60)} min: utilisation (green), memory (purple)` },
          sparkline(hist.map((r) => r[1]), 100, "nbexp-spark-util"),
          sparkline(hist.map((r) => r[0]), gpu.mem_total || 1, "nbexp-spark-mem")),
        holdersLine(gpu, holders));
    });
    gpuPanel.replaceChildren(title, ...meters);
  }
  function pushGpuReadings(readings) {
    gpuReadings = readings;
    readings.forEach((r, i) => {
      gpuHistory[i] = gpuHistory[i] || [];
      gpuHistory[i].push(r);
      if (gpuHistory[i].length > SPARK_POINTS) gpuHistory[i].splice(0, gpuHistory[i].length - SPARK_POINTS);
    });
  }

  // Log view (virtualised)
  const logState = { id: null, attempt: null, total: 0, cache: new Map(), follow: true, asked: new Set() };
  const pool = []; // row elements, reused
  let drawPending = 0;
  let programmaticScroll = false;
  function drawLogHeader() {
    const row = rows.get(logState.id);
    logTitle.textContent = row ? `#${row.id} ${row.name}${row.attempt > 1 ? ` (attempt ${row.attempt})` : ""}`
      : "Select an experiment to see its log";
    logInfo.textContent = logState.id != null ? `${logState.total.toLocaleString()} lines` : "";
    followBtn.textContent = logState.follow ? "following" : "paused";
    followBtn.classList.toggle("nbexp-on", logState.follow);
    followBtn.hidden = logState.id == null;
    jumpBtn.hidden = logState.follow || logState.id == null;
  }
  function geometry() {
    const contentH = logState.total * ROW_H;
    const spacerH = Math.min(contentH, MAX_SPACER_PX);
    const clientH = viewport.clientHeight || 300;
    const maxScroll = Math.max(0, spacerH - clientH);
    const contentMax = Math.max(0, contentH - clientH);
    const vTop = maxScroll > 0 ? viewport.scrollTop * (contentMax / maxScroll) : 0;
    return { spacerH, clientH, vTop };
  }
  function scheduleDraw() {
    if (!drawPending) drawPending = requestAnimationFrame(() => { drawPending = 0; drawLog(); });
  }
  function drawLog() {
    const { spacerH, clientH } = geometry();
    if (spacer.style.height !== `${spacerH}px`) spacer.style.height = `${spacerH}px`;
    if (logState.follow && logState.total > 0) {
      const bottom = Math.max(0, spacerH - clientH);
      if (Math.abs(viewport.scrollTop - bottom) > 1) { programmaticScroll = true; viewport.scrollTop = bottom; }
    }
    const g = geometry();
    const first = Math.max(0, Math.floor(g.vTop / ROW_H) - OVERSCAN);
    const count = Math.min(logState.total - first, Math.ceil(clientH / ROW_H) + 2 * OVERSCAN);
    const offset = g.vTop - first * ROW_H;
    while (pool.length < count) { const r = h("div", { class: "nbexp-log-row" }); pool.push(r); spacer.append(r); }
    let missing = null;
    for (let i = 0; i < pool.length; i++) {
      const node = pool[i];
      if (i >= count) { node.hidden = true; continue; }
      const line = first + i;
      node.hidden = false;
      node.style.top = `${viewport.scrollTop - offset + i * ROW_H}px`;
      if (node.dataset.line !== String(line) || node._payload !== logState.cache.get(line)) {
        node.dataset.line = String(line);
        node._payload = logState.cache.get(line);
        setLineContent(node, node._payload);
        // Long lines are cut at the edge; the whole line shows on hover.
        const text = node.textContent;
        if (text.length > 120) node.title = text; else node.removeAttribute("title");
      }
      if (node._payload === undefined && missing === null) missing = line;
    }
    // Trim the pool when the viewport shrank, so the DOM stays bounded.
    while (pool.length > count && pool.length > Math.ceil(clientH / ROW_H) + 2 * OVERSCAN) pool.pop().remove();
    if (missing !== null) fetchAround(first, count);
    drawLogHeader();
  }
  function fetchAround(first, count) {
    if (logState.id == null) return;
    const start = Math.max(0, first - FETCH_MARGIN);
    const end = Math.min(logState.total, first + count + FETCH_MARGIN);
    const key = `${logState.id}:${logState.attempt}:${Math.floor(start / 100)}`;
    if (logState.asked.has(key)) return;
    logState.asked.add(key);
    channel.request({ type: "log_range", id: logState.id, attempt: logState.attempt, start, end }, (reply) => {
      logState.asked.delete(key);
      if (reply.type === "error") { showNotice(reply.message); return; }
      if (reply.id !== logState.id || reply.attempt !== logState.attempt) return;
      reply.lines.forEach((line, i) => logState.cache.set(reply.start + i, line));
      logState.total = Math.max(logState.total, reply.total);
      trimCache(first);
      scheduleDraw();
    });
  }
  function trimCache(around) {
    if (logState.cache.size <= CACHE_LIMIT) return;
    const keep = CACHE_LIMIT / 2;
    for (const line of logState.cache.keys()) {
      if (Math.abs(line - around) > keep && line < logState.total - 500) logState.cache.delete(line);
    }
  }
  function resetLog(log) {
    logState.id = log.id;
    logState.attempt = log.attempt ?? null;
    logState.total = log.total || 0;
    logState.cache.clear();
    logState.asked.clear();
    logState.follow = true;
    (log.lines || []).forEach((line, i) => logState.cache.set((log.start || 0) + i, line));
    logNote.hidden = !log.note;
    logNote.textContent = log.note || "";
    for (const node of pool) { node.dataset.line = ""; node._payload = undefined; }
    scheduleDraw();
  }
  function applyLog(log) {
    if (log.reset) { if (log.id === model.get("selected")) resetLog(log); return; }
    if (log.id !== logState.id || log.attempt !== logState.attempt) return;
    if (log.stale) {
      const [from, to] = log.stale;
      for (const line of logState.cache.keys()) if (line >= from && line < to) logState.cache.delete(line);
    }
    logState.total = log.total;
    for (const [line, payload] of Object.entries(log.lines || {})) logState.cache.set(Number(line), payload);
    trimCache(logState.total);
    scheduleDraw();
  }
  const onScroll = () => {
    if (programmaticScroll) { programmaticScroll = false; scheduleDraw(); return; }
    const { spacerH, clientH } = geometry();
    // At the bottom: follow; anywhere else: the user is reading, so stop moving the view.
    logState.follow = viewport.scrollTop + clientH >= spacerH - 2 * ROW_H;
    scheduleDraw();
  };
  viewport.addEventListener("scroll", onScroll, { passive: true });
  const jumpToEnd = () => { logState.follow = true; scheduleDraw(); };
  jumpBtn.addEventListener("click", jumpToEnd);
  followBtn.addEventListener("click", () => { logState.follow = !logState.follow; scheduleDraw(); });

  // Messages from Python
  function applyTick(msg) {
    if (msg.now != null) clockOffset = msg.now - Date.now() / 1000;
    for (const row of msg.rows || []) upsertRow(row);
    for (const id of msg.removed || []) removeRow(id);
    if (msg.gpu_info) {
      // Keep the sparklines unless the set of GPUs itself changed (a new info message also
      // comes when only a GPU's process list did).
      const key = (info) => (info && info.gpus ? info.gpus.map((g) => g.uuid ?? g.index).join(",") : "");
      if (key(msg.gpu_info) !== key(gpuInfo)) gpuHistory.length = 0;
      gpuInfo = msg.gpu_info;
    }
    if (msg.gpu_foreign) gpuForeign = msg.gpu_foreign;
    if (msg.type === "snapshot") {
      const ids = new Set(msg.rows.map((r) => r.id));
      for (const id of [...rows.keys()]) if (!ids.has(id)) removeRow(id);
      (msg.gpu_history || []).forEach((hist, i) => { gpuHistory[i] = hist.slice(-SPARK_POINTS); });
      gpuReadings = msg.gpu || [];
    } else if (msg.gpu) pushGpuReadings(msg.gpu);
    if (msg.gpu_info || msg.gpu || msg.gpu_foreign || msg.rows) drawGpus();
    if (msg.log) applyLog(msg.log);
    if (msg.rows || msg.removed || msg.type === "snapshot") applyFilter();
    for (const problem of msg.problems || []) showNotice(problem, "warn");
  }
  const onMsg = (msg) => {
    if (channel.resolve(msg)) return;
    if (msg.type === "tick" || msg.type === "snapshot") applyTick(msg);
    else if (msg.type === "error") showNotice(msg.message);
  };
  model.on("msg:custom", onMsg);
  const onFilterChange = () => { if (search.value !== model.get("search")) search.value = model.get("search"); applyFilter(); };
  model.on("change:status_filter", onFilterChange);
  model.on("change:search", onFilterChange);
  const resize = new ResizeObserver(() => scheduleDraw());
  resize.observe(viewport);

  drawGpus();
  drawLogHeader();
  applyFilter();
  model.send({ type: "hello" });

  return () => {
    try { model.send({ type: "bye" }); } catch (e) { /* the comm may already be closed */ }
    for (const fn of cleanups) fn();
    if (drawPending) cancelAnimationFrame(drawPending);
    resize.disconnect();
    model.off("msg:custom", onMsg);
    model.off("change:status_filter", onFilterChange);
    model.off("change:search", onFilterChange);
    viewport.removeEventListener("scroll", onScroll);
    search.removeEventListener("input", onSearch);
    root.remove();
  };
}

// -- the experiment card ---------------------------------------------------------------------------

function renderCard({ model, el }) {
  const channel = makeChannel(model);
  let clockOffset = 0;
  const root = h("div", { class: "nbexp-root nbexp-card" });
  el.append(root);
  let timer = null;
  const now = () => Date.now() / 1000 + clockOffset;
  const runtime = (row) => row.started == null ? "" :
    fmtDuration((row.ended ?? (row.status === "running" ? now() : row.started)) - row.started);

  function draw() {
    const row = model.get("row") || {};
    if (model.get("now")) clockOffset = model.get("now") - Date.now() / 1000;
    if (row.id == null) { root.replaceChildren(h("div", { class: "nbexp-muted", text: "experiment removed" })); return; }
    const reason = row.reason || (row.exit_code != null ? `exit ${row.exit_code}` : "");
    const notice = h("div", { class: "nbexp-notices" });
    const tail = h("pre", { class: "nbexp-card-tail" });
    tail.textContent = (model.get("tail") || []).join("\n");
    root.dataset.status = row.status;
    root.replaceChildren(
      h("div", { class: "nbexp-card-head" },
        badge(row.status),
        h("span", { class: "nbexp-card-name", text: `#${row.id} ${row.name}` }),
        h("span", { class: "nbexp-runtime", text: runtime(row) }),
        pidText(row) ? h("span", { class: "nbexp-muted", text: row.executor === "slurm" ? pidText(row) : `pid ${row.pid}` }) : null,
        row.gpus != null ? h("span", { class: "nbexp-muted", text: `GPUs ${fmtGpus(row.gpus)}` }) : null,
        reason ? h("span", { class: "nbexp-reason", text: reason }) : null,
        h("span", { class: "nbexp-spacer" }),
        actionButtons(row, channel, (reply) => {
          if (reply.type === "error") notice.replaceChildren(h("div", { class: "nbexp-notice nbexp-notice-error", text: reply.message }));
        })),
      progressCell(row.progress), tail, notice);
  }
  model.on("change:row", draw);
  model.on("change:tail", draw);
  const onMsg = (msg) => channel.resolve(msg);
  model.on("msg:custom", onMsg);
  timer = setInterval(() => {
    const row = model.get("row") || {};
    if (row.status === "running") { const c = root.querySelector(".nbexp-runtime"); if (c) c.textContent = runtime(row); }
  }, 1000);
  draw();
  return () => {
    clearInterval(timer);
    model.off("change:row", draw);
    model.off("change:tail", draw);
    model.off("msg:custom", onMsg);
    root.remove();
  };
}

function render({ model, el }) {
  return model.get("kind") === "card" ? renderCard({ model, el }) : renderDashboard({ model, el });
}

export default { render };
