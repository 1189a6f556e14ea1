"""GPU ownership: the home's one GPU probe, and who holds which GPU.

"Who holds GPU i" is computed here once per reading (our running experiments from the store,
everybody else's processes from NVML matched against our process trees) and described in one
format everywhere: "#3 train" for an nbexp experiment, "pid 1234 (alice)" for anyone else.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .._core.errors import GpuUnavailable, UsageError
from .._core.records import ExperimentRecord
from .._core.scheduler import GpuState, Resources
from .._core.settings import Settings
from .._io import proc as _proc
from .._io.gpus import GpuMonitor, GpuProcess, GpuReport, GpuSnapshot

GIB = 1024**3


def holder_label(record: ExperimentRecord) -> str:
    """How one of our experiments is named wherever a GPU's holder is shown."""
    return f"#{record.id} {record.name}"


def process_label(pid: int, user: str | None) -> str:
    """How someone else's process is named wherever a GPU's holder is shown."""
    return f"pid {pid} ({user})" if user else f"pid {pid}"


class OwnerCache:
    """User names of pids. Looking one up costs far more than checking the pid's identity (one
    /proc stat read), and a process keeps its owner, so each is looked up once per process."""

    def __init__(self, lookup: Callable[[int], str | None] | None = None) -> None:
        self._lookup = lookup or _proc.pid_owner
        self._seen: dict[int, tuple[str | None, str | None]] = {}  # pid -> (identity, user)
        self._lock = threading.Lock()

    def get(self, pid: int) -> str | None:
        identity = _proc.identity(pid)  # a reused pid is another process, maybe another user
        with self._lock:
            cached = self._seen.get(pid)
        if cached is not None and cached[0] == identity:
            return cached[1]
        user = self._lookup(pid)
        with self._lock:
            self._seen[pid] = (identity, user)
        return user

    def forget_except(self, pids: set[int]) -> None:
        with self._lock:
            for pid in [p for p in self._seen if p not in pids]:
                del self._seen[pid]


class GpuOwnership:
    """The GPU probe of one home (one per process and home: one NVML read and one /proc scan per
    tick however many views look) and the questions asked of its readings."""

    def __init__(
        self,
        home: Path | None,
        *,
        monitor: GpuMonitor | None = None,
        owner: Callable[[int], str | None] | None = None,
    ) -> None:
        self.home = home
        self._monitor = monitor
        self._monitor_lock = threading.Lock()
        self.owners = OwnerCache(owner)

    @property
    def monitor(self) -> GpuMonitor:
        with self._monitor_lock:
            if self._monitor is None:
                self._monitor = GpuMonitor(self.home)
            return self._monitor

    def sample(self) -> GpuReport:
        """A fresh reading (simulated GPUs when NBEXP_SIMULATED_GPUS is set), kept in history."""
        return self.monitor.sample()

    # -- who holds what -------------------------------------------------------------------------

    def foreign(
        self, report: GpuReport, running: Iterable[ExperimentRecord]
    ) -> dict[int, list[GpuProcess]]:
        """GPU index -> the processes on it that nbexp did not start (GPUs without any left out)."""
        if not any(g.processes for g in report.gpus):
            return {}  # nothing on any GPU: no need to scan /proc for our process trees
        return foreign_processes(report, experiment_pids(running))

    def holders(
        self, report: GpuReport, running: Iterable[ExperimentRecord]
    ) -> dict[int, list[str]]:
        """GPU index -> who holds it: "#3 train" for ours, "pid 1234 (alice)" for others."""
        running = [r for r in running if r.assigned_gpus]
        holders: dict[int, list[str]] = {}
        for record in running:
            for index in record.assigned_gpus or []:
                holders.setdefault(int(index), []).append(holder_label(record))
        for index, processes in self.foreign(report, running).items():
            for process in processes:
                label = process_label(process.pid, self.owners.get(process.pid))
                holders.setdefault(index, []).append(label)
        return holders

    def resources(
        self,
        report: GpuReport | None,
        running: Iterable[ExperimentRecord],
        settings: Settings,
    ) -> Resources:
        """What is free, for the scheduler: our running experiments' GPUs, someone else's
        processes, and memory used outside nbexp."""
        running = [r for r in running if r.executor == "local"]
        busy_memory = settings.gpu_busy_memory_mb * 1024**2
        held: dict[int, list[str]] = {}
        shared: dict[int, int] = {}
        for record in running:
            for index in record.assigned_gpus or []:
                held.setdefault(int(index), []).append(holder_label(record))
                if (record.options or {}).get("share_gpus"):
                    shared[int(index)] = shared.get(int(index), 0) + 1
        gpus: dict[int, GpuState] = {}
        if report is not None:
            foreign = self.foreign(report, running)
            for snapshot in report.gpus:
                others = [
                    process_label(p.pid, self.owners.get(p.pid))
                    for p in foreign.get(snapshot.index, [])
                ]
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
        return Resources(gpus, cpu_only, settings.max_parallel_cpu)

    def experiment_memory(
        self, report: GpuReport, running: Iterable[ExperimentRecord]
    ) -> dict[int, dict[int, int]]:
        """Experiment id -> {GPU index -> bytes}: NVML's compute processes matched to each
        experiment's process tree (its command, runner and their descendants)."""
        roots: dict[int, list[int]] = {}
        for record in running:
            for root, start in (
                (record.pid, record.pid_start),
                (record.runner_pid, record.runner_start),
            ):
                if root and _proc.is_alive(root, start):
                    roots.setdefault(record.id, []).append(root)
        if not roots:
            return {}
        owner = {pid: exp for exp, tree in _proc.trees(roots).items() for pid in tree}
        usage: dict[int, dict[int, int]] = {}
        for snapshot in report.gpus:
            for process in snapshot.processes or ():
                experiment = owner.get(process.pid)
                if experiment is not None:
                    per_gpu = usage.setdefault(experiment, {})
                    per_gpu[snapshot.index] = per_gpu.get(snapshot.index, 0) + (
                        process.used_memory or 0
                    )
        return usage


# -- pure helpers over readings -----------------------------------------------------------------


def foreign_processes(report: GpuReport, our_pids: set[int]) -> dict[int, list[GpuProcess]]:
    """GPU index -> the processes on it that are not ours; GPUs without any are left out."""
    found: dict[int, list[GpuProcess]] = {}
    for gpu in report.gpus:
        others = [p for p in gpu.processes or () if p.pid not in our_pids]
        if others:
            found[gpu.index] = others
    return found


def experiment_pids(records: Iterable[ExperimentRecord]) -> set[int]:
    """Every live pid of these experiments' process trees (the process, its runner, children)."""
    roots: set[int] = set()
    for record in records:
        # With the recorded identity, so a recycled pid never makes a stranger look like ours.
        for root, start in (
            (record.pid, record.pid_start),
            (record.runner_pid, record.runner_start),
        ):
            if root and _proc.is_alive(root, start):
                roots.add(root)
    if not roots:
        return set()
    return roots | _proc.descendants_of(roots, roots)  # one scan of /proc for every tree


def resolve_gpu_ids(
    requested: Sequence[int | str], gpus: GpuReport | Sequence[GpuSnapshot]
) -> list[int]:
    """Indices for a request of indices and/or UUIDs (a unique UUID prefix is enough)."""
    snapshots = list(gpus.gpus if isinstance(gpus, GpuReport) else gpus)
    resolved: list[int] = []
    for item in requested:
        index = _resolve_one(item, snapshots, gpus)
        if index in resolved:
            raise UsageError(f"GPU {index} is requested twice (as {item!r} and earlier)")
        resolved.append(index)
    return resolved


def require_gpu_count(count: int, gpus: GpuReport, experiment_id: int) -> None:
    """Refuse a request for more GPUs than the machine has: no queue would ever start it."""
    if count > len(gpus.gpus):
        raise GpuUnavailable(
            f"cannot start experiment {experiment_id}: it asks for {count} "
            f"GPU{'s' if count > 1 else ''}; {_describe_machine(list(gpus.gpus), gpus)}"
        )


def _resolve_one(
    item: int | str, snapshots: list[GpuSnapshot], source: GpuReport | Sequence[GpuSnapshot]
) -> int:
    if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit():
        item = int(item)
    label = f"GPU {item}"
    if isinstance(item, int) and not isinstance(item, bool):
        match = [g for g in snapshots if g.index == item]
    else:
        wanted = str(item).strip().lower()
        if not wanted:
            raise UsageError("an empty GPU name was requested; use an index (0) or a UUID")
        # Like CUDA_VISIBLE_DEVICES, a unique UUID prefix is enough.
        match = [g for g in snapshots if g.uuid and g.uuid.lower().startswith(wanted)]
        exact = [g for g in match if (g.uuid or "").lower() == wanted]
        if len(match) > 1 and not exact:
            raise UsageError(f"{label} matches several GPUs; give more of the UUID")
        match = exact or match
    if not match:
        raise GpuUnavailable(f"{label} does not exist; {_describe_machine(snapshots, source)}")
    if match[0].problem:
        raise GpuUnavailable(f"{label} cannot be used: {match[0].problem}")
    return match[0].index


def _describe_machine(
    snapshots: list[GpuSnapshot], source: GpuReport | Sequence[GpuSnapshot]
) -> str:
    if not snapshots:
        reason = source.reason if isinstance(source, GpuReport) else None
        return f"this machine has no GPUs ({reason})" if reason else "this machine has no GPUs"
    indices = ", ".join(str(g.index) for g in snapshots)
    names = collections.Counter(g.name or "unknown" for g in snapshots)
    kinds = ", ".join(f"{n}× {name}" if n > 1 else name for name, n in names.items())
    plural = "GPUs" if len(snapshots) > 1 else "GPU"
    return f"this machine has {plural} {indices} ({kinds})"
