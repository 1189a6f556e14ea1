"""Which queued experiments can start now: a pure decision over plain data (no I/O).

FIFO within a priority (higher first). A later experiment may start when an earlier one is
still blocked if its own resources are free (backfill), so one big request never idles a
machine; `_service.scheduling` feeds this from the store and the GPU probe inside one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .states import Status

if TYPE_CHECKING:
    from .records import ExperimentRecord


@dataclass(frozen=True)
class GpuState:
    """One GPU as the scheduler sees it."""

    index: int
    held_by: tuple[str, ...] = ()  # our experiments holding it, e.g. "experiment 3 'train'"
    foreign: tuple[str, ...] = ()  # someone else's use, e.g. "pid 1234 (alice)", "9.1 GiB used"
    free_memory: int | None = None  # bytes
    shared_by: int = 0  # how many of our sharing experiments use it

    @property
    def busy(self) -> bool:
        return bool(self.held_by or self.foreign)

    def describe(self) -> str:
        """ "GPU 0, held by #3 train" (or "GPU 0" when nobody does)."""
        who = ", ".join(self.held_by + self.foreign)
        return f"GPU {self.index}, held by {who}" if who else f"GPU {self.index}"


@dataclass(frozen=True)
class Request:
    """What one experiment needs in order to start."""

    id: int
    gpus: int | tuple[int, ...] | None = None  # count, explicit indices, or CPU only
    share: bool = False  # may share GPUs with other sharing experiments
    min_free_memory: int | None = None  # bytes per GPU
    priority: int = 0
    queued_at: float = 0.0
    after: tuple[int, ...] = ()
    group: str | None = None  # its group, whose parallel limit and pause apply
    not_before: float | None = None  # a retry waits until then (seconds since the epoch)


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
    group: str | None = None
    not_before: float | None = None
    waiting_for: str | None = None  # the reason the last step gave (rewritten only on change)

    def request(self, gpu_indices: Sequence[int] | None) -> Request:
        """The scheduler's view; `gpu_indices`: its explicit GPUs resolved to indices."""
        return _request(
            self.id,
            self.gpus,
            self.options,
            self.priority,
            self.queued_at,
            self.after,
            gpu_indices,
            self.group,
            self.not_before,
        )


def request_of(record: ExperimentRecord, gpu_indices: Sequence[int] | None = None) -> Request:
    """The scheduler's view of a record; `gpu_indices`: its explicit GPUs resolved to indices."""
    return _request(
        record.id,
        record.gpus,
        record.options or {},
        record.priority,
        record.queued_at or record.created,
        tuple(record.after),
        gpu_indices,
        record.group_name,
        record.not_before,
    )


def _request(
    experiment_id: int,
    gpus_wanted: Any,
    options: dict[str, Any],
    priority: int,
    queued_at: float,
    after: tuple[int, ...],
    gpu_indices: Sequence[int] | None,
    group: str | None,
    not_before: float | None,
) -> Request:
    gpus: int | tuple[int, ...] | None
    if isinstance(gpus_wanted, list):
        gpus = tuple(gpu_indices if gpu_indices is not None else (int(g) for g in gpus_wanted))
    else:
        gpus = gpus_wanted
    min_free = options.get("min_free_memory_mb")
    return Request(
        id=experiment_id,
        gpus=gpus,
        share=bool(options.get("share_gpus")),
        min_free_memory=int(min_free) * 1024**2 if min_free else None,
        priority=priority,
        queued_at=queued_at,
        after=after,
        group=group,
        not_before=not_before,
    )


@dataclass(frozen=True)
class GroupState:
    """One group as the scheduler sees it."""

    running: int = 0  # members running now
    max_parallel: int | None = None  # None: no limit of its own
    paused: bool = False  # its queue is paused: members wait


@dataclass(frozen=True)
class Resources:
    gpus: Mapping[int, GpuState] = field(default_factory=dict)
    running_cpu_only: int = 0
    max_parallel_cpu: int | None = None  # None: no limit
    groups: Mapping[str, GroupState] = field(default_factory=dict)
    now: float = 0.0  # seconds since the epoch: when retries waiting for a time may start


@dataclass(frozen=True)
class Launch:
    id: int
    gpus: tuple[int, ...] | None


@dataclass(frozen=True)
class Fail:
    """A queued experiment that can never start (its dependency failed)."""

    id: int
    reason: str


@dataclass(frozen=True)
class Blocked:
    id: int
    reason: str


Decision = Launch | Fail | Blocked


def _usable(gpu: GpuState, request: Request) -> bool:
    if request.min_free_memory is not None and (
        gpu.free_memory is None or gpu.free_memory < request.min_free_memory
    ):
        return False
    if gpu.foreign:
        return False
    if gpu.held_by:
        return request.share and gpu.shared_by == len(gpu.held_by)
    return True


def allocate(request: Request, resources: Resources) -> tuple[tuple[int, ...] | None, str | None]:
    """The GPUs this request would get now, or None and why not (in words)."""
    if request.gpus is None:
        limit = resources.max_parallel_cpu
        if limit is not None and resources.running_cpu_only >= limit:
            return (
                None,
                f"{_count(resources.running_cpu_only, 'CPU-only experiment')} already "
                f"{'runs' if resources.running_cpu_only == 1 else 'run'} (limit {limit}: "
                "nbexp config max_parallel_cpu)",
            )
        return (), None
    if isinstance(request.gpus, tuple):
        busy = [resources.gpus[i] for i in request.gpus if not _usable(resources.gpus[i], request)]
        if busy:
            return None, "waits for " + "; ".join(g.describe() for g in busy)
        return request.gpus, None
    candidates = [
        g for g in sorted(resources.gpus.values(), key=_preference) if _usable(g, request)
    ]
    if len(candidates) < request.gpus:
        total = len(resources.gpus)
        if request.gpus > total:
            return None, f"asks for {request.gpus} GPUs but this machine has {total}"
        taken = [g.describe() for g in resources.gpus.values() if not _usable(g, request)]
        wanted = f"{request.gpus} free GPU{'s' if request.gpus != 1 else ''}"
        return None, f"needs {wanted}, {len(candidates)} free; " + "; ".join(taken)
    return tuple(sorted(g.index for g in candidates[: request.gpus])), None


def _preference(gpu: GpuState) -> tuple[int, int, int]:
    # Unused GPUs first, then the most free memory, then the lowest index.
    return (len(gpu.held_by), -(gpu.free_memory or 0), gpu.index)


def _take(resources: Resources, request: Request, gpus: tuple[int, ...]) -> Resources:
    """Resources after `request` started on `gpus`."""
    updated = dict(resources.gpus)
    for index in gpus:
        gpu = updated[index]
        updated[index] = GpuState(
            index,
            (*gpu.held_by, f"experiment {request.id}"),
            gpu.foreign,
            gpu.free_memory,
            gpu.shared_by + (1 if request.share else 0),
        )
    cpu = resources.running_cpu_only + (0 if gpus or request.gpus is not None else 1)
    groups = dict(resources.groups)
    if request.group is not None:
        group = groups.get(request.group, GroupState())
        groups[request.group] = replace(group, running=group.running + 1)
    return replace(resources, gpus=updated, running_cpu_only=cpu, groups=groups)


def held_back(request: Request, resources: Resources) -> str | None:
    """Why a request must wait whatever its GPUs: a retry's delay, its group paused or at its
    parallel limit. None when nothing holds it back."""
    if request.not_before is not None and request.not_before > resources.now:
        return f"retry in {_seconds(request.not_before - resources.now)}"
    if request.group is None:
        return None
    group = resources.groups.get(request.group, GroupState())
    if group.paused:
        return f"group {request.group!r} is paused (nbexp group resume {request.group})"
    if group.max_parallel is not None and group.running >= group.max_parallel:
        return (
            f"group {request.group!r} already runs {group.running} "
            f"(max_parallel {group.max_parallel})"
        )
    return None


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 1 else "a moment"


@dataclass(frozen=True)
class Dependencies:
    """Where a request's dependencies stand: all completed (ready), one can never complete
    (`broken` says which and why), or some are still to come (`waiting_for`)."""

    ready: bool
    broken: str | None = None  # e.g. "experiment 3 (a dependency) ended error"
    waiting_for: int | None = None


def dependency_state(request: Request, statuses: Mapping[int, Status | None]) -> Dependencies:
    for dependency in request.after:
        status = statuses.get(dependency)
        if status is None:
            return Dependencies(False, f"experiment {dependency} (a dependency) was removed")
        if status in (Status.ERROR, Status.INTERRUPTED):
            return Dependencies(
                False, f"experiment {dependency} (a dependency) ended {status.value}"
            )
    waiting = [d for d in request.after if statuses.get(d) is not Status.COMPLETED]
    return Dependencies(not waiting, None, waiting[0] if waiting else None)


def plan(
    queued: Sequence[Request],
    resources: Resources,
    dependency_statuses: Mapping[int, Status | None],
) -> list[Decision]:
    """Decide for every queued experiment: launch now (on which GPUs), fail, or keep waiting."""
    decisions: list[Decision] = []
    order = sorted(queued, key=lambda r: (-r.priority, r.queued_at, r.id))
    for request in order:
        dependencies = dependency_state(request, dependency_statuses)
        if dependencies.broken is not None:
            decisions.append(Fail(request.id, f"not started: {dependencies.broken}"))
            continue
        if not dependencies.ready:
            reason = f"waiting for experiment {dependencies.waiting_for}"
            decisions.append(Blocked(request.id, reason))
            continue
        if request.group is not None or request.not_before is not None:
            waiting = held_back(request, resources)
            if waiting is not None:
                decisions.append(Blocked(request.id, waiting))
                continue
        gpus, why = allocate(request, resources)
        if gpus is None:
            decisions.append(Blocked(request.id, why or "busy"))
            continue
        decisions.append(Launch(request.id, gpus if request.gpus is not None else None))
        resources = _take(resources, request, gpus)
    return decisions


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
