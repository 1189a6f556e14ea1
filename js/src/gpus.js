// @ts-check
// The GPU panel: per GPU a memory and a utilisation meter, temperature, power, sparklines of the
// last minutes and who holds it (nbexp's experiments, and processes outside nbexp); then, for
// each running Slurm experiment, the GPUs its job was given on its node, as the job's telemetry
// sidecar read them (node name, the same meters and sparklines, the job's own memory).

import { fmtGiB, h } from "./dom.js";
/** @import { GpuInfo, GpuInfoEntry, GpuProcessJson, GpuReading, NodeGpuJson, NodeGpusJson, SnapshotMessage, TickMessage } from "./protocol.js" */

const SPARK_POINTS = 300; // GPU readings kept per GPU for the sparklines

/** @param {Array<number | null>} values @param {number} max @param {string} cls */
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

/** @typedef {{id: number, name: string}} Holder one of our experiments holding a GPU */

/** Who of ours holds a GPU, from the kernel's `gpu_holders` (the page does not hold every row).
 * @param {GpuInfoEntry} gpu @param {Record<string, Array<[number, string]>>} held */
function holdersOf(gpu, held) {
  return (held[String(gpu.index)] || []).map(([id, name]) => ({ id, name }));
}

/** Someone else's process: shown apart from nbexp's own, so nobody takes it for one of theirs.
 * @param {GpuProcessJson} p */
function foreignLabel(p) {
  return `pid ${p.pid}${p.user ? ` (${p.user})` : ""}${p.mem != null ? ` \u00B7 ${fmtGiB(p.mem)} GiB` : ""}`;
}

/** "held by #3 train, pid 1234 (alice) · 9.1 GiB", or "free".
 * @param {Holder[]} holders @param {GpuProcessJson[]} foreign */
function holdersLine(holders, foreign) {
  if (!holders.length && !foreign.length) return h("div", { class: "nbexp-gpu-holders", text: "free" });
  const ours = holders.map((r) => `#${r.id} ${r.name}`);
  const theirs = foreign.map(foreignLabel);
  const line = h("div", { class: "nbexp-gpu-holders", title: `held by ${[...ours, ...theirs].join(", ")}` },
    `held by ${ours.join(", ")}${ours.length && theirs.length ? ", " : ""}`);
  theirs.forEach((text, i) => line.append(i ? ", " : "",
    h("span", { class: "nbexp-gpu-foreign", "data-pid": foreign[i].pid, title: "not started by nbexp: someone else's process", text })));
  return line;
}

/** @param {string} cls @param {number} pct @param {string} label */
function meterRow(cls, pct, label) {
  return h("div", { class: "nbexp-meter-row" },
    h("span", { class: "nbexp-meter-label", text: label }),
    h("div", { class: `nbexp-meter ${cls}` },
      h("div", { class: "nbexp-meter-fill", style: `width:${Math.max(0, Math.min(100, pct)).toFixed(1)}%` })));
}

/**
 * One GPU's box: meters, temperature and power, sparklines and its holders.
 * @param {GpuInfoEntry} gpu @param {GpuReading} reading @param {GpuReading[]} hist
 * @param {Holder[]} holders @param {GpuProcessJson[]} foreign
 */
function gpuBox(gpu, reading, hist, holders, foreign) {
  const sparks = `last ${Math.round(hist.length / 60)} min: utilisation (green), memory (purple)`;
  return h("div", { class: "nbexp-gpu", "data-index": gpu.index },
    ...gpuMeters(gpu, reading, hist, sparks), holdersLine(holders, foreign));
}

/**
 * What a local GPU's box and a Slurm node GPU's box share: head, memory and utilisation
 * meters, temperature and power, and the two sparklines over `hist`.
 * @param {GpuInfoEntry | NodeGpuJson} gpu @param {GpuReading} reading @param {GpuReading[]} hist
 * @param {string} sparksTitle
 */
function gpuMeters(gpu, reading, hist, sparksTitle) {
  const [mem, util, temp, power] = reading;
  const memPct = gpu.mem_total ? (100 * (mem ?? 0)) / gpu.mem_total : 0;
  return [
    h("div", { class: "nbexp-gpu-head" },
      h("span", { class: "nbexp-gpu-index", text: `GPU ${gpu.index}` }),
      h("span", { class: "nbexp-gpu-name", title: gpu.uuid || "", text: gpu.name || "" })),
    meterRow("nbexp-meter-mem", memPct, `mem ${fmtGiB(mem)}/${fmtGiB(gpu.mem_total)} GiB`),
    meterRow("nbexp-meter-util", util ?? 0, `util ${util ?? "?"}%`),
    h("div", { class: "nbexp-gpu-stats" },
      h("span", { text: temp != null ? `${temp}\u00B0C` : "" }),
      h("span", { text: power != null ? `${power} W` : "" }),
      gpu.problem ? h("span", { class: "nbexp-gpu-problem", text: gpu.problem }) : null),
    h("div", { class: "nbexp-gpu-sparks", title: sparksTitle },
      sparkline(hist.map((r) => r[1]), 100, "nbexp-spark-util"),
      sparkline(hist.map((r) => r[0]), gpu.mem_total || 1, "nbexp-spark-mem")),
  ];
}

/**
 * One node GPU of a Slurm job: the same meters and sparklines as a local GPU, and the memory
 * the job's own processes hold on it.
 * @param {NodeGpuJson} gpu @param {NodeGpusJson} job
 */
function nodeGpuBox(gpu, job) {
  const held = gpu.job_mem != null ? ` \u00B7 ${fmtGiB(gpu.job_mem)} GiB` : "";
  const span = gpu.history.length * (job.interval || 0);
  const sparks = `last ${Math.max(1, Math.round(span / 60))} min on ${job.node || "its node"}: utilisation (green), memory (purple)`;
  return h("div", { class: "nbexp-gpu nbexp-node-gpu", "data-node": job.node || "", "data-index": gpu.index },
    ...gpuMeters(gpu, gpu.reading, gpu.history, sparks),
    h("div", { class: "nbexp-gpu-holders", text: `held by #${job.id} ${job.name}${held}` }));
}

/**
 * A running Slurm experiment's node GPUs under a heading naming the node and the job.
 * @param {NodeGpusJson} job
 */
function nodeSection(job) {
  const heading = h("div", { class: "nbexp-panel-title nbexp-node-title", "data-node": job.node || "" },
    h("span", { text: `${job.node || "node ?"}` }),
    h("span", { class: "nbexp-muted", text: `Slurm job ${job.job_id || "?"} \u00B7 #${job.id} ${job.name}` }),
    job.simulated ? h("span", { class: "nbexp-simulated", text: "simulated" }) : null,
    // No reading for three intervals: the job is ending, or its sidecar could not write.
    job.stale ? h("span", { class: "nbexp-gpu-problem", text: "no recent reading" }) : null);
  if (!job.gpus.length) {
    return h("div", { class: "nbexp-node" }, heading,
      h("div", { class: "nbexp-muted", text: job.reason || "no GPU reading from the job yet" }));
  }
  return h("div", { class: "nbexp-node" }, heading, ...job.gpus.map((gpu) => nodeGpuBox(gpu, job)));
}

/** The GPU panel: keeps the readings (and sparkline history) that ticks and snapshots bring. */
export function makeGpuPanel() {
  const el = h("section", { class: "nbexp-gpus", "aria-label": "GPUs" });
  /** @type {GpuInfo | null} */
  let info = null;
  /** @type {GpuReading[]} */
  let readings = [];
  /** @type {GpuReading[][]} per GPU, oldest first */
  let history = [];
  /** @type {Record<string, GpuProcessJson[]>} GPU index -> processes nbexp did not start */
  let foreign = {};
  /** @type {NodeGpusJson[]} running Slurm experiments' GPUs, on their nodes */
  let nodes = [];

  /** Take what a message brings; whether anything GPU-related changed.
   * @param {TickMessage | SnapshotMessage} msg */
  function apply(msg) {
    if (msg.gpu_info) {
      // Keep the sparklines unless the set of GPUs itself changed (a new info message also
      // comes when only a GPU's process list did).
      const key = (/** @type {GpuInfo | null} */ i) => (i ? i.gpus.map((g) => g.uuid ?? g.index).join(",") : "");
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
        const hist = (history[i] = history[i] || []);
        hist.push(r);
        if (hist.length > SPARK_POINTS) hist.splice(0, hist.length - SPARK_POINTS);
      });
    }
    return Boolean(msg.gpu_info || msg.gpu || msg.gpu_foreign || msg.node_gpus || msg.type === "snapshot");
  }
  /** @param {Record<string, Array<[number, string]>>} held GPU index -> [[id, name], …] of ours */
  function draw(held) {
    if (!info) { el.replaceChildren(h("div", { class: "nbexp-muted", text: "GPUs: waiting for the first reading\u2026" })); return; }
    const title = h("div", { class: "nbexp-panel-title" }, h("span", { text: "GPUs" }),
      info.simulated ? h("span", { class: "nbexp-simulated", text: "simulated" }) : null,
      // Slurm experiments' GPUs follow under their node's name.
      nodes.length ? h("span", { class: "nbexp-muted nbexp-gpus-scope", text: "this machine" }) : null);
    const remote = nodes.map(nodeSection);
    if (!info.gpus.length) {
      el.replaceChildren(title, h("div", { class: "nbexp-nogpu" },
        h("div", { class: "nbexp-nogpu-title", text: "No GPU" }),
        h("div", { class: "nbexp-muted", text: info.reason || "no GPU was found" })), ...remote);
      return;
    }
    el.replaceChildren(title, ...info.gpus.map((gpu, i) =>
      gpuBox(gpu, readings[i] || [], history[i] || [], holdersOf(gpu, held), foreign[gpu.index] || [])),
      ...remote);
  }
  return { el, apply, draw };
}
