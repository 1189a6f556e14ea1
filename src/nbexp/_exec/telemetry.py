"""The GPU telemetry sidecar of a Slurm job, and the reader of what it writes.

The batch script starts it in the background before exec'ing the command
(`python -c … nbexp._exec.telemetry --out attempt-N.gpu.json --interval 5 --pid $$`). Every
interval it reads the node's GPUs through nbexp's own readings (`_io.gpus`: NVML, or simulated
GPUs when NBEXP_SIMULATED_GPUS is set in the job), keeps those Slurm gave the job, and rewrites
the small file beside the attempt's log (a bounded ring; see `_core.telemetry`). It ends when
the job's command does (its pid is the batch shell's, which the exec keeps), after a last write
marked done, or on SIGTERM (Slurm ends every process of a job).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._core.launch import EXPERIMENT_ID_ENV
from .._core.telemetry import (
    DEFAULT_INTERVAL_S,
    RING_LENGTH,
    TelemetryFile,
    job_gpu_indices,
    job_id_of,
    job_processes,
    parse_telemetry,
)
from .._io.gpus import SIMULATED_GPUS_ENV, GpuBackend, SimulatedBackend, default_backend
from .._io.proc import descendants_of, is_alive

# How often the job's pid is checked between samples: the sidecar ends within this of the job.
LIVENESS_POLL_S = 0.5
_NO_GPU = (
    "Slurm gave this job no GPU it can see (no CUDA_VISIBLE_DEVICES or SLURM_JOB_GPUS), or "
    "none of them is on this node's list"
)


def read_telemetry(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A sidecar file's content, or None when there is none (yet) or it is unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return parse_telemetry(text)


def write_atomically(path: str, text: str) -> None:
    """Replace `path` with `text` so that a reader (on another machine, over NFS) sees the old
    file or the new one, never a part."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def job_backend(env: Mapping[str, str], pid: int) -> GpuBackend:
    """nbexp's GPU readings as the job sees them. With simulated GPUs the job's own command
    holds the GPUs it was given, as nbexp's experiments do on simulated local GPUs."""
    backend = default_backend(None)  # never the store: it may be far away, or busy
    if isinstance(backend, SimulatedBackend):
        experiment = int(env.get(EXPERIMENT_ID_ENV) or 0)

        def holders() -> dict[int, list[tuple[int, int | None]]]:
            gpus = [{"index": i} for i in range(len(backend.specs))]
            return {index: [(experiment, pid)] for index in job_gpu_indices(env, gpus)}

        backend.holders = holders
    return backend


class Sidecar:
    """Samples the job's GPUs every `interval` seconds into `out` until `pid` ends."""

    def __init__(
        self,
        out: str,
        pid: int,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        env: Mapping[str, str] | None = None,
        backend: GpuBackend | None = None,
        clock: Callable[[], float] = time.time,
        ring_length: int = RING_LENGTH,
    ) -> None:
        self.out = out
        self.pid = pid
        self.env = dict(os.environ if env is None else env)
        self.backend = backend or job_backend(self.env, pid)
        self.clock = clock
        node = self.env.get("SLURMD_NODENAME") or socket.gethostname().split(".")[0]
        self.file = TelemetryFile(
            node, job_id_of(self.env), pid, interval, clock(), ring_length=ring_length
        )
        self.stopping = threading.Event()

    def sample(self) -> None:
        """Read the GPUs once and write the file."""
        report = self.backend.read()
        snapshots = [g.to_json() for g in report.gpus]
        wanted = set(job_gpu_indices(self.env, snapshots))
        mine = [s for s in snapshots if s["index"] in wanted]
        alive = is_alive(self.pid)
        job_pids = ({self.pid} | descendants_of({self.pid})) if alive else set()
        gpus = [
            {k: s[k] for k in ("index", "uuid", "name", "memory_total", "power_limit")}
            for s in mine
        ]
        latest = [
            {
                **{
                    k: s[k]
                    for k in (
                        "memory_used",
                        "utilization_gpu",
                        "utilization_memory",
                        "temperature",
                        "power_draw",
                        "problem",
                    )
                },
                "processes": job_processes(s.get("processes"), job_pids),
            }
            for s in mine
        ]
        reason = report.reason or (None if mine else _NO_GPU)
        self.file.add(self.clock(), gpus, latest, simulated=report.simulated, reason=reason)
        self.file.done = not alive
        write_atomically(self.out, self.file.dumps())

    def run(self) -> None:
        """Sample until the job's command ends (then once more, marked done) or SIGTERM."""
        while True:
            self.sample()
            if self.file.done:
                return
            next_at = time.monotonic() + self.file.interval
            while time.monotonic() < next_at:
                if self.stopping.wait(min(LIVENESS_POLL_S, max(0.0, next_at - time.monotonic()))):
                    self.file.done = True
                    write_atomically(self.out, self.file.dumps())
                    return
                if not is_alive(self.pid):
                    break  # the job's command ended: one last sample, marked done


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nbexp-telemetry", description=__doc__)
    parser.add_argument("--out", required=True, help="the sidecar file to write")
    parser.add_argument("--pid", type=int, required=True, help="the job's command (batch shell)")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds")
    args = parser.parse_args(argv)
    sidecar = Sidecar(args.out, args.pid, interval=max(0.2, args.interval))
    # scancel --full signals every process of the job, this one included: end cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sidecar.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: sidecar.stopping.set())
    sidecar.run()


__all__ = ["SIMULATED_GPUS_ENV", "Sidecar", "main", "read_telemetry", "write_atomically"]
