"""The user's verbs on experiments: create, start (or queue), restart, stop, remove.

Every state change goes through the store's compare-and-set over the one transition table, every
new attempt through `claims.claim`; executors are called only after the change is committed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from .._core.errors import Busy, GpuConflict, NbexpError, SpawnFailed, UsageError
from .._core.records import ExperimentRecord
from .._core.scheduler import Resources, allocate, dependency_state, held_back, request_of
from .._core.settings import Settings
from .._core.states import HOLDING, Action, Status, is_allowed, sources
from .._core.validate import LaunchRequest
from .._exec.base import Executor
from .._io.gpus import GpuReport
from .._io.store import Store
from .claims import claim, launcher_fields, refusal
from .gpus import GpuOwnership, require_gpu_count
from .scheduling import Scheduling, explicit_gpus, with_groups


def cell_script(home: Path, record: ExperimentRecord) -> Path | None:
    """The script a `%%exp run` cell wrote for this experiment (`python HOME/scripts/cell-….py`),
    or None."""
    command = record.command
    if len(command) != 2:
        return None
    script = Path(command[1])
    if script.parent != home / "scripts" or not fnmatch(script.name, "cell-*.py"):
        return None
    return script


class Lifecycle:
    """Create, start, restart, stop and remove the experiments of one home."""

    def __init__(
        self,
        home: Path,
        store: Store,
        executors: Mapping[str, Executor],
        gpus: GpuOwnership,
        scheduling: Scheduling,
        fresh_record: Callable[[int], ExperimentRecord],
        settings: Callable[[], Settings],
    ) -> None:
        self.home = home
        self.store = store
        self.executors = executors
        self.gpus = gpus
        self.scheduling = scheduling
        self.fresh_record = fresh_record  # a record read after reconciling it
        self.settings = settings

    # -- creating -----------------------------------------------------------------------------

    def create(self, request: LaunchRequest, *, launching: bool = False) -> int:
        """A new pending experiment; its id. `launching`: this process starts it right away
        (run()): if it dies first, the experiment ends as "launch interrupted", not pending."""
        values = self.row_values(request)
        if not os.path.isdir(values["cwd"]):
            raise UsageError(f"working directory does not exist: {values['cwd']}")
        for dependency in request.after:
            self.store.get(dependency)  # NotFound names the missing id
        return self.store.insert(**values, **(launcher_fields() if launching else {}))

    def row_values(self, request: LaunchRequest) -> dict[str, Any]:
        """The store's columns for a new experiment made from `request` (a sweep inserts many
        at once)."""
        return dict(
            name=request.name,
            command=request.argv,
            shell=request.shell,
            cwd=os.path.abspath(request.cwd) if request.cwd is not None else os.getcwd(),
            env=request.env,
            gpus=request.gpus,
            uv=request.uv,
            priority=request.priority,
            after=request.after,
            options=request.options,
            executor=request.executor,
            group_name=request.group,
            params=request.params,
            tags=request.tags,
            note=request.note,
            **request.endings,
        )

    # -- starting -----------------------------------------------------------------------------

    def start(self, experiment_id: int, *, force: bool, queue: bool) -> None:
        """Start a pending experiment now if its resources are free (force: regardless; also a
        queued one), else queue it (queue=True or a dependency) or refuse with GpuConflict."""
        record = self.fresh_record(experiment_id)
        action = Action.FORCE_START if force else Action.START
        if not is_allowed(action, record.status):
            raise refusal(record, action)
        if record.retried and record.status is Status.PENDING:
            self.store.update(record.id, retried=0)  # a user's start begins a new count
        self._launch(record, sources(action), "force start" if force else "start", force, queue)

    def restart(self, experiment_id: int, *, force: bool, queue: bool) -> None:
        """A new attempt of an ended experiment; earlier attempts keep their logs."""
        record = self.fresh_record(experiment_id)
        if not is_allowed(Action.RESTART, record.status):
            raise refusal(record, Action.RESTART)
        if record.retried:
            self.store.update(record.id, retried=0)  # a restart gets all its retries again
        self._launch(record, sources(Action.RESTART), "restart", force, queue)

    def _launch(
        self,
        record: ExperimentRecord,
        from_statuses: frozenset[Status],
        reason: str,
        force: bool,
        queue: bool,
    ) -> None:
        executor = self.executors[record.executor]
        problem = executor.problem(record, record.attempt + 1)
        if problem is not None:
            self._refuse_unstartable(record, problem)
        if executor.claim_status is Status.QUEUED:
            # The engine queues and schedules by itself (Slurm): claim, then hand it over.
            with self.store.write() as conn:
                attempt, path = claim(
                    self.store,
                    self.home,
                    conn,
                    record.id,
                    record.attempt,
                    from_statuses=from_statuses,
                    to_status=Status.QUEUED,
                    reason=f"{reason}: submitting to {executor.name}",
                )
            executor.launch(self.store.get(record.id), attempt, path)
            return
        self._start_or_queue(record, executor, from_statuses, reason, force=force, queue=queue)

    def _refuse_unstartable(self, record: ExperimentRecord, problem: str) -> None:
        """Record a command that cannot possibly start as an error, and say why."""
        reason = f"failed to start: {problem}"
        self.store.transition(
            record.id,
            frozenset(Status) - set(HOLDING),
            Status.ERROR,
            reason,
            error=reason,
            ended=time.time(),
        )
        raise SpawnFailed(f"experiment {record.id} {reason}")

    def _start_or_queue(
        self,
        record: ExperimentRecord,
        executor: Executor,
        from_statuses: frozenset[Status],
        reason: str,
        *,
        force: bool,
        queue: bool,
    ) -> None:
        report = self.gpus.sample() if record.gpus is not None else None
        explicit = explicit_gpus(record.gpus, report, force=force)
        if isinstance(record.gpus, int) and report is not None and not force:
            require_gpu_count(record.gpus, report, record.id)  # else a queue waits forever
        with self.store.write() as conn:
            running = self.store.list(list(HOLDING), conn)  # paused: still holds its GPUs
            resources = with_groups(
                self.gpus.resources(report, running, self.settings()), running, self.store, conn
            )
            why_queued: str | None = None
            if force:
                gpus = explicit if explicit is not None else self._any_gpus(record, report)
                busy = [
                    g.describe() for i, g in resources.gpus.items() if i in (gpus or []) and g.busy
                ]
                reason += f" (ignoring busy {'; '.join(busy)})" if busy else ""
            else:
                gpus, why_queued = self._allocate(conn, record, explicit, resources, queue)
            if why_queued is not None:
                self._queue(conn, record, from_statuses, why_queued)
            else:
                attempt, path = claim(
                    self.store,
                    self.home,
                    conn,
                    record.id,
                    record.attempt,
                    from_statuses=from_statuses,
                    to_status=Status.RUNNING,
                    reason=reason,
                    gpus=gpus,
                )
        if why_queued is not None:
            self.scheduling.ensure_watcher()
        else:
            executor.launch(self.store.get(record.id), attempt, path)

    def _allocate(
        self,
        conn: Any,
        record: ExperimentRecord,
        explicit: list[int] | None,
        resources: Resources,
        queue: bool,
    ) -> tuple[list[int] | None, str | None]:
        """(GPUs to start on now, None) or (None, why it queues); GpuConflict or UsageError
        when it can do neither."""
        request = request_of(record, explicit)
        dependencies = dependency_state(
            request, self.store.dependency_statuses(conn, request.after)
        )
        if dependencies.broken is not None:
            raise UsageError(f"cannot start experiment {record.id}: {dependencies.broken}")
        held = held_back(request, resources)
        gpus, why = allocate(request, resources) if held is None else (None, held)
        if dependencies.ready and gpus is not None:
            return (list(gpus) if record.gpus is not None else None), None
        if queue or record.after:
            return None, (why if dependencies.ready else None) or "waiting for a dependency"
        conflict = GpuConflict if record.gpus is not None else Busy
        raise conflict(
            f"cannot start experiment {record.id}: {why}; pass queue=True "
            "(--queue) to wait, or force=True (--force) to start anyway"
        )

    def _queue(
        self, conn: Any, record: ExperimentRecord, from_statuses: frozenset[Status], why: str
    ) -> None:
        allowed = from_statuses if record.status is not Status.PENDING else sources(Action.QUEUE)
        if not self.store.transition(
            record.id,
            allowed,
            Status.QUEUED,
            f"queued: {why}",
            conn,
            queued_at=time.time(),
            waiting_for=why,
            launcher_pid=None,  # queued: a scheduling step launches it, not this process
            launcher_start=None,
        ):
            raise refusal(self.store.get(record.id), Action.START)

    def _any_gpus(self, record: ExperimentRecord, report: GpuReport | None) -> list[int] | None:
        """For a forced start of `gpus=N`: the N least-used GPUs, free or not."""
        if not isinstance(record.gpus, int) or report is None:
            return None
        require_gpu_count(record.gpus, report, record.id)  # raises, naming what exists
        running = self.store.list(list(HOLDING))
        resources = self.gpus.resources(report, running, self.settings())
        ranked = sorted(resources.gpus.values(), key=lambda g: (g.busy, len(g.held_by), g.index))
        return sorted(g.index for g in ranked[: record.gpus])

    # -- stopping and removing ----------------------------------------------------------------

    def stop(self, experiment_id: int, grace: float) -> ExperimentRecord:
        """Stop a running experiment's tree, or take a queued one out of the queue; the record
        as it was when the stop was asked (the caller may wait for the end)."""
        record = self.fresh_record(experiment_id)
        executor = self.executors[record.executor]
        if record.status.is_terminal and self._sweep(record):
            return record
        if record.status is Status.QUEUED and executor.claim_status is Status.RUNNING:
            if self.store.transition(
                record.id, sources(Action.DEQUEUE), Status.PENDING, "stopped while queued"
            ):
                return record
            record = self.fresh_record(experiment_id)
        stoppable = is_allowed(Action.STOP, record.status)
        if not stoppable:
            raise refusal(record, Action.STOP)
        only_running = executor.claim_status is Status.RUNNING
        self.store.request_stop(record.id, record.attempt, grace, only_running=only_running)
        if record.status is Status.PAUSED and executor.claim_status is Status.QUEUED:
            # An engine that stops jobs itself (Slurm) must resume one first: a stopped
            # process sees SIGTERM only once it runs. (A local runner does this by itself.)
            executor.resume(record)
        executor.stop(record, grace)
        return record

    def pause(self, experiment_id: int) -> ExperimentRecord:
        """Stop a running experiment's whole tree where it is (SIGSTOP; it keeps its GPUs);
        the record as it was before. The state changes first, so the runner (or a process
        that finds the runner gone) knows what to keep."""
        record = self.fresh_record(experiment_id)
        if not is_allowed(Action.PAUSE, record.status):
            raise refusal(record, Action.PAUSE)
        now = time.time()
        if not self.store.transition(
            record.id,
            sources(Action.PAUSE),
            Status.PAUSED,
            "paused by user",
            where_attempt=record.attempt,
            paused_at=now,
        ):
            raise refusal(self.fresh_record(experiment_id), Action.PAUSE)
        try:
            self.executors[record.executor].pause(self.store.get(record.id))
        except NbexpError as e:  # Slurm refused (operators only?): it still runs
            self.store.transition(
                record.id, {Status.PAUSED}, Status.RUNNING, f"not paused: {e}", paused_at=None
            )
            raise
        return record

    def resume(self, experiment_id: int) -> ExperimentRecord:
        """Let a paused experiment run on (SIGCONT to its whole tree); its runtime leaves the
        paused time out."""
        record = self.fresh_record(experiment_id)
        if not is_allowed(Action.RESUME, record.status):
            raise refusal(record, Action.RESUME)
        paused_for = max(0.0, time.time() - (record.paused_at or time.time()))
        if not self.store.transition(
            record.id,
            sources(Action.RESUME),
            Status.RUNNING,
            "resumed by user",
            where_attempt=record.attempt,
            paused_at=None,
            paused_seconds=(record.paused_seconds or 0.0) + paused_for,
        ):
            raise refusal(self.fresh_record(experiment_id), Action.RESUME)
        try:
            self.executors[record.executor].resume(self.store.get(record.id))
        except NbexpError as e:  # Slurm refused: it is still suspended
            self.store.transition(
                record.id,
                {Status.RUNNING},
                Status.PAUSED,
                f"not resumed: {e}",
                paused_at=record.paused_at,
                paused_seconds=record.paused_seconds,
            )
            raise
        return record

    def _sweep(self, record: ExperimentRecord) -> bool:
        """Stop on an ended experiment ends what it left running (its runner was killed);
        whether there was anything."""
        count = self.executors[record.executor].sweep(record)
        if count:
            self.store.note(
                record.id, f"stopped {count} leftover process(es) of attempt {record.attempt}"
            )
        return count > 0

    def remove(self, experiment_id: int, *, delete_logs: bool) -> None:
        """Forget an experiment (refused while it runs); its logs go too unless kept."""
        record = self.fresh_record(experiment_id)
        folders = {Path(p).parent for p in self.store.attempt_log_paths(record.id)}
        if not self.store.delete(record.id, sources(Action.REMOVE)):
            raise refusal(self.fresh_record(experiment_id), Action.REMOVE)
        if not delete_logs:
            return
        script = cell_script(self.home, record)
        if script is not None and not any(
            cell_script(self.home, other) == script for other in self.store.list()
        ):
            script.unlink(missing_ok=True)  # unless another experiment still runs it
        logs = self.home / "logs"
        for folder in folders:
            # Only folders of ours inside the home's logs/, never through a symlink.
            if folder.is_relative_to(logs) and folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
