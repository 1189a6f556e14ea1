"""The GPU telemetry of Slurm experiments, read from the sidecar files their jobs write beside
their logs (see `_exec.telemetry`): the node, its GPUs given to the job, their latest readings
and recent history, the job's own GPU memory. Each file is parsed again only when it changed
(its size and mtime), however often the monitor ticks.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from .._core.records import ExperimentRecord
from .._core.telemetry import memory_by_gpu, summary, telemetry_path
from .._exec.telemetry import read_telemetry


class NodeTelemetry:
    """Reads (and caches) the telemetry sidecar files of Slurm experiments."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, int], dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def data(self, record: ExperimentRecord) -> dict[str, Any] | None:
        """The raw sidecar content of the record's current attempt, or None."""
        if record.executor != "slurm" or not record.log_path:
            return None
        path = telemetry_path(record.log_path)
        try:
            info = os.stat(path)
        except OSError:
            return None
        stamp = (info.st_size, info.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        data = read_telemetry(path)
        with self._lock:
            self._cache[path] = (stamp, data)
        return data

    def of(self, record: ExperimentRecord, *, history: int = 0) -> dict[str, Any] | None:
        """What `show --json` and the dashboard show: node, GPUs with their latest readings and
        the job's processes, whether it is current, and the last `history` samples per GPU."""
        data = self.data(record)
        if data is None:
            return None
        return summary(data, now=time.time(), history=history)

    def memory(self, record: ExperimentRecord) -> dict[int, int]:
        """Node GPU index → bytes the experiment's job holds there (latest reading)."""
        data = self.data(record)
        return memory_by_gpu(data) if data is not None else {}

    def forget_except(self, records: Iterable[ExperimentRecord]) -> None:
        """Drop the cache of files no longer shown (ended experiments, other attempts)."""
        keep = {telemetry_path(r.log_path) for r in records if r.log_path}
        with self._lock:
            for path in [p for p in self._cache if p not in keep]:
                del self._cache[path]
