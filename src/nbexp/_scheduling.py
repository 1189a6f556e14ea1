"""One scheduling step: read the queue, the running experiments and the GPUs, decide with the
pure `_scheduler.plan`, and claim the winners — all inside one write transaction, so two steps
in two processes never hand out one GPU twice. There is no daemon: the manager's monitor tick,
a runner whose experiment just ended, and every CLI call run a step.

`python -m nbexp._scheduling HOME` runs one step (what a finishing runner starts).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._records import ExperimentRecord
from ._scheduler import GpuState, Request, Resources
from .states import Status

if TYPE_CHECKING:
    from .gpu import GpuReport

GIB = 1024**3
SETTING_MAX_PARALLEL_CPU = "max_parallel_cpu"
SETTING_GPU_BUSY_MEMORY_MB = "gpu_busy_memory_mb"
DEFAULT_GPU_BUSY_MEMORY_MB = 1024


def request_of(record: ExperimentRecord, gpu_indices: Sequence[int] | None = None) -> Request:
    """The scheduler's view of a record; `gpu_indices`: its explicit GPUs resolved to indices."""
    gpus: int | tuple[int, ...] | None
    if isinstance(record.gpus, list):
        gpus = tuple(gpu_indices if gpu_indices is not None else (int(g) for g in record.gpus))
    else:
        gpus = record.gpus
    options = record.options or {}
    min_free = options.get("min_free_memory_mb")
    return Request(
        id=record.id,
        gpus=gpus,
        share=bool(options.get("share_gpus")),
        min_free_memory=int(min_free) * 1024**2 if min_free else None,
        priority=record.priority,
        queued_at=record.queued_at or record.created,
        after=tuple(record.after),
    )


@dataclass(frozen=True)
class QueuedRow:
    """What a scheduling step needs of one queued experiment (read without the full record)."""

    id: int
    attempt: int
    gpus: Any  # the request: None, a count, or a list of indices / UUIDs
    options: dict[str, Any]
    priority: int
    queued_at: float
    after: tuple[int, ...]

    def request(self, gpu_indices: Sequence[int] | None) -> Request:
        gpus: int | tuple[int, ...] | None
        if isinstance(self.gpus, list):
            gpus = tuple(gpu_indices if gpu_indices is not None else self.gpus)
        else:
            gpus = self.gpus
        min_free = self.options.get("min_free_memory_mb")
        return Request(
            id=self.id,
            gpus=gpus,
            share=bool(self.options.get("share_gpus")),
            min_free_memory=int(min_free) * 1024**2 if min_free else None,
            priority=self.priority,
            queued_at=self.queued_at,
            after=self.after,
        )


def _json(text: str | None, empty: Any) -> Any:
    # Most rows hold '[]' / '{}' / NULL: skip the parser for those (1,000 rows per step).
    if text is None:
        return None
    if text in ("[]", "{}"):
        return empty
    return json.loads(text)


def read_queue(conn: sqlite3.Connection) -> dict[int, QueuedRow]:
    """The local queue, in one indexed query, keyed by id."""
    rows = conn.execute(
        "SELECT id, attempt, gpus, options, priority, queued_at, created, after "
        "FROM experiments WHERE status = 'queued' AND executor = 'local'"
    ).fetchall()
    queue = {}
    for r in rows:
        queue[r[0]] = QueuedRow(
            id=r[0],
            attempt=r[1],
            gpus=_json(r[2], []),
            options=_json(r[3], {}) or {},
            priority=r[4],
            queued_at=r[5] if r[5] is not None else r[6],
            after=tuple(_json(r[7], []) or ()),
        )
    return queue


def build_resources(
    report: GpuReport | None,
    running: Iterable[ExperimentRecord],
    settings: dict[str, str],
) -> Resources:
    """What is free: our running experiments' GPUs, foreign processes, foreign memory use."""
    from . import gpu as gpu_module

    running = [r for r in running if r.executor == "local"]
    busy_memory = (
        int(settings.get(SETTING_GPU_BUSY_MEMORY_MB, DEFAULT_GPU_BUSY_MEMORY_MB)) * 1024**2
    )
    held: dict[int, list[str]] = {}
    shared: dict[int, int] = {}
    for record in running:
        for index in record.assigned_gpus or []:
            held.setdefault(int(index), []).append(f"experiment {record.id} {record.name!r}")
            if (record.options or {}).get("share_gpus"):
                shared[int(index)] = shared.get(int(index), 0) + 1
    gpus: dict[int, GpuState] = {}
    if report is not None:
        foreign = gpu_module.foreign_processes(report, gpu_module.experiment_pids(running))
        for snapshot in report.gpus:
            others = [_describe_process(p.pid) for p in foreign.get(snapshot.index, [])]
            ours = held.get(snapshot.index, [])
            used = snapshot.memory_used
            if not ours and not others and used is not None and used > busy_memory:
                others.append(f"{used / GIB:.1f} GiB used by a process outside nbexp")
            free = (
                snapshot.memory_total - used
                if snapshot.memory_total is not None and used is not None
                else None
            )
            gpus[snapshot.index] = GpuState(
                snapshot.index, tuple(ours), tuple(others), free, shared.get(snapshot.index, 0)
            )
    cpu_only = sum(1 for r in running if not r.assigned_gpus)
    limit = settings.get(SETTING_MAX_PARALLEL_CPU)
    return Resources(gpus, cpu_only, int(limit) if limit else None)


def _describe_process(pid: int) -> str:
    from .gpu import pid_owner

    user = pid_owner(pid)
    return f"pid {pid} ({user})" if user else f"pid {pid}"


def dependency_statuses(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, Status | None]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    rows = conn.execute(
        f"SELECT id, status FROM experiments WHERE id IN ({marks})", wanted
    ).fetchall()
    found: dict[int, Status | None] = {r["id"]: Status(r["status"]) for r in rows}
    return {i: found.get(i) for i in wanted}


WATCH_INTERVAL_S = 2.0
WATCHER_LOCK = "queue-watcher.lock"


def queue_watcher_running(home: str) -> bool:
    """Whether a queue watcher holds this home's lock right now."""
    import fcntl
    import os

    fd = os.open(os.path.join(home, WATCHER_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def watch_queue(home: str, interval: float = WATCH_INTERVAL_S) -> None:
    """Run scheduling steps every `interval` seconds while local experiments wait in the queue.

    A runner that ends starts a step, but a GPU freed by a process outside nbexp tells nobody;
    this short-lived process covers that case, and exits as soon as the queue is empty. One per
    home at most (a lock file).
    """
    import fcntl
    import os
    import time

    from ._manager import ExperimentManager

    fd = os.open(os.path.join(home, WATCHER_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another watcher has it
    manager = ExperimentManager(home=home, watch_queue=False)
    while True:
        manager.tick()
        with manager.store.read() as conn:
            waiting = conn.execute(
                "SELECT 1 FROM experiments WHERE status = 'queued' AND executor = 'local' LIMIT 1"
            ).fetchone()
        if waiting is None:
            return
        time.sleep(interval)


def main(argv: Sequence[str] | None = None) -> int:
    """`… HOME`: one step; `… --watch HOME`: steps until the queue is empty."""
    import sys

    from ._manager import ExperimentManager

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--watch":
        watch_queue(args[1])
        return 0
    ExperimentManager(home=args[0]).tick()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
