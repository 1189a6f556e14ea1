// @ts-check
// Toasts for runs that end while the dashboard is open (status, name, summary, a link that
// selects the run), and browser notifications for them while the tab is in the background:
// opt-in, asked for on a click (never on load), remembered in this browser's localStorage.

import "./toast.css";
import { h } from "./dom.js";
import { icon } from "./icons.js";
/** @import { EndedJson } from "./protocol.js" */

const TOAST_MS = 15000;
const MAX_TOASTS = 4;
const OPT_IN_KEY = "nbexp-notify"; // "1": the user asked for notifications in the background

/** @type {Record<string, {icon: string, word: string}>} */
const ENDINGS = {
  completed: { icon: "check", word: "completed" },
  error: { icon: "error", word: "failed" },
  interrupted: { icon: "stop", word: "stopped" },
  queued: { icon: "retry", word: "failed, will retry" }, // a retry waits in the queue
};

/** The Notification API where this page may use it (absent in some webviews). */
function notificationApi() {
  return typeof window !== "undefined" && "Notification" in window ? window.Notification : null;
}

function optedIn() {
  try { return window.localStorage.getItem(OPT_IN_KEY) === "1"; } catch (e) { return false; }
}

/** @param {boolean} on */
function setOptIn(on) {
  try { window.localStorage.setItem(OPT_IN_KEY, on ? "1" : "0"); } catch (e) { /* private mode */ }
}

/** @param {EndedJson} ended */
function title(ended) {
  const info = ENDINGS[ended.status] || { icon: "", word: ended.status };
  return `#${ended.id} ${ended.name} ${info.word}`;
}

/**
 * @param {{onSelect: (id: number) => void}} deps what the "show" link does
 */
export function makeToasts({ onSelect }) {
  const list = h("div", { class: "nbexp-toast-list" });
  const bell = h("button", { class: "nbexp-btn nbexp-notify-toggle", type: "button", onclick: toggle });
  const el = h("div", { class: "nbexp-toasts", role: "status", "aria-live": "polite", hidden: true },
    list, bell);
  /** @type {Set<ReturnType<typeof setTimeout>>} */
  const timers = new Set();

  function drawBell() {
    const api = notificationApi();
    bell.hidden = !api || api.permission === "denied";
    const on = !!api && optedIn() && api.permission === "granted";
    // Inline SVG, not 🔔: emoji show as empty boxes on a Linux without emoji fonts.
    bell.replaceChildren(icon(on ? "bell" : "bell-off"),
      on ? " notifying in the background" : " notify me in the background");
    bell.title = on ? "click to stop browser notifications for runs that end"
      : "show a browser notification when a run ends while this tab is in the background";
    bell.setAttribute("aria-pressed", on ? "true" : "false");
  }
  /** Asked on this click only: browsers refuse (or users resent) a request made on load. */
  async function toggle() {
    const api = notificationApi();
    if (!api) return;
    if (optedIn() && api.permission === "granted") { setOptIn(false); drawBell(); return; }
    const answer = api.permission === "granted" ? "granted" : await api.requestPermission();
    setOptIn(answer === "granted");
    drawBell();
  }
  /** @param {EndedJson} ended */
  function notify(ended) {
    const api = notificationApi();
    if (!api || !optedIn() || api.permission !== "granted" || !document.hidden) return;
    try {
      const note = new api(`nbexp: ${title(ended)}`, { body: ended.summary || "", tag: `nbexp-${ended.id}` });
      note.onclick = () => { window.focus(); onSelect(ended.id); note.close(); };
    } catch (e) { /* a page without notification rights (some embeds): the toast is enough */ }
  }
  /** @param {HTMLElement} item */
  function drop(item) {
    item.remove();
    el.hidden = list.children.length === 0;
  }
  /** One toast for a run that ended. @param {EndedJson} ended */
  function show(ended) {
    const info = ENDINGS[ended.status] || { icon: "", word: ended.status };
    const item = h("div", { class: `nbexp-toast nbexp-toast-${ended.status}`, "data-id": String(ended.id),
      "data-status": ended.status },
    h("span", { class: "nbexp-toast-icon", "aria-hidden": "true" }, info.icon ? icon(info.icon) : null),
    h("div", { class: "nbexp-toast-body" },
      h("div", { class: "nbexp-toast-title" },
        h("a", { class: "nbexp-toast-link", href: "#", title: `show experiment ${ended.id}`, text: `#${ended.id} ${ended.name}`,
          onclick: (/** @type {Event} */ ev) => { ev.preventDefault(); onSelect(ended.id); drop(item); } }),
        h("span", { class: "nbexp-toast-status", text: ` ${info.word}` }),
        ended.attempts ? h("span", { class: "nbexp-muted", text: ` (${ended.attempts})` }) : null),
      ended.summary ? h("div", { class: "nbexp-toast-summary", title: ended.summary, text: ended.summary }) : null),
    h("button", { class: "nbexp-btn nbexp-dismiss", "aria-label": "dismiss",
      onclick: () => drop(item) }, icon("close")));
    list.prepend(item);
    while (list.children.length > MAX_TOASTS) list.lastElementChild?.remove();
    el.hidden = false;
    drawBell();
    const timer = setTimeout(() => { timers.delete(timer); drop(item); }, TOAST_MS);
    timers.add(timer);
    notify(ended);
  }
  drawBell();
  return { el, show, dispose: () => { for (const t of timers) clearTimeout(t); } };
}
