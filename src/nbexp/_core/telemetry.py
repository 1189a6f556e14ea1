"""GPU telemetry of a Slurm job, as the sidecar beside its log keeps it: which of the node's GPUs
are the job's, a bounded ring of readings, and the JSON both sides agree on. Pure: the sidecar
that samples NVML and writes the file is `_exec.telemetry`; the service reads it.

The file (`attempt-N.gpu.json`, next to `attempt-N.log` on the shared filesystem) is rewritten
whole every few seconds (write, then rename, so a reader never sees half of it):

    {"version": 1, "node": "gpu-07", "job_id": "4242_3", "pid": 1234, "interval": 5.0,
     "started": t0, "updated": t, "done": false, "simulated": false, "reason": null,
     "gpus": [{"index": 2, "uuid": "GPU-…", "name": "NVIDIA H200", "memory_total": bytes,
               "power_limit": W}],
     "latest": [{"memory_used": bytes, "utilization_gpu": %, "utilization_memory": %,
                 "temperature": °C, "power_draw": W, "processes": [{"pid", "used_memory"}]}],
     "samples": [[t, [[memory_used MiB, utilization %, temperature °C, power W], …]], …]}

`index` is the node's NVML index; `processes` are the job's own (its process tree), as NVML sees
them on that node.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .slurm_jobs import expand_indices

VERSION = 1
DEFAULT_INTERVAL_S = 5.0
# Readings kept per file: 30 minutes at the default interval; the file stays a few tens of KiB.
RING_LENGTH = 360
_MIB = 1024**2

# One point of a GPU's history: [memory used MiB, utilisation %, temperature °C, power W].
Reading = list[float | int | None]


def telemetry_path(log_path: str) -> str:
    """The sidecar file of the attempt whose log is `log_path` (attempt-N.log)."""
    stem = log_path[: -len(".log")] if log_path.endswith(".log") else log_path
    return stem + ".gpu.json"


def job_gpu_indices(env: Mapping[str, str], gpus: Sequence[Mapping[str, Any]]) -> list[int]:
    """The node's GPU indices that Slurm gave the job, among `gpus` ({"index", "uuid"}).

    CUDA_VISIBLE_DEVICES holding UUIDs names them exactly; otherwise SLURM_JOB_GPUS holds the
    node's indices (CUDA_VISIBLE_DEVICES may be renumbered from 0 under device cgroups), and
    plain CUDA_VISIBLE_DEVICES indices are the last resort. No variable: the job has no GPU.
    """
    present = {int(g["index"]): str(g.get("uuid") or "") for g in gpus}
    visible = [v.strip() for v in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if visible and all(v.startswith(("GPU-", "MIG-")) for v in visible):
        return [i for i, uid in sorted(present.items()) if any(uid.startswith(v) for v in visible)]
    for name in ("SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "CUDA_VISIBLE_DEVICES"):
        text = env.get(name, "").strip()
        if text and text not in ("NoDevFiles", "none"):
            wanted = expand_indices(text)
            return [i for i in wanted if i in present]
    return []


def job_id_of(env: Mapping[str, str]) -> str | None:
    """The job's id as nbexp stores it: `A_TASK` inside an array task."""
    array_job, task = env.get("SLURM_ARRAY_JOB_ID"), env.get("SLURM_ARRAY_TASK_ID")
    if array_job and task:
        return f"{array_job}_{task}"
    return env.get("SLURM_JOB_ID")


def mib(value: Any) -> float | int | None:
    """Bytes as MiB for a sample: integral when it is, one decimal otherwise."""
    if value is None or isinstance(value, bool):
        return None
    scaled = float(value) / _MIB
    return int(scaled) if scaled.is_integer() else round(scaled, 1)


def reading(gpu: Mapping[str, Any]) -> Reading:
    """A latest-reading entry as one sample point."""
    return [
        mib(gpu.get("memory_used")),
        gpu.get("utilization_gpu"),
        gpu.get("temperature"),
        gpu.get("power_draw"),
    ]


@dataclass
class TelemetryFile:
    """The sidecar's state, kept in memory and written whole each interval."""

    node: str
    job_id: str | None
    pid: int
    interval: float
    started: float
    ring_length: int = RING_LENGTH
    gpus: list[dict[str, Any]] = field(default_factory=list)
    latest: list[dict[str, Any]] = field(default_factory=list)
    samples: list[list[Any]] = field(default_factory=list)
    simulated: bool = False
    reason: str | None = None
    updated: float | None = None
    done: bool = False

    def add(
        self,
        at: float,
        gpus: list[dict[str, Any]],
        latest: list[dict[str, Any]],
        *,
        simulated: bool,
        reason: str | None,
    ) -> None:
        """One sampling round: the GPUs' fixed facts, their readings, and one ring entry."""
        self.gpus, self.latest = gpus, latest
        self.simulated, self.reason, self.updated = simulated, reason, at
        self.samples.append([round(at, 3), [reading(g) for g in latest]])
        del self.samples[: max(0, len(self.samples) - self.ring_length)]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "node": self.node,
            "job_id": self.job_id,
            "pid": self.pid,
            "interval": self.interval,
            "started": self.started,
            "updated": self.updated,
            "done": self.done,
            "simulated": self.simulated,
            "reason": self.reason,
            "gpus": self.gpus,
            "latest": self.latest,
            "samples": self.samples,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))


def parse_telemetry(text: str) -> dict[str, Any] | None:
    """A sidecar file's content, checked enough to be shown; None when it is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    for key in ("gpus", "latest", "samples"):
        if not isinstance(data.get(key), list):
            return None
    if len(data["gpus"]) != len(data["latest"]):
        return None
    return data


def job_processes(
    processes: Iterable[Mapping[str, Any]] | None, job_pids: set[int]
) -> list[dict[str, Any]]:
    """The GPU processes that belong to the job (its process tree)."""
    return [
        {"pid": int(p["pid"]), "used_memory": p.get("used_memory")}
        for p in processes or ()
        if int(p["pid"]) in job_pids
    ]


def memory_by_gpu(data: Mapping[str, Any]) -> dict[int, int]:
    """Node GPU index → bytes the job's own processes hold there (latest reading)."""
    usage: dict[int, int] = {}
    for gpu, latest in zip(data.get("gpus") or (), data.get("latest") or (), strict=False):
        used = [p.get("used_memory") or 0 for p in latest.get("processes") or ()]
        if used:
            usage[int(gpu["index"])] = sum(int(u) for u in used)
    return usage


def summary(data: Mapping[str, Any], *, now: float, history: int = 0) -> dict[str, Any]:
    """What `show --json` and the dashboard show of a sidecar file: the node, each GPU with
    its latest reading and the job's processes, whether the file is current, and the last
    `history` samples per GPU (oldest first)."""
    interval = float(data.get("interval") or DEFAULT_INTERVAL_S)
    updated = data.get("updated")
    stale = (
        not data.get("done") and isinstance(updated, (int, float)) and now - updated > 3 * interval
    )
    gpus = []
    for index, (gpu, latest) in enumerate(zip(data["gpus"], data["latest"], strict=True)):
        entry = {**gpu, **{k: v for k, v in latest.items() if k != "processes"}}
        entry["processes"] = latest.get("processes") or []
        if history:
            entry["history"] = [
                [s[0], *s[1][index]]
                for s in data["samples"][-history:]
                if isinstance(s, list) and len(s) == 2 and len(s[1]) > index
            ]
        gpus.append(entry)
    return {
        "node": data.get("node"),
        "job_id": data.get("job_id"),
        "simulated": bool(data.get("simulated")),
        "reason": data.get("reason"),
        "updated": updated,
        "interval": interval,
        "done": bool(data.get("done")),
        "stale": stale,
        "gpus": gpus,
    }
