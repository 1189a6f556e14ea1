"""The monitor thread behind the dashboard and the experiment cards.

Every tick (1 s by default) it runs the manager's housekeeping step, reads the store, the tail
of each running experiment's log (for its progress bar) and the GPU probe, and hands one
JSON-ready `Snapshot` to its subscribers; `diff_rows` says which rows changed since a last push.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .states import Status, allowed_actions

if TYPE_CHECKING:
    from ._manager import ExperimentManager
    from ._store import ExperimentRecord

DEFAULT_INTERVAL_S = 1.0
# Enough of a log's end to hold its last progress bar, however fast it prints: the cost of a tick
# stays constant per running experiment instead of growing with the log.
PROGRESS_TAIL_BYTES = 8192

Subscriber = Callable[["Snapshot"], None]


@dataclass(frozen=True)
class Snapshot:
    """What the monitor saw in one tick, as plain JSON-ready data."""

    at: float  # wall-clock seconds (the browser corrects its own clock with it)
    rows: dict[int, dict[str, Any]]  # experiment id -> row (see `row_json`)
    gpus: dict[str, Any]  # see `gpu_json`
    tick_seconds: float = 0.0  # how long computing this snapshot took
    errors: list[str] = field(default_factory=list)  # problems met this tick, in words
    log_paths: dict[int, str] = field(default_factory=dict)  # id -> current log (kept off rows)


def row_json(record: ExperimentRecord, progress: dict[str, Any] | None) -> dict[str, Any]:
    """One table row. Only data that changes when the experiment does: the browser derives the
    ticking runtime from `started`/`ended`, so a running row does not change every second."""
    gpus = record.assigned_gpus if record.assigned_gpus is not None else record.gpus
    return {
        "id": record.id,
        "name": record.name,
        "status": record.status.value,
        "gpus": gpus,
        "assigned": record.assigned_gpus if record.status is Status.RUNNING else None,
        "pid": record.pid,
        "executor": record.executor,
        "job_id": record.job_id,
        "started": record.started,
        "ended": record.ended,
        "exit_code": record.exit_code,
        "reason": record.error,
        "attempt": record.attempt,
        "actions": allowed_actions(record.status),
        "progress": progress,
    }


def diff_rows(
    before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows that are new or changed in `after`, and ids that are gone."""
    changed = [row for key, row in after.items() if before.get(key) != row]
    removed = [key for key in before if key not in after]
    return changed, removed


# -- progress ----------------------------------------------------------------------------------


def last_screen_line(data: bytes) -> str:
    """The last non-blank line a terminal would show for the end of a log, without colours."""
    from .terminal import render

    for line in reversed(render(data)):
        if line.strip():
            return line.strip()
    return ""


def parse_progress_json(line: str) -> dict[str, Any] | None:
    """Progress of one screen line (tqdm, rich, keras) as JSON, or None."""
    from .progress import parse_progress

    found = parse_progress(line)
    return None if found is None else found.to_json()


class _ProgressCache:
    """Progress per log file, re-read only when the file grew (stat is much cheaper than read)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, float, dict[str, Any] | None]] = {}

    def get(self, log_path: str | None) -> dict[str, Any] | None:
        if not log_path:
            return None
        try:
            st = os.stat(log_path)
        except OSError:
            return None
        cached = self._seen.get(log_path)
        if cached is not None and cached[0] == st.st_size and cached[1] == st.st_mtime:
            return cached[2]
        progress = None
        try:
            with open(log_path, "rb") as f:
                f.seek(max(0, st.st_size - PROGRESS_TAIL_BYTES))
                progress = parse_progress_json(last_screen_line(f.read()))
        except OSError:
            pass
        self._seen[log_path] = (st.st_size, st.st_mtime, progress)
        return progress

    def forget_except(self, paths: set[str]) -> None:
        for path in list(self._seen):
            if path not in paths:
                del self._seen[path]


# -- GPUs --------------------------------------------------------------------------------------


_MIB = 1024**2


def _number(value: Any, scale: float = 1.0) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value) / scale
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else round(number, 1)


def gpu_snapshot_json(gpu: Any, foreign: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One `nbexp.gpu.GpuSnapshot` as JSON (memory in MiB, power in W). `foreign`: the processes
    on it that nbexp did not start (see `GpuSource._process_json`)."""
    processes = getattr(gpu, "processes", None) or ()
    return {
        "index": getattr(gpu, "index", None),
        "uuid": getattr(gpu, "uuid", None),
        "name": getattr(gpu, "name", None),
        "mem_used": _number(getattr(gpu, "memory_used", None), _MIB),
        "mem_total": _number(getattr(gpu, "memory_total", None), _MIB),
        "util": _number(getattr(gpu, "utilization_gpu", None)),
        "temp": _number(getattr(gpu, "temperature", None)),
        "power": _number(getattr(gpu, "power_draw", None)),
        "power_limit": _number(getattr(gpu, "power_limit", None)),
        "problem": getattr(gpu, "problem", None),
        "pids": [p.pid for p in processes if getattr(p, "pid", None) is not None],
        "foreign": foreign or [],
    }


def gpu_json(report: Any, foreign: dict[int, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """A probe report as JSON: readings, whether they are simulated, why there are none.
    `foreign` maps a GPU index to someone else's processes on it."""
    foreign = foreign or {}
    gpus = [
        gpu_snapshot_json(g, foreign.get(getattr(g, "index", -1)))  # -1: no GPU has it
        for g in (getattr(report, "gpus", None) or ())
    ]
    return {
        "available": bool(gpus),
        "simulated": bool(getattr(report, "simulated", False)),
        "reason": getattr(report, "reason", None),
        "gpus": gpus,
    }


def reading_json(sample: Any) -> list[Any]:
    """One history sample as the compact reading the browser plots: [MiB, util %, °C, W]."""
    return [
        _number(getattr(sample, "memory_used", None), _MIB),
        _number(getattr(sample, "utilization_gpu", None)),
        _number(getattr(sample, "temperature", None)),
        _number(getattr(sample, "power_draw", None)),
    ]


class _OwnerCache:
    """User names of foreign pids. Looking one up (psutil, /etc/passwd) costs far more than
    checking the pid's identity (one /proc stat read), and a process keeps its owner, so a name
    is looked up once per process (pid + start time), not once per tick."""

    def __init__(self, lookup: Callable[[int], str | None] | None = None) -> None:
        self._lookup = lookup
        self._seen: dict[int, tuple[str | None, str | None]] = {}  # pid -> (identity, user)

    def get(self, pid: int) -> str | None:
        from . import _proc

        ident = _proc.identity(pid)  # a reused pid is another process, maybe another user
        cached = self._seen.get(pid)
        if cached is not None and cached[0] == ident:
            return cached[1]
        user = self._owner(pid)
        self._seen[pid] = (ident, user)
        return user

    def _owner(self, pid: int) -> str | None:
        if self._lookup is None:
            from .gpu import pid_owner

            self._lookup = pid_owner
        return self._lookup(pid)

    def forget_except(self, pids: set[int]) -> None:
        for pid in list(self._seen):
            if pid not in pids:
                # pop, not del: a view's first snapshot may run beside the monitor's tick
                self._seen.pop(pid, None)


class GpuSource:
    """The GPU probe (`nbexp.gpu.GpuMonitor`), or a report that says why there is none.

    `probe` stands in for the GpuMonitor (tests); `owner` for `nbexp.gpu.pid_owner`.
    """

    def __init__(
        self,
        home: Any = None,
        *,
        probe: Any = None,
        owner: Callable[[int], str | None] | None = None,
    ) -> None:
        self._probe: Any = probe
        self._reason: str | None = None
        self._owners = _OwnerCache(owner)
        if probe is not None:
            return
        try:
            from .gpu import GpuMonitor

            self._probe = GpuMonitor(home)
        except ImportError:
            self._reason = "the GPU probe (nbexp.gpu) is not installed"
        except Exception as e:  # a broken driver must not stop the dashboard
            self._reason = f"the GPU probe failed to start: {e}"

    def sample(self, running: Iterable[ExperimentRecord] = ()) -> dict[str, Any]:
        """Read the GPUs now. `running`: nbexp's running experiments; any other process on a
        GPU is listed as someone else's."""
        if self._probe is None:
            return {"available": False, "simulated": False, "reason": self._reason, "gpus": []}
        try:
            report = self._probe.sample()
        except Exception as e:
            return {"available": False, "simulated": False, "reason": f"GPU probe: {e}", "gpus": []}
        try:
            foreign = self._foreign(report, running)
        except Exception:  # who else holds a GPU is extra: failing to tell must not blank meters
            foreign = {}
        return gpu_json(report, foreign)

    def _foreign(
        self, report: Any, running: Iterable[ExperimentRecord]
    ) -> dict[int, list[dict[str, Any]]]:
        """GPU index -> the processes on it that nbexp did not start, as JSON."""
        from .gpu import experiment_pids, foreign_processes

        if not any(g.processes for g in report.gpus):
            self._owners.forget_except(set())
            return {}  # nothing on any GPU: no need to scan /proc for our process trees
        found = foreign_processes(report, experiment_pids(running))  # one /proc scan a tick
        self._owners.forget_except({p.pid for ps in found.values() for p in ps})
        return {index: [self._process_json(p) for p in ps] for index, ps in found.items()}

    def _process_json(self, process: Any) -> dict[str, Any]:
        return {
            "pid": process.pid,
            "user": self._owners.get(process.pid),
            "mem": _number(process.used_memory, _MIB),
        }

    def history(self, indices: list[int], limit: int) -> list[list[list[Any]]]:
        """The last `limit` readings of each GPU, oldest first (for a new view's sparklines)."""
        if self._probe is None:
            return [[] for _ in indices]
        return [[reading_json(s) for s in self._probe.history(i)[-limit:]] for i in indices]


# -- the monitor ---------------------------------------------------------------------------


class Monitor:
    """Ticks the manager and publishes snapshots to subscribers, from a daemon thread."""

    def __init__(
        self,
        manager: ExperimentManager,
        interval: float = DEFAULT_INTERVAL_S,
        *,
        gpu_source: Any | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"the monitor interval must be > 0 seconds, not {interval!r}")
        self.manager = manager
        self.interval = float(interval)
        self.latest: Snapshot | None = None
        self.gpu_source = gpu_source if gpu_source is not None else GpuSource(manager.home)
        self._progress = _ProgressCache()
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()  # guards the subscriber list and `latest`
        self._tick_lock = threading.Lock()  # one tick at a time (thread, tests, pokes)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- subscribers -----------------------------------------------------------------------

    def subscribe(self, callback: Subscriber, *, start: bool = True) -> None:
        """Call `callback(snapshot)` after every tick (from the monitor thread)."""
        with self._lock:
            if callback not in self._subscribers:
                self._subscribers.append(callback)
        if start:
            self.start()

    def unsubscribe(self, callback: Subscriber) -> None:
        """Stop calling `callback`; the thread ends once nobody listens."""
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
            idle = not self._subscribers
        if idle:
            self.stop(wait=False)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- ticking ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Compute one snapshot (housekeeping included) without publishing it."""
        began = time.perf_counter()
        errors: list[str] = []
        try:
            self.manager.tick()
        except Exception as e:  # a locked database now and then must not kill the thread
            errors.append(f"housekeeping failed: {e}")
        rows: dict[int, dict[str, Any]] = {}
        try:
            records = self.manager.store.list()
        except Exception as e:
            errors.append(f"cannot read the experiments: {e}")
            records = []
            if self.latest is not None:
                rows = dict(self.latest.rows)
        live_logs: set[str] = set()
        log_paths: dict[int, str] = {}
        for record in records:
            if record.log_path:
                log_paths[record.id] = record.log_path
            progress = None
            if record.log_path and record.status in (
                Status.RUNNING,
                Status.INTERRUPTED,
                Status.ERROR,
                Status.COMPLETED,
            ):
                progress = self._progress.get(record.log_path)
                live_logs.add(record.log_path)
            rows[record.id] = row_json(record, progress)
        self._progress.forget_except(live_logs)
        gpus = self.gpu_source.sample([r for r in records if r.status is Status.RUNNING])
        return Snapshot(
            at=time.time(),
            rows=rows,
            gpus=gpus,
            tick_seconds=time.perf_counter() - began,
            errors=errors,
            log_paths=log_paths,
        )

    def tick(self) -> Snapshot:
        """One tick: compute a snapshot and hand it to every subscriber."""
        with self._tick_lock:
            snap = self.snapshot()
            with self._lock:
                self.latest = snap
                subscribers = list(self._subscribers)
            for callback in subscribers:
                try:
                    callback(snap)
                except Exception:  # one broken view must not starve the others
                    import logging

                    logging.getLogger("nbexp").exception("a monitor subscriber failed")
            return snap

    def wake(self) -> None:
        """Tick now rather than at the end of the current interval."""
        self._wake.set()

    def start(self) -> None:
        with self._lock:
            # A thread asked to stop but not yet gone just carries on: no gap, no second thread.
            self._stopping.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nbexp-monitor", daemon=True)
                self._thread.start()

    def stop(self, wait: bool = True) -> None:
        with self._lock:
            self._stopping.set()
            thread = self._thread
        self._wake.set()
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.interval + 10)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping.is_set():
                    self._thread = None  # under the lock, so start() sees it gone or running
                    return
            began = time.monotonic()
            self.tick()
            # Sleep the rest of the interval; a slow tick does not make the next one earlier.
            remaining = self.interval - (time.monotonic() - began)
            self._wake.wait(timeout=max(0.05, remaining))
            self._wake.clear()


# One monitor per (home, interval): the cards and dashboards of every manager of one home share
# a single thread (a notebook easily makes a new ExperimentManager in each cell).
_shared: dict[tuple[str, float], Monitor] = {}
_shared_lock = threading.Lock()


def shared_monitor(manager: ExperimentManager, interval: float = DEFAULT_INTERVAL_S) -> Monitor:
    """The monitor that every view of `manager`'s home at this interval shares."""
    key = (str(manager.home), float(interval))
    with _shared_lock:
        monitor = _shared.get(key)
        if monitor is None:
            monitor = _shared[key] = Monitor(manager, interval)
        return monitor
