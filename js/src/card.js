// @ts-check
// The compact experiment card shown under a cell: badge, name, runtime, pid, GPUs, progress,
// the last lines of output and the allowed actions. Its row, tail and clock are traitlets.

import { makeChannel } from "./channel.js";
import { fmtGpus, h, pidText, reasonText, runtimeWithLimit, setText } from "./dom.js";
import { badge, makeActions, makeNotices, makeProgress } from "./parts.js";
/** @import { CardTraits, KernelMessage, Model, RowJson } from "./protocol.js" */

/** @param {{model: Model<CardTraits>, el: HTMLElement}} ctx */
export function renderCard({ model, el }) {
  const channel = makeChannel(model);
  const notices = makeNotices();
  let clockOffset = 0;
  const now = () => Date.now() / 1000 + clockOffset;
  const actions = makeActions(channel, (reply) => {
    // Success needs nothing here: the kernel updates the `row` trait.
    if (reply.type !== "action_done") notices.show(reply.message); // refused, or an error
  }, notices.show);
  const progress = makeProgress();
  const parts = {
    badge: badge(""), name: h("span", { class: "nbexp-card-name" }), runtime: h("span", { class: "nbexp-runtime" }),
    pid: h("span", { class: "nbexp-muted" }), gpus: h("span", { class: "nbexp-muted" }),
    reason: h("span", { class: "nbexp-reason" }),
  };
  const head = h("div", { class: "nbexp-card-head" }, parts.badge, parts.name, parts.runtime, parts.pid,
    parts.gpus, parts.reason, h("span", { class: "nbexp-spacer" }), actions.el);
  const tail = h("pre", { class: "nbexp-card-tail" });
  const removed = h("div", { class: "nbexp-muted", text: "experiment removed", hidden: true });
  const root = h("div", { class: "nbexp-root nbexp-card" }, head, progress.el, tail, notices.el, removed);
  el.append(root);

  /** The row to show, or null once removed. */
  const currentRow = () => {
    const row = model.get("row") || {};
    return row.id == null ? null : /** @type {RowJson} */ (row);
  };
  /** Show text in `node`, or hide it when empty. @param {HTMLElement} node @param {string} text */
  const showText = (node, text) => { setText(node, text); node.hidden = !text; };
  function draw() {
    const row = currentRow();
    if (model.get("now")) clockOffset = model.get("now") - Date.now() / 1000;
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
  /** @param {KernelMessage} msg */
  const onMsg = (msg) => { channel.resolve(msg); };
  model.on("msg:custom", onMsg);
  const timer = setInterval(() => {
    const row = currentRow();
    if (row && row.status === "running") setText(parts.runtime, runtimeWithLimit(row, now()));
  }, 1000);
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
