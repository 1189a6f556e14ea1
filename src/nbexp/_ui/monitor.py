"""The monitor thread behind the dashboard and the experiment cards.

Every tick (1 s by default) it runs the service's housekeeping step, reads the store, each
experiment's current progress (from the service's one tail cache) and the GPU probe, and hands one
`Snapshot` of wire-ready parts to its subscribers; `diff_rows` says which rows changed since a
last push.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._core.records import ExperimentRecord
from .._service.core import Service
from .._service.gpus import GpuOwnership
from .._service.metrics_reader import READ_BY_READER, ReaderStarter
from . import protocol
from .protocol import GpuInfo, GpuProcessJson, GpuReading, NodeGpusJson, RowJson
from .rowcache import RowCache

DEFAULT_INTERVAL_S = 1.0
# Sidecar readings sent per node GPU for its sparklines (10 minutes at the default 5 s).
NODE_GPU_HISTORY = 120

Subscriber = Callable[["Snapshot"], None]


@dataclass(frozen=True)
class Snapshot:
    """What the monitor saw in one tick, as wire-ready parts (see `protocol`)."""

    at: float  # wall-clock seconds (the browser corrects its own clock with it)
    rows: dict[int, RowJson]  # experiment id -> row
    gpu_info: GpuInfo
    gpu: list[GpuReading] = field(default_factory=list)
    gpu_foreign: dict[str, list[GpuProcessJson]] = field(default_factory=dict)
    tick_seconds: float = 0.0  # how long computing this snapshot took
    errors: list[str] = field(default_factory=list)  # problems met this tick, in words
    log_paths: dict[int, str] = field(default_factory=dict)  # id -> current log (kept off rows)
    node_gpus: list[NodeGpusJson] = field(default_factory=list)  # Slurm jobs' node GPUs


def diff_rows(
    before: dict[int, RowJson], after: dict[int, RowJson]
) -> tuple[list[RowJson], list[int]]:
    """Rows that are new or changed in `after`, and ids that are gone. The monitor keeps an
    unchanged row (and the dict of a tick where nothing changed) as the same object, so with
    10,000 rows this compares identities, not fields."""
    if after is before:
        return [], []
    changed = [
        row for key, row in after.items() if (old := before.get(key)) is not row and old != row
    ]
    removed = [key for key in before if key not in after]
    return changed, removed


class Monitor:
    """Ticks a service and publishes snapshots to subscribers, from a daemon thread."""

    def __init__(
        self,
        service: Service,
        interval: float = DEFAULT_INTERVAL_S,
        *,
        gpus: GpuOwnership | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"the monitor interval must be > 0 seconds, not {interval!r}")
        self.service = service
        self.gpus = gpus if gpus is not None else service.gpus
        self.interval = float(interval)
        self.latest: Snapshot | None = None
        self._rows = RowCache()  # every experiment's row, read again only where it changed
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()  # guards the subscriber list and `latest`
        self._tick_lock = threading.Lock()  # one tick at a time (thread, tests, pokes)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.metrics_reader = ReaderStarter(service.home)

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
            self.service.tick()
        except Exception as e:  # a locked database now and then must not kill the thread
            errors.append(f"housekeeping failed: {e}")
        # Only the rows that changed (or run) are read and built again: see rowcache.
        rows, _, logs_changed = self._rows.refresh(
            self.service, errors, lambda every, rebuild: self._metric_fields(every, rebuild, errors)
        )
        log_paths = dict(self._rows.log_paths)
        if logs_changed:
            self.service.watches.tails.forget_except(set(log_paths.values()))
        running = self._rows.holding()  # paused ones too: still on their GPUs
        info, readings, foreign = self._gpu_parts(running, errors)
        node_gpus = self._node_gpus(running, errors)
        return Snapshot(
            at=time.time(),
            rows=rows,
            gpu_info=info,
            gpu=readings,
            gpu_foreign=foreign,
            tick_seconds=time.perf_counter() - began,
            errors=errors,
            log_paths=log_paths,
            node_gpus=node_gpus,
        )

    def _node_gpus(self, running: list[ExperimentRecord], errors: list[str]) -> list[NodeGpusJson]:
        """The node GPUs of running Slurm GPU jobs, from their telemetry sidecar files (each
        read again only when it changed)."""
        slurm = [r for r in running if r.executor == "slurm" and r.gpus]
        telemetry = self.service.telemetry
        telemetry.forget_except(slurm)
        parts = []
        for record in slurm:
            try:
                summary = telemetry.of(record, history=NODE_GPU_HISTORY)
            except Exception as e:  # one odd file must not blank the panel
                errors.append(f"cannot read the GPU telemetry of experiment {record.id}: {e}")
                continue
            if summary is not None:
                parts.append(protocol.node_gpus_json(record, summary))
        return parts

    def _metric_fields(
        self,
        records: list[ExperimentRecord],
        rebuild: list[ExperimentRecord],
        errors: list[str],
    ) -> dict[int, protocol.RowMetricsJson]:
        """Read what the logs printed since the last tick into the metric histories (this
        tick's share, see `_service.metrics`), and the latest values and sparkline of the rows
        built again this tick."""
        metrics = self.service.metrics
        try:
            # A home's metrics reader (a process of its own) reads the running local logs
            # while it lives; this kernel does only until it starts, or if it dies.
            local = not self.service.store.read_only and any(
                r.executor == "local" and r.status in READ_BY_READER for r in records
            )
            metrics.tick(records, read_running=not (local and self.metrics_reader.ensure()))
        except Exception as e:  # a locked store now and then: the next tick goes on from there
            errors.append(f"reading metrics failed: {e}")
        try:
            return metrics.row_fields(rebuild)  # type: ignore[return-value]
        except Exception as e:
            errors.append(f"cannot read the metrics: {e}")
            return {}

    def _gpu_parts(
        self, running: list[ExperimentRecord], errors: list[str]
    ) -> tuple[GpuInfo, list[GpuReading], dict[str, list[GpuProcessJson]]]:
        try:
            report = self.gpus.sample()
        except Exception as e:  # a broken driver must not stop the dashboard
            return protocol.gpu_info(None, f"GPU probe: {e}"), [], {}
        try:
            found = self.gpus.foreign(report, running)
            owners = self.gpus.owners
            owners.forget_except({p.pid for ps in found.values() for p in ps})
            foreign = {
                str(index): [
                    protocol.process_json(p.pid, owners.get(p.pid), p.used_memory) for p in ps
                ]
                for index, ps in found.items()
            }
        except Exception:  # who else holds a GPU is extra: failing to tell must not blank meters
            foreign = {}
        return protocol.gpu_info(report), protocol.gpu_readings(report), foreign

    def gpu_history(self, indices: list[int], limit: int) -> list[list[GpuReading]]:
        """The last `limit` readings of each GPU, oldest first (for a new view's sparklines)."""
        monitor = self.gpus.monitor
        return [[protocol.sample_reading(s) for s in monitor.history(i)[-limit:]] for i in indices]

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
        try:
            while True:
                with self._lock:
                    if self._stopping.is_set():
                        self._thread = None  # under the lock: start() sees it gone or running
                        return
                began = time.monotonic()
                self.tick()
                # Sleep the rest of the interval; a slow tick does not make the next one earlier.
                remaining = self.interval - (time.monotonic() - began)
                self._wake.wait(timeout=max(0.05, remaining))
                self._wake.clear()
        finally:
            self.service.store.close_thread()  # this thread's connection, closed as it ends


# One monitor per (home, interval): the cards and dashboards of every manager of one home share
# a single thread (a notebook easily makes a new ExperimentManager in each cell).
_shared: dict[tuple[str, float], Monitor] = {}
_shared_lock = threading.Lock()


def shared_monitor(service: Service, interval: float = DEFAULT_INTERVAL_S) -> Monitor:
    """The monitor that every view of `service`'s home at this interval shares."""
    key = (str(service.home), float(interval))
    with _shared_lock:
        monitor = _shared.get(key)
        if monitor is None:
            monitor = _shared[key] = Monitor(service, interval)
        return monitor


def stop_shared_monitors(home: str) -> None:
    """Stop every shared monitor thread of `home` (experiments keep running)."""
    with _shared_lock:
        monitors = [m for (h, _), m in _shared.items() if h == home]
    for monitor in monitors:
        monitor.stop()


__all__: list[Any] = ["DEFAULT_INTERVAL_S", "Monitor", "Snapshot", "diff_rows", "shared_monitor"]
