// @ts-check
// Requests over anywidget's custom messages: each carries a `req` number, unique in the page,
// that its answer repeats; a request with no answer within REQUEST_TIMEOUT_MS is given up.

/** @import { ActionRequest, KernelMessage, LogRangeRequest, Model, Reply, RequestBody } from "./protocol.js" */

// A request the kernel has not answered by then is given up (a busy cell holds the kernel's
// message queue; a dead kernel never answers). Its late answer, if any, is ignored.
const REQUEST_TIMEOUT_MS = 10_000;
const NO_ANSWER = `no answer from the kernel within ${REQUEST_TIMEOUT_MS / 1000} s \u2014 is it busy or dead?`;

/**
 * Request/reply over custom messages; replies carry the request's "req". A request with no
 * reply within REQUEST_TIMEOUT_MS is dropped and its `onNoAnswer` runs; a reply that comes
 * after that is ignored.
 * @param {Model<any>} model
 */
export function makeChannel(model) {
  /** @type {Map<number, {onReply: (reply: Reply) => void, timer: ReturnType<typeof setTimeout>}>} */
  const waiting = new Map();
  return {
    /**
     * @param {RequestBody} content
     * @param {(reply: Reply) => void} onReply
     * @param {(message: string) => void} onNoAnswer gets the notice to show
     */
    request(content, onReply, onNoAnswer) {
      const req = nextRequestId++;
      const timer = setTimeout(() => { waiting.delete(req); onNoAnswer(NO_ANSWER); }, REQUEST_TIMEOUT_MS);
      waiting.set(req, { onReply, timer });
      model.send(/** @type {ActionRequest | LogRangeRequest} */ ({ ...content, req }));
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
    },
  };
}
/** @typedef {ReturnType<typeof makeChannel>} Channel */

// Request ids are unique across every view in this page, and start at a random number so that
// another page's replies (the kernel sends them to every view of a widget) do not match ours.
let nextRequestId = 1 + Math.floor(Math.random() * 2 ** 30);
