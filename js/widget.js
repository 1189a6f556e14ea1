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
  const ss2 = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (hh > 0) return `${hh}h ${pad(mm)}m`;
  if (mm > 0) return `${mm}m ${pad(ss2)}s`;
  return `${ss2}s`;
}
function runtimeOf(row, now) {
  if (row.started == null) return "";
  let end = row.ended ?? (row.status === "running" ? now : row.paused_at ?? row.started);
  if (row.paused_at != null) end = Math.min(end, row.paused_at);
  return fmtDuration(end - row.started - (row.paused_seconds || 0));
}
function runtimeWithLimit(row, now) {
  const runtime = runtimeOf(row, now);
  return runtime && row.time_limit ? `${runtime} / ${fmtDuration(row.time_limit)}` : runtime;
}
function pidText(row) {
  if (row.executor === "slurm") {
    const job = row.job_id ? `slurm ${row.job_id}` : "slurm";
    return row.node ? `${job} on ${row.node}` : job;
  }
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

// src/icons.js
var NS = "http://www.w3.org/2000/svg";
var PATHS = {
  check: "M3 8.5l3.2 3.2L13 4.8",
  stop: "M5.2 2h5.6L14 5.2v5.6L10.8 14H5.2L2 10.8V5.2z M5.5 8h5",
  // an octagon: stopped by a user
  error: "M8 2L14.5 13.5h-13z M8 6.5v3.5 M8 11.8v.4",
  clock: "M8 2.2a5.8 5.8 0 1 0 0 11.6A5.8 5.8 0 1 0 8 2.2z M8 4.8V8l2.2 1.6",
  circle: "M8 2.5a5.5 5.5 0 1 0 0 11a5.5 5.5 0 1 0 0-11z",
  pause: "M5.5 3.5v9 M10.5 3.5v9",
  retry: "M12.5 5.5A5 5 0 1 0 13 9 M12.8 2.5v3.3H9.5",
  caret: "M6 4l4 4-4 4",
  sort: "M5 6l3-3 3 3 M5 10l3 3 3-3",
  up: "M4 10l4-4 4 4",
  down: "M4 6l4 4 4-4",
  search: "M7 2.5a4.5 4.5 0 1 0 0 9a4.5 4.5 0 1 0 0-9z M10.3 10.3L14 14",
  copy: "M5 5h8v9H5z M3 11V2h8",
  download: "M8 2v8 M4.5 7L8 10.5 11.5 7 M3 13.5h10",
  close: "M4 4l8 8 M12 4l-8 8",
  bell: "M4 11.5V7.5a4 4 0 0 1 8 0v4l1.2 1.2H2.8z M6.8 14a1.4 1.4 0 0 0 2.4 0",
  "bell-off": "M4 11.5V7.5a4 4 0 0 1 8 0v4l1.2 1.2H2.8z M6.8 14a1.4 1.4 0 0 0 2.4 0 M2 2l12 12",
  columns: "M2.5 3h11v10h-11z M6.2 3v10 M9.8 3v10",
  wrap: "M2 4h12 M2 8h9.5a2 2 0 0 1 0 4H9 M10.5 10.5L9 12l1.5 1.5 M2 12h4",
  numbers: "M3 3.5h1v4 M2.8 7.5h2.4 M8 4h6 M8 8h6 M8 12h6 M2.6 10.2a1 1 0 1 1 1.8.7L2.6 12.5h2.2",
  disconnected: "M2 2l12 12 M5 8.5a4 4 0 0 1 1.8-1.5 M3 6.3a7 7 0 0 1 3-1.8 M9.5 4.5a7 7 0 0 1 3.5 1.8 M11 8.5a4 4 0 0 0-1-.8 M8 12.5v.2"
};
function icon(name, cls = "") {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", `nbexp-icon nbexp-icon-${name}${cls ? " " + cls : ""}`);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", PATHS[name] || PATHS.circle);
  svg.append(path);
  return svg;
}
var STATUS_ICONS = {
  completed: "check",
  interrupted: "stop",
  error: "error",
  queued: "clock",
  pending: "circle",
  paused: "pause"
};

// src/parts.js
var NOTICE_MS = 8e3;
var CONFIRM = /* @__PURE__ */ new Set(["stop", "remove"]);
function badge(status) {
  const mark = status === "running" ? h("span", { class: "nbexp-spinner", "aria-hidden": "true" }) : icon(STATUS_ICONS[status] || "circle", "nbexp-badge-icon");
  return h(
    "span",
    { class: `nbexp-badge nbexp-status-${status}`, title: status },
    mark,
    h("span", { class: "nbexp-badge-label", text: status })
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
  function setBusy(on2) {
    busy = on2;
    for (const b of el.querySelectorAll("button")) b.disabled = on2;
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
    if (reply.type !== "action_done") notices.show(reply.message);
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
    setText(parts.runtime, runtimeWithLimit(row, now()));
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
    if (row && row.status === "running") setText(parts.runtime, runtimeWithLimit(row, now()));
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

// node_modules/uplot/dist/uPlot.esm.js
var FEAT_TIME = true;
var pre = "u-";
var UPLOT = "uplot";
var ORI_HZ = pre + "hz";
var ORI_VT = pre + "vt";
var TITLE = pre + "title";
var WRAP = pre + "wrap";
var UNDER = pre + "under";
var OVER = pre + "over";
var AXIS = pre + "axis";
var OFF = pre + "off";
var SELECT = pre + "select";
var CURSOR_X = pre + "cursor-x";
var CURSOR_Y = pre + "cursor-y";
var CURSOR_PT = pre + "cursor-pt";
var LEGEND = pre + "legend";
var LEGEND_LIVE = pre + "live";
var LEGEND_INLINE = pre + "inline";
var LEGEND_SERIES = pre + "series";
var LEGEND_MARKER = pre + "marker";
var LEGEND_LABEL = pre + "label";
var LEGEND_VALUE = pre + "value";
var WIDTH = "width";
var HEIGHT = "height";
var TOP = "top";
var BOTTOM = "bottom";
var LEFT = "left";
var RIGHT = "right";
var hexBlack = "#000";
var transparent = hexBlack + "0";
var mousemove = "mousemove";
var mousedown = "mousedown";
var mouseup = "mouseup";
var mouseenter = "mouseenter";
var mouseleave = "mouseleave";
var dblclick = "dblclick";
var resize = "resize";
var scroll = "scroll";
var change = "change";
var dppxchange = "dppxchange";
var LEGEND_DISP = "--";
var domEnv = typeof window != "undefined";
var doc = domEnv ? document : null;
var win = domEnv ? window : null;
var nav = domEnv ? navigator : null;
var pxRatio;
var query;
function setPxRatio() {
  let _pxRatio = devicePixelRatio;
  if (pxRatio != _pxRatio) {
    pxRatio = _pxRatio;
    query && off(change, query, setPxRatio);
    query = matchMedia(`(min-resolution: ${pxRatio - 1e-3}dppx) and (max-resolution: ${pxRatio + 1e-3}dppx)`);
    on(change, query, setPxRatio);
    win.dispatchEvent(new CustomEvent(dppxchange));
  }
}
function addClass(el, c) {
  if (c != null) {
    let cl = el.classList;
    !cl.contains(c) && cl.add(c);
  }
}
function remClass(el, c) {
  let cl = el.classList;
  cl.contains(c) && cl.remove(c);
}
function setStylePx(el, name, value) {
  el.style[name] = value + "px";
}
function placeTag(tag, cls, targ, refEl) {
  let el = doc.createElement(tag);
  if (cls != null)
    addClass(el, cls);
  if (targ != null)
    targ.insertBefore(el, refEl);
  return el;
}
function placeDiv(cls, targ) {
  return placeTag("div", cls, targ);
}
var xformCache = /* @__PURE__ */ new WeakMap();
function elTrans(el, xPos, yPos, xMax, yMax) {
  let xform = "translate(" + xPos + "px," + yPos + "px)";
  let xformOld = xformCache.get(el);
  if (xform != xformOld) {
    el.style.transform = xform;
    xformCache.set(el, xform);
    if (xPos < 0 || yPos < 0 || xPos > xMax || yPos > yMax)
      addClass(el, OFF);
    else
      remClass(el, OFF);
  }
}
var colorCache = /* @__PURE__ */ new WeakMap();
function elColor(el, background, borderColor) {
  let newColor = background + borderColor;
  let oldColor = colorCache.get(el);
  if (newColor != oldColor) {
    colorCache.set(el, newColor);
    el.style.background = background;
    el.style.borderColor = borderColor;
  }
}
var sizeCache = /* @__PURE__ */ new WeakMap();
function elSize(el, newWid, newHgt, centered) {
  let newSize = newWid + "" + newHgt;
  let oldSize = sizeCache.get(el);
  if (newSize != oldSize) {
    sizeCache.set(el, newSize);
    el.style.height = newHgt + "px";
    el.style.width = newWid + "px";
    el.style.marginLeft = centered ? -newWid / 2 + "px" : 0;
    el.style.marginTop = centered ? -newHgt / 2 + "px" : 0;
  }
}
var evOpts = { passive: true };
var evOpts2 = { ...evOpts, capture: true };
function on(ev, el, cb, capt) {
  el.addEventListener(ev, cb, capt ? evOpts2 : evOpts);
}
function off(ev, el, cb, capt) {
  el.removeEventListener(ev, cb, evOpts);
}
domEnv && setPxRatio();
function closestIdx(num, arr, lo, hi) {
  let mid;
  lo = lo || 0;
  hi = hi || arr.length - 1;
  let bitwise = hi <= 2147483647;
  while (hi - lo > 1) {
    mid = bitwise ? lo + hi >> 1 : floor((lo + hi) / 2);
    if (arr[mid] < num)
      lo = mid;
    else
      hi = mid;
  }
  if (num - arr[lo] <= arr[hi] - num)
    return lo;
  return hi;
}
function makeIndexOfs(predicate) {
  let indexOfs = (data, _i0, _i1) => {
    let i0 = -1;
    let i1 = -1;
    for (let i = _i0; i <= _i1; i++) {
      if (predicate(data[i])) {
        i0 = i;
        break;
      }
    }
    for (let i = _i1; i >= _i0; i--) {
      if (predicate(data[i])) {
        i1 = i;
        break;
      }
    }
    return [i0, i1];
  };
  return indexOfs;
}
var notNullish = (v) => v != null;
var isPositive = (v) => v != null && v > 0;
var nonNullIdxs = makeIndexOfs(notNullish);
var positiveIdxs = makeIndexOfs(isPositive);
function getMinMax(data, _i0, _i1, sorted = 0, log = false) {
  let getEdgeIdxs = log ? positiveIdxs : nonNullIdxs;
  let predicate = log ? isPositive : notNullish;
  [_i0, _i1] = getEdgeIdxs(data, _i0, _i1);
  let _min = data[_i0];
  let _max = data[_i0];
  if (_i0 > -1) {
    if (sorted == 1) {
      _min = data[_i0];
      _max = data[_i1];
    } else if (sorted == -1) {
      _min = data[_i1];
      _max = data[_i0];
    } else {
      for (let i = _i0; i <= _i1; i++) {
        let v = data[i];
        if (predicate(v)) {
          if (v < _min)
            _min = v;
          else if (v > _max)
            _max = v;
        }
      }
    }
  }
  return [_min ?? inf, _max ?? -inf];
}
function rangeLog(min2, max2, base, fullMags) {
  let minSign = sign(min2);
  let maxSign = sign(max2);
  if (min2 == max2) {
    if (minSign == -1) {
      min2 *= base;
      max2 /= base;
    } else {
      min2 /= base;
      max2 *= base;
    }
  }
  let logFn = base == 10 ? log10 : log2;
  let growMinAbs = minSign == 1 ? floor : ceil;
  let growMaxAbs = maxSign == 1 ? ceil : floor;
  let minExp = growMinAbs(logFn(abs(min2)));
  let maxExp = growMaxAbs(logFn(abs(max2)));
  let minIncr = pow(base, minExp);
  let maxIncr = pow(base, maxExp);
  if (base == 10) {
    if (minExp < 0)
      minIncr = roundDec(minIncr, -minExp);
    if (maxExp < 0)
      maxIncr = roundDec(maxIncr, -maxExp);
  }
  if (fullMags || base == 2) {
    min2 = minIncr * minSign;
    max2 = maxIncr * maxSign;
  } else {
    min2 = incrRoundDn(min2, minIncr);
    max2 = incrRoundUp(max2, maxIncr);
  }
  return [min2, max2];
}
function rangeAsinh(min2, max2, base, fullMags) {
  let minMax = rangeLog(min2, max2, base, fullMags);
  if (min2 == 0)
    minMax[0] = 0;
  if (max2 == 0)
    minMax[1] = 0;
  return minMax;
}
var rangePad = 0.1;
var autoRangePart = {
  mode: 3,
  pad: rangePad
};
var _eqRangePart = {
  pad: 0,
  soft: null,
  mode: 0
};
var _eqRange = {
  min: _eqRangePart,
  max: _eqRangePart
};
function rangeNum(_min, _max, mult, extra) {
  if (isObj(mult))
    return _rangeNum(_min, _max, mult);
  _eqRangePart.pad = mult;
  _eqRangePart.soft = extra ? 0 : null;
  _eqRangePart.mode = extra ? 3 : 0;
  return _rangeNum(_min, _max, _eqRange);
}
function ifNull(lh, rh) {
  return lh == null ? rh : lh;
}
function hasData(data, idx0, idx1) {
  idx0 = ifNull(idx0, 0);
  idx1 = ifNull(idx1, data.length - 1);
  while (idx0 <= idx1) {
    if (data[idx0] != null)
      return true;
    idx0++;
  }
  return false;
}
function _rangeNum(_min, _max, cfg) {
  let cmin = cfg.min;
  let cmax = cfg.max;
  let padMin = ifNull(cmin.pad, 0);
  let padMax = ifNull(cmax.pad, 0);
  let hardMin = ifNull(cmin.hard, -inf);
  let hardMax = ifNull(cmax.hard, inf);
  let softMin = ifNull(cmin.soft, inf);
  let softMax = ifNull(cmax.soft, -inf);
  let softMinMode = ifNull(cmin.mode, 0);
  let softMaxMode = ifNull(cmax.mode, 0);
  let delta = _max - _min;
  let deltaMag = log10(delta);
  let scalarMax = max(abs(_min), abs(_max));
  let scalarMag = log10(scalarMax);
  let scalarMagDelta = abs(scalarMag - deltaMag);
  if (delta < 1e-24 || scalarMagDelta > 10) {
    delta = 0;
    if (_min == 0 || _max == 0) {
      delta = 1e-24;
      if (softMinMode == 2 && softMin != inf)
        padMin = 0;
      if (softMaxMode == 2 && softMax != -inf)
        padMax = 0;
    }
  }
  let nonZeroDelta = delta || scalarMax || 1e3;
  let mag = log10(nonZeroDelta);
  let base = pow(10, floor(mag));
  let _padMin = nonZeroDelta * (delta == 0 ? _min == 0 ? 0.1 : 1 : padMin);
  let _newMin = roundDec(incrRoundDn(_min - _padMin, base / 10), 24);
  let _softMin = _min >= softMin && (softMinMode == 1 || softMinMode == 3 && _newMin <= softMin || softMinMode == 2 && _newMin >= softMin) ? softMin : inf;
  let minLim = max(hardMin, _newMin < _softMin && _min >= _softMin ? _softMin : min(_softMin, _newMin));
  let _padMax = nonZeroDelta * (delta == 0 ? _max == 0 ? 0.1 : 1 : padMax);
  let _newMax = roundDec(incrRoundUp(_max + _padMax, base / 10), 24);
  let _softMax = _max <= softMax && (softMaxMode == 1 || softMaxMode == 3 && _newMax >= softMax || softMaxMode == 2 && _newMax <= softMax) ? softMax : -inf;
  let maxLim = min(hardMax, _newMax > _softMax && _max <= _softMax ? _softMax : max(_softMax, _newMax));
  if (minLim == maxLim && minLim == 0)
    maxLim = 100;
  return [minLim, maxLim];
}
var numFormatter = new Intl.NumberFormat(domEnv ? nav.language : "en-US");
var fmtNum = (val) => numFormatter.format(val);
var M = Math;
var PI = M.PI;
var abs = M.abs;
var floor = M.floor;
var round = M.round;
var ceil = M.ceil;
var min = M.min;
var max = M.max;
var pow = M.pow;
var sign = M.sign;
var log10 = M.log10;
var log2 = M.log2;
var sinh = (v, linthresh = 1) => M.sinh(v) * linthresh;
var asinh = (v, linthresh = 1) => M.asinh(v / linthresh);
var inf = Infinity;
function numIntDigits(x) {
  return (log10((x ^ x >> 31) - (x >> 31)) | 0) + 1;
}
function clamp(num, _min, _max) {
  return min(max(num, _min), _max);
}
function isFn(v) {
  return typeof v == "function";
}
function fnOrSelf(v) {
  return isFn(v) ? v : () => v;
}
var noop = () => {
};
var retArg0 = (_0) => _0;
var retArg1 = (_0, _1) => _1;
var retNull = (_2) => null;
var retTrue = (_2) => true;
var retEq = (a, b) => a == b;
var regex6 = /\.\d*?(?=9{6,}|0{6,})/gm;
var fixFloat = (val) => {
  if (isInt(val) || fixedDec.has(val))
    return val;
  const str = `${val}`;
  const match = str.match(regex6);
  if (match == null)
    return val;
  let len = match[0].length - 1;
  if (str.indexOf("e-") != -1) {
    let [num, exp] = str.split("e");
    return +`${fixFloat(num)}e${exp}`;
  }
  return roundDec(val, len);
};
function incrRound(num, incr) {
  return fixFloat(roundDec(fixFloat(num / incr)) * incr);
}
function incrRoundUp(num, incr) {
  return fixFloat(ceil(fixFloat(num / incr)) * incr);
}
function incrRoundDn(num, incr) {
  return fixFloat(floor(fixFloat(num / incr)) * incr);
}
function roundDec(val, dec = 0) {
  if (isInt(val))
    return val;
  let p = 10 ** dec;
  let n = val * p * (1 + Number.EPSILON);
  return round(n) / p;
}
var fixedDec = /* @__PURE__ */ new Map();
function guessDec(num) {
  return (("" + num).split(".")[1] || "").length;
}
function genIncrs(base, minExp, maxExp, mults) {
  let incrs = [];
  let multDec = mults.map(guessDec);
  for (let exp = minExp; exp < maxExp; exp++) {
    let expa = abs(exp);
    let mag = roundDec(pow(base, exp), expa);
    for (let i = 0; i < mults.length; i++) {
      let _incr = base == 10 ? +`${mults[i]}e${exp}` : mults[i] * mag;
      let dec = (exp >= 0 ? 0 : expa) + (exp >= multDec[i] ? 0 : multDec[i]);
      let incr = base == 10 ? _incr : roundDec(_incr, dec);
      incrs.push(incr);
      fixedDec.set(incr, dec);
    }
  }
  return incrs;
}
var EMPTY_OBJ = {};
var EMPTY_ARR = [];
var nullNullTuple = [null, null];
var isArr = Array.isArray;
var isInt = Number.isInteger;
var isUndef = (v) => v === void 0;
function isStr(v) {
  return typeof v == "string";
}
function isObj(v) {
  let is = false;
  if (v != null) {
    let c = v.constructor;
    is = c == null || c == Object;
  }
  return is;
}
function fastIsObj(v) {
  return v != null && typeof v == "object";
}
var TypedArray = Object.getPrototypeOf(Uint8Array);
var __proto__ = "__proto__";
function copy(o, _isObj = isObj) {
  let out;
  if (isArr(o)) {
    let val = o.find((v) => v != null);
    if (isArr(val) || _isObj(val)) {
      out = Array(o.length);
      for (let i = 0; i < o.length; i++)
        out[i] = copy(o[i], _isObj);
    } else
      out = o.slice();
  } else if (o instanceof TypedArray)
    out = o.slice();
  else if (_isObj(o)) {
    out = {};
    for (let k in o) {
      if (k != __proto__)
        out[k] = copy(o[k], _isObj);
    }
  } else
    out = o;
  return out;
}
function assign(targ) {
  let args = arguments;
  for (let i = 1; i < args.length; i++) {
    let src = args[i];
    for (let key in src) {
      if (key != __proto__) {
        if (isObj(targ[key]))
          assign(targ[key], copy(src[key]));
        else
          targ[key] = copy(src[key]);
      }
    }
  }
  return targ;
}
var NULL_REMOVE = 0;
var NULL_RETAIN = 1;
var NULL_EXPAND = 2;
function nullExpand(yVals, nullIdxs, alignedLen) {
  for (let i = 0, xi, lastNullIdx = -1; i < nullIdxs.length; i++) {
    let nullIdx = nullIdxs[i];
    if (nullIdx > lastNullIdx) {
      xi = nullIdx - 1;
      while (xi >= 0 && yVals[xi] == null)
        yVals[xi--] = null;
      xi = nullIdx + 1;
      while (xi < alignedLen && yVals[xi] == null)
        yVals[lastNullIdx = xi++] = null;
    }
  }
}
function join(tables, nullModes) {
  if (allHeadersSame(tables)) {
    let table = tables[0].slice();
    for (let i = 1; i < tables.length; i++)
      table.push(...tables[i].slice(1));
    if (!isAsc(table[0]))
      table = sortCols(table);
    return table;
  }
  let xVals = /* @__PURE__ */ new Set();
  for (let ti = 0; ti < tables.length; ti++) {
    let t = tables[ti];
    let xs = t[0];
    let len = xs.length;
    for (let i = 0; i < len; i++)
      xVals.add(xs[i]);
  }
  let data = [Array.from(xVals).sort((a, b) => a - b)];
  let alignedLen = data[0].length;
  let xIdxs = /* @__PURE__ */ new Map();
  for (let i = 0; i < alignedLen; i++)
    xIdxs.set(data[0][i], i);
  for (let ti = 0; ti < tables.length; ti++) {
    let t = tables[ti];
    let xs = t[0];
    for (let si = 1; si < t.length; si++) {
      let ys = t[si];
      let yVals = Array(alignedLen).fill(void 0);
      let nullMode = nullModes ? nullModes[ti][si] : NULL_RETAIN;
      let nullIdxs = [];
      for (let i = 0; i < ys.length; i++) {
        let yVal = ys[i];
        let alignedIdx = xIdxs.get(xs[i]);
        if (yVal === null) {
          if (nullMode != NULL_REMOVE) {
            yVals[alignedIdx] = yVal;
            if (nullMode == NULL_EXPAND)
              nullIdxs.push(alignedIdx);
          }
        } else
          yVals[alignedIdx] = yVal;
      }
      nullExpand(yVals, nullIdxs, alignedLen);
      data.push(yVals);
    }
  }
  return data;
}
var microTask = typeof queueMicrotask == "undefined" ? (fn) => Promise.resolve().then(fn) : queueMicrotask;
function sortCols(table) {
  let head = table[0];
  let rlen = head.length;
  let idxs = Array(rlen);
  for (let i = 0; i < idxs.length; i++)
    idxs[i] = i;
  idxs.sort((i0, i1) => head[i0] - head[i1]);
  let table2 = [];
  for (let i = 0; i < table.length; i++) {
    let row = table[i];
    let row2 = Array(rlen);
    for (let j = 0; j < rlen; j++)
      row2[j] = row[idxs[j]];
    table2.push(row2);
  }
  return table2;
}
function allHeadersSame(tables) {
  let vals0 = tables[0][0];
  let len0 = vals0.length;
  for (let i = 1; i < tables.length; i++) {
    let vals1 = tables[i][0];
    if (vals1.length != len0)
      return false;
    if (vals1 != vals0) {
      for (let j = 0; j < len0; j++) {
        if (vals1[j] != vals0[j])
          return false;
      }
    }
  }
  return true;
}
function isAsc(vals, samples = 100) {
  const len = vals.length;
  if (len <= 1)
    return true;
  let firstIdx = 0;
  let lastIdx = len - 1;
  while (firstIdx <= lastIdx && vals[firstIdx] == null)
    firstIdx++;
  while (lastIdx >= firstIdx && vals[lastIdx] == null)
    lastIdx--;
  if (lastIdx <= firstIdx)
    return true;
  const stride = max(1, floor((lastIdx - firstIdx + 1) / samples));
  for (let prevVal = vals[firstIdx], i = firstIdx + stride; i <= lastIdx; i += stride) {
    const v = vals[i];
    if (v != null) {
      if (v <= prevVal)
        return false;
      prevVal = v;
    }
  }
  return true;
}
var months = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December"
];
var days = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday"
];
function slice3(str) {
  return str.slice(0, 3);
}
var days3 = days.map(slice3);
var months3 = months.map(slice3);
var engNames = {
  MMMM: months,
  MMM: months3,
  WWWW: days,
  WWW: days3
};
function zeroPad2(int) {
  return (int < 10 ? "0" : "") + int;
}
function zeroPad3(int) {
  return (int < 10 ? "00" : int < 100 ? "0" : "") + int;
}
var subs = {
  // 2019
  YYYY: (d) => d.getFullYear(),
  // 19
  YY: (d) => (d.getFullYear() + "").slice(2),
  // July
  MMMM: (d, names) => names.MMMM[d.getMonth()],
  // Jul
  MMM: (d, names) => names.MMM[d.getMonth()],
  // 07
  MM: (d) => zeroPad2(d.getMonth() + 1),
  // 7
  M: (d) => d.getMonth() + 1,
  // 09
  DD: (d) => zeroPad2(d.getDate()),
  // 9
  D: (d) => d.getDate(),
  // Monday
  WWWW: (d, names) => names.WWWW[d.getDay()],
  // Mon
  WWW: (d, names) => names.WWW[d.getDay()],
  // 03
  HH: (d) => zeroPad2(d.getHours()),
  // 3
  H: (d) => d.getHours(),
  // 9 (12hr, unpadded)
  h: (d) => {
    let h2 = d.getHours();
    return h2 == 0 ? 12 : h2 > 12 ? h2 - 12 : h2;
  },
  // AM
  AA: (d) => d.getHours() >= 12 ? "PM" : "AM",
  // am
  aa: (d) => d.getHours() >= 12 ? "pm" : "am",
  // a
  a: (d) => d.getHours() >= 12 ? "p" : "a",
  // 09
  mm: (d) => zeroPad2(d.getMinutes()),
  // 9
  m: (d) => d.getMinutes(),
  // 09
  ss: (d) => zeroPad2(d.getSeconds()),
  // 9
  s: (d) => d.getSeconds(),
  // 374
  fff: (d) => zeroPad3(d.getMilliseconds())
};
function fmtDate(tpl, names) {
  names = names || engNames;
  let parts = [];
  let R = /\{([a-z]+)\}|[^{]+/gi, m;
  while (m = R.exec(tpl))
    parts.push(m[0][0] == "{" ? subs[m[1]] : m[0]);
  return (d) => {
    let out = "";
    for (let i = 0; i < parts.length; i++)
      out += typeof parts[i] == "string" ? parts[i] : parts[i](d, names);
    return out;
  };
}
var localTz = new Intl.DateTimeFormat().resolvedOptions().timeZone;
function tzDate(date, tz) {
  let date2;
  if (tz == "UTC" || tz == "Etc/UTC")
    date2 = new Date(+date + date.getTimezoneOffset() * 6e4);
  else if (tz == localTz)
    date2 = date;
  else {
    date2 = new Date(date.toLocaleString("en-US", { timeZone: tz }));
    date2.setMilliseconds(date.getMilliseconds());
  }
  return date2;
}
var onlyWhole = (v) => v % 1 == 0;
var allMults = [1, 2, 2.5, 5];
var decIncrs = genIncrs(10, -32, 0, allMults);
var oneIncrs = genIncrs(10, 0, 32, allMults);
var wholeIncrs = oneIncrs.filter(onlyWhole);
var numIncrs = decIncrs.concat(oneIncrs);
var NL = "\n";
var yyyy = "{YYYY}";
var NLyyyy = NL + yyyy;
var md = "{M}/{D}";
var NLmd = NL + md;
var NLmdyy = NLmd + "/{YY}";
var aa = "{aa}";
var hmm = "{h}:{mm}";
var hmmaa = hmm + aa;
var NLhmmaa = NL + hmmaa;
var ss = ":{ss}";
var _ = null;
function genTimeStuffs(ms) {
  let s = ms * 1e3, m = s * 60, h2 = m * 60, d = h2 * 24, mo = d * 30, y = d * 365;
  let subSecIncrs = ms == 1 ? genIncrs(10, 0, 3, allMults).filter(onlyWhole) : genIncrs(10, -3, 0, allMults);
  let timeIncrs = subSecIncrs.concat([
    // minute divisors (# of secs)
    s,
    s * 5,
    s * 10,
    s * 15,
    s * 30,
    // hour divisors (# of mins)
    m,
    m * 5,
    m * 10,
    m * 15,
    m * 30,
    // day divisors (# of hrs)
    h2,
    h2 * 2,
    h2 * 3,
    h2 * 4,
    h2 * 6,
    h2 * 8,
    h2 * 12,
    // month divisors TODO: need more?
    d,
    d * 2,
    d * 3,
    d * 4,
    d * 5,
    d * 6,
    d * 7,
    d * 8,
    d * 9,
    d * 10,
    d * 15,
    // year divisors (# months, approx)
    mo,
    mo * 2,
    mo * 3,
    mo * 4,
    mo * 6,
    // century divisors
    y,
    y * 2,
    y * 5,
    y * 10,
    y * 25,
    y * 50,
    y * 100
  ]);
  const _timeAxisStamps = [
    //   tick incr    default          year                    month   day                   hour    min       sec   mode
    [y, yyyy, _, _, _, _, _, _, 1],
    [d * 28, "{MMM}", NLyyyy, _, _, _, _, _, 1],
    [d, md, NLyyyy, _, _, _, _, _, 1],
    [h2, "{h}" + aa, NLmdyy, _, NLmd, _, _, _, 1],
    [m, hmmaa, NLmdyy, _, NLmd, _, _, _, 1],
    [s, ss, NLmdyy + " " + hmmaa, _, NLmd + " " + hmmaa, _, NLhmmaa, _, 1],
    [ms, ss + ".{fff}", NLmdyy + " " + hmmaa, _, NLmd + " " + hmmaa, _, NLhmmaa, _, 1]
  ];
  function timeAxisSplits(tzDate2) {
    return (self, axisIdx, scaleMin, scaleMax, foundIncr, foundSpace) => {
      let splits = [];
      let isYr = foundIncr >= y;
      let isMo = foundIncr >= mo && foundIncr < y;
      let minDate = tzDate2(scaleMin);
      let minDateTs = roundDec(minDate * ms, 3);
      let minMin = mkDate(minDate.getFullYear(), isYr ? 0 : minDate.getMonth(), isMo || isYr ? 1 : minDate.getDate());
      let minMinTs = roundDec(minMin * ms, 3);
      if (isMo || isYr) {
        let moIncr = isMo ? foundIncr / mo : 0;
        let yrIncr = isYr ? foundIncr / y : 0;
        let split = minDateTs == minMinTs ? minDateTs : roundDec(mkDate(minMin.getFullYear() + yrIncr, minMin.getMonth() + moIncr, 1) * ms, 3);
        let splitDate = new Date(round(split / ms));
        let baseYear = splitDate.getFullYear();
        let baseMonth = splitDate.getMonth();
        for (let i = 0; split <= scaleMax; i++) {
          let next = mkDate(baseYear + yrIncr * i, baseMonth + moIncr * i, 1);
          let offs = next - tzDate2(roundDec(next * ms, 3));
          split = roundDec((+next + offs) * ms, 3);
          if (split <= scaleMax)
            splits.push(split);
        }
      } else {
        let incr0 = foundIncr >= d ? d : foundIncr;
        let tzOffset = floor(scaleMin) - floor(minDateTs);
        let split = minMinTs + tzOffset + incrRoundUp(minDateTs - minMinTs, incr0);
        splits.push(split);
        let date0 = tzDate2(split);
        let prevHour = date0.getHours() + date0.getMinutes() / m + date0.getSeconds() / h2;
        let incrHours = foundIncr / h2;
        let minSpace = self.axes[axisIdx]._space;
        let pctSpace = foundSpace / minSpace;
        while (1) {
          split = roundDec(split + foundIncr, ms == 1 ? 0 : 3);
          if (split > scaleMax)
            break;
          if (incrHours > 1) {
            let expectedHour = floor(roundDec(prevHour + incrHours, 6)) % 24;
            let splitDate = tzDate2(split);
            let actualHour = splitDate.getHours();
            let dstShift = actualHour - expectedHour;
            if (dstShift > 1)
              dstShift = -1;
            split -= dstShift * h2;
            prevHour = (prevHour + incrHours) % 24;
            let prevSplit = splits[splits.length - 1];
            let pctIncr = roundDec((split - prevSplit) / foundIncr, 3);
            if (pctIncr * pctSpace >= 0.7)
              splits.push(split);
          } else
            splits.push(split);
        }
      }
      return splits;
    };
  }
  return [
    timeIncrs,
    _timeAxisStamps,
    timeAxisSplits
  ];
}
var [timeIncrsMs, _timeAxisStampsMs, timeAxisSplitsMs] = genTimeStuffs(1);
var [timeIncrsS, _timeAxisStampsS, timeAxisSplitsS] = genTimeStuffs(1e-3);
genIncrs(2, -53, 53, [1]);
function timeAxisStamps(stampCfg, fmtDate2) {
  return stampCfg.map((s) => s.map(
    (v, i) => i == 0 || i == 8 || v == null ? v : fmtDate2(i == 1 || s[8] == 0 ? v : s[1] + v)
  ));
}
function timeAxisVals(tzDate2, stamps) {
  return (self, splits, axisIdx, foundSpace, foundIncr) => {
    let s = stamps.find((s2) => foundIncr >= s2[0]) || stamps[stamps.length - 1];
    let prevYear;
    let prevMnth;
    let prevDate;
    let prevHour;
    let prevMins;
    let prevSecs;
    return splits.map((split) => {
      let date = tzDate2(split);
      let newYear = date.getFullYear();
      let newMnth = date.getMonth();
      let newDate = date.getDate();
      let newHour = date.getHours();
      let newMins = date.getMinutes();
      let newSecs = date.getSeconds();
      let stamp = newYear != prevYear && s[2] || newMnth != prevMnth && s[3] || newDate != prevDate && s[4] || newHour != prevHour && s[5] || newMins != prevMins && s[6] || newSecs != prevSecs && s[7] || s[1];
      prevYear = newYear;
      prevMnth = newMnth;
      prevDate = newDate;
      prevHour = newHour;
      prevMins = newMins;
      prevSecs = newSecs;
      return stamp(date);
    });
  };
}
function timeAxisVal(tzDate2, dateTpl) {
  let stamp = fmtDate(dateTpl);
  return (self, splits, axisIdx, foundSpace, foundIncr) => splits.map((split) => stamp(tzDate2(split)));
}
function mkDate(y, m, d) {
  return new Date(y, m, d);
}
function timeSeriesStamp(stampCfg, fmtDate2) {
  return fmtDate2(stampCfg);
}
var _timeSeriesStamp = "{YYYY}-{MM}-{DD} {h}:{mm}{aa}";
function timeSeriesVal(tzDate2, stamp) {
  return (self, val, seriesIdx, dataIdx) => dataIdx == null ? LEGEND_DISP : stamp(tzDate2(val));
}
function legendStroke(self, seriesIdx) {
  let s = self.series[seriesIdx];
  return s.width ? s.stroke(self, seriesIdx) : s.points.width ? s.points.stroke(self, seriesIdx) : null;
}
function legendFill(self, seriesIdx) {
  return self.series[seriesIdx].fill(self, seriesIdx);
}
var legendOpts = {
  show: true,
  live: true,
  isolate: false,
  mount: noop,
  markers: {
    show: true,
    width: 2,
    stroke: legendStroke,
    fill: legendFill,
    dash: "solid"
  },
  idx: null,
  idxs: null,
  values: []
};
function cursorPointShow(self, si) {
  let o = self.cursor.points;
  let pt = placeDiv();
  let size = o.size(self, si);
  setStylePx(pt, WIDTH, size);
  setStylePx(pt, HEIGHT, size);
  let mar = size / -2;
  setStylePx(pt, "marginLeft", mar);
  setStylePx(pt, "marginTop", mar);
  let width = o.width(self, si, size);
  width && setStylePx(pt, "borderWidth", width);
  return pt;
}
function cursorPointFill(self, si) {
  let sp = self.series[si].points;
  return sp._fill || sp._stroke;
}
function cursorPointStroke(self, si) {
  let sp = self.series[si].points;
  return sp._stroke || sp._fill;
}
function cursorPointSize(self, si) {
  let sp = self.series[si].points;
  return sp.size;
}
var moveTuple = [0, 0];
function cursorMove(self, mouseLeft1, mouseTop1) {
  moveTuple[0] = mouseLeft1;
  moveTuple[1] = mouseTop1;
  return moveTuple;
}
function filtBtn0(self, targ, handle, onlyTarg = true) {
  return (e) => {
    e.button == 0 && (!onlyTarg || e.target == targ) && handle(e);
  };
}
function filtTarg(self, targ, handle, onlyTarg = true) {
  return (e) => {
    (!onlyTarg || e.target == targ) && handle(e);
  };
}
var cursorOpts = {
  show: true,
  x: true,
  y: true,
  lock: false,
  move: cursorMove,
  points: {
    one: false,
    show: cursorPointShow,
    size: cursorPointSize,
    width: 0,
    stroke: cursorPointStroke,
    fill: cursorPointFill
  },
  bind: {
    mousedown: filtBtn0,
    mouseup: filtBtn0,
    click: filtBtn0,
    // legend clicks, not .u-over clicks
    dblclick: filtBtn0,
    mousemove: filtTarg,
    mouseleave: filtTarg,
    mouseenter: filtTarg
  },
  drag: {
    setScale: true,
    x: true,
    y: false,
    dist: 0,
    uni: null,
    click: (self, e) => {
      e.stopPropagation();
      e.stopImmediatePropagation();
    },
    _x: false,
    _y: false
  },
  focus: {
    dist: (self, seriesIdx, dataIdx, valPos, curPos) => valPos - curPos,
    prox: -1,
    bias: 0
  },
  hover: {
    skip: [void 0],
    prox: null,
    bias: 0
  },
  left: -10,
  top: -10,
  idx: null,
  dataIdx: null,
  idxs: null,
  event: null
};
var axisLines = {
  show: true,
  stroke: "rgba(0,0,0,0.07)",
  width: 2
  //	dash: [],
};
var grid = assign({}, axisLines, {
  filter: retArg1
});
var ticks = assign({}, grid, {
  size: 10
});
var border = assign({}, axisLines, {
  show: false
});
var font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Segoe UI Symbol", "Noto Color Emoji"';
var labelFont = "bold " + font;
var lineGap = 1.5;
var xAxisOpts = {
  show: true,
  scale: "x",
  stroke: hexBlack,
  space: 50,
  gap: 5,
  alignTo: 1,
  size: 50,
  labelGap: 0,
  labelSize: 30,
  labelFont,
  side: 2,
  //	class: "x-vals",
  //	incrs: timeIncrs,
  //	values: timeVals,
  //	filter: retArg1,
  grid,
  ticks,
  border,
  font,
  lineGap,
  rotate: 0
};
var numSeriesLabel = "Value";
var timeSeriesLabel = "Time";
var xSeriesOpts = {
  show: true,
  scale: "x",
  auto: false,
  sorted: 1,
  //	label: "Time",
  //	value: v => stamp(new Date(v * 1e3)),
  // internal caches
  min: inf,
  max: -inf,
  idxs: []
};
function numAxisVals(self, splits, axisIdx, foundSpace, foundIncr) {
  return splits.map((v) => v == null ? "" : fmtNum(v));
}
function numAxisSplits(self, axisIdx, scaleMin, scaleMax, foundIncr, foundSpace, forceMin) {
  let splits = [];
  let numDec = fixedDec.get(foundIncr) || 0;
  scaleMin = forceMin ? scaleMin : roundDec(incrRoundUp(scaleMin, foundIncr), numDec);
  for (let val = scaleMin; val <= scaleMax; val = roundDec(val + foundIncr, numDec))
    splits.push(Object.is(val, -0) ? 0 : val);
  return splits;
}
function logAxisSplits(self, axisIdx, scaleMin, scaleMax, foundIncr, foundSpace, forceMin) {
  const splits = [];
  const logBase = self.scales[self.axes[axisIdx].scale].log;
  const logFn = logBase == 10 ? log10 : log2;
  const exp = floor(logFn(scaleMin));
  foundIncr = pow(logBase, exp);
  if (logBase == 10)
    foundIncr = numIncrs[closestIdx(foundIncr, numIncrs)];
  let split = scaleMin;
  let nextMagIncr = foundIncr * logBase;
  if (logBase == 10)
    nextMagIncr = numIncrs[closestIdx(nextMagIncr, numIncrs)];
  do {
    splits.push(split);
    split = split + foundIncr;
    if (logBase == 10 && !fixedDec.has(split))
      split = roundDec(split, fixedDec.get(foundIncr));
    if (split >= nextMagIncr) {
      foundIncr = split;
      nextMagIncr = foundIncr * logBase;
      if (logBase == 10)
        nextMagIncr = numIncrs[closestIdx(nextMagIncr, numIncrs)];
    }
  } while (split <= scaleMax);
  return splits;
}
function asinhAxisSplits(self, axisIdx, scaleMin, scaleMax, foundIncr, foundSpace, forceMin) {
  let sc = self.scales[self.axes[axisIdx].scale];
  let linthresh = sc.asinh;
  let posSplits = scaleMax > linthresh ? logAxisSplits(self, axisIdx, max(linthresh, scaleMin), scaleMax, foundIncr) : [linthresh];
  let zero = scaleMax >= 0 && scaleMin <= 0 ? [0] : [];
  let negSplits = scaleMin < -linthresh ? logAxisSplits(self, axisIdx, max(linthresh, -scaleMax), -scaleMin, foundIncr) : [linthresh];
  return negSplits.reverse().map((v) => -v).concat(zero, posSplits);
}
var RE_ALL = /./;
var RE_12357 = /[12357]/;
var RE_125 = /[125]/;
var RE_1 = /1/;
var _filt = (splits, distr, re, keepMod) => splits.map((v, i) => distr == 4 && v == 0 || i % keepMod == 0 && re.test(v.toExponential()[v < 0 ? 1 : 0]) ? v : null);
function log10AxisValsFilt(self, splits, axisIdx, foundSpace, foundIncr) {
  let axis = self.axes[axisIdx];
  let scaleKey = axis.scale;
  let sc = self.scales[scaleKey];
  let valToPos = self.valToPos;
  let minSpace = axis._space;
  let _10 = valToPos(10, scaleKey);
  let re = valToPos(9, scaleKey) - _10 >= minSpace ? RE_ALL : valToPos(7, scaleKey) - _10 >= minSpace ? RE_12357 : valToPos(5, scaleKey) - _10 >= minSpace ? RE_125 : RE_1;
  if (re == RE_1) {
    let magSpace = abs(valToPos(1, scaleKey) - _10);
    if (magSpace < minSpace)
      return _filt(splits.slice().reverse(), sc.distr, re, ceil(minSpace / magSpace)).reverse();
  }
  return _filt(splits, sc.distr, re, 1);
}
function log2AxisValsFilt(self, splits, axisIdx, foundSpace, foundIncr) {
  let axis = self.axes[axisIdx];
  let scaleKey = axis.scale;
  let minSpace = axis._space;
  let valToPos = self.valToPos;
  let magSpace = abs(valToPos(1, scaleKey) - valToPos(2, scaleKey));
  if (magSpace < minSpace)
    return _filt(splits.slice().reverse(), 3, RE_ALL, ceil(minSpace / magSpace)).reverse();
  return splits;
}
function numSeriesVal(self, val, seriesIdx, dataIdx) {
  return dataIdx == null ? LEGEND_DISP : val == null ? "" : fmtNum(val);
}
var yAxisOpts = {
  show: true,
  scale: "y",
  stroke: hexBlack,
  space: 30,
  gap: 5,
  alignTo: 1,
  size: 50,
  labelGap: 0,
  labelSize: 30,
  labelFont,
  side: 3,
  //	class: "y-vals",
  //	incrs: numIncrs,
  //	values: (vals, space) => vals,
  //	filter: retArg1,
  grid,
  ticks,
  border,
  font,
  lineGap,
  rotate: 0
};
function ptDia(width, mult) {
  let dia = 3 + (width || 1) * 2;
  return roundDec(dia * mult, 3);
}
function seriesPointsShow(self, si) {
  let { scale, idxs } = self.series[0];
  let xData = self._data[0];
  let p0 = self.valToPos(xData[idxs[0]], scale, true);
  let p1 = self.valToPos(xData[idxs[1]], scale, true);
  let dim = abs(p1 - p0);
  let s = self.series[si];
  let maxPts = dim / (s.points.space * pxRatio);
  return idxs[1] - idxs[0] <= maxPts;
}
var facet = {
  scale: null,
  auto: true,
  sorted: 0,
  // internal caches
  min: inf,
  max: -inf
};
var gaps = (self, seriesIdx, idx0, idx1, nullGaps) => nullGaps;
var xySeriesOpts = {
  show: true,
  auto: true,
  sorted: 0,
  gaps,
  alpha: 1,
  facets: [
    assign({}, facet, { scale: "x" }),
    assign({}, facet, { scale: "y" })
  ]
};
var ySeriesOpts = {
  scale: "y",
  auto: true,
  sorted: 0,
  show: true,
  spanGaps: false,
  gaps,
  alpha: 1,
  points: {
    show: seriesPointsShow,
    filter: null
    //  paths:
    //	stroke: "#000",
    //	fill: "#fff",
    //	width: 1,
    //	size: 10,
  },
  //	label: "Value",
  //	value: v => v,
  values: null,
  // internal caches
  min: inf,
  max: -inf,
  idxs: [],
  path: null,
  clip: null
};
function clampScale(self, val, scaleMin, scaleMax, scaleKey) {
  return scaleMin / 10;
}
var xScaleOpts = {
  time: FEAT_TIME,
  auto: true,
  distr: 1,
  log: 10,
  asinh: 1,
  min: null,
  max: null,
  dir: 1,
  ori: 0
};
var yScaleOpts = assign({}, xScaleOpts, {
  time: false,
  ori: 1
});
var syncs = {};
function _sync(key, opts) {
  let s = syncs[key];
  if (!s) {
    s = {
      key,
      plots: [],
      sub(plot) {
        s.plots.push(plot);
      },
      unsub(plot) {
        s.plots = s.plots.filter((c) => c != plot);
      },
      pub(type, self, x, y, w, h2, i) {
        for (let j = 0; j < s.plots.length; j++)
          s.plots[j] != self && s.plots[j].pub(type, self, x, y, w, h2, i);
      }
    };
    if (key != null)
      syncs[key] = s;
  }
  return s;
}
var BAND_CLIP_FILL = 1 << 0;
var BAND_CLIP_STROKE = 1 << 1;
function orient(u, seriesIdx, cb) {
  const mode = u.mode;
  const series = u.series[seriesIdx];
  const data = mode == 2 ? u._data[seriesIdx] : u._data;
  const scales = u.scales;
  const bbox = u.bbox;
  let dx = data[0], dy = mode == 2 ? data[1] : data[seriesIdx], sx = mode == 2 ? scales[series.facets[0].scale] : scales[u.series[0].scale], sy = mode == 2 ? scales[series.facets[1].scale] : scales[series.scale], l = bbox.left, t = bbox.top, w = bbox.width, h2 = bbox.height, H = u.valToPosH, V = u.valToPosV;
  return sx.ori == 0 ? cb(
    series,
    dx,
    dy,
    sx,
    sy,
    H,
    V,
    l,
    t,
    w,
    h2,
    moveToH,
    lineToH,
    rectH,
    arcH,
    bezierCurveToH
  ) : cb(
    series,
    dx,
    dy,
    sx,
    sy,
    V,
    H,
    t,
    l,
    h2,
    w,
    moveToV,
    lineToV,
    rectV,
    arcV,
    bezierCurveToV
  );
}
function bandFillClipDirs(self, seriesIdx) {
  let fillDir = 0;
  let clipDirs = 0;
  let bands = ifNull(self.bands, EMPTY_ARR);
  for (let i = 0; i < bands.length; i++) {
    let b = bands[i];
    if (b.series[0] == seriesIdx)
      fillDir = b.dir;
    else if (b.series[1] == seriesIdx) {
      if (b.dir == 1)
        clipDirs |= 1;
      else
        clipDirs |= 2;
    }
  }
  return [
    fillDir,
    clipDirs == 1 ? -1 : (
      // neg only
      clipDirs == 2 ? 1 : (
        // pos only
        clipDirs == 3 ? 2 : (
          // both
          0
        )
      )
    )
  ];
}
function seriesFillTo(self, seriesIdx, dataMin, dataMax, bandFillDir) {
  let mode = self.mode;
  let series = self.series[seriesIdx];
  let scaleKey = mode == 2 ? series.facets[1].scale : series.scale;
  let scale = self.scales[scaleKey];
  return bandFillDir == -1 ? scale.min : bandFillDir == 1 ? scale.max : scale.distr == 3 ? scale.dir == 1 ? scale.min : scale.max : 0;
}
function clipBandLine(self, seriesIdx, idx0, idx1, strokePath, clipDir) {
  return orient(self, seriesIdx, (series, dataX, dataY, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim) => {
    let pxRound = series.pxRound;
    const dir = scaleX.dir * (scaleX.ori == 0 ? 1 : -1);
    const lineTo = scaleX.ori == 0 ? lineToH : lineToV;
    let frIdx, toIdx;
    if (dir == 1) {
      frIdx = idx0;
      toIdx = idx1;
    } else {
      frIdx = idx1;
      toIdx = idx0;
    }
    let x0 = pxRound(valToPosX(dataX[frIdx], scaleX, xDim, xOff));
    let y0 = pxRound(valToPosY(dataY[frIdx], scaleY, yDim, yOff));
    let x1 = pxRound(valToPosX(dataX[toIdx], scaleX, xDim, xOff));
    let yLimit = pxRound(valToPosY(clipDir == 1 ? scaleY.max : scaleY.min, scaleY, yDim, yOff));
    let clip = new Path2D(strokePath);
    lineTo(clip, x1, yLimit);
    lineTo(clip, x0, yLimit);
    lineTo(clip, x0, y0);
    return clip;
  });
}
function clipGaps(gaps2, ori, plotLft, plotTop, plotWid, plotHgt) {
  let clip = null;
  if (gaps2.length > 0) {
    clip = new Path2D();
    const rect2 = ori == 0 ? rectH : rectV;
    let prevGapEnd = plotLft;
    for (let i = 0; i < gaps2.length; i++) {
      let g = gaps2[i];
      if (g[1] > g[0]) {
        let w2 = g[0] - prevGapEnd;
        w2 > 0 && rect2(clip, prevGapEnd, plotTop, w2, plotTop + plotHgt);
        prevGapEnd = g[1];
      }
    }
    let w = plotLft + plotWid - prevGapEnd;
    let maxStrokeWidth = 10;
    w > 0 && rect2(clip, prevGapEnd, plotTop - maxStrokeWidth / 2, w, plotTop + plotHgt + maxStrokeWidth);
  }
  return clip;
}
function addGap(gaps2, fromX, toX) {
  let prevGap = gaps2[gaps2.length - 1];
  if (prevGap && prevGap[0] == fromX)
    prevGap[1] = toX;
  else
    gaps2.push([fromX, toX]);
}
function findGaps(xs, ys, idx0, idx1, dir, pixelForX, align) {
  let gaps2 = [];
  let len = xs.length;
  for (let i = dir == 1 ? idx0 : idx1; i >= idx0 && i <= idx1; i += dir) {
    let yVal = ys[i];
    if (yVal === null) {
      let fr = i, to = i;
      if (dir == 1) {
        while (++i <= idx1 && ys[i] === null)
          to = i;
      } else {
        while (--i >= idx0 && ys[i] === null)
          to = i;
      }
      let frPx = pixelForX(xs[fr]);
      let toPx = to == fr ? frPx : pixelForX(xs[to]);
      let fri2 = fr - dir;
      let frPx2 = align <= 0 && fri2 >= 0 && fri2 < len ? pixelForX(xs[fri2]) : frPx;
      frPx = frPx2;
      let toi2 = to + dir;
      let toPx2 = align >= 0 && toi2 >= 0 && toi2 < len ? pixelForX(xs[toi2]) : toPx;
      toPx = toPx2;
      if (toPx >= frPx)
        gaps2.push([frPx, toPx]);
    }
  }
  return gaps2;
}
function pxRoundGen(pxAlign) {
  return pxAlign == 0 ? retArg0 : pxAlign == 1 ? round : (v) => incrRound(v, pxAlign);
}
function rect(ori) {
  let moveTo = ori == 0 ? moveToH : moveToV;
  let arcTo = ori == 0 ? (p, x1, y1, x2, y2, r) => {
    p.arcTo(x1, y1, x2, y2, r);
  } : (p, y1, x1, y2, x2, r) => {
    p.arcTo(x1, y1, x2, y2, r);
  };
  let rect2 = ori == 0 ? (p, x, y, w, h2) => {
    p.rect(x, y, w, h2);
  } : (p, y, x, h2, w) => {
    p.rect(x, y, w, h2);
  };
  return (p, x, y, w, h2, endRad = 0, baseRad = 0) => {
    if (endRad == 0 && baseRad == 0)
      rect2(p, x, y, w, h2);
    else {
      endRad = min(endRad, w / 2, h2 / 2);
      baseRad = min(baseRad, w / 2, h2 / 2);
      moveTo(p, x + endRad, y);
      arcTo(p, x + w, y, x + w, y + h2, endRad);
      arcTo(p, x + w, y + h2, x, y + h2, baseRad);
      arcTo(p, x, y + h2, x, y, baseRad);
      arcTo(p, x, y, x + w, y, endRad);
      p.closePath();
    }
  };
}
var moveToH = (p, x, y) => {
  p.moveTo(x, y);
};
var moveToV = (p, y, x) => {
  p.moveTo(x, y);
};
var lineToH = (p, x, y) => {
  p.lineTo(x, y);
};
var lineToV = (p, y, x) => {
  p.lineTo(x, y);
};
var rectH = rect(0);
var rectV = rect(1);
var arcH = (p, x, y, r, startAngle, endAngle) => {
  p.arc(x, y, r, startAngle, endAngle);
};
var arcV = (p, y, x, r, startAngle, endAngle) => {
  p.arc(x, y, r, startAngle, endAngle);
};
var bezierCurveToH = (p, bp1x, bp1y, bp2x, bp2y, p2x, p2y) => {
  p.bezierCurveTo(bp1x, bp1y, bp2x, bp2y, p2x, p2y);
};
var bezierCurveToV = (p, bp1y, bp1x, bp2y, bp2x, p2y, p2x) => {
  p.bezierCurveTo(bp1x, bp1y, bp2x, bp2y, p2x, p2y);
};
function points(opts) {
  return (u, seriesIdx, idx0, idx1, filtIdxs) => {
    return orient(u, seriesIdx, (series, dataX, dataY, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim) => {
      let { pxRound, points: points2 } = series;
      let moveTo, arc;
      if (scaleX.ori == 0) {
        moveTo = moveToH;
        arc = arcH;
      } else {
        moveTo = moveToV;
        arc = arcV;
      }
      const width = roundDec(points2.width * pxRatio, 3);
      let rad = (points2.size - points2.width) / 2 * pxRatio;
      let dia = roundDec(rad * 2, 3);
      let fill = new Path2D();
      let clip = new Path2D();
      let { left: lft, top, width: wid, height: hgt } = u.bbox;
      rectH(
        clip,
        lft - dia,
        top - dia,
        wid + dia * 2,
        hgt + dia * 2
      );
      const drawPoint = (pi) => {
        if (dataY[pi] != null) {
          let x = pxRound(valToPosX(dataX[pi], scaleX, xDim, xOff));
          let y = pxRound(valToPosY(dataY[pi], scaleY, yDim, yOff));
          moveTo(fill, x + rad, y);
          arc(fill, x, y, rad, 0, PI * 2);
        }
      };
      if (filtIdxs)
        filtIdxs.forEach(drawPoint);
      else {
        for (let pi = idx0; pi <= idx1; pi++)
          drawPoint(pi);
      }
      return {
        stroke: width > 0 ? fill : null,
        fill,
        clip,
        flags: BAND_CLIP_FILL | BAND_CLIP_STROKE
      };
    });
  };
}
function _drawAcc(lineTo) {
  return (stroke, accX, minY, maxY, inY, outY) => {
    if (minY != maxY) {
      if (inY != minY && outY != minY)
        lineTo(stroke, accX, minY);
      if (inY != maxY && outY != maxY)
        lineTo(stroke, accX, maxY);
      lineTo(stroke, accX, outY);
    }
  };
}
var drawAccH = _drawAcc(lineToH);
var drawAccV = _drawAcc(lineToV);
function linear(opts) {
  const alignGaps = ifNull(opts?.alignGaps, 0);
  return (u, seriesIdx, idx0, idx1) => {
    return orient(u, seriesIdx, (series, dataX, dataY, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim) => {
      [idx0, idx1] = nonNullIdxs(dataY, idx0, idx1);
      let pxRound = series.pxRound;
      let pixelForX = (val) => pxRound(valToPosX(val, scaleX, xDim, xOff));
      let pixelForY = (val) => pxRound(valToPosY(val, scaleY, yDim, yOff));
      let lineTo, drawAcc;
      if (scaleX.ori == 0) {
        lineTo = lineToH;
        drawAcc = drawAccH;
      } else {
        lineTo = lineToV;
        drawAcc = drawAccV;
      }
      const dir = scaleX.dir * (scaleX.ori == 0 ? 1 : -1);
      const _paths = { stroke: new Path2D(), fill: null, clip: null, band: null, gaps: null, flags: BAND_CLIP_FILL };
      const stroke = _paths.stroke;
      let hasGap = false;
      const decimate = idx1 - idx0 >= xDim * 4;
      if (decimate) {
        let xForPixel = (pos) => u.posToVal(pos, scaleX.key, true);
        let minY = null, maxY = null, inY, outY, drawnAtX;
        let accX = pixelForX(dataX[dir == 1 ? idx0 : idx1]);
        let idx0px = pixelForX(dataX[idx0]);
        let idx1px = pixelForX(dataX[idx1]);
        let nextAccXVal = xForPixel(dir == 1 ? idx0px + 1 : idx1px - 1);
        for (let i = dir == 1 ? idx0 : idx1; i >= idx0 && i <= idx1; i += dir) {
          let xVal = dataX[i];
          let reuseAccX = dir == 1 ? xVal < nextAccXVal : xVal > nextAccXVal;
          let x = reuseAccX ? accX : pixelForX(xVal);
          let yVal = dataY[i];
          if (x == accX) {
            if (yVal != null) {
              outY = yVal;
              if (minY == null) {
                lineTo(stroke, x, pixelForY(outY));
                inY = minY = maxY = outY;
              } else {
                if (outY < minY)
                  minY = outY;
                else if (outY > maxY)
                  maxY = outY;
              }
            } else {
              if (yVal === null)
                hasGap = true;
            }
          } else {
            if (minY != null)
              drawAcc(stroke, accX, pixelForY(minY), pixelForY(maxY), pixelForY(inY), pixelForY(outY));
            if (yVal != null) {
              outY = yVal;
              lineTo(stroke, x, pixelForY(outY));
              minY = maxY = inY = outY;
            } else {
              minY = maxY = null;
              if (yVal === null)
                hasGap = true;
            }
            accX = x;
            nextAccXVal = xForPixel(accX + dir);
          }
        }
        if (minY != null && minY != maxY && drawnAtX != accX)
          drawAcc(stroke, accX, pixelForY(minY), pixelForY(maxY), pixelForY(inY), pixelForY(outY));
      } else {
        for (let i = dir == 1 ? idx0 : idx1; i >= idx0 && i <= idx1; i += dir) {
          let yVal = dataY[i];
          if (yVal === null)
            hasGap = true;
          else if (yVal != null)
            lineTo(stroke, pixelForX(dataX[i]), pixelForY(yVal));
        }
      }
      let [bandFillDir, bandClipDir] = bandFillClipDirs(u, seriesIdx);
      if (series.fill != null || bandFillDir != 0) {
        let fill = _paths.fill = new Path2D(stroke);
        let fillToVal = series.fillTo(u, seriesIdx, series.min, series.max, bandFillDir);
        let fillToY = pixelForY(fillToVal);
        let frX = pixelForX(dataX[idx0]);
        let toX = pixelForX(dataX[idx1]);
        if (dir == -1)
          [toX, frX] = [frX, toX];
        lineTo(fill, toX, fillToY);
        lineTo(fill, frX, fillToY);
      }
      if (!series.spanGaps) {
        let gaps2 = [];
        hasGap && gaps2.push(...findGaps(dataX, dataY, idx0, idx1, dir, pixelForX, alignGaps));
        _paths.gaps = gaps2 = series.gaps(u, seriesIdx, idx0, idx1, gaps2);
        _paths.clip = clipGaps(gaps2, scaleX.ori, xOff, yOff, xDim, yDim);
      }
      if (bandClipDir != 0) {
        _paths.band = bandClipDir == 2 ? [
          clipBandLine(u, seriesIdx, idx0, idx1, stroke, -1),
          clipBandLine(u, seriesIdx, idx0, idx1, stroke, 1)
        ] : clipBandLine(u, seriesIdx, idx0, idx1, stroke, bandClipDir);
      }
      return _paths;
    });
  };
}
function stepped(opts) {
  const align = ifNull(opts.align, 1);
  const ascDesc = ifNull(opts.ascDesc, false);
  const alignGaps = ifNull(opts.alignGaps, 0);
  const extend = ifNull(opts.extend, false);
  return (u, seriesIdx, idx0, idx1) => {
    return orient(u, seriesIdx, (series, dataX, dataY, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim) => {
      [idx0, idx1] = nonNullIdxs(dataY, idx0, idx1);
      let pxRound = series.pxRound;
      let { left, width } = u.bbox;
      let pixelForX = (val) => pxRound(valToPosX(val, scaleX, xDim, xOff));
      let pixelForY = (val) => pxRound(valToPosY(val, scaleY, yDim, yOff));
      let lineTo = scaleX.ori == 0 ? lineToH : lineToV;
      const _paths = { stroke: new Path2D(), fill: null, clip: null, band: null, gaps: null, flags: BAND_CLIP_FILL };
      const stroke = _paths.stroke;
      const dir = scaleX.dir * (scaleX.ori == 0 ? 1 : -1);
      let prevYPos = pixelForY(dataY[dir == 1 ? idx0 : idx1]);
      let firstXPos = pixelForX(dataX[dir == 1 ? idx0 : idx1]);
      let prevXPos = firstXPos;
      let firstXPosExt = firstXPos;
      if (extend && align == -1) {
        firstXPosExt = left;
        lineTo(stroke, firstXPosExt, prevYPos);
      }
      lineTo(stroke, firstXPos, prevYPos);
      for (let i = dir == 1 ? idx0 : idx1; i >= idx0 && i <= idx1; i += dir) {
        let yVal1 = dataY[i];
        if (yVal1 == null)
          continue;
        let x1 = pixelForX(dataX[i]);
        let y1 = pixelForY(yVal1);
        if (align == 1)
          lineTo(stroke, x1, prevYPos);
        else
          lineTo(stroke, prevXPos, y1);
        lineTo(stroke, x1, y1);
        prevYPos = y1;
        prevXPos = x1;
      }
      let prevXPosExt = prevXPos;
      if (extend && align == 1) {
        prevXPosExt = left + width;
        lineTo(stroke, prevXPosExt, prevYPos);
      }
      let [bandFillDir, bandClipDir] = bandFillClipDirs(u, seriesIdx);
      if (series.fill != null || bandFillDir != 0) {
        let fill = _paths.fill = new Path2D(stroke);
        let fillTo = series.fillTo(u, seriesIdx, series.min, series.max, bandFillDir);
        let fillToY = pixelForY(fillTo);
        lineTo(fill, prevXPosExt, fillToY);
        lineTo(fill, firstXPosExt, fillToY);
      }
      if (!series.spanGaps) {
        let gaps2 = [];
        gaps2.push(...findGaps(dataX, dataY, idx0, idx1, dir, pixelForX, alignGaps));
        let halfStroke = series.width * pxRatio / 2;
        let startsOffset = ascDesc || align == 1 ? halfStroke : -halfStroke;
        let endsOffset = ascDesc || align == -1 ? -halfStroke : halfStroke;
        gaps2.forEach((g) => {
          g[0] += startsOffset;
          g[1] += endsOffset;
        });
        _paths.gaps = gaps2 = series.gaps(u, seriesIdx, idx0, idx1, gaps2);
        _paths.clip = clipGaps(gaps2, scaleX.ori, xOff, yOff, xDim, yDim);
      }
      if (bandClipDir != 0) {
        _paths.band = bandClipDir == 2 ? [
          clipBandLine(u, seriesIdx, idx0, idx1, stroke, -1),
          clipBandLine(u, seriesIdx, idx0, idx1, stroke, 1)
        ] : clipBandLine(u, seriesIdx, idx0, idx1, stroke, bandClipDir);
      }
      return _paths;
    });
  };
}
function findColWidth(dataX, dataY, valToPosX, scaleX, xDim, xOff, colWid = inf) {
  if (dataX.length > 1) {
    let prevIdx = null;
    for (let i = 0, minDelta = Infinity; i < dataX.length; i++) {
      if (dataY[i] !== void 0) {
        if (prevIdx != null) {
          let delta = abs(dataX[i] - dataX[prevIdx]);
          if (delta < minDelta) {
            minDelta = delta;
            colWid = abs(valToPosX(dataX[i], scaleX, xDim, xOff) - valToPosX(dataX[prevIdx], scaleX, xDim, xOff));
          }
        }
        prevIdx = i;
      }
    }
  }
  return colWid;
}
function bars(opts) {
  opts = opts || EMPTY_OBJ;
  const size = ifNull(opts.size, [0.6, inf, 1]);
  const align = opts.align || 0;
  const _extraGap = opts.gap || 0;
  let ro = opts.radius;
  ro = // [valueRadius, baselineRadius]
  ro == null ? [0, 0] : typeof ro == "number" ? [ro, 0] : ro;
  const radiusFn = fnOrSelf(ro);
  const gapFactor = 1 - size[0];
  const _maxWidth = ifNull(size[1], inf);
  const _minWidth = ifNull(size[2], 1);
  const disp = ifNull(opts.disp, EMPTY_OBJ);
  const _each = ifNull(opts.each, (_2) => {
  });
  const { fill: dispFills, stroke: dispStrokes } = disp;
  return (u, seriesIdx, idx0, idx1) => {
    return orient(u, seriesIdx, (series, dataX, dataY, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim) => {
      let pxRound = series.pxRound;
      let _align = align;
      let extraGap = _extraGap * pxRatio;
      let maxWidth = _maxWidth * pxRatio;
      let minWidth = _minWidth * pxRatio;
      let valRadius, baseRadius;
      if (scaleX.ori == 0)
        [valRadius, baseRadius] = radiusFn(u, seriesIdx);
      else
        [baseRadius, valRadius] = radiusFn(u, seriesIdx);
      const _dirX = scaleX.dir * (scaleX.ori == 0 ? 1 : -1);
      let rect2 = scaleX.ori == 0 ? rectH : rectV;
      let each = scaleX.ori == 0 ? _each : (u2, seriesIdx2, i, top, lft, hgt, wid) => {
        _each(u2, seriesIdx2, i, lft, top, wid, hgt);
      };
      let band = ifNull(u.bands, EMPTY_ARR).find((b) => b.series[0] == seriesIdx);
      let fillDir = band != null ? band.dir : 0;
      let fillTo = series.fillTo(u, seriesIdx, series.min, series.max, fillDir);
      let fillToY = pxRound(valToPosY(fillTo, scaleY, yDim, yOff));
      let xShift, barWid, fullGap, colWid = xDim;
      let strokeWidth = pxRound(series.width * pxRatio);
      let multiPath = false;
      let fillColors = null;
      let fillPaths = null;
      let strokeColors = null;
      let strokePaths = null;
      if (dispFills != null && (strokeWidth == 0 || dispStrokes != null)) {
        multiPath = true;
        fillColors = dispFills.values(u, seriesIdx, idx0, idx1);
        fillPaths = /* @__PURE__ */ new Map();
        new Set(fillColors).forEach((color) => {
          if (color != null)
            fillPaths.set(color, new Path2D());
        });
        if (strokeWidth > 0) {
          strokeColors = dispStrokes.values(u, seriesIdx, idx0, idx1);
          strokePaths = /* @__PURE__ */ new Map();
          new Set(strokeColors).forEach((color) => {
            if (color != null)
              strokePaths.set(color, new Path2D());
          });
        }
      }
      let { x0, size: size2 } = disp;
      if (x0 != null && size2 != null) {
        _align = 1;
        dataX = x0.values(u, seriesIdx, idx0, idx1);
        if (x0.unit == 2)
          dataX = dataX.map((pct) => u.posToVal(xOff + pct * xDim, scaleX.key, true));
        let sizes = size2.values(u, seriesIdx, idx0, idx1);
        if (size2.unit == 2)
          barWid = sizes[0] * xDim;
        else
          barWid = valToPosX(sizes[0], scaleX, xDim, xOff) - valToPosX(0, scaleX, xDim, xOff);
        colWid = findColWidth(dataX, dataY, valToPosX, scaleX, xDim, xOff, colWid);
        let gapWid = colWid - barWid;
        fullGap = gapWid + extraGap;
      } else {
        colWid = findColWidth(dataX, dataY, valToPosX, scaleX, xDim, xOff, colWid);
        let gapWid = colWid * gapFactor;
        fullGap = gapWid + extraGap;
        barWid = colWid - fullGap;
      }
      if (fullGap < 1)
        fullGap = 0;
      if (strokeWidth >= barWid / 2)
        strokeWidth = 0;
      if (fullGap < 5)
        pxRound = retArg0;
      let insetStroke = fullGap > 0;
      let rawBarWid = colWid - fullGap - (insetStroke ? strokeWidth : 0);
      barWid = pxRound(clamp(rawBarWid, minWidth, maxWidth));
      xShift = (_align == 0 ? barWid / 2 : _align == _dirX ? 0 : barWid) - _align * _dirX * ((_align == 0 ? extraGap / 2 : 0) + (insetStroke ? strokeWidth / 2 : 0));
      const _paths = { stroke: null, fill: null, clip: null, band: null, gaps: null, flags: 0 };
      const stroke = multiPath ? null : new Path2D();
      let dataY0 = null;
      if (band != null)
        dataY0 = u.data[band.series[1]];
      else {
        let { y0, y1 } = disp;
        if (y0 != null && y1 != null) {
          dataY = y1.values(u, seriesIdx, idx0, idx1);
          dataY0 = y0.values(u, seriesIdx, idx0, idx1);
        }
      }
      let radVal = valRadius * barWid;
      let radBase = baseRadius * barWid;
      for (let i = _dirX == 1 ? idx0 : idx1; i >= idx0 && i <= idx1; i += _dirX) {
        let yVal = dataY[i];
        if (yVal == null)
          continue;
        if (dataY0 != null) {
          let yVal0 = dataY0[i] ?? 0;
          if (yVal - yVal0 == 0)
            continue;
          fillToY = valToPosY(yVal0, scaleY, yDim, yOff);
        }
        let xVal = scaleX.distr != 2 || disp != null ? dataX[i] : i;
        let xPos = valToPosX(xVal, scaleX, xDim, xOff);
        let yPos = valToPosY(ifNull(yVal, fillTo), scaleY, yDim, yOff);
        let lft = pxRound(xPos - xShift);
        let btm = pxRound(max(yPos, fillToY));
        let top = pxRound(min(yPos, fillToY));
        let barHgt = btm - top;
        if (yVal != null) {
          let rv = yVal < 0 ? radBase : radVal;
          let rb = yVal < 0 ? radVal : radBase;
          if (multiPath) {
            if (strokeWidth > 0 && strokeColors[i] != null)
              rect2(strokePaths.get(strokeColors[i]), lft, top + floor(strokeWidth / 2), barWid, max(0, barHgt - strokeWidth), rv, rb);
            if (fillColors[i] != null)
              rect2(fillPaths.get(fillColors[i]), lft, top + floor(strokeWidth / 2), barWid, max(0, barHgt - strokeWidth), rv, rb);
          } else
            rect2(stroke, lft, top + floor(strokeWidth / 2), barWid, max(0, barHgt - strokeWidth), rv, rb);
          each(
            u,
            seriesIdx,
            i,
            lft - strokeWidth / 2,
            top,
            barWid + strokeWidth,
            barHgt
          );
        }
      }
      if (strokeWidth > 0)
        _paths.stroke = multiPath ? strokePaths : stroke;
      else if (!multiPath) {
        _paths._fill = series.width == 0 ? series._fill : series._stroke ?? series._fill;
        _paths.width = 0;
      }
      _paths.fill = multiPath ? fillPaths : stroke;
      return _paths;
    });
  };
}
function splineInterp(interp, opts) {
  const alignGaps = ifNull(opts?.alignGaps, 0);
  return (u, seriesIdx, idx0, idx1) => {
    return orient(u, seriesIdx, (series, dataX, dataY, scaleX, scaleY, valToPosX, valToPosY, xOff, yOff, xDim, yDim) => {
      [idx0, idx1] = nonNullIdxs(dataY, idx0, idx1);
      let pxRound = series.pxRound;
      let pixelForX = (val) => pxRound(valToPosX(val, scaleX, xDim, xOff));
      let pixelForY = (val) => pxRound(valToPosY(val, scaleY, yDim, yOff));
      let moveTo, bezierCurveTo, lineTo;
      if (scaleX.ori == 0) {
        moveTo = moveToH;
        lineTo = lineToH;
        bezierCurveTo = bezierCurveToH;
      } else {
        moveTo = moveToV;
        lineTo = lineToV;
        bezierCurveTo = bezierCurveToV;
      }
      const dir = scaleX.dir * (scaleX.ori == 0 ? 1 : -1);
      let firstXPos = pixelForX(dataX[dir == 1 ? idx0 : idx1]);
      let prevXPos = firstXPos;
      let xCoords = [];
      let yCoords = [];
      for (let i = dir == 1 ? idx0 : idx1; i >= idx0 && i <= idx1; i += dir) {
        let yVal = dataY[i];
        if (yVal != null) {
          let xVal = dataX[i];
          let xPos = pixelForX(xVal);
          xCoords.push(prevXPos = xPos);
          yCoords.push(pixelForY(dataY[i]));
        }
      }
      const _paths = { stroke: interp(xCoords, yCoords, moveTo, lineTo, bezierCurveTo, pxRound), fill: null, clip: null, band: null, gaps: null, flags: BAND_CLIP_FILL };
      const stroke = _paths.stroke;
      let [bandFillDir, bandClipDir] = bandFillClipDirs(u, seriesIdx);
      if (series.fill != null || bandFillDir != 0) {
        let fill = _paths.fill = new Path2D(stroke);
        let fillTo = series.fillTo(u, seriesIdx, series.min, series.max, bandFillDir);
        let fillToY = pixelForY(fillTo);
        lineTo(fill, prevXPos, fillToY);
        lineTo(fill, firstXPos, fillToY);
      }
      if (!series.spanGaps) {
        let gaps2 = [];
        gaps2.push(...findGaps(dataX, dataY, idx0, idx1, dir, pixelForX, alignGaps));
        _paths.gaps = gaps2 = series.gaps(u, seriesIdx, idx0, idx1, gaps2);
        _paths.clip = clipGaps(gaps2, scaleX.ori, xOff, yOff, xDim, yDim);
      }
      if (bandClipDir != 0) {
        _paths.band = bandClipDir == 2 ? [
          clipBandLine(u, seriesIdx, idx0, idx1, stroke, -1),
          clipBandLine(u, seriesIdx, idx0, idx1, stroke, 1)
        ] : clipBandLine(u, seriesIdx, idx0, idx1, stroke, bandClipDir);
      }
      return _paths;
    });
  };
}
function monotoneCubic(opts) {
  return splineInterp(_monotoneCubic, opts);
}
function _monotoneCubic(xs, ys, moveTo, lineTo, bezierCurveTo, pxRound) {
  const n = xs.length;
  if (n < 2)
    return null;
  const path = new Path2D();
  moveTo(path, xs[0], ys[0]);
  if (n == 2)
    lineTo(path, xs[1], ys[1]);
  else {
    let ms = Array(n), ds = Array(n - 1), dys = Array(n - 1), dxs = Array(n - 1);
    for (let i = 0; i < n - 1; i++) {
      dys[i] = ys[i + 1] - ys[i];
      dxs[i] = xs[i + 1] - xs[i];
      ds[i] = dys[i] / dxs[i];
    }
    ms[0] = ds[0];
    for (let i = 1; i < n - 1; i++) {
      if (ds[i] === 0 || ds[i - 1] === 0 || ds[i - 1] > 0 !== ds[i] > 0)
        ms[i] = 0;
      else {
        ms[i] = 3 * (dxs[i - 1] + dxs[i]) / ((2 * dxs[i] + dxs[i - 1]) / ds[i - 1] + (dxs[i] + 2 * dxs[i - 1]) / ds[i]);
        if (!isFinite(ms[i]))
          ms[i] = 0;
      }
    }
    ms[n - 1] = ds[n - 2];
    for (let i = 0; i < n - 1; i++) {
      bezierCurveTo(
        path,
        xs[i] + dxs[i] / 3,
        ys[i] + ms[i] * dxs[i] / 3,
        xs[i + 1] - dxs[i] / 3,
        ys[i + 1] - ms[i + 1] * dxs[i] / 3,
        xs[i + 1],
        ys[i + 1]
      );
    }
  }
  return path;
}
var cursorPlots = /* @__PURE__ */ new Set();
function invalidateRects() {
  for (let u of cursorPlots)
    u.syncRect(true);
}
if (domEnv) {
  on(resize, win, invalidateRects);
  on(scroll, win, invalidateRects, true);
  on(dppxchange, win, () => {
    uPlot.pxRatio = pxRatio;
  });
}
var linearPath = linear();
var pointsPath = points();
function setDefaults(d, xo, yo, initY) {
  let d2 = initY ? [d[0], d[1]].concat(d.slice(2)) : [d[0]].concat(d.slice(1));
  return d2.map((o, i) => setDefault(o, i, xo, yo));
}
function setDefaults2(d, xyo) {
  return d.map((o, i) => i == 0 ? {} : assign({}, xyo, o));
}
function setDefault(o, i, xo, yo) {
  return assign({}, i == 0 ? xo : yo, o);
}
function snapNumX(self, dataMin, dataMax) {
  return dataMin == null ? nullNullTuple : [dataMin, dataMax];
}
var snapTimeX = snapNumX;
function snapNumY(self, dataMin, dataMax) {
  return dataMin == null ? nullNullTuple : rangeNum(dataMin, dataMax, rangePad, true);
}
function snapLogY(self, dataMin, dataMax, scale) {
  return dataMin == null ? nullNullTuple : rangeLog(dataMin, dataMax, self.scales[scale].log, false);
}
var snapLogX = snapLogY;
function snapAsinhY(self, dataMin, dataMax, scale) {
  return dataMin == null ? nullNullTuple : rangeAsinh(dataMin, dataMax, self.scales[scale].log, false);
}
var snapAsinhX = snapAsinhY;
function findIncr(minVal, maxVal, incrs, dim, minSpace) {
  let intDigits = max(numIntDigits(minVal), numIntDigits(maxVal));
  let delta = maxVal - minVal;
  let incrIdx = closestIdx(minSpace / dim * delta, incrs);
  do {
    let foundIncr = incrs[incrIdx];
    let foundSpace = dim * foundIncr / delta;
    if (foundSpace >= minSpace && intDigits + (foundIncr < 5 ? fixedDec.get(foundIncr) : 0) <= 17)
      return [foundIncr, foundSpace];
  } while (++incrIdx < incrs.length);
  return [0, 0];
}
function pxRatioFont(font2) {
  let fontSize, fontSizeCss;
  font2 = font2.replace(/(\d+)px/, (m, p1) => (fontSize = round((fontSizeCss = +p1) * pxRatio)) + "px");
  return [font2, fontSize, fontSizeCss];
}
function syncFontSize(axis) {
  if (axis.show) {
    [axis.font, axis.labelFont].forEach((f) => {
      let size = roundDec(f[2] * pxRatio, 1);
      f[0] = f[0].replace(/[0-9.]+px/, size + "px");
      f[1] = size;
    });
  }
}
function uPlot(opts, data, then) {
  const self = {
    mode: ifNull(opts.mode, 1)
  };
  const mode = self.mode;
  function getHPos(val, scale, dim, off2) {
    let pct = scale.valToPct(val);
    return off2 + dim * (scale.dir == -1 ? 1 - pct : pct);
  }
  function getVPos(val, scale, dim, off2) {
    let pct = scale.valToPct(val);
    return off2 + dim * (scale.dir == -1 ? pct : 1 - pct);
  }
  function getPos(val, scale, dim, off2) {
    return scale.ori == 0 ? getHPos(val, scale, dim, off2) : getVPos(val, scale, dim, off2);
  }
  self.valToPosH = getHPos;
  self.valToPosV = getVPos;
  let ready = false;
  self.status = 0;
  const root = self.root = placeDiv(UPLOT);
  if (opts.id != null)
    root.id = opts.id;
  addClass(root, opts.class);
  if (opts.title) {
    let title2 = placeDiv(TITLE, root);
    title2.textContent = opts.title;
  }
  const can = placeTag("canvas");
  const ctx = self.ctx = can.getContext("2d");
  const wrap = placeDiv(WRAP, root);
  on("click", wrap, (e) => {
    if (e.target === over) {
      let didDrag = mouseLeft1 != mouseLeft0 || mouseTop1 != mouseTop0;
      didDrag && drag.click(self, e);
    }
  }, true);
  const under = self.under = placeDiv(UNDER, wrap);
  wrap.appendChild(can);
  const over = self.over = placeDiv(OVER, wrap);
  opts = copy(opts);
  const pxAlign = +ifNull(opts.pxAlign, 1);
  const pxRound = pxRoundGen(pxAlign);
  (opts.plugins || []).forEach((p) => {
    if (p.opts)
      opts = p.opts(self, opts) || opts;
  });
  const ms = opts.ms || 1e-3;
  const series = self.series = mode == 1 ? setDefaults(opts.series || [], xSeriesOpts, ySeriesOpts, false) : setDefaults2(opts.series || [null], xySeriesOpts);
  const axes = self.axes = setDefaults(opts.axes || [], xAxisOpts, yAxisOpts, true);
  const scales = self.scales = {};
  const bands = self.bands = opts.bands || [];
  bands.forEach((b) => {
    b.fill = fnOrSelf(b.fill || null);
    b.dir = ifNull(b.dir, -1);
  });
  const xScaleKey = mode == 2 ? series[1].facets[0].scale : series[0].scale;
  const drawOrderMap = {
    axes: drawAxesGrid,
    series: drawSeries
  };
  const drawOrder = (opts.drawOrder || ["axes", "series"]).map((key2) => drawOrderMap[key2]);
  function initValToPct(sc) {
    const getVal = sc.distr == 3 ? (val) => log10(val > 0 ? val : sc.clamp(self, val, sc.min, sc.max, sc.key)) : sc.distr == 4 ? (val) => asinh(val, sc.asinh) : sc.distr == 100 ? (val) => sc.fwd(val) : (val) => val;
    return (val) => {
      let _val = getVal(val);
      let { _min, _max } = sc;
      let delta = _max - _min;
      return (_val - _min) / delta;
    };
  }
  function initScale(scaleKey) {
    let sc = scales[scaleKey];
    if (sc == null) {
      let scaleOpts = (opts.scales || EMPTY_OBJ)[scaleKey] || EMPTY_OBJ;
      if (scaleOpts.from != null) {
        initScale(scaleOpts.from);
        let sc2 = assign({}, scales[scaleOpts.from], scaleOpts, { key: scaleKey });
        sc2.valToPct = initValToPct(sc2);
        scales[scaleKey] = sc2;
      } else {
        sc = scales[scaleKey] = assign({}, scaleKey == xScaleKey ? xScaleOpts : yScaleOpts, scaleOpts);
        sc.key = scaleKey;
        let isTime = sc.time;
        let rn = sc.range;
        let rangeIsArr = isArr(rn);
        if (scaleKey != xScaleKey || mode == 2 && !isTime) {
          if (rangeIsArr && (rn[0] == null || rn[1] == null)) {
            rn = {
              min: rn[0] == null ? autoRangePart : {
                mode: 1,
                hard: rn[0],
                soft: rn[0]
              },
              max: rn[1] == null ? autoRangePart : {
                mode: 1,
                hard: rn[1],
                soft: rn[1]
              }
            };
            rangeIsArr = false;
          }
          if (!rangeIsArr && isObj(rn)) {
            let cfg = rn;
            rn = (self2, dataMin, dataMax) => dataMin == null ? nullNullTuple : rangeNum(dataMin, dataMax, cfg);
          }
        }
        sc.range = fnOrSelf(rn || (isTime ? snapTimeX : scaleKey == xScaleKey ? sc.distr == 3 ? snapLogX : sc.distr == 4 ? snapAsinhX : snapNumX : sc.distr == 3 ? snapLogY : sc.distr == 4 ? snapAsinhY : snapNumY));
        sc.auto = fnOrSelf(rangeIsArr ? false : sc.auto);
        sc.clamp = fnOrSelf(sc.clamp || clampScale);
        sc._min = sc._max = null;
        sc.valToPct = initValToPct(sc);
      }
    }
  }
  initScale("x");
  initScale("y");
  if (mode == 1) {
    series.forEach((s) => {
      initScale(s.scale);
    });
  }
  axes.forEach((a) => {
    initScale(a.scale);
  });
  for (let k in opts.scales)
    initScale(k);
  const scaleX = scales[xScaleKey];
  const xScaleDistr = scaleX.distr;
  let valToPosX, valToPosY;
  if (scaleX.ori == 0) {
    addClass(root, ORI_HZ);
    valToPosX = getHPos;
    valToPosY = getVPos;
  } else {
    addClass(root, ORI_VT);
    valToPosX = getVPos;
    valToPosY = getHPos;
  }
  const pendScales = {};
  for (let k in scales) {
    let sc = scales[k];
    if (sc.min != null || sc.max != null) {
      pendScales[k] = { min: sc.min, max: sc.max };
      sc.min = sc.max = null;
    }
  }
  const _tzDate = opts.tzDate || ((ts) => new Date(round(ts / ms)));
  const _fmtDate = opts.fmtDate || fmtDate;
  const _timeAxisSplits = ms == 1 ? timeAxisSplitsMs(_tzDate) : timeAxisSplitsS(_tzDate);
  const _timeAxisVals = timeAxisVals(_tzDate, timeAxisStamps(ms == 1 ? _timeAxisStampsMs : _timeAxisStampsS, _fmtDate));
  const _timeSeriesVal = timeSeriesVal(_tzDate, timeSeriesStamp(_timeSeriesStamp, _fmtDate));
  const activeIdxs = [];
  const legend = self.legend = assign({}, legendOpts, opts.legend);
  const cursor = self.cursor = assign({}, cursorOpts, { drag: { y: mode == 2 } }, opts.cursor);
  const showLegend = legend.show;
  const showCursor = cursor.show;
  const markers = legend.markers;
  {
    legend.idxs = activeIdxs;
    markers.width = fnOrSelf(markers.width);
    markers.dash = fnOrSelf(markers.dash);
    markers.stroke = fnOrSelf(markers.stroke);
    markers.fill = fnOrSelf(markers.fill);
  }
  let legendTable;
  let legendHead;
  let legendBody;
  let legendRows = [];
  let legendCells = [];
  let legendCols;
  let multiValLegend = false;
  let NULL_LEGEND_VALUES = {};
  if (legend.live) {
    const getMultiVals = series[1] ? series[1].values : null;
    multiValLegend = getMultiVals != null;
    legendCols = multiValLegend ? getMultiVals(self, 1, 0) : { _: 0 };
    for (let k in legendCols)
      NULL_LEGEND_VALUES[k] = LEGEND_DISP;
  }
  if (showLegend) {
    legendTable = placeTag("table", LEGEND, root);
    legendBody = placeTag("tbody", null, legendTable);
    legend.mount(self, legendTable);
    if (multiValLegend) {
      legendHead = placeTag("thead", null, legendTable, legendBody);
      let head = placeTag("tr", null, legendHead);
      placeTag("th", null, head);
      for (var key in legendCols)
        placeTag("th", LEGEND_LABEL, head).textContent = key;
    } else {
      addClass(legendTable, LEGEND_INLINE);
      legend.live && addClass(legendTable, LEGEND_LIVE);
    }
  }
  const son = { show: true };
  const soff = { show: false };
  function initLegendRow(s, i) {
    if (i == 0 && (multiValLegend || !legend.live || mode == 2))
      return nullNullTuple;
    let cells = [];
    let row = placeTag("tr", LEGEND_SERIES, legendBody, legendBody.childNodes[i]);
    addClass(row, s.class);
    if (!s.show)
      addClass(row, OFF);
    let label = placeTag("th", null, row);
    if (markers.show) {
      let indic = placeDiv(LEGEND_MARKER, label);
      if (i > 0) {
        let width = markers.width(self, i);
        if (width)
          indic.style.border = width + "px " + markers.dash(self, i) + " " + markers.stroke(self, i);
        indic.style.background = markers.fill(self, i);
      }
    }
    let text = placeDiv(LEGEND_LABEL, label);
    if (s.label instanceof HTMLElement)
      text.appendChild(s.label);
    else
      text.textContent = s.label;
    if (i > 0) {
      if (!markers.show)
        text.style.color = s.width > 0 ? markers.stroke(self, i) : markers.fill(self, i);
      onMouse("click", label, (e) => {
        if (cursor._lock)
          return;
        setCursorEvent(e);
        let seriesIdx = series.indexOf(s);
        if ((e.ctrlKey || e.metaKey) != legend.isolate) {
          let isolate = series.some((s2, i2) => i2 > 0 && i2 != seriesIdx && s2.show);
          series.forEach((s2, i2) => {
            i2 > 0 && setSeries(i2, isolate ? i2 == seriesIdx ? son : soff : son, true, syncOpts.setSeries);
          });
        } else
          setSeries(seriesIdx, { show: !s.show }, true, syncOpts.setSeries);
      }, false);
      if (cursorFocus) {
        onMouse(mouseenter, label, (e) => {
          if (cursor._lock)
            return;
          setCursorEvent(e);
          setSeries(series.indexOf(s), FOCUS_TRUE, true, syncOpts.setSeries);
        }, false);
      }
    }
    for (var key2 in legendCols) {
      let v = placeTag("td", LEGEND_VALUE, row);
      v.textContent = "--";
      cells.push(v);
    }
    return [row, cells];
  }
  const mouseListeners = /* @__PURE__ */ new Map();
  function onMouse(ev, targ, fn, onlyTarg = true) {
    const targListeners = mouseListeners.get(targ) || {};
    const listener = cursor.bind[ev](self, targ, fn, onlyTarg);
    if (listener) {
      on(ev, targ, targListeners[ev] = listener);
      mouseListeners.set(targ, targListeners);
    }
  }
  function offMouse(ev, targ, fn) {
    const targListeners = mouseListeners.get(targ) || {};
    for (let k in targListeners) {
      if (ev == null || k == ev) {
        off(k, targ, targListeners[k]);
        delete targListeners[k];
      }
    }
    if (ev == null)
      mouseListeners.delete(targ);
  }
  let fullWidCss = 0;
  let fullHgtCss = 0;
  let plotWidCss = 0;
  let plotHgtCss = 0;
  let plotLftCss = 0;
  let plotTopCss = 0;
  let _plotLftCss = plotLftCss;
  let _plotTopCss = plotTopCss;
  let _plotWidCss = plotWidCss;
  let _plotHgtCss = plotHgtCss;
  let plotLft = 0;
  let plotTop = 0;
  let plotWid = 0;
  let plotHgt = 0;
  self.bbox = {};
  let shouldSetScales = false;
  let shouldSetSize = false;
  let shouldConvergeSize = false;
  let shouldSetCursor = false;
  let shouldSetSelect = false;
  let shouldSetLegend = false;
  function _setSize(width, height, force) {
    if (force || (width != self.width || height != self.height))
      calcSize(width, height);
    resetYSeries(false);
    shouldConvergeSize = true;
    shouldSetSize = true;
    commit();
  }
  function calcSize(width, height) {
    self.width = fullWidCss = plotWidCss = width;
    self.height = fullHgtCss = plotHgtCss = height;
    plotLftCss = plotTopCss = 0;
    calcPlotRect();
    calcAxesRects();
    let bb = self.bbox;
    plotLft = bb.left = incrRound(plotLftCss * pxRatio, 0.5);
    plotTop = bb.top = incrRound(plotTopCss * pxRatio, 0.5);
    plotWid = bb.width = incrRound(plotWidCss * pxRatio, 0.5);
    plotHgt = bb.height = incrRound(plotHgtCss * pxRatio, 0.5);
  }
  const CYCLE_LIMIT = 3;
  function convergeSize() {
    let converged = false;
    let cycleNum = 0;
    while (!converged) {
      cycleNum++;
      let axesConverged = axesCalc(cycleNum);
      let paddingConverged = paddingCalc(cycleNum);
      converged = cycleNum == CYCLE_LIMIT || axesConverged && paddingConverged;
      if (!converged) {
        calcSize(self.width, self.height);
        shouldSetSize = true;
      }
    }
  }
  function setSize({ width, height }) {
    _setSize(width, height);
  }
  self.setSize = setSize;
  function calcPlotRect() {
    let hasTopAxis = false;
    let hasBtmAxis = false;
    let hasRgtAxis = false;
    let hasLftAxis = false;
    axes.forEach((axis, i) => {
      if (axis.show && axis._show) {
        let { side, _size } = axis;
        let isVt = side % 2;
        let labelSize = axis.label != null ? axis.labelSize : 0;
        let fullSize = _size + labelSize;
        if (fullSize > 0) {
          if (isVt) {
            plotWidCss -= fullSize;
            if (side == 3) {
              plotLftCss += fullSize;
              hasLftAxis = true;
            } else
              hasRgtAxis = true;
          } else {
            plotHgtCss -= fullSize;
            if (side == 0) {
              plotTopCss += fullSize;
              hasTopAxis = true;
            } else
              hasBtmAxis = true;
          }
        }
      }
    });
    sidesWithAxes[0] = hasTopAxis;
    sidesWithAxes[1] = hasRgtAxis;
    sidesWithAxes[2] = hasBtmAxis;
    sidesWithAxes[3] = hasLftAxis;
    plotWidCss -= _padding[1] + _padding[3];
    plotLftCss += _padding[3];
    plotHgtCss -= _padding[2] + _padding[0];
    plotTopCss += _padding[0];
  }
  function calcAxesRects() {
    let off1 = plotLftCss + plotWidCss;
    let off2 = plotTopCss + plotHgtCss;
    let off3 = plotLftCss;
    let off0 = plotTopCss;
    function incrOffset(side, size) {
      switch (side) {
        case 1:
          off1 += size;
          return off1 - size;
        case 2:
          off2 += size;
          return off2 - size;
        case 3:
          off3 -= size;
          return off3 + size;
        case 0:
          off0 -= size;
          return off0 + size;
      }
    }
    axes.forEach((axis, i) => {
      if (axis.show && axis._show) {
        let side = axis.side;
        axis._pos = incrOffset(side, axis._size);
        if (axis.label != null)
          axis._lpos = incrOffset(side, axis.labelSize);
      }
    });
  }
  if (cursor.dataIdx == null) {
    let hov = cursor.hover;
    let skip = hov.skip = new Set(hov.skip ?? []);
    skip.add(void 0);
    let prox = hov.prox = fnOrSelf(hov.prox);
    let bias = hov.bias ?? (hov.bias = 0);
    cursor.dataIdx = (self2, seriesIdx, cursorIdx, valAtPosX) => {
      if (seriesIdx == 0)
        return cursorIdx;
      let idx2 = cursorIdx;
      let _prox = prox(self2, seriesIdx, cursorIdx, valAtPosX) ?? inf;
      let withProx = _prox >= 0 && _prox < inf;
      let xDim = scaleX.ori == 0 ? plotWidCss : plotHgtCss;
      let cursorLft = cursor.left;
      let xValues = data[0];
      let yValues = data[seriesIdx];
      if (skip.has(yValues[cursorIdx])) {
        idx2 = null;
        let nonNullLft = null, nonNullRgt = null, j;
        if (bias == 0 || bias == -1) {
          j = cursorIdx;
          while (nonNullLft == null && j-- > 0) {
            if (!skip.has(yValues[j]))
              nonNullLft = j;
          }
        }
        if (bias == 0 || bias == 1) {
          j = cursorIdx;
          while (nonNullRgt == null && j++ < yValues.length) {
            if (!skip.has(yValues[j]))
              nonNullRgt = j;
          }
        }
        if (nonNullLft != null || nonNullRgt != null) {
          if (withProx) {
            let lftPos = nonNullLft == null ? -Infinity : valToPosX(xValues[nonNullLft], scaleX, xDim, 0);
            let rgtPos = nonNullRgt == null ? Infinity : valToPosX(xValues[nonNullRgt], scaleX, xDim, 0);
            let lftDelta = cursorLft - lftPos;
            let rgtDelta = rgtPos - cursorLft;
            if (lftDelta <= rgtDelta) {
              if (lftDelta <= _prox)
                idx2 = nonNullLft;
            } else {
              if (rgtDelta <= _prox)
                idx2 = nonNullRgt;
            }
          } else {
            idx2 = nonNullRgt == null ? nonNullLft : nonNullLft == null ? nonNullRgt : cursorIdx - nonNullLft <= nonNullRgt - cursorIdx ? nonNullLft : nonNullRgt;
          }
        }
      } else if (withProx) {
        let dist = abs(cursorLft - valToPosX(xValues[cursorIdx], scaleX, xDim, 0));
        if (dist > _prox)
          idx2 = null;
      }
      return idx2;
    };
  }
  const setCursorEvent = (e) => {
    cursor.event = e;
  };
  cursor.idxs = activeIdxs;
  cursor._lock = false;
  let points2 = cursor.points;
  points2.show = fnOrSelf(points2.show);
  points2.size = fnOrSelf(points2.size);
  points2.stroke = fnOrSelf(points2.stroke);
  points2.width = fnOrSelf(points2.width);
  points2.fill = fnOrSelf(points2.fill);
  const focus = self.focus = assign({}, opts.focus || { alpha: 0.3 }, cursor.focus);
  const cursorFocus = focus.prox >= 0;
  const cursorOnePt = cursorFocus && points2.one;
  let cursorPts = [];
  let cursorPtsLft = [];
  let cursorPtsTop = [];
  function initCursorPt(s, si) {
    let pt = points2.show(self, si);
    if (pt instanceof HTMLElement) {
      addClass(pt, CURSOR_PT);
      addClass(pt, s.class);
      elTrans(pt, -10, -10, plotWidCss, plotHgtCss);
      over.insertBefore(pt, cursorPts[si]);
      return pt;
    }
  }
  function initSeries(s, i) {
    if (mode == 1 || i > 0) {
      let isTime = mode == 1 && scales[s.scale].time;
      let sv = s.value;
      s.value = isTime ? isStr(sv) ? timeSeriesVal(_tzDate, timeSeriesStamp(sv, _fmtDate)) : sv || _timeSeriesVal : sv || numSeriesVal;
      s.label = s.label || (isTime ? timeSeriesLabel : numSeriesLabel);
    }
    if (cursorOnePt || i > 0) {
      s.width = s.width == null ? 1 : s.width;
      s.paths = s.paths || linearPath || retNull;
      s.fillTo = fnOrSelf(s.fillTo || seriesFillTo);
      s.pxAlign = +ifNull(s.pxAlign, pxAlign);
      s.pxRound = pxRoundGen(s.pxAlign);
      s.stroke = fnOrSelf(s.stroke || null);
      s.fill = fnOrSelf(s.fill || null);
      s._stroke = s._fill = s._paths = s._focus = null;
      let _ptDia = ptDia(max(1, s.width), 1);
      let points3 = s.points = assign({}, {
        size: _ptDia,
        width: max(1, _ptDia * 0.2),
        stroke: s.stroke,
        space: _ptDia * 2,
        paths: pointsPath,
        _stroke: null,
        _fill: null
      }, s.points);
      points3.show = fnOrSelf(points3.show);
      points3.filter = fnOrSelf(points3.filter);
      points3.fill = fnOrSelf(points3.fill);
      points3.stroke = fnOrSelf(points3.stroke);
      points3.paths = fnOrSelf(points3.paths);
      points3.pxAlign = s.pxAlign;
    }
    if (showLegend) {
      let rowCells = initLegendRow(s, i);
      legendRows.splice(i, 0, rowCells[0]);
      legendCells.splice(i, 0, rowCells[1]);
      legend.values.push(null);
    }
    if (showCursor) {
      activeIdxs.splice(i, 0, null);
      let pt = null;
      if (cursorOnePt) {
        if (i == 0)
          pt = initCursorPt(s, i);
      } else if (i > 0)
        pt = initCursorPt(s, i);
      cursorPts.splice(i, 0, pt);
      cursorPtsLft.splice(i, 0, 0);
      cursorPtsTop.splice(i, 0, 0);
    }
    fire("addSeries", i);
  }
  function addSeries(opts2, si) {
    si = si == null ? series.length : si;
    opts2 = mode == 1 ? setDefault(opts2, si, xSeriesOpts, ySeriesOpts) : setDefault(opts2, si, {}, xySeriesOpts);
    series.splice(si, 0, opts2);
    initSeries(series[si], si);
  }
  self.addSeries = addSeries;
  function delSeries(i) {
    series.splice(i, 1);
    if (showLegend) {
      legend.values.splice(i, 1);
      legendCells.splice(i, 1);
      let tr = legendRows.splice(i, 1)[0];
      offMouse(null, tr.firstChild);
      tr.remove();
    }
    if (showCursor) {
      activeIdxs.splice(i, 1);
      cursorPts.splice(i, 1)[0].remove();
      cursorPtsLft.splice(i, 1);
      cursorPtsTop.splice(i, 1);
    }
    fire("delSeries", i);
  }
  self.delSeries = delSeries;
  const sidesWithAxes = [false, false, false, false];
  function initAxis(axis, i) {
    axis._show = axis.show;
    if (axis.show) {
      let isVt = axis.side % 2;
      let sc = scales[axis.scale];
      if (sc == null) {
        axis.scale = isVt ? series[1].scale : xScaleKey;
        sc = scales[axis.scale];
      }
      let isTime = sc.time;
      axis.size = fnOrSelf(axis.size);
      axis.space = fnOrSelf(axis.space);
      axis.rotate = fnOrSelf(axis.rotate);
      if (isArr(axis.incrs)) {
        axis.incrs.forEach((incr) => {
          !fixedDec.has(incr) && fixedDec.set(incr, guessDec(incr));
        });
      }
      axis.incrs = fnOrSelf(axis.incrs || (sc.distr == 2 ? wholeIncrs : isTime ? ms == 1 ? timeIncrsMs : timeIncrsS : numIncrs));
      axis.splits = fnOrSelf(axis.splits || (isTime && sc.distr == 1 ? _timeAxisSplits : sc.distr == 3 ? logAxisSplits : sc.distr == 4 ? asinhAxisSplits : numAxisSplits));
      axis.stroke = fnOrSelf(axis.stroke);
      axis.grid.stroke = fnOrSelf(axis.grid.stroke);
      axis.ticks.stroke = fnOrSelf(axis.ticks.stroke);
      axis.border.stroke = fnOrSelf(axis.border.stroke);
      let av = axis.values;
      axis.values = // static array of tick values
      isArr(av) && !isArr(av[0]) ? fnOrSelf(av) : (
        // temporal
        isTime ? (
          // config array of fmtDate string tpls
          isArr(av) ? timeAxisVals(_tzDate, timeAxisStamps(av, _fmtDate)) : (
            // fmtDate string tpl
            isStr(av) ? timeAxisVal(_tzDate, av) : av || _timeAxisVals
          )
        ) : av || numAxisVals
      );
      axis.filter = fnOrSelf(axis.filter || (sc.distr >= 3 && sc.log == 10 ? log10AxisValsFilt : sc.distr == 3 && sc.log == 2 ? log2AxisValsFilt : retArg1));
      axis.font = pxRatioFont(axis.font);
      axis.labelFont = pxRatioFont(axis.labelFont);
      axis._size = axis.size(self, null, i, 0);
      axis._space = axis._rotate = axis._incrs = axis._found = // foundIncrSpace
      axis._splits = axis._values = null;
      if (axis._size > 0) {
        sidesWithAxes[i] = true;
        axis._el = placeDiv(AXIS, wrap);
      }
    }
  }
  function autoPadSide(self2, side, sidesWithAxes2, cycleNum) {
    let [hasTopAxis, hasRgtAxis, hasBtmAxis, hasLftAxis] = sidesWithAxes2;
    let ori = side % 2;
    let size = 0;
    if (ori == 0 && (hasLftAxis || hasRgtAxis))
      size = side == 0 && !hasTopAxis || side == 2 && !hasBtmAxis ? round(xAxisOpts.size / 3) : 0;
    if (ori == 1 && (hasTopAxis || hasBtmAxis))
      size = side == 1 && !hasRgtAxis || side == 3 && !hasLftAxis ? round(yAxisOpts.size / 2) : 0;
    return size;
  }
  const padding = self.padding = (opts.padding || [autoPadSide, autoPadSide, autoPadSide, autoPadSide]).map((p) => fnOrSelf(ifNull(p, autoPadSide)));
  const _padding = self._padding = padding.map((p, i) => p(self, i, sidesWithAxes, 0));
  let dataLen;
  let i0 = null;
  let i1 = null;
  const idxs = mode == 1 ? series[0].idxs : null;
  let data0 = null;
  let viaAutoScaleX = false;
  function setData(_data, _resetScales) {
    data = _data == null ? [] : _data;
    self.data = self._data = data;
    if (mode == 2) {
      dataLen = 0;
      for (let i = 1; i < series.length; i++)
        dataLen += data[i][0].length;
    } else {
      if (data.length == 0)
        self.data = self._data = data = [[]];
      data0 = data[0];
      dataLen = data0.length;
      let scaleData = data;
      if (xScaleDistr == 2) {
        scaleData = data.slice();
        let _data0 = scaleData[0] = Array(dataLen);
        for (let i = 0; i < dataLen; i++)
          _data0[i] = i;
      }
      self._data = data = scaleData;
    }
    resetYSeries(true);
    fire("setData");
    if (xScaleDistr == 2) {
      shouldConvergeSize = true;
    }
    if (_resetScales !== false) {
      let xsc = scaleX;
      if (xsc.auto(self, viaAutoScaleX))
        autoScaleX();
      else
        _setScale(xScaleKey, xsc.min, xsc.max);
      shouldSetCursor = shouldSetCursor || cursor.left >= 0;
      shouldSetLegend = true;
      commit();
    }
  }
  self.setData = setData;
  function autoScaleX() {
    viaAutoScaleX = true;
    let _min, _max;
    if (mode == 1) {
      if (dataLen > 0) {
        i0 = idxs[0] = 0;
        i1 = idxs[1] = dataLen - 1;
        _min = data[0][i0];
        _max = data[0][i1];
        if (xScaleDistr == 2) {
          _min = i0;
          _max = i1;
        } else if (_min == _max) {
          if (xScaleDistr == 3)
            [_min, _max] = rangeLog(_min, _min, scaleX.log, false);
          else if (xScaleDistr == 4)
            [_min, _max] = rangeAsinh(_min, _min, scaleX.log, false);
          else if (scaleX.time)
            _max = _min + round(86400 / ms);
          else
            [_min, _max] = rangeNum(_min, _max, rangePad, true);
        }
      } else {
        i0 = idxs[0] = _min = null;
        i1 = idxs[1] = _max = null;
      }
    }
    _setScale(xScaleKey, _min, _max);
  }
  let ctxStroke, ctxFill, ctxWidth, ctxDash, ctxJoin, ctxCap, ctxFont, ctxAlign, ctxBaseline;
  let ctxAlpha;
  function setCtxStyle(stroke, width, dash, cap, fill, join2) {
    stroke ?? (stroke = transparent);
    dash ?? (dash = EMPTY_ARR);
    cap ?? (cap = "butt");
    fill ?? (fill = transparent);
    join2 ?? (join2 = "round");
    if (stroke != ctxStroke)
      ctx.strokeStyle = ctxStroke = stroke;
    if (fill != ctxFill)
      ctx.fillStyle = ctxFill = fill;
    if (width != ctxWidth)
      ctx.lineWidth = ctxWidth = width;
    if (join2 != ctxJoin)
      ctx.lineJoin = ctxJoin = join2;
    if (cap != ctxCap)
      ctx.lineCap = ctxCap = cap;
    if (dash != ctxDash)
      ctx.setLineDash(ctxDash = dash);
  }
  function setFontStyle(font2, fill, align, baseline) {
    if (fill != ctxFill)
      ctx.fillStyle = ctxFill = fill;
    if (font2 != ctxFont)
      ctx.font = ctxFont = font2;
    if (align != ctxAlign)
      ctx.textAlign = ctxAlign = align;
    if (baseline != ctxBaseline)
      ctx.textBaseline = ctxBaseline = baseline;
  }
  function accScale(wsc, psc, facet2, data2, sorted = 0) {
    if (data2.length > 0 && wsc.auto(self, viaAutoScaleX) && (psc == null || psc.min == null)) {
      let _i0 = ifNull(i0, 0);
      let _i1 = ifNull(i1, data2.length - 1);
      let minMax = facet2.min == null ? getMinMax(data2, _i0, _i1, sorted, wsc.distr == 3) : [facet2.min, facet2.max];
      wsc.min = min(wsc.min, facet2.min = minMax[0]);
      wsc.max = max(wsc.max, facet2.max = minMax[1]);
    }
  }
  const AUTOSCALE = { min: null, max: null };
  function setScales() {
    for (let k in scales) {
      let sc = scales[k];
      if (pendScales[k] == null && // scales that have never been set (on init)
      (sc.min == null || // or auto scales when the x scale was explicitly set
      pendScales[xScaleKey] != null && sc.auto(self, viaAutoScaleX))) {
        pendScales[k] = AUTOSCALE;
      }
    }
    for (let k in scales) {
      let sc = scales[k];
      if (pendScales[k] == null && sc.from != null && pendScales[sc.from] != null)
        pendScales[k] = AUTOSCALE;
    }
    if (pendScales[xScaleKey] != null)
      resetYSeries(true);
    let wipScales = {};
    for (let k in pendScales) {
      let psc = pendScales[k];
      if (psc != null) {
        let wsc = wipScales[k] = copy(scales[k], fastIsObj);
        if (psc.min != null)
          assign(wsc, psc);
        else if (k != xScaleKey || mode == 2) {
          if (dataLen == 0 && wsc.from == null) {
            let minMax = wsc.range(self, null, null, k);
            wsc.min = minMax[0];
            wsc.max = minMax[1];
          } else {
            wsc.min = inf;
            wsc.max = -inf;
          }
        }
      }
    }
    if (dataLen > 0) {
      series.forEach((s, i) => {
        if (mode == 1) {
          let k = s.scale;
          let psc = pendScales[k];
          if (psc == null)
            return;
          let wsc = wipScales[k];
          if (i == 0) {
            let minMax = wsc.range(self, wsc.min, wsc.max, k);
            wsc.min = minMax[0];
            wsc.max = minMax[1];
            i0 = closestIdx(wsc.min, data[0]);
            i1 = closestIdx(wsc.max, data[0]);
            if (i1 - i0 > 1) {
              if (data[0][i0] < wsc.min)
                i0++;
              if (data[0][i1] > wsc.max)
                i1--;
            }
            s.min = data0[i0];
            s.max = data0[i1];
          } else if (s.show && s.auto)
            accScale(wsc, psc, s, data[i], s.sorted);
          s.idxs[0] = i0;
          s.idxs[1] = i1;
        } else {
          if (i > 0) {
            if (s.show && s.auto) {
              let [xFacet, yFacet] = s.facets;
              let xScaleKey2 = xFacet.scale;
              let yScaleKey = yFacet.scale;
              let [xData, yData] = data[i];
              let wscx = wipScales[xScaleKey2];
              let wscy = wipScales[yScaleKey];
              wscx != null && accScale(wscx, pendScales[xScaleKey2], xFacet, xData, xFacet.sorted);
              wscy != null && accScale(wscy, pendScales[yScaleKey], yFacet, yData, yFacet.sorted);
              s.min = yFacet.min;
              s.max = yFacet.max;
            }
          }
        }
      });
      for (let k in wipScales) {
        let wsc = wipScales[k];
        let psc = pendScales[k];
        if (wsc.from == null && (psc == null || psc.min == null)) {
          let minMax = wsc.range(
            self,
            wsc.min == inf ? null : wsc.min,
            wsc.max == -inf ? null : wsc.max,
            k
          );
          wsc.min = minMax[0];
          wsc.max = minMax[1];
        }
      }
    }
    for (let k in wipScales) {
      let wsc = wipScales[k];
      if (wsc.from != null) {
        let base = wipScales[wsc.from];
        if (base.min == null)
          wsc.min = wsc.max = null;
        else {
          let minMax = wsc.range(self, base.min, base.max, k);
          wsc.min = minMax[0];
          wsc.max = minMax[1];
        }
      }
    }
    let changed = {};
    let anyChanged = false;
    for (let k in wipScales) {
      let wsc = wipScales[k];
      let sc = scales[k];
      if (sc.min != wsc.min || sc.max != wsc.max) {
        sc.min = wsc.min;
        sc.max = wsc.max;
        let distr = sc.distr;
        sc._min = distr == 3 ? log10(sc.min) : distr == 4 ? asinh(sc.min, sc.asinh) : distr == 100 ? sc.fwd(sc.min) : sc.min;
        sc._max = distr == 3 ? log10(sc.max) : distr == 4 ? asinh(sc.max, sc.asinh) : distr == 100 ? sc.fwd(sc.max) : sc.max;
        changed[k] = anyChanged = true;
      }
    }
    if (anyChanged) {
      series.forEach((s, i) => {
        if (mode == 2) {
          if (i > 0 && changed.y)
            s._paths = null;
        } else {
          if (changed[s.scale])
            s._paths = null;
        }
      });
      for (let k in changed) {
        shouldConvergeSize = true;
        fire("setScale", k);
      }
      if (showCursor && cursor.left >= 0)
        shouldSetCursor = shouldSetLegend = true;
    }
    for (let k in pendScales)
      pendScales[k] = null;
  }
  function getOuterIdxs(ydata) {
    let _i0 = clamp(i0 - 1, 0, dataLen - 1);
    let _i1 = clamp(i1 + 1, 0, dataLen - 1);
    while (ydata[_i0] == null && _i0 > 0)
      _i0--;
    while (ydata[_i1] == null && _i1 < dataLen - 1)
      _i1++;
    return [_i0, _i1];
  }
  function drawSeries() {
    if (dataLen > 0) {
      let shouldAlpha = series.some((s) => s._focus) && ctxAlpha != focus.alpha;
      if (shouldAlpha)
        ctx.globalAlpha = ctxAlpha = focus.alpha;
      series.forEach((s, i) => {
        if (i > 0 && s.show) {
          cacheStrokeFill(i, false);
          cacheStrokeFill(i, true);
          if (s._paths == null) {
            let _ctxAlpha = ctxAlpha;
            if (ctxAlpha != s.alpha)
              ctx.globalAlpha = ctxAlpha = s.alpha;
            let _idxs = mode == 2 ? [0, data[i][0].length - 1] : getOuterIdxs(data[i]);
            s._paths = s.paths(self, i, _idxs[0], _idxs[1]);
            if (ctxAlpha != _ctxAlpha)
              ctx.globalAlpha = ctxAlpha = _ctxAlpha;
          }
        }
      });
      series.forEach((s, i) => {
        if (i > 0 && s.show) {
          let _ctxAlpha = ctxAlpha;
          if (ctxAlpha != s.alpha)
            ctx.globalAlpha = ctxAlpha = s.alpha;
          s._paths != null && drawPath(i, false);
          {
            let _gaps = s._paths != null ? s._paths.gaps : null;
            let show = s.points.show(self, i, i0, i1, _gaps);
            let idxs2 = s.points.filter(self, i, show, _gaps);
            if (show || idxs2) {
              s.points._paths = s.points.paths(self, i, i0, i1, idxs2);
              drawPath(i, true);
            }
          }
          if (ctxAlpha != _ctxAlpha)
            ctx.globalAlpha = ctxAlpha = _ctxAlpha;
          fire("drawSeries", i);
        }
      });
      if (shouldAlpha)
        ctx.globalAlpha = ctxAlpha = 1;
    }
  }
  function cacheStrokeFill(si, _points) {
    let s = _points ? series[si].points : series[si];
    s._stroke = s.stroke(self, si);
    s._fill = s.fill(self, si);
  }
  function drawPath(si, _points) {
    let s = _points ? series[si].points : series[si];
    let {
      stroke,
      fill,
      clip: gapsClip,
      flags,
      _stroke: strokeStyle = s._stroke,
      _fill: fillStyle = s._fill,
      _width: width = s.width
    } = s._paths;
    width = roundDec(width * pxRatio, 3);
    let boundsClip = null;
    let offset = width % 2 / 2;
    if (_points && fillStyle == null)
      fillStyle = width > 0 ? "#fff" : strokeStyle;
    let _pxAlign = s.pxAlign == 1 && offset > 0;
    _pxAlign && ctx.translate(offset, offset);
    if (!_points) {
      let lft = plotLft - width / 2, top = plotTop - width / 2, wid = plotWid + width, hgt = plotHgt + width;
      boundsClip = new Path2D();
      boundsClip.rect(lft, top, wid, hgt);
    }
    if (_points)
      strokeFill(strokeStyle, width, s.dash, s.cap, fillStyle, stroke, fill, flags, gapsClip);
    else
      fillStroke(si, strokeStyle, width, s.dash, s.cap, fillStyle, stroke, fill, flags, boundsClip, gapsClip);
    _pxAlign && ctx.translate(-offset, -offset);
  }
  function fillStroke(si, strokeStyle, lineWidth, lineDash, lineCap, fillStyle, strokePath, fillPath, flags, boundsClip, gapsClip) {
    let didStrokeFill = false;
    flags != 0 && bands.forEach((b, bi) => {
      if (b.series[0] == si) {
        let lowerEdge = series[b.series[1]];
        let lowerData = data[b.series[1]];
        let bandClip = (lowerEdge._paths || EMPTY_OBJ).band;
        if (isArr(bandClip))
          bandClip = b.dir == 1 ? bandClip[0] : bandClip[1];
        let gapsClip2;
        let _fillStyle = null;
        if (lowerEdge.show && bandClip && hasData(lowerData, i0, i1)) {
          _fillStyle = b.fill(self, bi) || fillStyle;
          gapsClip2 = lowerEdge._paths.clip;
        } else
          bandClip = null;
        strokeFill(strokeStyle, lineWidth, lineDash, lineCap, _fillStyle, strokePath, fillPath, flags, boundsClip, gapsClip, gapsClip2, bandClip);
        didStrokeFill = true;
      }
    });
    if (!didStrokeFill)
      strokeFill(strokeStyle, lineWidth, lineDash, lineCap, fillStyle, strokePath, fillPath, flags, boundsClip, gapsClip);
  }
  const CLIP_FILL_STROKE = BAND_CLIP_FILL | BAND_CLIP_STROKE;
  function strokeFill(strokeStyle, lineWidth, lineDash, lineCap, fillStyle, strokePath, fillPath, flags, boundsClip, gapsClip, gapsClip2, bandClip) {
    setCtxStyle(strokeStyle, lineWidth, lineDash, lineCap, fillStyle);
    if (boundsClip || gapsClip || bandClip) {
      ctx.save();
      boundsClip && ctx.clip(boundsClip);
      gapsClip && ctx.clip(gapsClip);
    }
    if (bandClip) {
      if ((flags & CLIP_FILL_STROKE) == CLIP_FILL_STROKE) {
        ctx.clip(bandClip);
        gapsClip2 && ctx.clip(gapsClip2);
        doFill(fillStyle, fillPath);
        doStroke(strokeStyle, strokePath, lineWidth);
      } else if (flags & BAND_CLIP_STROKE) {
        doFill(fillStyle, fillPath);
        ctx.clip(bandClip);
        doStroke(strokeStyle, strokePath, lineWidth);
      } else if (flags & BAND_CLIP_FILL) {
        ctx.save();
        ctx.clip(bandClip);
        gapsClip2 && ctx.clip(gapsClip2);
        doFill(fillStyle, fillPath);
        ctx.restore();
        doStroke(strokeStyle, strokePath, lineWidth);
      }
    } else {
      doFill(fillStyle, fillPath);
      doStroke(strokeStyle, strokePath, lineWidth);
    }
    if (boundsClip || gapsClip || bandClip)
      ctx.restore();
  }
  function doStroke(strokeStyle, strokePath, lineWidth) {
    if (lineWidth > 0) {
      if (strokePath instanceof Map) {
        strokePath.forEach((strokePath2, strokeStyle2) => {
          ctx.strokeStyle = ctxStroke = strokeStyle2;
          ctx.stroke(strokePath2);
        });
      } else
        strokePath != null && strokeStyle && ctx.stroke(strokePath);
    }
  }
  function doFill(fillStyle, fillPath) {
    if (fillPath instanceof Map) {
      fillPath.forEach((fillPath2, fillStyle2) => {
        ctx.fillStyle = ctxFill = fillStyle2;
        ctx.fill(fillPath2);
      });
    } else
      fillPath != null && fillStyle && ctx.fill(fillPath);
  }
  function getIncrSpace(axisIdx, min2, max2, fullDim) {
    let axis = axes[axisIdx];
    let incrSpace;
    if (fullDim <= 0)
      incrSpace = [0, 0];
    else {
      let minSpace = axis._space = axis.space(self, axisIdx, min2, max2, fullDim);
      let incrs = axis._incrs = axis.incrs(self, axisIdx, min2, max2, fullDim, minSpace);
      incrSpace = findIncr(min2, max2, incrs, fullDim, minSpace);
    }
    return axis._found = incrSpace;
  }
  function drawOrthoLines(offs, filts, ori, side, pos0, len, width, stroke, dash, cap) {
    let offset = width % 2 / 2;
    pxAlign == 1 && ctx.translate(offset, offset);
    setCtxStyle(stroke, width, dash, cap, stroke);
    ctx.beginPath();
    let x0, y0, x1, y1, pos1 = pos0 + (side == 0 || side == 3 ? -len : len);
    if (ori == 0) {
      y0 = pos0;
      y1 = pos1;
    } else {
      x0 = pos0;
      x1 = pos1;
    }
    for (let i = 0; i < offs.length; i++) {
      if (filts[i] != null) {
        if (ori == 0)
          x0 = x1 = offs[i];
        else
          y0 = y1 = offs[i];
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
      }
    }
    ctx.stroke();
    pxAlign == 1 && ctx.translate(-offset, -offset);
  }
  function axesCalc(cycleNum) {
    let converged = true;
    axes.forEach((axis, i) => {
      if (!axis.show)
        return;
      let scale = scales[axis.scale];
      if (scale.min == null) {
        if (axis._show) {
          converged = false;
          axis._show = false;
          resetYSeries(false);
        }
        return;
      } else {
        if (!axis._show) {
          converged = false;
          axis._show = true;
          resetYSeries(false);
        }
      }
      let side = axis.side;
      let ori = side % 2;
      let { min: min2, max: max2 } = scale;
      let [_incr, _space] = getIncrSpace(i, min2, max2, ori == 0 ? plotWidCss : plotHgtCss);
      if (_space == 0)
        return;
      let forceMin = scale.distr == 2;
      let _splits = axis._splits = axis.splits(self, i, min2, max2, _incr, _space, forceMin);
      let splits = scale.distr == 2 ? _splits.map((i2) => data0[i2]) : _splits;
      let incr = scale.distr == 2 ? data0[_splits[1]] - data0[_splits[0]] : _incr;
      let values = axis._values = axis.values(self, axis.filter(self, splits, i, _space, incr), i, _space, incr);
      axis._rotate = side == 2 ? axis.rotate(self, values, i, _space) : 0;
      let oldSize = axis._size;
      axis._size = ceil(axis.size(self, values, i, cycleNum));
      if (oldSize != null && axis._size != oldSize)
        converged = false;
    });
    return converged;
  }
  function paddingCalc(cycleNum) {
    let converged = true;
    padding.forEach((p, i) => {
      let _p = p(self, i, sidesWithAxes, cycleNum);
      if (_p != _padding[i])
        converged = false;
      _padding[i] = _p;
    });
    return converged;
  }
  function drawAxesGrid() {
    for (let i = 0; i < axes.length; i++) {
      let axis = axes[i];
      if (!axis.show || !axis._show)
        continue;
      let side = axis.side;
      let ori = side % 2;
      let x, y;
      let fillStyle = axis.stroke(self, i);
      let shiftDir = side == 0 || side == 3 ? -1 : 1;
      let [_incr, _space] = axis._found;
      if (axis.label != null) {
        let shiftAmt2 = axis.labelGap * shiftDir;
        let baseLpos = round((axis._lpos + shiftAmt2) * pxRatio);
        setFontStyle(axis.labelFont[0], fillStyle, "center", side == 2 ? TOP : BOTTOM);
        ctx.save();
        if (ori == 1) {
          x = y = 0;
          ctx.translate(
            baseLpos,
            round(plotTop + plotHgt / 2)
          );
          ctx.rotate((side == 3 ? -PI : PI) / 2);
        } else {
          x = round(plotLft + plotWid / 2);
          y = baseLpos;
        }
        let _label = isFn(axis.label) ? axis.label(self, i, _incr, _space) : axis.label;
        ctx.fillText(_label, x, y);
        ctx.restore();
      }
      if (_space == 0)
        continue;
      let scale = scales[axis.scale];
      let plotDim = ori == 0 ? plotWid : plotHgt;
      let plotOff = ori == 0 ? plotLft : plotTop;
      let _splits = axis._splits;
      let splits = scale.distr == 2 ? _splits.map((i2) => data0[i2]) : _splits;
      let incr = scale.distr == 2 ? data0[_splits[1]] - data0[_splits[0]] : _incr;
      let ticks2 = axis.ticks;
      let border2 = axis.border;
      let _tickSize = ticks2.show ? ticks2.size : 0;
      let tickSize = round(_tickSize * pxRatio);
      let axisGap = round((axis.alignTo == 2 ? axis._size - _tickSize - axis.gap : axis.gap) * pxRatio);
      let angle = axis._rotate * -PI / 180;
      let basePos = pxRound(axis._pos * pxRatio);
      let shiftAmt = (tickSize + axisGap) * shiftDir;
      let finalPos = basePos + shiftAmt;
      y = ori == 0 ? finalPos : 0;
      x = ori == 1 ? finalPos : 0;
      let font2 = axis.font[0];
      let textAlign = axis.align == 1 ? LEFT : axis.align == 2 ? RIGHT : angle > 0 ? LEFT : angle < 0 ? RIGHT : ori == 0 ? "center" : side == 3 ? RIGHT : LEFT;
      let textBaseline = angle || ori == 1 ? "middle" : side == 2 ? TOP : BOTTOM;
      setFontStyle(font2, fillStyle, textAlign, textBaseline);
      let lineHeight = axis.font[1] * axis.lineGap;
      let canOffs = _splits.map((val) => pxRound(getPos(val, scale, plotDim, plotOff)));
      let _values = axis._values;
      for (let i2 = 0; i2 < _values.length; i2++) {
        let val = _values[i2];
        if (val != null) {
          if (ori == 0)
            x = canOffs[i2];
          else
            y = canOffs[i2];
          val = "" + val;
          let _parts = val.indexOf("\n") == -1 ? [val] : val.split(/\n/gm);
          for (let j = 0; j < _parts.length; j++) {
            let text = _parts[j];
            if (angle) {
              ctx.save();
              ctx.translate(x, y + j * lineHeight);
              ctx.rotate(angle);
              ctx.fillText(text, 0, 0);
              ctx.restore();
            } else
              ctx.fillText(text, x, y + j * lineHeight);
          }
        }
      }
      if (ticks2.show) {
        drawOrthoLines(
          canOffs,
          ticks2.filter(self, splits, i, _space, incr),
          ori,
          side,
          basePos,
          tickSize,
          roundDec(ticks2.width * pxRatio, 3),
          ticks2.stroke(self, i),
          ticks2.dash,
          ticks2.cap
        );
      }
      let grid2 = axis.grid;
      if (grid2.show) {
        drawOrthoLines(
          canOffs,
          grid2.filter(self, splits, i, _space, incr),
          ori,
          ori == 0 ? 2 : 1,
          ori == 0 ? plotTop : plotLft,
          ori == 0 ? plotHgt : plotWid,
          roundDec(grid2.width * pxRatio, 3),
          grid2.stroke(self, i),
          grid2.dash,
          grid2.cap
        );
      }
      if (border2.show) {
        drawOrthoLines(
          [basePos],
          [1],
          ori == 0 ? 1 : 0,
          ori == 0 ? 1 : 2,
          ori == 1 ? plotTop : plotLft,
          ori == 1 ? plotHgt : plotWid,
          roundDec(border2.width * pxRatio, 3),
          border2.stroke(self, i),
          border2.dash,
          border2.cap
        );
      }
    }
    fire("drawAxes");
  }
  function resetYSeries(minMax) {
    series.forEach((s, i) => {
      if (i > 0) {
        s._paths = null;
        if (minMax) {
          if (mode == 1) {
            s.min = null;
            s.max = null;
          } else {
            s.facets.forEach((f) => {
              f.min = null;
              f.max = null;
            });
          }
        }
      }
    });
  }
  let queuedCommit = false;
  let deferHooks = false;
  let hooksQueue = [];
  function flushHooks() {
    deferHooks = false;
    for (let i = 0; i < hooksQueue.length; i++)
      fire(...hooksQueue[i]);
    hooksQueue.length = 0;
  }
  function commit() {
    if (!queuedCommit) {
      microTask(_commit);
      queuedCommit = true;
    }
  }
  function batch(fn, _deferHooks = false) {
    queuedCommit = true;
    deferHooks = _deferHooks;
    fn(self);
    _commit();
    if (_deferHooks && hooksQueue.length > 0)
      queueMicrotask(flushHooks);
  }
  self.batch = batch;
  function _commit() {
    if (shouldSetScales) {
      setScales();
      shouldSetScales = false;
    }
    if (shouldConvergeSize) {
      convergeSize();
      shouldConvergeSize = false;
    }
    if (shouldSetSize) {
      setStylePx(under, LEFT, plotLftCss);
      setStylePx(under, TOP, plotTopCss);
      setStylePx(under, WIDTH, plotWidCss);
      setStylePx(under, HEIGHT, plotHgtCss);
      setStylePx(over, LEFT, plotLftCss);
      setStylePx(over, TOP, plotTopCss);
      setStylePx(over, WIDTH, plotWidCss);
      setStylePx(over, HEIGHT, plotHgtCss);
      setStylePx(wrap, WIDTH, fullWidCss);
      setStylePx(wrap, HEIGHT, fullHgtCss);
      can.width = round(fullWidCss * pxRatio);
      can.height = round(fullHgtCss * pxRatio);
      axes.forEach(({ _el, _show, _size, _pos, side }) => {
        if (_el != null) {
          if (_show) {
            let posOffset = side === 3 || side === 0 ? _size : 0;
            let isVt = side % 2 == 1;
            setStylePx(_el, isVt ? "left" : "top", _pos - posOffset);
            setStylePx(_el, isVt ? "width" : "height", _size);
            setStylePx(_el, isVt ? "top" : "left", isVt ? plotTopCss : plotLftCss);
            setStylePx(_el, isVt ? "height" : "width", isVt ? plotHgtCss : plotWidCss);
            remClass(_el, OFF);
          } else
            addClass(_el, OFF);
        }
      });
      ctxStroke = ctxFill = ctxWidth = ctxJoin = ctxCap = ctxFont = ctxAlign = ctxBaseline = ctxDash = null;
      ctxAlpha = 1;
      syncRect(true);
      if (plotLftCss != _plotLftCss || plotTopCss != _plotTopCss || plotWidCss != _plotWidCss || plotHgtCss != _plotHgtCss) {
        resetYSeries(false);
        let pctWid = plotWidCss / _plotWidCss;
        let pctHgt = plotHgtCss / _plotHgtCss;
        if (showCursor && !shouldSetCursor && cursor.left >= 0) {
          cursor.left *= pctWid;
          cursor.top *= pctHgt;
          vCursor && elTrans(vCursor, round(cursor.left), 0, plotWidCss, plotHgtCss);
          hCursor && elTrans(hCursor, 0, round(cursor.top), plotWidCss, plotHgtCss);
          for (let i = 0; i < cursorPts.length; i++) {
            let pt = cursorPts[i];
            if (pt != null) {
              cursorPtsLft[i] *= pctWid;
              cursorPtsTop[i] *= pctHgt;
              elTrans(pt, ceil(cursorPtsLft[i]), ceil(cursorPtsTop[i]), plotWidCss, plotHgtCss);
            }
          }
        }
        if (select.show && !shouldSetSelect && select.left >= 0 && select.width > 0) {
          select.left *= pctWid;
          select.width *= pctWid;
          select.top *= pctHgt;
          select.height *= pctHgt;
          for (let prop in _hideProps)
            setStylePx(selectDiv, prop, select[prop]);
        }
        _plotLftCss = plotLftCss;
        _plotTopCss = plotTopCss;
        _plotWidCss = plotWidCss;
        _plotHgtCss = plotHgtCss;
      }
      fire("setSize");
      shouldSetSize = false;
    }
    if (fullWidCss > 0 && fullHgtCss > 0) {
      ctx.clearRect(0, 0, can.width, can.height);
      fire("drawClear");
      drawOrder.forEach((fn) => fn());
      fire("draw");
    }
    if (select.show && shouldSetSelect) {
      setSelect(select);
      shouldSetSelect = false;
    }
    if (showCursor && shouldSetCursor) {
      updateCursor(null, true, false);
      shouldSetCursor = false;
    }
    if (legend.show && legend.live && shouldSetLegend) {
      setLegend();
      shouldSetLegend = false;
    }
    if (!ready) {
      ready = true;
      self.status = 1;
      fire("ready");
    }
    viaAutoScaleX = false;
    queuedCommit = false;
  }
  self.redraw = (rebuildPaths, recalcAxes) => {
    shouldConvergeSize = recalcAxes || false;
    if (rebuildPaths !== false)
      _setScale(xScaleKey, scaleX.min, scaleX.max);
    else
      commit();
  };
  function setScale(key2, opts2) {
    let sc = scales[key2];
    if (sc.from == null) {
      if (dataLen == 0) {
        let minMax = sc.range(self, opts2.min, opts2.max, key2);
        opts2.min = minMax[0];
        opts2.max = minMax[1];
      }
      if (opts2.min > opts2.max) {
        let _min = opts2.min;
        opts2.min = opts2.max;
        opts2.max = _min;
      }
      if (dataLen > 1 && opts2.min != null && opts2.max != null && opts2.max - opts2.min < 1e-16)
        return;
      if (key2 == xScaleKey) {
        if (sc.distr == 2 && dataLen > 0) {
          opts2.min = closestIdx(opts2.min, data[0]);
          opts2.max = closestIdx(opts2.max, data[0]);
          if (opts2.min == opts2.max)
            opts2.max++;
        }
      }
      pendScales[key2] = opts2;
      shouldSetScales = true;
      commit();
    }
  }
  self.setScale = setScale;
  let xCursor;
  let yCursor;
  let vCursor;
  let hCursor;
  let rawMouseLeft0;
  let rawMouseTop0;
  let mouseLeft0;
  let mouseTop0;
  let rawMouseLeft1;
  let rawMouseTop1;
  let mouseLeft1;
  let mouseTop1;
  let dragging = false;
  const drag = cursor.drag;
  let dragX = drag.x;
  let dragY = drag.y;
  if (showCursor) {
    if (cursor.x)
      xCursor = placeDiv(CURSOR_X, over);
    if (cursor.y)
      yCursor = placeDiv(CURSOR_Y, over);
    if (scaleX.ori == 0) {
      vCursor = xCursor;
      hCursor = yCursor;
    } else {
      vCursor = yCursor;
      hCursor = xCursor;
    }
    mouseLeft1 = cursor.left;
    mouseTop1 = cursor.top;
  }
  const select = self.select = assign({
    show: true,
    over: true,
    left: 0,
    width: 0,
    top: 0,
    height: 0
  }, opts.select);
  const selectDiv = select.show ? placeDiv(SELECT, select.over ? over : under) : null;
  function setSelect(opts2, _fire) {
    if (select.show) {
      for (let prop in opts2) {
        select[prop] = opts2[prop];
        if (prop in _hideProps)
          setStylePx(selectDiv, prop, opts2[prop]);
      }
      _fire !== false && fire("setSelect");
    }
  }
  self.setSelect = setSelect;
  function toggleDOM(i) {
    let s = series[i];
    if (s.show)
      showLegend && remClass(legendRows[i], OFF);
    else {
      showLegend && addClass(legendRows[i], OFF);
      if (showCursor) {
        let pt = cursorOnePt ? cursorPts[0] : cursorPts[i];
        pt != null && elTrans(pt, -10, -10, plotWidCss, plotHgtCss);
      }
    }
  }
  function _setScale(key2, min2, max2) {
    setScale(key2, { min: min2, max: max2 });
  }
  function setSeries(i, opts2, _fire, _pub) {
    if (opts2.focus != null)
      setFocus(i);
    if (opts2.show != null) {
      series.forEach((s, si) => {
        if (si > 0 && (i == si || i == null)) {
          s.show = opts2.show;
          toggleDOM(si);
          if (mode == 2) {
            _setScale(s.facets[0].scale, null, null);
            _setScale(s.facets[1].scale, null, null);
          } else
            _setScale(s.scale, null, null);
          commit();
        }
      });
    }
    _fire !== false && fire("setSeries", i, opts2);
    _pub && pubSync("setSeries", self, i, opts2);
  }
  self.setSeries = setSeries;
  function setBand(bi, opts2) {
    assign(bands[bi], opts2);
  }
  function addBand(opts2, bi) {
    opts2.fill = fnOrSelf(opts2.fill || null);
    opts2.dir = ifNull(opts2.dir, -1);
    bi = bi == null ? bands.length : bi;
    bands.splice(bi, 0, opts2);
  }
  function delBand(bi) {
    if (bi == null)
      bands.length = 0;
    else
      bands.splice(bi, 1);
  }
  self.addBand = addBand;
  self.setBand = setBand;
  self.delBand = delBand;
  function setAlpha(i, value) {
    series[i].alpha = value;
    if (showCursor && cursorPts[i] != null)
      cursorPts[i].style.opacity = value;
    if (showLegend && legendRows[i])
      legendRows[i].style.opacity = value;
  }
  let closestDist;
  let closestSeries;
  let focusedSeries;
  const FOCUS_TRUE = { focus: true };
  function setFocus(i) {
    if (i != focusedSeries) {
      let allFocused = i == null;
      let _setAlpha = focus.alpha != 1;
      series.forEach((s, i2) => {
        if (mode == 1 || i2 > 0) {
          let isFocused = allFocused || i2 == 0 || i2 == i;
          s._focus = allFocused ? null : isFocused;
          _setAlpha && setAlpha(i2, isFocused ? 1 : focus.alpha);
        }
      });
      focusedSeries = i;
      _setAlpha && commit();
    }
  }
  if (showLegend && cursorFocus) {
    onMouse(mouseleave, legendTable, (e) => {
      if (cursor._lock)
        return;
      setCursorEvent(e);
      if (focusedSeries != null)
        setSeries(null, FOCUS_TRUE, true, syncOpts.setSeries);
    });
  }
  function posToVal(pos, scale, can2) {
    let sc = scales[scale];
    if (can2)
      pos = pos / pxRatio - (sc.ori == 1 ? plotTopCss : plotLftCss);
    let dim = plotWidCss;
    if (sc.ori == 1) {
      dim = plotHgtCss;
      pos = dim - pos;
    }
    if (sc.dir == -1)
      pos = dim - pos;
    let _min = sc._min, _max = sc._max, pct = pos / dim;
    let sv = _min + (_max - _min) * pct;
    let distr = sc.distr;
    return distr == 3 ? pow(10, sv) : distr == 4 ? sinh(sv, sc.asinh) : distr == 100 ? sc.bwd(sv) : sv;
  }
  function closestIdxFromXpos(pos, can2) {
    let v = posToVal(pos, xScaleKey, can2);
    return closestIdx(v, data[0], i0, i1);
  }
  self.valToIdx = (val) => closestIdx(val, data[0]);
  self.posToIdx = closestIdxFromXpos;
  self.posToVal = posToVal;
  self.valToPos = (val, scale, can2) => scales[scale].ori == 0 ? getHPos(
    val,
    scales[scale],
    can2 ? plotWid : plotWidCss,
    can2 ? plotLft : 0
  ) : getVPos(
    val,
    scales[scale],
    can2 ? plotHgt : plotHgtCss,
    can2 ? plotTop : 0
  );
  self.setCursor = (opts2, _fire, _pub) => {
    mouseLeft1 = opts2.left;
    mouseTop1 = opts2.top;
    updateCursor(null, _fire, _pub);
  };
  function setSelH(off2, dim) {
    setStylePx(selectDiv, LEFT, select.left = off2);
    setStylePx(selectDiv, WIDTH, select.width = dim);
  }
  function setSelV(off2, dim) {
    setStylePx(selectDiv, TOP, select.top = off2);
    setStylePx(selectDiv, HEIGHT, select.height = dim);
  }
  let setSelX = scaleX.ori == 0 ? setSelH : setSelV;
  let setSelY = scaleX.ori == 1 ? setSelH : setSelV;
  function syncLegend() {
    if (showLegend && legend.live) {
      for (let i = mode == 2 ? 1 : 0; i < series.length; i++) {
        if (i == 0 && multiValLegend)
          continue;
        let vals = legend.values[i];
        let j = 0;
        for (let k in vals)
          legendCells[i][j++].firstChild.nodeValue = vals[k];
      }
    }
  }
  function setLegend(opts2, _fire) {
    if (opts2 != null) {
      if (opts2.idxs) {
        opts2.idxs.forEach((didx, sidx) => {
          activeIdxs[sidx] = didx;
        });
      } else if (!isUndef(opts2.idx))
        activeIdxs.fill(opts2.idx);
      legend.idx = activeIdxs[0];
    }
    if (showLegend && legend.live) {
      for (let sidx = 0; sidx < series.length; sidx++) {
        if (sidx > 0 || mode == 1 && !multiValLegend)
          setLegendValues(sidx, activeIdxs[sidx]);
      }
      syncLegend();
    }
    shouldSetLegend = false;
    _fire !== false && fire("setLegend");
  }
  self.setLegend = setLegend;
  function setLegendValues(sidx, idx) {
    let s = series[sidx];
    let src = sidx == 0 && xScaleDistr == 2 ? data0 : data[sidx];
    let val;
    if (multiValLegend)
      val = s.values(self, sidx, idx) ?? NULL_LEGEND_VALUES;
    else {
      val = s.value(self, idx == null ? null : src[idx], sidx, idx);
      val = val == null ? NULL_LEGEND_VALUES : { _: val };
    }
    legend.values[sidx] = val;
  }
  function updateCursor(src, _fire, _pub) {
    rawMouseLeft1 = mouseLeft1;
    rawMouseTop1 = mouseTop1;
    [mouseLeft1, mouseTop1] = cursor.move(self, mouseLeft1, mouseTop1);
    cursor.left = mouseLeft1;
    cursor.top = mouseTop1;
    if (showCursor) {
      vCursor && elTrans(vCursor, round(mouseLeft1), 0, plotWidCss, plotHgtCss);
      hCursor && elTrans(hCursor, 0, round(mouseTop1), plotWidCss, plotHgtCss);
    }
    let idx;
    let noDataInRange = i0 > i1;
    closestDist = inf;
    closestSeries = null;
    let xDim = scaleX.ori == 0 ? plotWidCss : plotHgtCss;
    let yDim = scaleX.ori == 1 ? plotWidCss : plotHgtCss;
    if (mouseLeft1 < 0 || dataLen == 0 || noDataInRange) {
      idx = cursor.idx = null;
      for (let i = 0; i < series.length; i++) {
        let pt = cursorPts[i];
        pt != null && elTrans(pt, -10, -10, plotWidCss, plotHgtCss);
      }
      if (cursorFocus)
        setSeries(null, FOCUS_TRUE, true, src == null && syncOpts.setSeries);
      if (legend.live) {
        activeIdxs.fill(idx);
        shouldSetLegend = true;
      }
    } else {
      let mouseXPos, valAtPosX, xPos;
      if (mode == 1) {
        mouseXPos = scaleX.ori == 0 ? mouseLeft1 : mouseTop1;
        valAtPosX = posToVal(mouseXPos, xScaleKey);
        idx = cursor.idx = closestIdx(valAtPosX, data[0], i0, i1);
        xPos = valToPosX(data[0][idx], scaleX, xDim, 0);
      }
      let _ptLft = -10;
      let _ptTop = -10;
      let _ptWid = 0;
      let _ptHgt = 0;
      let _centered = true;
      let _ptFill = "";
      let _ptStroke = "";
      for (let i = mode == 2 ? 1 : 0; i < series.length; i++) {
        let s = series[i];
        let idx1 = activeIdxs[i];
        let yVal1 = idx1 == null ? null : mode == 1 ? data[i][idx1] : data[i][1][idx1];
        let idx2 = cursor.dataIdx(self, i, idx, valAtPosX);
        let yVal2 = idx2 == null ? null : mode == 1 ? data[i][idx2] : data[i][1][idx2];
        shouldSetLegend = shouldSetLegend || yVal2 != yVal1 || idx2 != idx1;
        activeIdxs[i] = idx2;
        if (i > 0 && s.show) {
          let xPos2 = idx2 == null ? -10 : idx2 == idx ? xPos : valToPosX(mode == 1 ? data[0][idx2] : data[i][0][idx2], scaleX, xDim, 0);
          let yPos = yVal2 == null ? -10 : valToPosY(yVal2, mode == 1 ? scales[s.scale] : scales[s.facets[1].scale], yDim, 0);
          if (cursorFocus && yVal2 != null) {
            let mouseYPos = scaleX.ori == 1 ? mouseLeft1 : mouseTop1;
            let dist = abs(focus.dist(self, i, idx2, yPos, mouseYPos));
            if (dist < closestDist) {
              let bias = focus.bias;
              if (bias != 0) {
                let mouseYVal = posToVal(mouseYPos, s.scale);
                let seriesYValSign = yVal2 >= 0 ? 1 : -1;
                let mouseYValSign = mouseYVal >= 0 ? 1 : -1;
                if (mouseYValSign == seriesYValSign && (mouseYValSign == 1 ? bias == 1 ? yVal2 >= mouseYVal : yVal2 <= mouseYVal : (
                  // >= 0
                  bias == 1 ? yVal2 <= mouseYVal : yVal2 >= mouseYVal
                ))) {
                  closestDist = dist;
                  closestSeries = i;
                }
              } else {
                closestDist = dist;
                closestSeries = i;
              }
            }
          }
          if (shouldSetLegend || cursorOnePt) {
            let hPos, vPos;
            if (scaleX.ori == 0) {
              hPos = xPos2;
              vPos = yPos;
            } else {
              hPos = yPos;
              vPos = xPos2;
            }
            let ptWid, ptHgt, ptLft, ptTop, ptStroke, ptFill, centered = true, getBBox = points2.bbox;
            if (getBBox != null) {
              centered = false;
              let bbox = getBBox(self, i);
              ptLft = bbox.left;
              ptTop = bbox.top;
              ptWid = bbox.width;
              ptHgt = bbox.height;
            } else {
              ptLft = hPos;
              ptTop = vPos;
              ptWid = ptHgt = points2.size(self, i);
            }
            ptFill = points2.fill(self, i);
            ptStroke = points2.stroke(self, i);
            if (cursorOnePt) {
              if (i == closestSeries && closestDist <= focus.prox) {
                _ptLft = ptLft;
                _ptTop = ptTop;
                _ptWid = ptWid;
                _ptHgt = ptHgt;
                _centered = centered;
                _ptFill = ptFill;
                _ptStroke = ptStroke;
              }
            } else {
              let pt = cursorPts[i];
              if (pt != null) {
                cursorPtsLft[i] = ptLft;
                cursorPtsTop[i] = ptTop;
                elSize(pt, ptWid, ptHgt, centered);
                elColor(pt, ptFill, ptStroke);
                elTrans(pt, ceil(ptLft), ceil(ptTop), plotWidCss, plotHgtCss);
              }
            }
          }
        }
      }
      if (cursorOnePt) {
        let p = focus.prox;
        let focusChanged = focusedSeries == null ? closestDist <= p : closestDist > p || closestSeries != focusedSeries;
        if (shouldSetLegend || focusChanged) {
          let pt = cursorPts[0];
          if (pt != null) {
            cursorPtsLft[0] = _ptLft;
            cursorPtsTop[0] = _ptTop;
            elSize(pt, _ptWid, _ptHgt, _centered);
            elColor(pt, _ptFill, _ptStroke);
            elTrans(pt, ceil(_ptLft), ceil(_ptTop), plotWidCss, plotHgtCss);
          }
        }
      }
    }
    if (select.show && dragging) {
      if (src != null) {
        let [xKey, yKey] = syncOpts.scales;
        let [matchXKeys, matchYKeys] = syncOpts.match;
        let [xKeySrc, yKeySrc] = src.cursor.sync.scales;
        let sdrag = src.cursor.drag;
        dragX = sdrag._x;
        dragY = sdrag._y;
        if (dragX || dragY) {
          let { left, top, width, height } = src.select;
          let sori = src.scales[xKeySrc].ori;
          let sPosToVal = src.posToVal;
          let sOff, sDim, sc, a, b;
          let matchingX = xKey != null && matchXKeys(xKey, xKeySrc);
          let matchingY = yKey != null && matchYKeys(yKey, yKeySrc);
          if (matchingX && dragX) {
            if (sori == 0) {
              sOff = left;
              sDim = width;
            } else {
              sOff = top;
              sDim = height;
            }
            sc = scales[xKey];
            a = valToPosX(sPosToVal(sOff, xKeySrc), sc, xDim, 0);
            b = valToPosX(sPosToVal(sOff + sDim, xKeySrc), sc, xDim, 0);
            setSelX(min(a, b), abs(b - a));
          } else
            setSelX(0, xDim);
          if (matchingY && dragY) {
            if (sori == 1) {
              sOff = left;
              sDim = width;
            } else {
              sOff = top;
              sDim = height;
            }
            sc = scales[yKey];
            a = valToPosY(sPosToVal(sOff, yKeySrc), sc, yDim, 0);
            b = valToPosY(sPosToVal(sOff + sDim, yKeySrc), sc, yDim, 0);
            setSelY(min(a, b), abs(b - a));
          } else
            setSelY(0, yDim);
        } else
          hideSelect();
      } else {
        let rawDX = abs(rawMouseLeft1 - rawMouseLeft0);
        let rawDY = abs(rawMouseTop1 - rawMouseTop0);
        if (scaleX.ori == 1) {
          let _rawDX = rawDX;
          rawDX = rawDY;
          rawDY = _rawDX;
        }
        dragX = drag.x && rawDX >= drag.dist;
        dragY = drag.y && rawDY >= drag.dist;
        let uni = drag.uni;
        if (uni != null) {
          if (dragX && dragY) {
            dragX = rawDX >= uni;
            dragY = rawDY >= uni;
            if (!dragX && !dragY) {
              if (rawDY > rawDX)
                dragY = true;
              else
                dragX = true;
            }
          }
        } else if (drag.x && drag.y && (dragX || dragY))
          dragX = dragY = true;
        let p0, p1;
        if (dragX) {
          if (scaleX.ori == 0) {
            p0 = mouseLeft0;
            p1 = mouseLeft1;
          } else {
            p0 = mouseTop0;
            p1 = mouseTop1;
          }
          setSelX(min(p0, p1), abs(p1 - p0));
          if (!dragY)
            setSelY(0, yDim);
        }
        if (dragY) {
          if (scaleX.ori == 1) {
            p0 = mouseLeft0;
            p1 = mouseLeft1;
          } else {
            p0 = mouseTop0;
            p1 = mouseTop1;
          }
          setSelY(min(p0, p1), abs(p1 - p0));
          if (!dragX)
            setSelX(0, xDim);
        }
        if (!dragX && !dragY) {
          setSelX(0, 0);
          setSelY(0, 0);
        }
      }
    }
    drag._x = dragX;
    drag._y = dragY;
    if (src == null) {
      if (_pub) {
        if (syncKey != null) {
          let [xSyncKey, ySyncKey] = syncOpts.scales;
          syncOpts.values[0] = xSyncKey != null ? posToVal(scaleX.ori == 0 ? mouseLeft1 : mouseTop1, xSyncKey) : null;
          syncOpts.values[1] = ySyncKey != null ? posToVal(scaleX.ori == 1 ? mouseLeft1 : mouseTop1, ySyncKey) : null;
        }
        pubSync(mousemove, self, mouseLeft1, mouseTop1, plotWidCss, plotHgtCss, idx);
      }
      if (cursorFocus) {
        let shouldPub = _pub && syncOpts.setSeries;
        let p = focus.prox;
        if (focusedSeries == null) {
          if (closestDist <= p)
            setSeries(closestSeries, FOCUS_TRUE, true, shouldPub);
        } else {
          if (closestDist > p)
            setSeries(null, FOCUS_TRUE, true, shouldPub);
          else if (closestSeries != focusedSeries)
            setSeries(closestSeries, FOCUS_TRUE, true, shouldPub);
        }
      }
    }
    if (shouldSetLegend) {
      legend.idx = idx;
      setLegend();
    }
    _fire !== false && fire("setCursor");
  }
  let rect2 = null;
  Object.defineProperty(self, "rect", {
    get() {
      if (rect2 == null)
        syncRect(false);
      return rect2;
    }
  });
  function syncRect(defer = false) {
    if (defer)
      rect2 = null;
    else {
      rect2 = over.getBoundingClientRect();
      fire("syncRect", rect2);
    }
  }
  function mouseMove(e, src, _l, _t, _w, _h, _i) {
    if (cursor._lock)
      return;
    if (dragging && e != null && e.movementX == 0 && e.movementY == 0)
      return;
    cacheMouse(e, src, _l, _t, _w, _h, _i, false, e != null);
    if (e != null)
      updateCursor(null, true, true);
    else
      updateCursor(src, true, false);
  }
  function cacheMouse(e, src, _l, _t, _w, _h, _i, initial, snap) {
    if (rect2 == null)
      syncRect(false);
    setCursorEvent(e);
    if (e != null) {
      _l = e.clientX - rect2.left;
      _t = e.clientY - rect2.top;
    } else {
      if (_l < 0 || _t < 0) {
        mouseLeft1 = -10;
        mouseTop1 = -10;
        return;
      }
      let [xKey, yKey] = syncOpts.scales;
      let syncOptsSrc = src.cursor.sync;
      let [xValSrc, yValSrc] = syncOptsSrc.values;
      let [xKeySrc, yKeySrc] = syncOptsSrc.scales;
      let [matchXKeys, matchYKeys] = syncOpts.match;
      let rotSrc = src.axes[0].side % 2 == 1;
      let xDim = scaleX.ori == 0 ? plotWidCss : plotHgtCss, yDim = scaleX.ori == 1 ? plotWidCss : plotHgtCss, _xDim = rotSrc ? _h : _w, _yDim = rotSrc ? _w : _h, _xPos = rotSrc ? _t : _l, _yPos = rotSrc ? _l : _t;
      if (xKeySrc != null)
        _l = matchXKeys(xKey, xKeySrc) ? getPos(xValSrc, scales[xKey], xDim, 0) : -10;
      else
        _l = xDim * (_xPos / _xDim);
      if (yKeySrc != null)
        _t = matchYKeys(yKey, yKeySrc) ? getPos(yValSrc, scales[yKey], yDim, 0) : -10;
      else
        _t = yDim * (_yPos / _yDim);
      if (scaleX.ori == 1) {
        let __l = _l;
        _l = _t;
        _t = __l;
      }
    }
    if (snap && (src == null || src.cursor.event.type == mousemove)) {
      if (_l <= 1 || _l >= plotWidCss - 1)
        _l = incrRound(_l, plotWidCss);
      if (_t <= 1 || _t >= plotHgtCss - 1)
        _t = incrRound(_t, plotHgtCss);
    }
    if (initial) {
      rawMouseLeft0 = _l;
      rawMouseTop0 = _t;
      [mouseLeft0, mouseTop0] = cursor.move(self, _l, _t);
    } else {
      mouseLeft1 = _l;
      mouseTop1 = _t;
    }
  }
  const _hideProps = {
    width: 0,
    height: 0,
    left: 0,
    top: 0
  };
  function hideSelect() {
    setSelect(_hideProps, false);
  }
  let downSelectLeft;
  let downSelectTop;
  let downSelectWidth;
  let downSelectHeight;
  function mouseDown(e, src, _l, _t, _w, _h, _i) {
    dragging = true;
    dragX = dragY = drag._x = drag._y = false;
    cacheMouse(e, src, _l, _t, _w, _h, _i, true, false);
    if (e != null) {
      onMouse(mouseup, doc, mouseUp, false);
      pubSync(mousedown, self, mouseLeft0, mouseTop0, plotWidCss, plotHgtCss, null);
    }
    let { left, top, width, height } = select;
    downSelectLeft = left;
    downSelectTop = top;
    downSelectWidth = width;
    downSelectHeight = height;
  }
  function mouseUp(e, src, _l, _t, _w, _h, _i) {
    dragging = drag._x = drag._y = false;
    cacheMouse(e, src, _l, _t, _w, _h, _i, false, true);
    let { left, top, width, height } = select;
    let hasSelect = width > 0 || height > 0;
    let chgSelect = downSelectLeft != left || downSelectTop != top || downSelectWidth != width || downSelectHeight != height;
    hasSelect && chgSelect && setSelect(select);
    if (drag.setScale && hasSelect && chgSelect) {
      let xOff = left, xDim = width, yOff = top, yDim = height;
      if (scaleX.ori == 1) {
        xOff = top, xDim = height, yOff = left, yDim = width;
      }
      if (dragX) {
        _setScale(
          xScaleKey,
          posToVal(xOff, xScaleKey),
          posToVal(xOff + xDim, xScaleKey)
        );
      }
      if (dragY) {
        for (let k in scales) {
          let sc = scales[k];
          if (k != xScaleKey && sc.from == null && sc.min != inf) {
            _setScale(
              k,
              posToVal(yOff + yDim, k),
              posToVal(yOff, k)
            );
          }
        }
      }
      hideSelect();
    } else if (cursor.lock) {
      cursor._lock = !cursor._lock;
      updateCursor(src, true, e != null);
    }
    if (e != null) {
      offMouse(mouseup, doc);
      pubSync(mouseup, self, mouseLeft1, mouseTop1, plotWidCss, plotHgtCss, null);
    }
  }
  function mouseLeave(e, src, _l, _t, _w, _h, _i) {
    if (cursor._lock)
      return;
    setCursorEvent(e);
    let _dragging = dragging;
    if (dragging) {
      let snapH = true;
      let snapV = true;
      let snapProx = 10;
      let dragH, dragV;
      if (scaleX.ori == 0) {
        dragH = dragX;
        dragV = dragY;
      } else {
        dragH = dragY;
        dragV = dragX;
      }
      if (dragH && dragV) {
        snapH = mouseLeft1 <= snapProx || mouseLeft1 >= plotWidCss - snapProx;
        snapV = mouseTop1 <= snapProx || mouseTop1 >= plotHgtCss - snapProx;
      }
      if (dragH && snapH)
        mouseLeft1 = mouseLeft1 < mouseLeft0 ? 0 : plotWidCss;
      if (dragV && snapV)
        mouseTop1 = mouseTop1 < mouseTop0 ? 0 : plotHgtCss;
      updateCursor(null, true, true);
      dragging = false;
    }
    mouseLeft1 = -10;
    mouseTop1 = -10;
    activeIdxs.fill(null);
    updateCursor(null, true, true);
    if (_dragging)
      dragging = _dragging;
  }
  function dblClick(e, src, _l, _t, _w, _h, _i) {
    if (cursor._lock)
      return;
    setCursorEvent(e);
    autoScaleX();
    hideSelect();
    if (e != null)
      pubSync(dblclick, self, mouseLeft1, mouseTop1, plotWidCss, plotHgtCss, null);
  }
  function syncPxRatio() {
    axes.forEach(syncFontSize);
    _setSize(self.width, self.height, true);
  }
  on(dppxchange, win, syncPxRatio);
  const events = {};
  events.mousedown = mouseDown;
  events.mousemove = mouseMove;
  events.mouseup = mouseUp;
  events.dblclick = dblClick;
  events["setSeries"] = (e, src, idx, opts2) => {
    let seriesIdxMatcher2 = syncOpts.match[2];
    idx = seriesIdxMatcher2(self, src, idx);
    idx != -1 && setSeries(idx, opts2, true, false);
  };
  if (showCursor) {
    onMouse(mousedown, over, mouseDown);
    onMouse(mousemove, over, mouseMove);
    onMouse(mouseenter, over, (e) => {
      setCursorEvent(e);
      syncRect(false);
    });
    onMouse(mouseleave, over, mouseLeave);
    onMouse(dblclick, over, dblClick);
    cursorPlots.add(self);
    self.syncRect = syncRect;
  }
  const hooks = self.hooks = opts.hooks || {};
  function fire(evName, a1, a2) {
    if (deferHooks)
      hooksQueue.push([evName, a1, a2]);
    else {
      if (evName in hooks) {
        hooks[evName].forEach((fn) => {
          fn.call(null, self, a1, a2);
        });
      }
    }
  }
  (opts.plugins || []).forEach((p) => {
    for (let evName in p.hooks)
      hooks[evName] = (hooks[evName] || []).concat(p.hooks[evName]);
  });
  const seriesIdxMatcher = (self2, src, srcSeriesIdx) => srcSeriesIdx;
  const syncOpts = assign({
    key: null,
    setSeries: false,
    filters: {
      pub: retTrue,
      sub: retTrue
    },
    scales: [xScaleKey, series[1] ? series[1].scale : null],
    match: [retEq, retEq, seriesIdxMatcher],
    values: [null, null]
  }, cursor.sync);
  if (syncOpts.match.length == 2)
    syncOpts.match.push(seriesIdxMatcher);
  cursor.sync = syncOpts;
  const syncKey = syncOpts.key;
  const sync = _sync(syncKey);
  function pubSync(type, src, x, y, w, h2, i) {
    if (syncOpts.filters.pub(type, src, x, y, w, h2, i))
      sync.pub(type, src, x, y, w, h2, i);
  }
  sync.sub(self);
  function pub(type, src, x, y, w, h2, i) {
    if (syncOpts.filters.sub(type, src, x, y, w, h2, i))
      events[type](null, src, x, y, w, h2, i);
  }
  self.pub = pub;
  function destroy() {
    sync.unsub(self);
    cursorPlots.delete(self);
    mouseListeners.clear();
    off(dppxchange, win, syncPxRatio);
    root.remove();
    legendTable?.remove();
    fire("destroy");
  }
  self.destroy = destroy;
  function _init() {
    fire("init", opts, data);
    setData(data || opts.data, false);
    if (pendScales[xScaleKey])
      setScale(xScaleKey, pendScales[xScaleKey]);
    else
      autoScaleX();
    shouldSetSelect = select.show && (select.width > 0 || select.height > 0);
    shouldSetCursor = shouldSetLegend = true;
    _setSize(opts.width, opts.height);
  }
  series.forEach(initSeries);
  axes.forEach(initAxis);
  if (then) {
    if (then instanceof HTMLElement) {
      then.appendChild(root);
      _init();
    } else
      then(self, _init);
  } else
    _init();
  return self;
}
uPlot.assign = assign;
uPlot.fmtNum = fmtNum;
uPlot.rangeNum = rangeNum;
uPlot.rangeLog = rangeLog;
uPlot.rangeAsinh = rangeAsinh;
uPlot.orient = orient;
uPlot.pxRatio = pxRatio;
{
  uPlot.join = join;
}
{
  uPlot.fmtDate = fmtDate;
  uPlot.tzDate = tzDate;
}
uPlot.sync = _sync;
{
  uPlot.addGap = addGap;
  uPlot.clipGaps = clipGaps;
  let paths = uPlot.paths = {
    points
  };
  paths.linear = linear;
  paths.stepped = stepped;
  paths.bars = bars;
  paths.spline = monotoneCubic;
}

// src/chart.js
var COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f"
];
var HEIGHT2 = 240;
function smooth(values, weight, positive) {
  const out = new Array(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v == null || !isFinite(v) || positive && v <= 0) {
      out[i] = null;
      continue;
    }
    if (weight <= 0) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    out[i] = last / (1 - Math.pow(weight, count));
  }
  return out;
}
function nearest(xs, x) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = lo + hi >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x) ? lo - 1 : lo;
}
function fmt(v) {
  if (v == null) return "\u2013";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(+v.toPrecision(5));
}
function makeChartPanel({ channel, notify, rowOf, rows }) {
  let ids = [];
  let metric = null;
  const curves = /* @__PURE__ */ new Map();
  let plot = null;
  let plotKey = "";
  let frame = 0;
  let logScale = false;
  let weight = 0;
  let measureFrom = null;
  const metricSelect = h("select", { class: "nbexp-chart-metric", title: "metric", onchange: () => {
    metric = metricSelect.value || null;
    request();
  } });
  const logBox = h("input", { type: "checkbox", class: "nbexp-chart-log", onchange: () => {
    logScale = logBox.checked;
    redraw(true);
  } });
  const smoothLabel = h("span", { class: "nbexp-chart-smooth-value", text: "0" });
  const smoothRange = h("input", {
    type: "range",
    min: "0",
    max: "0.99",
    step: "0.01",
    value: "0",
    class: "nbexp-chart-smooth",
    title: "smoothing (exponential moving average)",
    oninput: () => {
      weight = Number(smoothRange.value);
      setText(smoothLabel, smoothRange.value);
      redraw(false);
    }
  });
  const chips = h("span", { class: "nbexp-chart-runs" });
  const adder = h("select", { class: "nbexp-chart-add", title: "add a run to the chart", onchange: () => {
    const id = Number(adder.value);
    adder.value = "";
    if (id && !ids.includes(id)) setRuns([...ids, id]);
  } });
  const plotEl = h("div", { class: "nbexp-chart-plot" });
  const readout = h("div", { class: "nbexp-chart-readout" });
  const note = h("div", { class: "nbexp-chart-note", text: "select a run with metrics to chart them" });
  const el = h(
    "div",
    { class: "nbexp-chart" },
    h(
      "div",
      { class: "nbexp-chart-bar" },
      metricSelect,
      h("label", {}, logBox, " log"),
      h("label", {}, "smooth ", smoothRange, smoothLabel),
      chips,
      adder
    ),
    note,
    plotEl,
    readout
  );
  el.__nbexpChart = { setRuns, state: () => ({ ids, metric, curves }) };
  function setRuns(next) {
    ids = next.slice(0, 50);
    request();
  }
  function request() {
    if (!ids.length) {
      curves.clear();
      drawChips();
      redraw(true);
      return;
    }
    channel.request({ type: "chart", ids, metric }, onData, (text) => notify(text));
  }
  function onData(reply) {
    if (reply.type === "error") {
      notify(reply.message);
      return;
    }
    if (reply.type !== "chart_data") return;
    const data = (
      /** @type {ChartDataMessage} */
      reply
    );
    metric = data.metric;
    metricSelect.replaceChildren(...data.metrics.map((m) => h("option", { value: m, text: m, selected: m === metric })));
    curves.clear();
    for (const [id, points2] of Object.entries(data.series)) merge(Number(id), points2);
    el.dataset.points = String([...curves.values()].reduce((n, c) => n + c.x.length, 0));
    drawChips();
    measureFrom = performance.now();
    redraw(true);
  }
  function merge(id, points2) {
    const [start, xs, ys] = points2;
    let curve = curves.get(id);
    if (!curve) {
      curve = { x: [], y: [] };
      curves.set(id, curve);
    }
    curve.x.length = Math.min(curve.x.length, start);
    curve.y.length = curve.x.length;
    for (let i = 0; i < xs.length; i++) {
      curve.x.push(xs[i]);
      curve.y.push(ys[i]);
    }
  }
  function apply(part) {
    if (part.metric !== metric) return;
    for (const [id, points2] of Object.entries(part.series)) if (ids.includes(Number(id))) merge(Number(id), points2);
    if (!frame) frame = requestAnimationFrame(() => {
      frame = 0;
      redraw(false);
    });
  }
  function drawChips() {
    chips.replaceChildren(...ids.map((id, i) => {
      const row = rowOf(id);
      return h(
        "span",
        { class: "nbexp-chart-chip", "data-id": id, style: `border-color:${COLORS[i % COLORS.length]}` },
        h("span", { class: "nbexp-chart-swatch", style: `background:${COLORS[i % COLORS.length]}` }),
        `#${id} ${row ? row.name : ""}`,
        h("button", {
          class: "nbexp-chart-remove",
          title: "remove from the chart",
          text: "\xD7",
          onclick: () => setRuns(ids.filter((x) => x !== id))
        })
      );
    }));
    rowsChanged();
  }
  function rowsChanged() {
    const options = rows().filter((r) => !ids.includes(r.id) && r.metrics && Object.keys(r.metrics).length);
    const key = options.map((r) => r.id).join(",");
    if (adder.dataset.key === key) return;
    adder.dataset.key = key;
    adder.replaceChildren(
      h("option", { value: "", text: "+ run" }),
      ...options.slice(0, 500).map((r) => h("option", { value: r.id, text: `#${r.id} ${r.name}` }))
    );
  }
  function redraw(rebuild) {
    const shown = ids.filter((id) => curves.get(id)?.x.length);
    note.hidden = shown.length > 0;
    plotEl.hidden = !shown.length;
    if (!shown.length) {
      plot?.destroy();
      plot = null;
      return;
    }
    const data = [null, ...shown.map((id) => {
      const c = (
        /** @type {Curve} */
        curves.get(id)
      );
      return [c.x, smooth(c.y, weight, logScale)];
    })];
    const key = `${shown.join(",")}|${logScale}|${metric}`;
    if (plot && !rebuild && key === plotKey) {
      plot.setData(data);
      return;
    }
    plot?.destroy();
    plotKey = key;
    const width = Math.max(300, plotEl.clientWidth || el.clientWidth || 600);
    plot = new uPlot({
      mode: 2,
      width,
      height: HEIGHT2,
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
        points: { show: false }
      }))],
      hooks: {
        setCursor: [(u) => showReadout(u, shown)],
        draw: [() => {
          if (measureFrom != null) el.dataset.drawMs = (performance.now() - measureFrom).toFixed(1);
          measureFrom = null;
        }]
      }
    }, data, plotEl);
  }
  function showReadout(u, shown) {
    const left = u.cursor.left ?? -1;
    if (left < 0) {
      readout.replaceChildren();
      return;
    }
    const step = u.posToVal(left, "x");
    readout.replaceChildren(...shown.map((id) => {
      const c = (
        /** @type {Curve} */
        curves.get(id)
      );
      const i = nearest(c.x, step);
      const smoothed = weight > 0 ? smooth(c.y.slice(0, i + 1), weight, logScale)[i] : null;
      const row = rowOf(id);
      return h(
        "div",
        { class: "nbexp-chart-read", "data-id": id },
        h("span", { class: "nbexp-chart-swatch", style: `background:${COLORS[ids.indexOf(id) % COLORS.length]}` }),
        `#${id} ${row ? row.name : ""}  step ${fmt(c.x[i])}  ${metric}=${fmt(c.y[i])}` + (smoothed != null ? ` (smoothed ${fmt(smoothed)})` : "")
      );
    }));
  }
  function select(id) {
    if (id == null || ids.includes(id)) return;
    const row = rowOf(id);
    if (!row || !row.metrics || !Object.keys(row.metrics).length) return;
    setRuns(ids.length ? [...ids, id] : [id]);
  }
  const onResize = () => {
    if (plot) plot.setSize({ width: Math.max(300, plotEl.clientWidth), height: HEIGHT2 });
  };
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
    }
  };
}

// src/gpus.js
var SPARK_POINTS = 300;
function sparkline(values, max2, cls) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", `nbexp-spark ${cls}`);
  svg.setAttribute("viewBox", "0 0 100 24");
  svg.setAttribute("preserveAspectRatio", "none");
  const clean = values.filter((v) => v != null);
  if (clean.length >= 2 && max2 > 0) {
    const step = 100 / (values.length - 1);
    const pts = values.map((v, i) => `${(i * step).toFixed(2)},${(24 - 24 * Math.min(v ?? 0, max2) / max2).toFixed(2)}`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" "));
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
  }
  return svg;
}
function holdersOf(gpu, held) {
  return (held[String(gpu.index)] || []).map(([id, name]) => ({ id, name }));
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
  const sparks = `last ${Math.round(hist.length / 60)} min: utilisation (green), memory (purple)`;
  return h(
    "div",
    { class: "nbexp-gpu", "data-index": gpu.index },
    ...gpuMeters(gpu, reading, hist, sparks),
    holdersLine(holders, foreign)
  );
}
function gpuMeters(gpu, reading, hist, sparksTitle) {
  const [mem, util, temp, power] = reading;
  const memPct = gpu.mem_total ? 100 * (mem ?? 0) / gpu.mem_total : 0;
  return [
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
      { class: "nbexp-gpu-sparks", title: sparksTitle },
      sparkline(hist.map((r) => r[1]), 100, "nbexp-spark-util"),
      sparkline(hist.map((r) => r[0]), gpu.mem_total || 1, "nbexp-spark-mem")
    )
  ];
}
function nodeGpuBox(gpu, job) {
  const held = gpu.job_mem != null ? ` \xB7 ${fmtGiB(gpu.job_mem)} GiB` : "";
  const span = gpu.history.length * (job.interval || 0);
  const sparks = `last ${Math.max(1, Math.round(span / 60))} min on ${job.node || "its node"}: utilisation (green), memory (purple)`;
  return h(
    "div",
    { class: "nbexp-gpu nbexp-node-gpu", "data-node": job.node || "", "data-index": gpu.index },
    ...gpuMeters(gpu, gpu.reading, gpu.history, sparks),
    h("div", { class: "nbexp-gpu-holders", text: `held by #${job.id} ${job.name}${held}` })
  );
}
function nodeSection(job) {
  const heading = h(
    "div",
    { class: "nbexp-panel-title nbexp-node-title", "data-node": job.node || "" },
    h("span", { text: `${job.node || "node ?"}` }),
    h("span", { class: "nbexp-muted", text: `Slurm job ${job.job_id || "?"} \xB7 #${job.id} ${job.name}` }),
    job.simulated ? h("span", { class: "nbexp-simulated", text: "simulated" }) : null,
    // No reading for three intervals: the job is ending, or its sidecar could not write.
    job.stale ? h("span", { class: "nbexp-gpu-problem", text: "no recent reading" }) : null
  );
  if (!job.gpus.length) {
    return h(
      "div",
      { class: "nbexp-node" },
      heading,
      h("div", { class: "nbexp-muted", text: job.reason || "no GPU reading from the job yet" })
    );
  }
  return h("div", { class: "nbexp-node" }, heading, ...job.gpus.map((gpu) => nodeGpuBox(gpu, job)));
}
function makeGpuPanel() {
  const el = h("section", { class: "nbexp-gpus", "aria-label": "GPUs" });
  let info = null;
  let readings = [];
  let history = [];
  let foreign = {};
  let nodes = [];
  function apply(msg) {
    if (msg.gpu_info) {
      const key = (i) => i ? i.gpus.map((g) => g.uuid ?? g.index).join(",") : "";
      if (key(msg.gpu_info) !== key(info)) history = [];
      info = msg.gpu_info;
    }
    if (msg.gpu_foreign) foreign = msg.gpu_foreign;
    if (msg.node_gpus) nodes = msg.node_gpus;
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
    return Boolean(msg.gpu_info || msg.gpu || msg.gpu_foreign || msg.node_gpus || msg.type === "snapshot");
  }
  function draw(held) {
    if (!info) {
      el.replaceChildren(h("div", { class: "nbexp-muted", text: "GPUs: waiting for the first reading\u2026" }));
      return;
    }
    const title2 = h(
      "div",
      { class: "nbexp-panel-title" },
      h("span", { text: "GPUs" }),
      info.simulated ? h("span", { class: "nbexp-simulated", text: "simulated" }) : null,
      // Slurm experiments' GPUs follow under their node's name.
      nodes.length ? h("span", { class: "nbexp-muted nbexp-gpus-scope", text: "this machine" }) : null
    );
    const remote = nodes.map(nodeSection);
    if (!info.gpus.length) {
      el.replaceChildren(title2, h(
        "div",
        { class: "nbexp-nogpu" },
        h("div", { class: "nbexp-nogpu-title", text: "No GPU" }),
        h("div", { class: "nbexp-muted", text: info.reason || "no GPU was found" })
      ), ...remote);
      return;
    }
    el.replaceChildren(
      title2,
      ...info.gpus.map((gpu, i) => gpuBox(gpu, readings[i] || [], history[i] || [], holdersOf(gpu, held), foreign[gpu.index] || [])),
      ...remote
    );
  }
  return { el, apply, draw };
}

// src/logview.js
var ROW_H = 18;
var MAX_SPACER_PX = 8e6;
var OVERSCAN = 10;
var CACHE_LIMIT = 2e4;
var FETCH_MARGIN = 200;
var MAX_RANGE = 1e3;
var NAMES = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
var FALLBACK = [
  "#3e424d",
  "#e75c58",
  "#00a250",
  "#ddb62b",
  "#208ffb",
  "#d160c4",
  "#60c6c8",
  "#c5c1b4",
  "#282c36",
  "#b22b31",
  "#007427",
  "#b27d12",
  "#0065ca",
  "#a03196",
  "#258f8f",
  "#a1a6b2"
];
var MIN_CONTRAST = 4.5;
function rgb(css) {
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(css);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const hex = /^#([0-9a-f]{6})$/i.exec(css.trim());
  if (hex) return (
    /** @type {[number, number, number]} */
    [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16))
  );
  return null;
}
function luminance(c) {
  const [r, g, b] = c.map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
function readable(color, bg, toward) {
  let c = color;
  for (let t = 0.1; contrast(c, bg) < MIN_CONTRAST && t <= 1.001; t += 0.1) {
    c = /** @type {[number, number, number]} */
    color.map((v, i) => Math.round(v + (toward[i] - v) * t));
  }
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}
function applyPalette(target) {
  const viewport = (
    /** @type {HTMLElement} */
    target.querySelector(".nbexp-log-viewport") || target
  );
  const style = getComputedStyle(viewport);
  const bg = rgb(style.backgroundColor) || [255, 255, 255];
  const fg = rgb(style.color) || [0, 0, 0];
  const probe = h("div", { class: "jp-RenderedText jp-ThemedContainer nbexp-ansi-probe" });
  const pre2 = h("pre");
  probe.append(pre2);
  const spans = [...NAMES, ...NAMES.map((n) => `${n}-intense`)].map((name) => h("span", { class: `ansi-${name}-fg`, text: "x" }));
  pre2.append(...spans);
  target.append(probe);
  const plain = getComputedStyle(pre2).color;
  spans.forEach((span, i) => {
    const seen = getComputedStyle(span).color;
    const base = seen !== plain && rgb(seen) || /** @type {[number, number, number]} */
    rgb(FALLBACK[i]);
    const name = i < 8 ? NAMES[i] : `bright_${NAMES[i - 8]}`;
    target.style.setProperty(`--nbexp-ansi-${name}`, readable(base, bg, fg));
    target.style.setProperty(`--nbexp-ansi-${name}-bg`, `rgb(${base.join(", ")})`);
    target.style.setProperty(`--nbexp-ansi-${name}-on`, contrast(base, [0, 0, 0]) >= contrast(base, [255, 255, 255]) ? "#000" : "#fff");
  });
  probe.remove();
  return { bg, fg };
}
var adjusted = /* @__PURE__ */ new Map();
function styleSpan(span, words, theme) {
  let fg = null;
  let bg = null;
  let inverse = false;
  for (const word of words.split(" ")) {
    if (word.startsWith("f:")) fg = word.slice(2);
    else if (word.startsWith("b:")) bg = word.slice(2);
    else if (word === "inverse") inverse = true;
    else if (word.startsWith("link:")) span.dataset.link = word.slice(5);
    else if (word) span.classList.add(`nbexp-sgr-${word}`);
  }
  const css = (c, asBg) => {
    if (!c.startsWith("#")) return asBg ? `var(--nbexp-ansi-${c}-bg)` : `var(--nbexp-ansi-${c})`;
    if (asBg) return c;
    const key = `${c}/${theme.bg.join(",")}`;
    if (!adjusted.has(key)) adjusted.set(key, readable(
      /** @type {[number, number, number]} */
      rgb(c),
      theme.bg,
      theme.fg
    ));
    return (
      /** @type {string} */
      adjusted.get(key)
    );
  };
  if (inverse) {
    span.style.color = bg ? bg.startsWith("#") ? bg : `var(--nbexp-ansi-${bg}-bg)` : "var(--nbexp-log-bg)";
    span.style.backgroundColor = fg ? fg.startsWith("#") ? fg : `var(--nbexp-ansi-${fg}-bg)` : "var(--nbexp-log-fg)";
    return;
  }
  if (fg) span.style.color = css(fg, false);
  if (bg) {
    span.style.backgroundColor = css(bg, true);
    if (!fg && !bg.startsWith("#")) span.style.color = `var(--nbexp-ansi-${bg}-on)`;
  }
}
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
    span.textContent = text.slice(start, end).padEnd(end - start, " ");
    styleSpan(span, words, theme);
    node.append(span);
    at = Math.max(at, end);
  }
  if (at < text.length) node.append(text.slice(at));
}
function makeLogRows(theme) {
  const flow = h("div", { class: "nbexp-log-flow" });
  const spacer = h("div", { class: "nbexp-log-spacer" }, flow);
  const viewport = h("div", { class: "nbexp-log-viewport", tabindex: "0" }, spacer);
  const endRow = h("div", { class: "nbexp-log-end", hidden: true });
  const pool = [];
  function geometry(rows) {
    const contentH = rows * ROW_H;
    const spacerH = Math.min(contentH, MAX_SPACER_PX);
    const clientH = viewport.clientHeight || 300;
    const maxScroll = Math.max(0, spacerH - clientH);
    const contentMax = Math.max(0, contentH - clientH);
    const vTop = maxScroll > 0 ? viewport.scrollTop * (contentMax / maxScroll) : 0;
    return { spacerH, clientH, vTop };
  }
  function atEnd(rows) {
    const { spacerH, clientH } = geometry(rows);
    return viewport.scrollTop + clientH >= spacerH - 2 * ROW_H;
  }
  function scrollToEnd(rows) {
    const { spacerH, clientH } = geometry(rows);
    const bottom = Math.max(0, spacerH - clientH);
    if (Math.abs(viewport.scrollTop - bottom) <= 1) return false;
    viewport.scrollTop = bottom;
    return true;
  }
  function scrollToLine(line, rows) {
    const { spacerH, clientH } = geometry(rows);
    const contentH = rows * ROW_H;
    const target = Math.max(0, line * ROW_H - clientH / 2);
    const scale = contentH > clientH ? (spacerH - clientH) / (contentH - clientH) : 1;
    viewport.scrollTop = Math.max(0, Math.min(spacerH - clientH, target * scale));
  }
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
      pool.push({ node, line: -1, payload: void 0 });
      flow.insertBefore(node, endRow);
    }
    if (!endRow.isConnected) flow.append(endRow);
    let missing = false;
    pool.forEach((entry, i) => {
      entry.node.hidden = i >= count;
      if (i < count) missing = drawLine(entry, first + i, state.cache.get(first + i), state.mark) || missing;
    });
    while (pool.length > count && pool.length > capacity) pool.pop()?.node.remove();
    endRow.hidden = !state.end || first + count < state.total;
    setText(endRow, state.end ? `\u25A0 ${state.end}` : "");
    return { first, count, missing };
  }
  function drawLine(entry, line, payload, mark) {
    const { node } = entry;
    if (entry.line !== line || entry.payload !== payload) {
      entry.line = line;
      entry.payload = payload;
      node.dataset.line = String(line);
      node.dataset.ln = String(line + 1);
      setLineContent(node, payload, theme);
      const text = node.textContent || "";
      if (text.length > 120) node.title = text;
      else node.removeAttribute("title");
    }
    node.classList.toggle("nbexp-log-mark", mark === line);
    return payload === void 0;
  }
  function forget() {
    for (const entry of pool) {
      entry.line = -1;
      entry.node.dataset.line = "";
    }
  }
  return { viewport, atEnd, scrollToEnd, scrollToLine, draw, forget };
}
function tool(name, title2, cls = "") {
  return h("button", { class: `nbexp-btn nbexp-log-tool ${cls}`, title: title2, "aria-label": title2 }, icon(name));
}
function makeLogHeader() {
  const title2 = h("span", { class: "nbexp-log-title" });
  const info = h("span", { class: "nbexp-log-info" });
  const attempts = h("select", { class: "nbexp-attempts", "aria-label": "attempt", hidden: true });
  const query2 = h("input", { class: "nbexp-log-search", type: "search", placeholder: "search the log" });
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
  const tools = h("span", { class: "nbexp-log-tools" }, query2, found, prev, next, wrapBtn, numbersBtn, copyBtn, rawBtn, textBtn);
  const el = h("div", { class: "nbexp-log-header" }, title2, attempts, info, h("span", { class: "nbexp-spacer" }), tools, followBtn, jumpBtn);
  function draw(state, row) {
    setText(title2, row ? `#${row.id} ${row.name}` : "Select an experiment to see its log");
    setText(info, state.id != null ? `${state.total.toLocaleString()} lines` : "");
    setText(followBtn, state.follow ? "following" : "paused");
    followBtn.classList.toggle("nbexp-on", state.follow);
    followBtn.hidden = state.id == null;
    jumpBtn.hidden = state.follow || state.id == null;
    tools.hidden = state.id == null || state.attempt == null;
    const key = state.attempts.map((a) => `${a.attempt}:${a.status}:${a.end}`).join("|");
    if (attempts.dataset.key !== key) {
      attempts.dataset.key = key;
      attempts.replaceChildren(...state.attempts.map((a) => h("option", {
        value: String(a.attempt),
        text: `attempt ${a.attempt} \xB7 ${a.end || a.status}`
      })));
    }
    attempts.hidden = state.attempts.length < 2;
    if (state.attempt != null) attempts.value = String(state.attempt);
  }
  return { el, attempts, query: query2, found, prev, next, wrapBtn, numbersBtn, copyBtn, rawBtn, textBtn, followBtn, jumpBtn, draw };
}
function makeLogView({ channel, notify, selected, rowOf, model }) {
  const theme = { bg: (
    /** @type {[number, number, number]} */
    [255, 255, 255]
  ), fg: (
    /** @type {[number, number, number]} */
    [0, 0, 0]
  ) };
  const header = makeLogHeader();
  const rows = makeLogRows(theme);
  const note = h("div", { class: "nbexp-log-note", hidden: true });
  const el = h("section", { class: "nbexp-log", "aria-label": "log" }, header.el, note, rows.viewport);
  const state = { id: null, attempt: null, total: 0, cache: /* @__PURE__ */ new Map(), follow: true, end: null, attempts: [], mark: null };
  const found = { query: "", matches: [], at: -1, truncated: false };
  let drawPending = 0;
  let programmaticScroll = false;
  function scheduleDraw() {
    if (!drawPending) drawPending = requestAnimationFrame(() => {
      drawPending = 0;
      draw();
    });
  }
  function draw() {
    const total = state.total + (state.end ? 1 : 0);
    if (state.follow && state.total > 0 && rows.scrollToEnd(total)) programmaticScroll = true;
    const { first, count, missing } = rows.draw(state);
    if (missing) wantRange(first, count);
    drawHeader();
  }
  const drawHeader = () => header.draw(state, rowOf(state.id));
  let wish = null;
  let inFlight = false;
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
      if (reply.type === "error") {
        notify(reply.message);
        return;
      }
      if (reply.type === "log_lines" && reply.id === state.id && reply.attempt === state.attempt) {
        reply.lines.forEach((line, i) => state.cache.set(reply.start + i, line));
        state.total = Math.max(state.total, reply.total);
        trimCache(reply.start);
        scheduleDraw();
      }
      if (wish) sendWish();
    }, (message) => {
      inFlight = false;
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
    Object.assign(state, {
      id: log.id ?? null,
      attempt: log.attempt ?? null,
      total: log.total || 0,
      follow: true,
      end: log.end || null,
      attempts: log.attempts || [],
      mark: null
    });
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
    if (log.end != null) state.end = log.end || null;
    state.total = log.total ?? state.total;
    const changed = log.lines && !Array.isArray(log.lines) ? log.lines : {};
    for (const [line, payload] of Object.entries(changed)) state.cache.set(Number(line), payload);
    trimCache(state.total);
    scheduleDraw();
  }
  function select(id) {
    if (model && model.get("attempt") != null) {
      model.set("attempt", null);
      model.save_changes();
    }
    if (id == null) reset({ total: 0, lines: [], start: 0 });
    else if (state.id !== id) {
      Object.assign(state, { id, attempt: null, total: 0, end: null, attempts: [] });
      state.cache.clear();
      drawHeader();
      scheduleDraw();
    }
  }
  let searchTimer = 0;
  function search() {
    const query2 = header.query.value;
    const { id, attempt } = state;
    if (!query2 || id == null || attempt == null) {
      Object.assign(found, { query: "", matches: [], at: -1 });
      state.mark = null;
      setText(header.found, "");
      scheduleDraw();
      return;
    }
    setText(header.found, "searching\u2026");
    channel.request({ type: "log_search", id, attempt, query: query2, regex: false, case: false }, (reply) => {
      if (reply.type === "error") {
        setText(header.found, "");
        notify(reply.message);
        return;
      }
      if (reply.type !== "log_matches" || reply.query !== header.query.value) return;
      Object.assign(found, { query: reply.query, matches: reply.matches, at: -1, truncated: reply.truncated });
      jump(1);
    }, (message) => {
      setText(header.found, "");
      notify(message);
    });
  }
  function jump(step) {
    const n = found.matches.length;
    if (!n) {
      setText(header.found, found.query ? "no match" : "");
      state.mark = null;
      scheduleDraw();
      return;
    }
    found.at = (found.at + step + n) % n;
    const line = found.matches[found.at];
    state.mark = line;
    state.follow = false;
    rows.scrollToLine(line, state.total + (state.end ? 1 : 0));
    setText(header.found, `${found.at + 1} of ${n.toLocaleString()}${found.truncated ? "+" : ""}`);
    scheduleDraw();
  }
  header.query.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(search, 250);
  });
  header.query.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      if (found.query === header.query.value && found.matches.length) jump(ev.shiftKey ? -1 : 1);
      else search();
    }
  });
  header.prev.addEventListener("click", () => jump(-1));
  header.next.addEventListener("click", () => jump(1));
  function onCopy(ev) {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !ev.clipboardData) return;
    const rowOfNode = (n) => (
      /** @type {HTMLElement | null} */
      n && (n.nodeType === 1 ? (
        /** @type {Element} */
        n
      ) : n.parentElement)?.closest(".nbexp-log-row")
    );
    const a = rowOfNode(sel.anchorNode);
    const b = rowOfNode(sel.focusNode);
    if (!a || !b || a === b) return;
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
  function offsetIn(row, node, offset) {
    if (!row.contains(node)) return null;
    const range = document.createRange();
    range.selectNodeContents(row);
    range.setEnd(node, offset);
    return range.toString().length;
  }
  function exportAll(format, done) {
    const { id, attempt } = state;
    if (id == null || attempt == null) return;
    const pieces = [];
    notify(`reading the whole log (${format})\u2026`, "info");
    const ask = (cursor) => channel.request({ type: "log_export", id, attempt, format, cursor }, (reply) => {
      if (reply.type === "error") {
        notify(reply.message);
        return;
      }
      if (reply.type !== "log_chunk") return;
      pieces.push(reply.data);
      if (reply.cursor == null) done(pieces);
      else ask(reply.cursor);
    }, (message) => notify(message));
    ask(0);
  }
  function save(parts, type, name) {
    const url = URL.createObjectURL(new Blob(parts, { type }));
    const link = h("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1e4);
  }
  const fileName = (ext) => `nbexp-${state.id}-attempt-${state.attempt}.${ext}`;
  header.copyBtn.addEventListener("click", () => exportAll("text", (pieces) => {
    navigator.clipboard.writeText(pieces.join("")).then(
      () => notify("the whole log is on the clipboard", "info"),
      () => notify("the browser refused the clipboard: download the text instead")
    );
  }));
  header.rawBtn.addEventListener("click", () => exportAll("raw", (pieces) => {
    save(pieces.map((p) => Uint8Array.from(atob(p), (c) => c.charCodeAt(0))), "application/octet-stream", fileName("log"));
  }));
  header.textBtn.addEventListener("click", () => exportAll("text", (pieces) => save(pieces, "text/plain", fileName("txt"))));
  header.wrapBtn.addEventListener("click", () => {
    const on2 = rows.viewport.classList.toggle("nbexp-log-wrapped");
    header.wrapBtn.classList.toggle("nbexp-on", on2);
    scheduleDraw();
  });
  header.numbersBtn.addEventListener("click", () => {
    const on2 = rows.viewport.classList.toggle("nbexp-log-numbered");
    header.numbersBtn.classList.toggle("nbexp-on", on2);
  });
  header.attempts.addEventListener("change", () => {
    if (!model) return;
    const picked = Number(header.attempts.value);
    const latest = Math.max(...state.attempts.map((a) => a.attempt));
    model.set("attempt", picked === latest ? null : picked);
    model.save_changes();
  });
  const onScroll = () => {
    if (programmaticScroll) programmaticScroll = false;
    else state.follow = rows.atEnd(state.total + (state.end ? 1 : 0));
    scheduleDraw();
  };
  rows.viewport.addEventListener("scroll", onScroll, { passive: true });
  rows.viewport.addEventListener("copy", onCopy);
  header.jumpBtn.addEventListener("click", () => {
    state.follow = true;
    scheduleDraw();
  });
  header.followBtn.addEventListener("click", () => {
    state.follow = !state.follow;
    scheduleDraw();
  });
  const resize2 = new ResizeObserver(() => scheduleDraw());
  resize2.observe(rows.viewport);
  const repaint = () => {
    Object.assign(theme, applyPalette(el));
    adjusted.clear();
    rows.forget();
    scheduleDraw();
  };
  requestAnimationFrame(repaint);
  const themeWatch = new MutationObserver(repaint);
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class"] });
  drawHeader();
  function dispose() {
    if (drawPending) cancelAnimationFrame(drawPending);
    clearTimeout(searchTimer);
    resize2.disconnect();
    themeWatch.disconnect();
    rows.viewport.removeEventListener("scroll", onScroll);
    rows.viewport.removeEventListener("copy", onCopy);
  }
  return { el, apply, select, shows: () => state.id, refreshHeader: drawHeader, dispose };
}

// src/table.js
var ROW_H2 = 30;
var OVERSCAN2 = 24;
var SLACK = 3;
var MARGIN = 80;
var STATUS_ORDER = ["running", "paused", "queued", "pending", "completed", "interrupted", "error"];
var ENDED = /* @__PURE__ */ new Set(["completed", "interrupted", "error"]);
var FIXED = {
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
  actions: { label: "actions", sort: null, on: true, cls: "nbexp-c-actions nbexp-actions-td" }
};
var DEFAULT_COLUMNS = Object.keys(FIXED).filter((key) => FIXED[key].on);
var TEXT_SORTS = /* @__PURE__ */ new Set(["name", "group", "reason", "status"]);
function columnLabel(key) {
  if (FIXED[key]) return FIXED[key].label;
  return key.slice(key.indexOf(":") + 1);
}
function columnSort(key) {
  return FIXED[key] ? FIXED[key].sort : key;
}
function fmtValue(value) {
  if (value == null) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : Number(value.toPrecision(4)).toString();
  return String(value);
}
function spark(values) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "nbexp-row-spark");
  svg.setAttribute("viewBox", "0 0 60 16");
  svg.setAttribute("preserveAspectRatio", "none");
  const clean = (
    /** @type {number[]} */
    values.filter((v) => v != null && isFinite(v))
  );
  if (clean.length >= 2) {
    const lo = Math.min(...clean);
    const span = Math.max(...clean) - lo || 1;
    const step = 60 / (values.length - 1);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", values.map((v, i) => v == null ? null : `${(i * step).toFixed(1)},${(15 - 14 * (v - lo) / span).toFixed(1)}`).filter((p) => p).join(" "));
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
  }
  return svg;
}
function makeTableRow(columns, deps, selection) {
  const cells = {};
  const pick = h("input", { type: "checkbox", class: "nbexp-pick", "aria-label": "select" });
  const progress = makeProgress();
  const actions = makeActions(deps.channel, selection.onReply, deps.notify);
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
    const target = (
      /** @type {HTMLElement} */
      ev.target
    );
    if (row && target !== pick && !target.closest(".nbexp-actions")) deps.onSelect(row.id);
  });
  el.addEventListener("keydown", (ev) => {
    if (row && ev.key === "Enter" && ev.target === el) deps.onSelect(row.id);
  });
  pick.addEventListener("click", (ev) => {
    ev.stopPropagation();
    if (row) selection.toggle(row.id, ev.shiftKey);
  });
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
  function fill(key, cell, statusChanged) {
    if (!row) return;
    if (key === "status") {
      if (statusChanged) cell.replaceChildren(badge(row.status));
      return;
    }
    if (key === "progress" || key === "actions") return;
    if (key === "spark") {
      const values = row.spark || [];
      const next = `${row.main_metric}:${values.join(",")}`;
      if (next !== sparkKey) {
        sparkKey = next;
        const latest = row.main_metric != null ? row.metrics?.[row.main_metric] : null;
        cell.replaceChildren(
          ...values.length ? [spark(values)] : [],
          h("span", { class: "nbexp-spark-value", text: latest != null ? fmtValue(latest) : "" })
        );
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
  function setPicked(on2) {
    pick.checked = on2;
    el.classList.toggle("nbexp-picked", on2);
  }
  return { el, update, tickRuntime, setPicked, row: () => row };
}
function cellText(key, row, now) {
  switch (key) {
    case "id":
      return String(row.id);
    case "name":
      return row.name;
    case "group":
      return row.group || "";
    case "gpus":
      return fmtGpus(row.gpus);
    case "pid":
      return pidText(row);
    case "node":
      return row.node || "";
    case "runtime":
      return runtimeWithLimit(row, now);
    case "reason":
      return reasonText(row);
    default: {
      const name = key.slice(key.indexOf(":") + 1);
      const source = key.startsWith("param:") ? row.params : row.metrics;
      return fmtValue(source ? source[name] : null);
    }
  }
}
function makeGroupLine(onFold, onFilter) {
  const caret = h("button", { class: "nbexp-btn nbexp-fold", title: "fold or unfold its rows" }, icon("caret"));
  const name = h("span", { class: "nbexp-group-name" });
  const summary = h("span", { class: "nbexp-group-summary" });
  const only = h("button", { class: "nbexp-btn nbexp-group-only", text: "only this group" });
  const cell = h("td", { colspan: "99" }, caret, name, summary, only);
  const el = h("tr", { class: "nbexp-group-line nbexp-trow" }, cell);
  let current = "";
  caret.addEventListener("click", (ev) => {
    ev.stopPropagation();
    onFold(current);
  });
  only.addEventListener("click", (ev) => {
    ev.stopPropagation();
    onFilter(current);
  });
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
    const best = (
      /** @type {BestRunJson | null} */
      line.best
    );
    if (best) parts.push(`best ${best.metric} ${fmtValue(best.value)} (#${best.id})`);
    setText(summary, parts.join(" \xB7 "));
  }
  return { el, update };
}
function makeHeader(model) {
  const set = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const search = h("input", { class: "nbexp-search", type: "search", placeholder: "search name, params, tags", value: model.get("search") || "" });
  const filters = h("div", { class: "nbexp-filters" });
  const counts = h("span", { class: "nbexp-counts" });
  const groups = h("select", { class: "nbexp-group-filter", "aria-label": "group" });
  const hideEnded = h("input", { type: "checkbox", class: "nbexp-hide-ended" });
  const grouped = h("input", { type: "checkbox", class: "nbexp-grouped" });
  const chooseBtn = h("button", { class: "nbexp-btn nbexp-columns-btn", title: "choose the columns" }, icon("columns"), " columns");
  const chooser = h("div", { class: "nbexp-columns-menu", hidden: true });
  const el = h(
    "div",
    { class: "nbexp-header" },
    h("span", { class: "nbexp-title", text: "nbexp" }),
    h("span", { class: "nbexp-home", title: "NBEXP_HOME", text: model.get("home") || "" }),
    counts,
    h("span", { class: "nbexp-spacer" }),
    filters,
    groups,
    h("label", { class: "nbexp-toggle" }, hideEnded, "hide ended"),
    h("label", { class: "nbexp-toggle" }, grouped, "by group"),
    search,
    h("span", { class: "nbexp-columns" }, chooseBtn, chooser)
  );
  let last = null;
  function toggle(status) {
    const next = new Set(model.get("status_filter") || []);
    next.has(status) ? next.delete(status) : next.add(status);
    set("status_filter", STATUS_ORDER.filter((s) => next.has(s)));
  }
  function update(c) {
    if (c) last = c;
    const data = last;
    const active = new Set(model.get("status_filter") || []);
    const statuses = data ? data.statuses : {};
    filters.replaceChildren(...STATUS_ORDER.filter((s) => statuses[s] || active.has(s)).map((s) => h("button", {
      class: `nbexp-chip nbexp-status-${s}${active.has(s) ? " nbexp-chip-on" : ""}`,
      "data-status": s,
      "aria-pressed": active.has(s) ? "true" : "false",
      text: `${s} ${(statuses[s] || 0).toLocaleString()}`,
      onclick: () => toggle(s)
    })));
    if (data) {
      const shown = data.shown === data.total ? "" : ` \xB7 ${data.shown.toLocaleString()} shown`;
      setText(counts, `${data.total.toLocaleString()} experiment${data.total === 1 ? "" : "s"}${shown}`);
      const wanted = model.get("group_filter") || "";
      const names = [.../* @__PURE__ */ new Set([...wanted ? [wanted] : [], ...data.groups])];
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
  function drawChooser() {
    const shown = new Set(columnsOf(model));
    const params = last ? last.params.map((n) => `param:${n}`) : [];
    const metrics = last ? last.metrics.map((n) => `metric:${n}`) : [];
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
      ...params.length ? [h("div", { class: "nbexp-muted", text: "params" }), ...params.map(box)] : [],
      ...metrics.length ? [h("div", { class: "nbexp-muted", text: "metrics" }), ...metrics.map(box)] : [],
      h("button", { class: "nbexp-btn", text: "defaults", onclick: () => set("columns", []) })
    );
  }
  const onSearch = () => set("search", search.value);
  search.addEventListener("input", onSearch);
  groups.addEventListener("change", () => set("group_filter", groups.value));
  hideEnded.addEventListener("change", () => set("hide_ended", hideEnded.checked));
  grouped.addEventListener("change", () => set("grouped", grouped.checked));
  chooseBtn.addEventListener("click", () => {
    chooser.hidden = !chooser.hidden;
    if (!chooser.hidden) drawChooser();
  });
  const onOutside = (ev) => {
    if (!chooser.hidden && !/** @type {Node} */
    ev.target.isConnected) return;
    if (!chooser.hidden && !el.querySelector(".nbexp-columns")?.contains(
      /** @type {Node} */
      ev.target
    )) chooser.hidden = true;
  };
  document.addEventListener("click", onOutside, true);
  return {
    el,
    update,
    redrawChooser: () => {
      if (!chooser.hidden) drawChooser();
    },
    dispose: () => {
      search.removeEventListener("input", onSearch);
      document.removeEventListener("click", onOutside, true);
    }
  };
}
function columnsOf(model) {
  const chosen = model.get("columns") || [];
  return chosen.length ? chosen : DEFAULT_COLUMNS;
}
function makeRunsTable(deps) {
  const { model, channel, notify } = deps;
  const view = `v${Math.floor(Math.random() * 2 ** 31).toString(36)}`;
  const header = makeHeader(model);
  const rows = /* @__PURE__ */ new Map();
  let win2 = { view, offset: 0, total: 0, items: [], groups: {} };
  const picked = /* @__PURE__ */ new Set();
  let allMatching = false;
  let lastPick = -1;
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
  const parts = /* @__PURE__ */ new Map();
  const lines = /* @__PURE__ */ new Map();
  const fillers = [];
  const selection = {
    toggle: pickRow,
    isPicked: (id) => allMatching || picked.has(id),
    onReply: onActionReply
  };
  function drawHead() {
    const sort = model.get("sort") || "id";
    const desc = model.get("descending") !== false;
    headRow.replaceChildren(h("th", { class: "nbexp-c-pick" }, pickAll), ...columns.map((key) => {
      const key2 = columnSort(key);
      const sorted = key2 != null && key2 === sort;
      const th = h("th", {
        class: `${FIXED[key] ? FIXED[key].cls : "nbexp-c-extra"}${key2 ? " nbexp-sortable" : ""}${sorted ? " nbexp-sorted" : ""}`,
        "data-column": key,
        title: key2 ? `sort by ${columnLabel(key)}` : "",
        "aria-sort": sorted ? desc ? "descending" : "ascending" : null
      }, columnLabel(key));
      if (sorted) th.append(icon(desc ? "down" : "up"));
      if (key2) th.addEventListener("click", () => {
        const next = key2 === sort ? !desc : !TEXT_SORTS.has(key2);
        model.set("sort", key2);
        model.set("descending", next);
        model.save_changes();
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
  function pickRow(id, shift) {
    allMatching = false;
    const at = win2.items.indexOf(id);
    if (shift && lastPick >= 0 && at >= 0) {
      const [a, b] = [Math.min(lastPick, at), Math.max(lastPick, at)];
      for (const item of win2.items.slice(a, b + 1)) if (typeof item === "number") picked.add(item);
    } else if (picked.has(id)) picked.delete(id);
    else picked.add(id);
    lastPick = at;
    refreshPicks();
  }
  function refreshPicks() {
    for (const part of parts.values()) {
      const row = part.row();
      if (row) part.setPicked(allMatching || picked.has(row.id));
    }
    const count = allMatching ? win2.total : picked.size;
    bulkBar.hidden = count === 0;
    if (count) drawBulk(count);
    pickAll.checked = count > 0;
  }
  function drawBulk(count, asking = null) {
    const what = allMatching ? `all ${count.toLocaleString()} shown by the filter` : `${count} selected`;
    if (asking) {
      bulkBar.replaceChildren(
        h("span", { class: "nbexp-confirm-text", text: `${asking} ${what}?` }),
        h("button", { class: "nbexp-btn nbexp-danger nbexp-confirm", "data-action": asking, text: `yes, ${asking}`, onclick: () => sendBulk(asking) }),
        h("button", { class: "nbexp-btn nbexp-cancel", text: "cancel", onclick: () => drawBulk(count) })
      );
      return;
    }
    bulkBar.replaceChildren(
      h("span", { class: "nbexp-bulk-count", text: what }),
      ...["stop", "restart", "remove"].map((action) => h("button", {
        class: `nbexp-btn nbexp-bulk-${action}`,
        "data-action": action,
        text: action,
        onclick: () => drawBulk(count, action)
      })),
      allMatching || win2.total <= picked.size ? "" : h("button", {
        class: "nbexp-btn nbexp-pick-matching",
        text: `select all ${win2.total.toLocaleString()} shown`,
        onclick: () => {
          allMatching = true;
          refreshPicks();
        }
      }),
      h("button", { class: "nbexp-btn nbexp-bulk-clear", text: "clear", onclick: clearPicks })
    );
  }
  function clearPicks() {
    picked.clear();
    allMatching = false;
    refreshPicks();
  }
  function sendBulk(action) {
    for (const b of bulkBar.querySelectorAll("button")) b.disabled = true;
    channel.request({ type: "bulk", action, ids: allMatching ? [] : [...picked], matching: allMatching }, (reply) => {
      if (reply.type === "error") {
        notify(reply.message);
        drawBulk(picked.size);
        return;
      }
      if (reply.type !== "bulk_done") return;
      const refused = reply.refused.slice(0, 3).map((r) => `#${r.id}: ${r.message}`).join("; ");
      notify(refused ? `${reply.message}: ${refused}` : reply.message, reply.refused.length ? "warn" : "info");
      clearPicks();
    }, (message) => {
      notify(message);
      refreshPicks();
    });
  }
  pickAll.addEventListener("change", () => {
    if (!pickAll.checked) {
      clearPicks();
      return;
    }
    for (const item of win2.items) if (typeof item === "number") picked.add(item);
    refreshPicks();
  });
  function onActionReply(reply) {
    if (reply.type === "refused") {
      offer(reply);
      return;
    }
    deps.onActionReply(reply);
  }
  function offer(reply) {
    const item = h(
      "div",
      { class: "nbexp-notice nbexp-notice-warn nbexp-offer", "data-id": reply.id },
      h("span", { text: reply.message }),
      ...reply.offers.map((action) => h("button", {
        class: `nbexp-btn nbexp-offer-${action.split(" ")[0]}`,
        "data-action": action,
        text: action.startsWith("queue") ? "queue it" : "force",
        title: action.startsWith("queue") ? "wait in the queue until its GPUs are free" : "start now, ignoring the GPU check",
        onclick: () => {
          item.remove();
          channel.request({ type: "action", id: reply.id, action }, (r) => onActionReply(
            /** @type {any} */
            r
          ), (m) => notify(m));
        }
      })),
      h("button", { class: "nbexp-btn nbexp-dismiss", "aria-label": "dismiss", onclick: () => item.remove() }, icon("close"))
    );
    offers.append(item);
    while (offers.children.length > 3) offers.firstChild?.remove();
  }
  let pending = 0;
  let dirty = true;
  let drawn = { from: 0, to: 0 };
  function scheduleDraw(changed = true) {
    dirty = dirty || changed;
    if (!pending) pending = requestAnimationFrame(() => {
      pending = 0;
      draw();
    });
  }
  function drawNow() {
    if (pending) {
      cancelAnimationFrame(pending);
      pending = 0;
    }
    dirty = true;
    draw();
  }
  function visibleRange() {
    const headH = (
      /** @type {HTMLElement} */
      table.tHead?.offsetHeight || ROW_H2
    );
    const height = Math.max(ROW_H2, (wrap.clientHeight || 360) - headH);
    const first = Math.floor(wrap.scrollTop / ROW_H2);
    const last = Math.min(win2.total, first + Math.ceil(height / ROW_H2));
    return { first, last, from: Math.max(0, first - OVERSCAN2), to: Math.min(win2.total, last + OVERSCAN2) };
  }
  let narrow = false;
  function draw() {
    if (toTop) {
      toTop = false;
      wrap.scrollTop = 0;
    }
    const seen = visibleRange();
    const { first, last } = seen;
    const covered = first >= drawn.from + (drawn.from > 0 ? SLACK : 0) && last <= drawn.to - (drawn.to < win2.total ? SLACK : 0);
    if (!dirty && covered && !narrow) return;
    const quick = dirty && !narrow;
    dirty = false;
    narrow = quick;
    const from = quick ? Math.max(0, first - 2) : seen.from;
    const to = quick ? Math.min(win2.total, last + 2) : seen.to;
    drawn = { from, to };
    if (quick) scheduleDraw(false);
    padTop.style.height = `${from * ROW_H2}px`;
    padBottom.style.height = `${Math.max(0, win2.total - to) * ROW_H2}px`;
    const wanted = [];
    let missing = 0;
    const itemAt = (i) => i >= win2.offset && i < win2.offset + win2.items.length ? win2.items[i - win2.offset] : void 0;
    const needed = /* @__PURE__ */ new Set();
    for (let i = from; i < to; i++) {
      const item = itemAt(i);
      if (typeof item === "number") needed.add(item);
    }
    const spare = [];
    for (const [id, part] of parts) if (!needed.has(id)) {
      parts.delete(id);
      spare.push(part);
    }
    for (let i = from; i < to; i++) {
      const item = itemAt(i);
      if (typeof item === "number" && rows.has(item)) {
        const row = (
          /** @type {RowJson} */
          rows.get(item)
        );
        let part = parts.get(item);
        if (!part) {
          part = spare.pop() || makeTableRow(columns, deps, selection);
          parts.set(item, part);
        }
        if (part.row() !== row) part.update(row);
        wanted.push(part.el);
      } else if (typeof item === "string" && win2.groups[item]) {
        let line = lines.get(item);
        if (!line) {
          line = makeGroupLine(fold, (name) => {
            model.set("group_filter", name);
            model.save_changes();
          });
          lines.set(item, line);
        }
        line.update(win2.groups[item]);
        wanted.push(line.el);
      } else {
        const filler = fillers[missing] || (fillers[missing] = h("tr", { class: "nbexp-trow nbexp-row-missing" }, h("td", { colspan: "99", text: "\u2026" })));
        missing++;
        wanted.push(filler);
      }
    }
    let at = (
      /** @type {ChildNode | null} */
      padTop.nextSibling
    );
    for (const node of wanted) {
      if (at !== node) tbody.insertBefore(node, at);
      else at = at.nextSibling;
      at = node.nextSibling;
    }
    while (at && at !== padBottom) {
      const next = at.nextSibling;
      at.remove();
      at = next;
    }
    if (missing || from < win2.offset || to > win2.offset + win2.items.length) askWindow(from, to);
    empty.hidden = win2.total > 0;
    const counts = lastCounts;
    empty.textContent = counts && counts.total ? "No experiment matches the filter." : "No experiments yet.";
  }
  function fold(name) {
    const now = new Set(model.get("collapsed") || []);
    now.has(name) ? now.delete(name) : now.add(name);
    model.set("collapsed", [...now]);
    model.save_changes();
  }
  let inFlight = false;
  let wish = null;
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
      if (wish && !(first >= win2.offset && last <= win2.offset + win2.items.length)) sendWish();
      else wish = null;
    }, (message) => {
      inFlight = false;
      notify(message);
    });
  }
  function takeRows(reply) {
    for (const row of reply.rows) rows.set(row.id, row);
    for (const id of reply.forget) rows.delete(id);
    if (reply.window.view === view) win2 = reply.window;
    update(reply.counts);
    drawNow();
  }
  let lastCounts = null;
  function update(counts) {
    if (counts) lastCounts = counts;
    header.update(counts || null);
    header.redrawChooser();
  }
  function apply(msg) {
    for (const row of msg.rows || []) rows.set(row.id, row);
    if (msg.type === "tick") {
      for (const id of msg.removed || []) {
        rows.delete(id);
        picked.delete(id);
      }
      for (const id of msg.forget || []) rows.delete(id);
    }
    const mine = msg.windows ? msg.windows[view] : void 0;
    if (mine) win2 = mine;
    if (msg.counts || mine || msg.rows) update(msg.counts);
    if (mine) drawNow();
    else scheduleDraw();
  }
  function upsert(row) {
    const before = rows.get(row.id);
    rows.set(row.id, row);
    const part = parts.get(row.id);
    if (part && part.row()) part.update(row);
    return !before || before.status !== row.status;
  }
  function remove(id) {
    rows.delete(id);
    picked.delete(id);
    scheduleDraw();
  }
  function markSelected(id) {
    for (const part of parts.values()) {
      const row = part.row();
      part.el.classList.toggle("nbexp-selected", row != null && row.id === id);
    }
  }
  const onScroll = () => scheduleDraw(false);
  wrap.addEventListener("scroll", onScroll, { passive: true });
  const resize2 = new ResizeObserver(() => scheduleDraw());
  resize2.observe(wrap);
  const onColumns = () => rebuildColumns();
  let toTop = false;
  const onSort = () => {
    drawHead();
    toTop = true;
    scheduleDraw();
  };
  const onFilter = () => {
    header.update(null);
    toTop = true;
    scheduleDraw();
    clearPicks();
  };
  model.on("change:columns", onColumns);
  model.on("change:sort", onSort);
  model.on("change:descending", onSort);
  for (const name of ["status_filter", "search", "group_filter", "hide_ended", "grouped"]) model.on(`change:${name}`, onFilter);
  const ticker = setInterval(() => {
    if (!live) return;
    for (const part of parts.values()) if (part.row()?.status === "running" && part.el.isConnected) part.tickRuntime();
  }, 1e3);
  drawHead();
  header.update(null);
  return {
    el,
    view,
    apply,
    upsert,
    remove,
    markSelected,
    /** The rows the first window should hold (the view's height). */
    limit: () => Math.ceil((wrap.clientHeight || 360) / ROW_H2) + OVERSCAN2,
    /** @param {number | null} id */
    get: (id) => id == null ? void 0 : rows.get(id),
    all: () => [...rows.values()],
    /** Ended rows no longer tick; a dead kernel's page stops its clocks. @param {boolean} on */
    setLive: (on2) => {
      live = on2;
    },
    ended: (row) => ENDED.has(row.status),
    dispose: () => {
      clearInterval(ticker);
      if (pending) cancelAnimationFrame(pending);
      resize2.disconnect();
      wrap.removeEventListener("scroll", onScroll);
      model.off("change:columns", onColumns);
      model.off("change:sort", onSort);
      model.off("change:descending", onSort);
      for (const name of ["status_filter", "search", "group_filter", "hide_ended", "grouped"]) model.off(`change:${name}`, onFilter);
      header.dispose();
    }
  };
}

// src/toast.js
var TOAST_MS = 15e3;
var MAX_TOASTS = 4;
var OPT_IN_KEY = "nbexp-notify";
var ENDINGS = {
  completed: { icon: "check", word: "completed" },
  error: { icon: "error", word: "failed" },
  interrupted: { icon: "stop", word: "stopped" },
  queued: { icon: "retry", word: "failed, will retry" }
  // a retry waits in the queue
};
function notificationApi() {
  return typeof window !== "undefined" && "Notification" in window ? window.Notification : null;
}
function optedIn() {
  try {
    return window.localStorage.getItem(OPT_IN_KEY) === "1";
  } catch (e) {
    return false;
  }
}
function setOptIn(on2) {
  try {
    window.localStorage.setItem(OPT_IN_KEY, on2 ? "1" : "0");
  } catch (e) {
  }
}
function title(ended) {
  const info = ENDINGS[ended.status] || { icon: "", word: ended.status };
  return `#${ended.id} ${ended.name} ${info.word}`;
}
function makeToasts({ onSelect }) {
  const list = h("div", { class: "nbexp-toast-list" });
  const bell = h("button", { class: "nbexp-btn nbexp-notify-toggle", type: "button", onclick: toggle });
  const el = h(
    "div",
    { class: "nbexp-toasts", role: "status", "aria-live": "polite", hidden: true },
    list,
    bell
  );
  const timers = /* @__PURE__ */ new Set();
  function drawBell() {
    const api = notificationApi();
    bell.hidden = !api || api.permission === "denied";
    const on2 = !!api && optedIn() && api.permission === "granted";
    bell.replaceChildren(
      icon(on2 ? "bell" : "bell-off"),
      on2 ? " notifying in the background" : " notify me in the background"
    );
    bell.title = on2 ? "click to stop browser notifications for runs that end" : "show a browser notification when a run ends while this tab is in the background";
    bell.setAttribute("aria-pressed", on2 ? "true" : "false");
  }
  async function toggle() {
    const api = notificationApi();
    if (!api) return;
    if (optedIn() && api.permission === "granted") {
      setOptIn(false);
      drawBell();
      return;
    }
    const answer = api.permission === "granted" ? "granted" : await api.requestPermission();
    setOptIn(answer === "granted");
    drawBell();
  }
  function notify(ended) {
    const api = notificationApi();
    if (!api || !optedIn() || api.permission !== "granted" || !document.hidden) return;
    try {
      const note = new api(`nbexp: ${title(ended)}`, { body: ended.summary || "", tag: `nbexp-${ended.id}` });
      note.onclick = () => {
        window.focus();
        onSelect(ended.id);
        note.close();
      };
    } catch (e) {
    }
  }
  function drop(item) {
    item.remove();
    el.hidden = list.children.length === 0;
  }
  function show(ended) {
    const info = ENDINGS[ended.status] || { icon: "", word: ended.status };
    const item = h(
      "div",
      {
        class: `nbexp-toast nbexp-toast-${ended.status}`,
        "data-id": String(ended.id),
        "data-status": ended.status
      },
      h("span", { class: "nbexp-toast-icon", "aria-hidden": "true" }, info.icon ? icon(info.icon) : null),
      h(
        "div",
        { class: "nbexp-toast-body" },
        h(
          "div",
          { class: "nbexp-toast-title" },
          h("a", {
            class: "nbexp-toast-link",
            href: "#",
            title: `show experiment ${ended.id}`,
            text: `#${ended.id} ${ended.name}`,
            onclick: (ev) => {
              ev.preventDefault();
              onSelect(ended.id);
              drop(item);
            }
          }),
          h("span", { class: "nbexp-toast-status", text: ` ${info.word}` }),
          ended.attempts ? h("span", { class: "nbexp-muted", text: ` (${ended.attempts})` }) : null
        ),
        ended.summary ? h("div", { class: "nbexp-toast-summary", title: ended.summary, text: ended.summary }) : null
      ),
      h("button", {
        class: "nbexp-btn nbexp-dismiss",
        "aria-label": "dismiss",
        onclick: () => drop(item)
      }, icon("close"))
    );
    list.prepend(item);
    while (list.children.length > MAX_TOASTS) list.lastElementChild?.remove();
    el.hidden = false;
    drawBell();
    const timer = setTimeout(() => {
      timers.delete(timer);
      drop(item);
    }, TOAST_MS);
    timers.add(timer);
    notify(ended);
  }
  drawBell();
  return { el, show, dispose: () => {
    for (const t of timers) clearTimeout(t);
  } };
}

// src/dashboard.js
var NARROW = 1100;
var STACK = 760;
var TINY = 620;
var SILENT_MS = 15e3;
function renderDashboard({ model, el }) {
  let clockOffset = 0;
  const now = () => Date.now() / 1e3 + clockOffset;
  const channel = makeChannel(model);
  const notices = makeNotices();
  const selected = () => model.get("selected");
  const table = makeRunsTable({ model, channel, now, selected, onSelect: select, onActionReply, notify: notices.show });
  const gpus = makeGpuPanel();
  const toasts = makeToasts({ onSelect: select });
  const log = makeLogView({ channel, notify: notices.show, selected, rowOf: (id) => table.get(id), model });
  const gone = h(
    "div",
    { class: "nbexp-disconnected-note", hidden: true },
    icon("disconnected"),
    "disconnected \u2014 run the cell again"
  );
  const chart = makeChartPanel({ channel, notify: notices.show, rowOf: (id) => table.get(id), rows: () => table.all() });
  const root = h(
    "div",
    { class: "nbexp-root nbexp-dashboard" },
    gone,
    toasts.el,
    notices.el,
    table.el,
    h("div", { class: "nbexp-lower" }, gpus.el, log.el),
    chart.el
  );
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
  }, 1e3);
  function select(id) {
    model.set("selected", id);
    model.save_changes();
    table.markSelected(id);
    log.select(id);
    chart.select(id);
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
  }
  function applyTick(msg) {
    if (msg.now != null) clockOffset = msg.now - Date.now() / 1e3;
    table.apply(msg);
    for (const row of msg.rows || []) if (log.shows() === row.id) log.refreshHeader();
    if (msg.type === "tick") for (const id of msg.removed || []) removeRow(id);
    const rowsChanged = Boolean(msg.rows || msg.type === "snapshot" || msg.type === "tick" && msg.removed);
    if (msg.gpu_holders) held = msg.gpu_holders;
    if (gpus.apply(msg) || msg.gpu_holders) gpus.draw(held);
    if (msg.log) log.apply(msg.log);
    if (msg.type === "tick" && msg.chart) chart.apply(msg.chart);
    if (rowsChanged) chart.rowsChanged();
    if (msg.type === "tick") for (const problem of msg.problems || []) notices.show(problem, "warn");
    if (msg.type === "tick") for (const ended of msg.ended || []) toasts.show(ended);
  }
  const onMsg = (msg) => {
    heard = Date.now();
    if (channel.resolve(msg)) return;
    if (msg.type === "tick" || msg.type === "snapshot") applyTick(msg);
    else if (msg.type === "error") notices.show(msg.message);
  };
  let held = {};
  model.on("msg:custom", onMsg);
  gpus.draw(held);
  model.send({ type: "hello", view: table.view, limit: table.limit() });
  return () => {
    try {
      model.send({ type: "bye", view: table.view });
    } catch (e) {
    }
    model.off("msg:custom", onMsg);
    clearInterval(watchdog);
    widths.disconnect();
    for (const part of [channel, notices, table, log, toasts, chart]) part.dispose();
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
