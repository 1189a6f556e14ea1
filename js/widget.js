// nbexp front end, generated from js/src by `npm run build --prefix js`: do not edit by hand.

// src/channel.js
var REQUEST_TIMEOUT_MS = 1e4;
var NO_ANSWER = `no answer from the kernel within ${REQUEST_TIMEOUT_MS / 1e3} s \u2014 is it busy or dead?`;
function makeChannel(model) {
  const waiting = /* @__PURE__ */ new Map();
  return {
    /**
     * @param {RequestBody} content
     * @param {(reply: Reply) => void} onReply
     * @param {(message: string) => void} onNoAnswer gets the notice to show
     */
    request(content, onReply, onNoAnswer) {
      const req = nextRequestId++;
      const timer = setTimeout(() => {
        waiting.delete(req);
        onNoAnswer(NO_ANSWER);
      }, REQUEST_TIMEOUT_MS);
      waiting.set(req, { onReply, timer });
      model.send(
        /** @type {ActionRequest | LogRangeRequest} */
        { ...content, req }
      );
      return req;
    },
    /**
     * Hand a reply to the request waiting for it. True when `msg` answers a request, this
     * view's or not, late or not: the caller has nothing more to do with it.
     * @param {KernelMessage} msg
     */
    resolve(msg) {
      if (msg.type === "tick" || msg.type === "snapshot" || msg.req == null) return false;
      const entry = waiting.get(msg.req);
      if (entry) {
        waiting.delete(msg.req);
        clearTimeout(entry.timer);
        entry.onReply(msg);
      }
      return true;
    },
    dispose() {
      for (const { timer } of waiting.values()) clearTimeout(timer);
      waiting.clear();
    }
  };
}
var nextRequestId = 1 + Math.floor(Math.random() * 2 ** 30);

// src/dom.js
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === void 0 || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
function fmtDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  seconds = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor(seconds % 3600 / 60);
  const ss = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (hh > 0) return `${hh}h ${pad(mm)}m`;
  if (mm > 0) return `${mm}m ${pad(ss)}s`;
  return `${ss}s`;
}
function runtimeOf(row, now) {
  if (row.started == null) return "";
  const end = row.ended ?? (row.status === "running" ? now : row.started);
  return fmtDuration(end - row.started);
}
function pidText(row) {
  if (row.executor === "slurm") return row.job_id ? `slurm ${row.job_id}` : "slurm";
  return row.status === "running" && row.pid ? String(row.pid) : "";
}
function reasonText(row) {
  return row.reason || (row.exit_code != null ? `exit ${row.exit_code}` : "");
}
function fmtGpus(gpus) {
  if (gpus == null) return "\u2014";
  if (typeof gpus === "number") return `any ${gpus}`;
  if (Array.isArray(gpus)) return gpus.map((g) => typeof g === "string" ? g.slice(0, 12) : g).join(",");
  return String(gpus);
}
function fmtGiB(mib) {
  return mib == null ? "?" : (mib / 1024).toFixed(mib >= 10240 ? 0 : 1);
}
function progressOf(p) {
  if (!p) return null;
  let pct = p.percent;
  if (pct == null && p.n != null && p.total) pct = 100 * p.n / p.total;
  const details = [
    p.description,
    p.n != null ? `${p.n}${p.total ? "/" + p.total : ""}` : null,
    p.rate != null ? `${Number(p.rate).toPrecision(3)} ${p.unit || "it"}/s` : null,
    ...Object.entries(p.metrics || {}).map(([k, v]) => `${k}=${Number(v).toPrecision(4)}`)
  ];
  return { pct, eta: p.remaining, title: details.filter((d) => d).join("  ") };
}

// src/parts.js
var NOTICE_MS = 8e3;
var STATUS = {
  completed: { icon: "\u2714", label: "completed" },
  interrupted: { icon: "\u270B", label: "interrupted" },
  error: { icon: "\u25B2", label: "error" },
  running: { icon: "", label: "running" },
  queued: { icon: "\u25F7", label: "queued" },
  pending: { icon: "\u25CB", label: "pending" }
};
var CONFIRM = /* @__PURE__ */ new Set(["stop", "remove"]);
function badge(status) {
  const info = STATUS[status] || { icon: "?", label: status };
  const icon = status === "running" ? h("span", { class: "nbexp-spinner", "aria-hidden": "true" }) : h("span", { class: "nbexp-badge-icon", "aria-hidden": "true", text: info.icon });
  return h(
    "span",
    { class: `nbexp-badge nbexp-status-${status}`, title: info.label },
    icon,
    h("span", { class: "nbexp-badge-label", text: info.label })
  );
}
function makeNotices() {
  const el = h("div", { class: "nbexp-notices", role: "status", "aria-live": "polite" });
  const timers = /* @__PURE__ */ new Set();
  function show(text, kind = "error") {
    const item = h(
      "div",
      { class: `nbexp-notice nbexp-notice-${kind}` },
      h("span", { text }),
      h("button", {
        class: "nbexp-btn nbexp-dismiss",
        "aria-label": "dismiss",
        text: "\xD7",
        onclick: () => item.remove()
      })
    );
    el.append(item);
    while (el.children.length > 3) el.firstChild?.remove();
    const timer = setTimeout(() => {
      timers.delete(timer);
      item.remove();
    }, NOTICE_MS);
    timers.add(timer);
  }
  return { el, show, dispose: () => {
    for (const t of timers) clearTimeout(t);
  } };
}
function makeActions(channel, onReply, notify) {
  const el = h("div", { class: "nbexp-actions" });
  let id = -1;
  let actions = [];
  let asking = null;
  let busy = false;
  function setBusy(on) {
    busy = on;
    for (const b of el.querySelectorAll("button")) b.disabled = on;
  }
  function send(action) {
    setBusy(true);
    channel.request(
      { type: "action", id, action },
      (reply) => {
        setBusy(false);
        onReply(
          /** @type {ActionDoneMessage | ErrorMessage} */
          reply
        );
      },
      (message) => {
        setBusy(false);
        notify(message);
      }
    );
  }
  function drawButtons() {
    asking = null;
    el.replaceChildren(...actions.map((action) => h("button", {
      class: `nbexp-btn nbexp-action nbexp-action-${action.replace(" ", "-")}`,
      "data-action": action,
      title: `${action} experiment ${id}`,
      text: action,
      disabled: busy,
      onclick: (ev) => {
        ev.stopPropagation();
        CONFIRM.has(action) ? ask(action) : send(action);
      }
    })));
  }
  function ask(action) {
    asking = action;
    el.replaceChildren(
      h("span", { class: "nbexp-confirm-text", text: `${action} #${id}?` }),
      h("button", {
        class: "nbexp-btn nbexp-danger nbexp-confirm",
        "data-action": action,
        text: `yes, ${action}`,
        disabled: busy,
        onclick: (ev) => {
          ev.stopPropagation();
          drawButtons();
          send(action);
        }
      }),
      h("button", {
        class: "nbexp-btn nbexp-cancel",
        text: "cancel",
        onclick: (ev) => {
          ev.stopPropagation();
          drawButtons();
        }
      })
    );
  }
  function update(row) {
    const sameId = row.id === id;
    if (sameId && row.actions.join("\n") === actions.join("\n")) return;
    id = row.id;
    actions = [...row.actions];
    if (sameId && asking !== null && actions.includes(asking)) return;
    drawButtons();
  }
  return { el, update };
}
function makeProgress() {
  const fill = h("div", { class: "nbexp-progress-fill" });
  const bar = h("div", { class: "nbexp-progress", role: "progressbar" }, fill);
  const text = h("span", { class: "nbexp-progress-text" });
  const el = h("div", { class: "nbexp-progress-cell", hidden: true }, bar, text);
  function update(progress) {
    const p = progressOf(progress);
    el.hidden = !p || p.pct == null;
    if (!p || p.pct == null) return;
    const pct = Math.max(0, Math.min(100, p.pct));
    const eta = p.eta != null ? ` \xB7 ETA ${fmtDuration(p.eta)}` : "";
    fill.style.width = `${pct.toFixed(1)}%`;
    bar.setAttribute("aria-valuenow", pct.toFixed(0));
    setText(text, `${pct.toFixed(0)}%${eta}`);
    el.title = p.title;
  }
  return { el, update };
}

// src/card.js
function renderCard({ model, el }) {
  const channel = makeChannel(model);
  const notices = makeNotices();
  let clockOffset = 0;
  const now = () => Date.now() / 1e3 + clockOffset;
  const actions = makeActions(channel, (reply) => {
    if (reply.type === "error") notices.show(reply.message);
  }, notices.show);
  const progress = makeProgress();
  const parts = {
    badge: badge(""),
    name: h("span", { class: "nbexp-card-name" }),
    runtime: h("span", { class: "nbexp-runtime" }),
    pid: h("span", { class: "nbexp-muted" }),
    gpus: h("span", { class: "nbexp-muted" }),
    reason: h("span", { class: "nbexp-reason" })
  };
  const head = h(
    "div",
    { class: "nbexp-card-head" },
    parts.badge,
    parts.name,
    parts.runtime,
    parts.pid,
    parts.gpus,
    parts.reason,
    h("span", { class: "nbexp-spacer" }),
    actions.el
  );
  const tail = h("pre", { class: "nbexp-card-tail" });
  const removed = h("div", { class: "nbexp-muted", text: "experiment removed", hidden: true });
  const root = h("div", { class: "nbexp-root nbexp-card" }, head, progress.el, tail, notices.el, removed);
  el.append(root);
  const currentRow = () => {
    const row = model.get("row") || {};
    return row.id == null ? null : (
      /** @type {RowJson} */
      row
    );
  };
  const showText = (node, text) => {
    setText(node, text);
    node.hidden = !text;
  };
  function draw() {
    const row = currentRow();
    if (model.get("now")) clockOffset = model.get("now") - Date.now() / 1e3;
    for (const node of [head, progress.el, tail]) node.hidden = !row;
    removed.hidden = !!row;
    if (!row) return;
    if (root.dataset.status !== row.status) {
      const fresh = badge(row.status);
      parts.badge.replaceWith(fresh);
      parts.badge = fresh;
      root.dataset.status = row.status;
    }
    setText(parts.name, `#${row.id} ${row.name}`);
    setText(parts.runtime, runtimeOf(row, now()));
    showText(parts.pid, row.executor === "slurm" ? pidText(row) : pidText(row) && `pid ${row.pid}`);
    showText(parts.gpus, row.gpus != null ? `GPUs ${fmtGpus(row.gpus)}` : "");
    showText(parts.reason, reasonText(row));
    actions.update(row);
    progress.update(row.progress);
    setText(tail, (model.get("tail") || []).join("\n"));
  }
  model.on("change:row", draw);
  model.on("change:tail", draw);
  const onMsg = (msg) => {
    channel.resolve(msg);
  };
  model.on("msg:custom", onMsg);
  const timer = setInterval(() => {
    const row = currentRow();
    if (row && row.status === "running") setText(parts.runtime, runtimeOf(row, now()));
  }, 1e3);
  draw();
  return () => {
    clearInterval(timer);
    model.off("change:row", draw);
    model.off("change:tail", draw);
    model.off("msg:custom", onMsg);
    channel.dispose();
    notices.dispose();
    root.remove();
  };
}

// src/gpus.js
var SPARK_POINTS = 300;
function sparkline(values, max, cls) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", `nbexp-spark ${cls}`);
  svg.setAttribute("viewBox", "0 0 100 24");
  svg.setAttribute("preserveAspectRatio", "none");
  const clean = values.filter((v) => v != null);
  if (clean.length >= 2 && max > 0) {
    const step = 100 / (values.length - 1);
    const pts = values.map((v, i) => `${(i * step).toFixed(2)},${(24 - 24 * Math.min(v ?? 0, max) / max).toFixed(2)}`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" "));
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
  }
  return svg;
}
function holdersOf(gpu, rows) {
  return rows.filter((r) => r.status === "running" && Array.isArray(r.assigned) && r.assigned.includes(gpu.index));
}
function foreignLabel(p) {
  return `pid ${p.pid}${p.user ? ` (${p.user})` : ""}${p.mem != null ? ` \xB7 ${fmtGiB(p.mem)} GiB` : ""}`;
}
function holdersLine(holders, foreign) {
  if (!holders.length && !foreign.length) return h("div", { class: "nbexp-gpu-holders", text: "free" });
  const ours = holders.map((r) => `#${r.id} ${r.name}`);
  const theirs = foreign.map(foreignLabel);
  const line = h(
    "div",
    { class: "nbexp-gpu-holders", title: `held by ${[...ours, ...theirs].join(", ")}` },
    `held by ${ours.join(", ")}${ours.length && theirs.length ? ", " : ""}`
  );
  theirs.forEach((text, i) => line.append(
    i ? ", " : "",
    h("span", { class: "nbexp-gpu-foreign", "data-pid": foreign[i].pid, title: "not started by nbexp: someone else's process", text })
  ));
  return line;
}
function meterRow(cls, pct, label) {
  return h(
    "div",
    { class: "nbexp-meter-row" },
    h("span", { class: "nbexp-meter-label", text: label }),
    h(
      "div",
      { class: `nbexp-meter ${cls}` },
      h("div", { class: "nbexp-meter-fill", style: `width:${Math.max(0, Math.min(100, pct)).toFixed(1)}%` })
    )
  );
}
function gpuBox(gpu, reading, hist, holders, foreign) {
  const [mem, util, temp, power] = reading;
  const memPct = gpu.mem_total ? 100 * (mem ?? 0) / gpu.mem_total : 0;
  return h(
    "div",
    { class: "nbexp-gpu", "data-index": gpu.index },
    h(
      "div",
      { class: "nbexp-gpu-head" },
      h("span", { class: "nbexp-gpu-index", text: `GPU ${gpu.index}` }),
      h("span", { class: "nbexp-gpu-name", title: gpu.uuid || "", text: gpu.name || "" })
    ),
    meterRow("nbexp-meter-mem", memPct, `mem ${fmtGiB(mem)}/${fmtGiB(gpu.mem_total)} GiB`),
    meterRow("nbexp-meter-util", util ?? 0, `util ${util ?? "?"}%`),
    h(
      "div",
      { class: "nbexp-gpu-stats" },
      h("span", { text: temp != null ? `${temp}\xB0C` : "" }),
      h("span", { text: power != null ? `${power} W` : "" }),
      gpu.problem ? h("span", { class: "nbexp-gpu-problem", text: gpu.problem }) : null
    ),
    h(
      "div",
      { class: "nbexp-gpu-sparks", title: `last ${Math.round(hist.length / 60)} min: utilisation (green), memory (purple)` },
      sparkline(hist.map((r) => r[1]), 100, "nbexp-spark-util"),
      sparkline(hist.map((r) => r[0]), gpu.mem_total || 1, "nbexp-spark-mem")
    ),
    holdersLine(holders, foreign)
  );
}
function makeGpuPanel() {
  const el = h("section", { class: "nbexp-gpus", "aria-label": "GPUs" });
  let info = null;
  let readings = [];
  let history = [];
  let foreign = {};
  function apply(msg) {
    if (msg.gpu_info) {
      const key = (i) => i ? i.gpus.map((g) => g.uuid ?? g.index).join(",") : "";
      if (key(msg.gpu_info) !== key(info)) history = [];
      info = msg.gpu_info;
    }
    if (msg.gpu_foreign) foreign = msg.gpu_foreign;
    if (msg.type === "snapshot") {
      if (msg.gpu_history) history = msg.gpu_history.map((hist) => hist.slice(-SPARK_POINTS));
      readings = msg.gpu || [];
    } else if (msg.gpu) {
      readings = msg.gpu;
      readings.forEach((r, i) => {
        const hist = history[i] = history[i] || [];
        hist.push(r);
        if (hist.length > SPARK_POINTS) hist.splice(0, hist.length - SPARK_POINTS);
      });
    }
    return Boolean(msg.gpu_info || msg.gpu || msg.gpu_foreign || msg.type === "snapshot");
  }
  function draw(rows) {
    if (!info) {
      el.replaceChildren(h("div", { class: "nbexp-muted", text: "GPUs: waiting for the first reading\u2026" }));
      return;
    }
    const title = h(
      "div",
      { class: "nbexp-panel-title" },
      h("span", { text: "GPUs" }),
      info.simulated ? h("span", { class: "nbexp-simulated", text: "simulated" }) : null,
      // Slurm experiments run on the cluster's GPUs, which this panel does not show.
      h("span", { class: "nbexp-muted nbexp-gpus-scope", text: "this machine only" })
    );
    if (!info.gpus.length) {
      el.replaceChildren(title, h(
        "div",
        { class: "nbexp-nogpu" },
        h("div", { class: "nbexp-nogpu-title", text: "No GPU" }),
        h("div", { class: "nbexp-muted", text: info.reason || "no GPU was found" })
      ));
      return;
    }
    el.replaceChildren(title, ...info.gpus.map((gpu, i) => gpuBox(gpu, readings[i] || [], history[i] || [], holdersOf(gpu, rows), foreign[gpu.index] || [])));
  }
  return { el, apply, draw };
}

// src/logview.js
var ROW_H = 18;
var MAX_SPACER_PX = 8e6;
var OVERSCAN = 10;
var CACHE_LIMIT = 2e4;
var FETCH_MARGIN = 200;
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
function makeLogRows() {
  const spacer = h("div", { class: "nbexp-log-spacer" });
  const viewport = h("div", { class: "nbexp-log-viewport", tabindex: "0" }, spacer);
  const pool = [];
  function geometry(total) {
    const contentH = total * ROW_H;
    const spacerH = Math.min(contentH, MAX_SPACER_PX);
    const clientH = viewport.clientHeight || 300;
    const maxScroll = Math.max(0, spacerH - clientH);
    const contentMax = Math.max(0, contentH - clientH);
    const vTop = maxScroll > 0 ? viewport.scrollTop * (contentMax / maxScroll) : 0;
    return { spacerH, clientH, vTop };
  }
  function atEnd(total) {
    const { spacerH, clientH } = geometry(total);
    return viewport.scrollTop + clientH >= spacerH - 2 * ROW_H;
  }
  function scrollToEnd(total) {
    const { spacerH, clientH } = geometry(total);
    const bottom = Math.max(0, spacerH - clientH);
    if (Math.abs(viewport.scrollTop - bottom) <= 1) return false;
    viewport.scrollTop = bottom;
    return true;
  }
  function draw(total, cache) {
    const { spacerH, clientH, vTop } = geometry(total);
    if (spacer.style.height !== `${spacerH}px`) spacer.style.height = `${spacerH}px`;
    const capacity = Math.ceil(clientH / ROW_H) + 2 * OVERSCAN;
    const first = Math.max(0, Math.floor(vTop / ROW_H) - OVERSCAN);
    const count = Math.max(0, Math.min(total - first, capacity));
    const top = viewport.scrollTop - (vTop - first * ROW_H);
    while (pool.length < count) {
      const node = h("div", { class: "nbexp-log-row" });
      pool.push({ node, line: -1, payload: void 0 });
      spacer.append(node);
    }
    let missing = false;
    pool.forEach((entry, i) => {
      entry.node.hidden = i >= count;
      if (i < count) missing = drawLine(entry, first + i, cache.get(first + i), top + i * ROW_H) || missing;
    });
    while (pool.length > count && pool.length > capacity) pool.pop()?.node.remove();
    return { first, count, missing };
  }
  function drawLine(entry, line, payload, top) {
    const { node } = entry;
    node.style.top = `${top}px`;
    if (entry.line !== line || entry.payload !== payload) {
      entry.line = line;
      entry.payload = payload;
      node.dataset.line = String(line);
      setLineContent(node, payload);
      const text = node.textContent || "";
      if (text.length > 120) node.title = text;
      else node.removeAttribute("title");
    }
    return payload === void 0;
  }
  function forget() {
    for (const entry of pool) {
      entry.line = -1;
      entry.node.dataset.line = "";
    }
  }
  return { viewport, atEnd, scrollToEnd, draw, forget };
}
function makeLogHeader() {
  const title = h("span", { class: "nbexp-log-title" });
  const info = h("span", { class: "nbexp-log-info" });
  const followBtn = h("button", { class: "nbexp-btn nbexp-follow", title: "follow the end of the log", text: "following" });
  const jumpBtn = h("button", { class: "nbexp-btn nbexp-jump", text: "\u2193 jump to end", hidden: true });
  const el = h("div", { class: "nbexp-log-header" }, title, info, h("span", { class: "nbexp-spacer" }), followBtn, jumpBtn);
  function draw(state, row) {
    setText(title, row ? `#${row.id} ${row.name}${row.attempt > 1 ? ` (attempt ${row.attempt})` : ""}` : "Select an experiment to see its log");
    setText(info, state.id != null ? `${state.total.toLocaleString()} lines` : "");
    setText(followBtn, state.follow ? "following" : "paused");
    followBtn.classList.toggle("nbexp-on", state.follow);
    followBtn.hidden = state.id == null;
    jumpBtn.hidden = state.follow || state.id == null;
  }
  return { el, followBtn, jumpBtn, draw };
}
function makeLogView({ channel, notify, selected, rowOf }) {
  const header = makeLogHeader();
  const rows = makeLogRows();
  const note = h("div", { class: "nbexp-log-note", hidden: true });
  const el = h("section", { class: "nbexp-log", "aria-label": "log" }, header.el, note, rows.viewport);
  const state = { id: null, attempt: null, total: 0, cache: /* @__PURE__ */ new Map(), follow: true, asked: /* @__PURE__ */ new Set() };
  let drawPending = 0;
  let programmaticScroll = false;
  function scheduleDraw() {
    if (!drawPending) drawPending = requestAnimationFrame(() => {
      drawPending = 0;
      draw();
    });
  }
  function draw() {
    if (state.follow && state.total > 0 && rows.scrollToEnd(state.total)) programmaticScroll = true;
    const { first, count, missing } = rows.draw(state.total, state.cache);
    if (missing) fetchAround(first, count);
    drawHeader();
  }
  const drawHeader = () => header.draw(state, rowOf(state.id));
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
      if (reply.type === "error") {
        notify(reply.message);
        return;
      }
      if (reply.type !== "log_lines" || reply.id !== state.id || reply.attempt !== state.attempt) return;
      reply.lines.forEach((line, i) => state.cache.set(reply.start + i, line));
      state.total = Math.max(state.total, reply.total);
      trimCache(first);
      scheduleDraw();
    }, (message) => {
      state.asked.delete(key);
      notify(message);
    });
  }
  function trimCache(around) {
    if (state.cache.size <= CACHE_LIMIT) return;
    const keep = CACHE_LIMIT / 2;
    for (const line of state.cache.keys()) {
      if (Math.abs(line - around) > keep && line < state.total - 500) state.cache.delete(line);
    }
  }
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
  function apply(log) {
    if (log.reset) {
      if (log.id === selected()) reset(log);
      return;
    }
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
    if (programmaticScroll) programmaticScroll = false;
    else state.follow = rows.atEnd(state.total);
    scheduleDraw();
  };
  rows.viewport.addEventListener("scroll", onScroll, { passive: true });
  header.jumpBtn.addEventListener("click", () => {
    state.follow = true;
    scheduleDraw();
  });
  header.followBtn.addEventListener("click", () => {
    state.follow = !state.follow;
    scheduleDraw();
  });
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

// src/table.js
var STATUS_ORDER = ["running", "queued", "pending", "completed", "interrupted", "error"];
function makeHeader(model) {
  const search = h("input", {
    class: "nbexp-search",
    type: "search",
    placeholder: "search by name",
    value: model.get("search") || ""
  });
  const filters = h("div", { class: "nbexp-filters" });
  const counts = h("span", { class: "nbexp-counts" });
  const el = h(
    "div",
    { class: "nbexp-header" },
    h("span", { class: "nbexp-title", text: "nbexp" }),
    h("span", { class: "nbexp-home", title: "NBEXP_HOME", text: model.get("home") || "" }),
    counts,
    h("span", { class: "nbexp-spacer" }),
    filters,
    search
  );
  function toggle(status) {
    const next = new Set(model.get("status_filter") || []);
    next.has(status) ? next.delete(status) : next.add(status);
    model.set("status_filter", STATUS_ORDER.filter((s) => next.has(s)));
    model.save_changes();
  }
  function update(rows) {
    const active = new Set(model.get("status_filter") || []);
    filters.replaceChildren(...STATUS_ORDER.map((s) => h("button", {
      class: `nbexp-chip nbexp-status-${s}${active.has(s) ? " nbexp-chip-on" : ""}`,
      "data-status": s,
      "aria-pressed": active.has(s) ? "true" : "false",
      text: `${s} ${rows.filter((r) => r.status === s).length}`,
      onclick: () => toggle(s)
    })));
    counts.textContent = `${rows.length} experiment${rows.length === 1 ? "" : "s"}`;
  }
  function accepts(row) {
    const active = model.get("status_filter") || [];
    const text = (model.get("search") || "").trim().toLowerCase();
    if (active.length && !active.includes(row.status)) return false;
    return !text || row.name.toLowerCase().includes(text) || String(row.id) === text;
  }
  const onSearch = () => {
    model.set("search", search.value);
    model.save_changes();
  };
  search.addEventListener("input", onSearch);
  function syncSearch() {
    if (search.value !== model.get("search")) search.value = model.get("search");
  }
  return { el, update, accepts, syncSearch, dispose: () => search.removeEventListener("input", onSearch) };
}
function makeTableRow(first, deps) {
  const td = (cls, ...children) => h("td", { class: cls }, ...children);
  const cells = {
    id: td("nbexp-id"),
    name: td("nbexp-name"),
    status: td("nbexp-status"),
    gpus: td("nbexp-gpus-cell"),
    pid: td("nbexp-pid"),
    runtime: td("nbexp-runtime"),
    reason: td("nbexp-reason")
  };
  const progress = makeProgress();
  const actions = makeActions(deps.channel, deps.onActionReply, deps.notify);
  let row = first;
  const el = h(
    "tr",
    {
      tabindex: "0",
      onclick: () => deps.onSelect(row.id),
      onkeydown: (ev) => {
        if (ev.key === "Enter" && ev.target === el) deps.onSelect(row.id);
      }
    },
    cells.id,
    cells.name,
    cells.status,
    cells.gpus,
    cells.pid,
    cells.runtime,
    cells.reason,
    td("nbexp-progress-td", progress.el),
    td("nbexp-actions-td", actions.el)
  );
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
  function setSelected(on) {
    el.classList.toggle("nbexp-selected", on);
  }
  update(first);
  return { el, update, tickRuntime, setSelected, row: () => row };
}
function makeStatusTable(deps) {
  const parts = /* @__PURE__ */ new Map();
  const tbody = h("tbody");
  const empty = h("div", { class: "nbexp-empty", text: "No experiments yet." });
  const table = h(
    "table",
    { class: "nbexp-table" },
    h("thead", {}, h("tr", {}, ...[
      "#",
      "name",
      "status",
      "GPUs",
      "pid / job",
      "runtime",
      "exit / reason",
      "progress",
      "actions"
    ].map((t) => h("th", { text: t })))),
    tbody
  );
  const el = h("div", { class: "nbexp-table-wrap" }, table, empty);
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
  function remove(id) {
    parts.get(id)?.el.remove();
    parts.delete(id);
  }
  function applyFilter(accepts) {
    let shown = 0;
    for (const part of parts.values()) {
      part.el.hidden = !accepts(part.row());
      if (!part.el.hidden) shown++;
    }
    empty.hidden = shown > 0;
    empty.textContent = parts.size ? "No experiment matches the filter." : "No experiments yet.";
  }
  function markSelected(id) {
    for (const [rid, part] of parts) part.setSelected(rid === id);
  }
  const ticker = setInterval(() => {
    for (const part of parts.values()) if (part.row().status === "running") part.tickRuntime();
  }, 1e3);
  return {
    el,
    upsert,
    remove,
    applyFilter,
    markSelected,
    /** @param {number | null} id */
    get: (id) => id == null ? void 0 : parts.get(id)?.row(),
    all: () => [...parts.values()].map((p) => p.row()),
    ids: () => [...parts.keys()],
    dispose: () => clearInterval(ticker)
  };
}

// src/dashboard.js
function renderDashboard({ model, el }) {
  let clockOffset = 0;
  const now = () => Date.now() / 1e3 + clockOffset;
  const channel = makeChannel(model);
  const notices = makeNotices();
  const header = makeHeader(model);
  const selected = () => model.get("selected");
  const table = makeStatusTable({ channel, now, selected, onSelect: select, onActionReply, notify: notices.show });
  const gpus = makeGpuPanel();
  const log = makeLogView({ channel, notify: notices.show, selected, rowOf: (id) => table.get(id) });
  const root = h(
    "div",
    { class: "nbexp-root nbexp-dashboard" },
    header.el,
    notices.el,
    table.el,
    h("div", { class: "nbexp-lower" }, gpus.el, log.el)
  );
  el.append(root);
  function refilter() {
    table.applyFilter(header.accepts);
    header.update(table.all());
  }
  function select(id) {
    model.set("selected", id);
    model.save_changes();
    table.markSelected(id);
    log.select(id);
  }
  function upsertRow(row) {
    if (table.upsert(row) && log.shows() === row.id) log.refreshHeader();
  }
  function removeRow(id) {
    table.remove(id);
    if (model.get("selected") === id) select(null);
  }
  function onActionReply(reply) {
    if (reply.type === "error") {
      notices.show(reply.message);
      return;
    }
    if (reply.row == null) removeRow(reply.id);
    else upsertRow(reply.row);
    notices.show(reply.message, "info");
    refilter();
  }
  function applyTick(msg) {
    if (msg.now != null) clockOffset = msg.now - Date.now() / 1e3;
    for (const row of msg.rows || []) upsertRow(row);
    if (msg.type === "tick") for (const id of msg.removed || []) removeRow(id);
    if (msg.type === "snapshot") {
      const ids = new Set((msg.rows || []).map((r) => r.id));
      for (const id of table.ids()) if (!ids.has(id)) removeRow(id);
    }
    const rowsChanged = Boolean(msg.rows || msg.type === "snapshot" || msg.type === "tick" && msg.removed);
    if (gpus.apply(msg) || rowsChanged) gpus.draw(table.all());
    if (msg.log) log.apply(msg.log);
    if (rowsChanged) refilter();
    if (msg.type === "tick") for (const problem of msg.problems || []) notices.show(problem, "warn");
  }
  const onMsg = (msg) => {
    if (channel.resolve(msg)) return;
    if (msg.type === "tick" || msg.type === "snapshot") applyTick(msg);
    else if (msg.type === "error") notices.show(msg.message);
  };
  const onFilterChange = () => {
    header.syncSearch();
    refilter();
  };
  model.on("msg:custom", onMsg);
  model.on("change:status_filter", onFilterChange);
  model.on("change:search", onFilterChange);
  gpus.draw([]);
  refilter();
  model.send({ type: "hello" });
  return () => {
    try {
      model.send({ type: "bye" });
    } catch (e) {
    }
    model.off("msg:custom", onMsg);
    model.off("change:status_filter", onFilterChange);
    model.off("change:search", onFilterChange);
    for (const part of [channel, notices, header, table, log]) part.dispose();
    root.remove();
  };
}

// src/index.js
function render({ model, el }) {
  return model.get("kind") === "card" ? renderCard({ model, el }) : renderDashboard({ model, el });
}
var src_default = { render };
export {
  src_default as default
};
