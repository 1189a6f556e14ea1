// @ts-check
// The pieces the dashboard and the card share: the status badge, inline notices, an
// experiment's action buttons (with their confirmation) and the progress bar.

import { fmtDuration, h, progressOf, setText } from "./dom.js";
import { icon, STATUS_ICONS } from "./icons.js";
/** @import { Channel } from "./channel.js" */
/** @import { ActionDoneMessage, ErrorMessage, ProgressJson, RowJson } from "./protocol.js" */

const NOTICE_MS = 8000;

// Badge icons are inline SVG (icons.js): emoji such as ✋ show as empty boxes without an emoji font.
const CONFIRM = new Set(["stop", "remove"]);

/** @param {string} status */
export function badge(status) {
  const mark = status === "running"
    ? h("span", { class: "nbexp-spinner", "aria-hidden": "true" })
    : icon(STATUS_ICONS[status] || "circle", "nbexp-badge-icon");
  return h("span", { class: `nbexp-badge nbexp-status-${status}`, title: status }, mark,
    h("span", { class: "nbexp-badge-label", text: status }));
}

/** Inline notices: dismissable, gone after NOTICE_MS, never a traceback. */
export function makeNotices() {
  const el = h("div", { class: "nbexp-notices", role: "status", "aria-live": "polite" });
  /** @type {Set<ReturnType<typeof setTimeout>>} */
  const timers = new Set();
  /** @param {string} text @param {"error" | "warn" | "info"} [kind] */
  function show(text, kind = "error") {
    const item = h("div", { class: `nbexp-notice nbexp-notice-${kind}` }, h("span", { text }),
      h("button", { class: "nbexp-btn nbexp-dismiss", "aria-label": "dismiss", text: "\u00D7",
        onclick: () => item.remove() }));
    el.append(item);
    while (el.children.length > 3) el.firstChild?.remove();
    const timer = setTimeout(() => { timers.delete(timer); item.remove(); }, NOTICE_MS);
    timers.add(timer);
  }
  return { el, show, dispose: () => { for (const t of timers) clearTimeout(t); } };
}
/** @typedef {ReturnType<typeof makeNotices>["show"]} Notify */

/**
 * One experiment's action buttons. They are redrawn only when its allowed actions change, so an
 * open "yes, stop / cancel" question survives the row's live updates (progress, runtime); it
 * closes by itself only once its action is no longer allowed.
 * @param {Channel} channel
 * @param {(reply: ActionDoneMessage | ErrorMessage) => void} onReply
 * @param {Notify} notify
 */
export function makeActions(channel, onReply, notify) {
  const el = h("div", { class: "nbexp-actions" });
  let id = -1;
  /** @type {string[]} */
  let actions = [];
  /** @type {string | null} */
  let asking = null; // the action whose confirmation is open
  let busy = false; // a request is on its way: the buttons stay disabled

  /** @param {boolean} on */
  function setBusy(on) {
    busy = on;
    for (const b of el.querySelectorAll("button")) b.disabled = on;
  }
  /** @param {string} action */
  function send(action) {
    setBusy(true);
    channel.request({ type: "action", id, action },
      (reply) => { setBusy(false); onReply(/** @type {ActionDoneMessage | ErrorMessage} */ (reply)); },
      (message) => { setBusy(false); notify(message); });
  }
  function drawButtons() {
    asking = null;
    el.replaceChildren(...actions.map((action) => h("button", {
      class: `nbexp-btn nbexp-action nbexp-action-${action.replace(" ", "-")}`,
      "data-action": action, title: `${action} experiment ${id}`, text: action, disabled: busy,
      onclick: (/** @type {Event} */ ev) => { ev.stopPropagation(); CONFIRM.has(action) ? ask(action) : send(action); },
    })));
  }
  /** @param {string} action */
  function ask(action) {
    asking = action;
    el.replaceChildren(
      h("span", { class: "nbexp-confirm-text", text: `${action} #${id}?` }),
      h("button", { class: "nbexp-btn nbexp-danger nbexp-confirm", "data-action": action, text: `yes, ${action}`,
        disabled: busy, onclick: (/** @type {Event} */ ev) => { ev.stopPropagation(); drawButtons(); send(action); } }),
      h("button", { class: "nbexp-btn nbexp-cancel", text: "cancel",
        onclick: (/** @type {Event} */ ev) => { ev.stopPropagation(); drawButtons(); } }));
  }
  /** @param {RowJson} row */
  function update(row) {
    const sameId = row.id === id;
    if (sameId && row.actions.join("\n") === actions.join("\n")) return;
    id = row.id;
    actions = [...row.actions];
    if (sameId && asking !== null && actions.includes(asking)) return; // keep the question open
    drawButtons();
  }
  return { el, update };
}

/** A progress bar with "NN% · ETA"; hidden while there is no bar to show. */
export function makeProgress() {
  const fill = h("div", { class: "nbexp-progress-fill" });
  const bar = h("div", { class: "nbexp-progress", role: "progressbar" }, fill);
  const text = h("span", { class: "nbexp-progress-text" });
  const el = h("div", { class: "nbexp-progress-cell", hidden: true }, bar, text);
  /** @param {ProgressJson | null} progress */
  function update(progress) {
    const p = progressOf(progress);
    el.hidden = !p || p.pct == null;
    if (!p || p.pct == null) return;
    const pct = Math.max(0, Math.min(100, p.pct));
    const eta = p.eta != null ? ` \u00B7 ETA ${fmtDuration(p.eta)}` : "";
    fill.style.width = `${pct.toFixed(1)}%`;
    bar.setAttribute("aria-valuenow", pct.toFixed(0));
    setText(text, `${pct.toFixed(0)}%${eta}`);
    el.title = p.title;
  }
  return { el, update };
}
