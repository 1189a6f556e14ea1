// @ts-check
// Inline SVG icons: they draw the same everywhere, where an emoji (✋) shows as an empty box on
// a Linux without emoji fonts. Each is a 16x16 path in the current text colour.

const NS = "http://www.w3.org/2000/svg";

/** @type {Record<string, string>} 16x16 paths, stroked or filled as `FILLED` says */
const PATHS = {
  check: "M3 8.5l3.2 3.2L13 4.8",
  stop: "M5.2 2h5.6L14 5.2v5.6L10.8 14H5.2L2 10.8V5.2z M5.5 8h5", // an octagon: stopped by a user
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
  disconnected: "M2 2l12 12 M5 8.5a4 4 0 0 1 1.8-1.5 M3 6.3a7 7 0 0 1 3-1.8 M9.5 4.5a7 7 0 0 1 3.5 1.8 M11 8.5a4 4 0 0 0-1-.8 M8 12.5v.2",
};

/**
 * An icon, `aria-hidden` (the text beside it, or the button's title, says what it is).
 * @param {string} name one of the names in PATHS
 * @param {string} [cls] extra classes
 */
export function icon(name, cls = "") {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", `nbexp-icon nbexp-icon-${name}${cls ? " " + cls : ""}`);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", PATHS[name] || PATHS.circle);
  svg.append(path);
  return svg;
}

/** The icon of a status badge. @type {Record<string, string>} */
export const STATUS_ICONS = {
  completed: "check",
  interrupted: "stop",
  error: "error",
  queued: "clock",
  pending: "circle",
  paused: "pause",
};
