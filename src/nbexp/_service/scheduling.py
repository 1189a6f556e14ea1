"""One scheduling step: read the queue, the running experiments and the GPUs, decide with the
pure `_core.scheduler.plan`, and claim the winners — all inside one write transaction, so two
steps in two processes never hand out one GPU twice. There is no daemon: a monitor tick, a
runner whose experiment just ended, every CLI call and the queue watcher each run a step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .._core.errors import NbexpError
from .._core.records import ExperimentRecord
from .._core.scheduler import (
    Blocked,
    Decision,
    Fail,
    GroupState,
    Launch,
    QueuedRow,
    Resources,
    plan,
)
from .._core.settings import Settings
from .._core.states import HOLDING, Status
from .._exec.base import Executor
from .._io.gpus import GpuReport
from .._io.home_locks import hold, holder
from .._io.spawn import python_entry, track_child
from .._io.store import Store
from .claims import claim
from .gpus import GpuOwnership, resolve_gpu_ids

WATCH_INTERVAL_S = 2.0
WATCHER_LOCK = "queue-watcher.lock"
# The module a queue watcher (or a one-off step) runs as; see `queue_watcher.main`.
WATCHER_MODULE = "nbexp._service.queue_watcher"


class Scheduling:
    """Scheduling steps for one home's local queue (Slurm queues its own jobs)."""

    def __init__(
        self,
        home: Path,
        store: Store,
        gpus: GpuOwnership,
        launcher: Executor,
        settings: Callable[[], Settings],
        *,
        watch_queue: bool = True,
    ) -> None:
        self.home = home
        self.store = store
        self.gpus = gpus
        self.launcher = launcher  # the local executor: runs what a step claims
        self.settings = settings
        self.watch_queue = watch_queue  # start a watcher process while work waits

    def step(self) -> list[int]:
        """Start the queued experiments whose resources are free now; their ids."""
        wants_gpus = self.store.queue_needs_gpus("local")
        if wants_gpus is None:
            return []  # nothing queued: the common case costs one indexed query
        report = self.gpus.sample() if wants_gpus else None
        with self.store.write() as conn:
            queued, unavailable = self.store.read_queue(conn)
            requests = []
            for row in queued.values():
                try:
                    explicit = explicit_gpus(row.gpus, report, force=False)
                except NbexpError as e:
                    unavailable[row.id] = str(e)
                    continue
                requests.append(row.request(explicit))
            running = self.store.list(list(HOLDING), conn)  # paused: still holds its GPUs
            resources = with_groups(
                self.gpus.resources(report, running, self.settings()), running, self.store, conn
            )
            statuses = self.store.dependency_statuses(conn, [d for r in requests for d in r.after])
            decisions: list[Decision] = plan(requests, resources, statuses)
            decisions += [Fail(i, f"not started: {why}") for i, why in unavailable.items()]
            launched = self._carry_out(conn, queued, decisions)
        for experiment_id, attempt, path in launched:
            try:
                self.launcher.launch(self.store.get(experiment_id), attempt, path)
            except NbexpError:
                pass  # recorded as that experiment's error; the others still start
        if len(launched) < len(queued) + len(unavailable):
            self.ensure_watcher()
        return [experiment_id for experiment_id, _, _ in launched]

    def _carry_out(
        self, conn: Any, queued: dict[int, QueuedRow], decisions: list[Decision]
    ) -> list[tuple[int, int, str]]:
        """Inside the step's transaction: record why the blocked wait, claim the winners (their
        runners start after the commit), fail the hopeless. The claimed (id, attempt, log)."""
        waiting = {
            d.id: d.reason
            for d in decisions
            if isinstance(d, Blocked) and queued[d.id].waiting_for != d.reason
        }
        if waiting:  # usually nothing changed since the last step: no write at all
            self.store.set_waiting_reasons(conn, waiting)
        launched = []
        for decision in decisions:
            if isinstance(decision, Launch):
                row = queued[decision.id]
                gpus = list(decision.gpus) if decision.gpus is not None else None
                attempt, path = claim(
                    self.store,
                    self.home,
                    conn,
                    row.id,
                    row.attempt,
                    from_statuses=frozenset({Status.QUEUED}),
                    to_status=Status.RUNNING,
                    reason="launched from the queue",
                    gpus=gpus,
                )
                launched.append((row.id, attempt, path))
            elif isinstance(decision, Fail):
                self.store.transition(
                    decision.id,
                    frozenset({Status.QUEUED}),
                    Status.ERROR,
                    decision.reason,
                    conn,
                    error=decision.reason,
                    ended=time.time(),
                )
        return launched

    def ensure_watcher(self) -> None:
        """Make sure a process keeps running steps while local work waits (a GPU freed by a
        process outside nbexp tells nobody)."""
        if not self.watch_queue or queue_watcher_running(self.home):
            return
        watcher = subprocess.Popen(
            [sys.executable, *python_entry(WATCHER_MODULE), "--watch", str(self.home)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        track_child(watcher)


def with_groups(
    resources: Resources, running: list[ExperimentRecord], store: Store, conn: Any
) -> Resources:
    """`resources` completed with the groups' limits, pauses and running members, and the time
    (for retries that wait)."""
    counts: dict[str, int] = {}
    for record in running:
        if record.group_name is not None:
            counts[record.group_name] = counts.get(record.group_name, 0) + 1
    settings = store.groups(conn)
    groups = {
        name: GroupState(
            running=counts.get(name, 0),
            max_parallel=settings.get(name, {}).get("max_parallel"),
            paused=bool(settings.get(name, {}).get("paused")),
        )
        for name in set(counts) | set(settings)
    }
    return replace(resources, groups=groups, now=time.time())


def explicit_gpus(request: Any, report: GpuReport | None, *, force: bool) -> list[int] | None:
    """An explicit GPU list (indices or UUIDs) as indices; None for a count or CPU only."""
    if not isinstance(request, list):
        return None
    if report is None:
        raise NbexpError("no GPU reading to resolve the requested GPUs against")
    if force and not report.gpus and all(isinstance(g, int) for g in request):
        return [int(g) for g in request]  # forced, and nothing to check against
    return resolve_gpu_ids(request, report)


def queue_watcher_running(home: str | os.PathLike[str]) -> bool:
    """Whether a queue watcher holds this home's lock right now."""
    return holder(home, WATCHER_LOCK) is not None


def hold_watcher_lock(home: str | os.PathLike[str]) -> int | None:
    """Take this home's queue-watcher lock for good (an fd to keep open), or None if taken
    (or if the lock file cannot be opened: a symlink planted there)."""
    try:
        return hold(home, WATCHER_LOCK)
    except OSError:
        return None


def watch(tick: Callable[[], None], store: Store, interval: float = WATCH_INTERVAL_S) -> None:
    """Call `tick` every `interval` seconds until no local experiment waits in the queue."""
    while True:
        tick()
        if store.queue_needs_gpus("local") is None:
            return
        time.sleep(interval)
