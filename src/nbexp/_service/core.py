"""The service object of one nbexp home: it owns the store, the executors, the GPU probe, the
scheduling steps and the log watches, and answers every question the public face and the views
ask. It never formats for a screen; the CLI, magics, manager and widgets do that.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._core.errors import InvalidTransition, NbexpError, UsageError, WaitTimeout
from .._core.records import ExperimentRecord, HistoryEntry
from .._core.settings import Settings, check_setting, parse_settings
from .._core.states import HOLDING, Status
from .._core.validate import check_count, check_seconds, parse_experiment_id
from .._exec.base import ExecContext, Executor
from .._exec.local import LocalExecutor
from .._exec.slurm import SlurmExecutor
from .._io import listing
from .._io.gpus import GpuReport
from .._io.logs import render_file
from .._io.paths import resolve_home
from .._io.proc import is_alive
from .._io.store import Store
from .gpus import GpuOwnership
from .groups import Groups
from .lifecycle import Lifecycle
from .metrics import Metrics
from .requeue import Requeue, requeue_due
from .scheduling import Scheduling
from .telemetry import NodeTelemetry
from .watches import LogWatches, WatchedLog

# Stored settings already reported as bad by this process (once each, not on every tick).
_reported: set[str] = set()


class Service:
    """Everything nbexp does for one home, in one process."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        watch_queue: bool = True,
        gpus: GpuOwnership | None = None,
    ) -> None:
        self.home: Path = resolve_home(home)
        self.store = Store(self.home)
        context = ExecContext(self.home, self.store)
        self.local = LocalExecutor(context)
        self.slurm = SlurmExecutor(context)
        self.executors: dict[str, Executor] = {"local": self.local, "slurm": self.slurm}
        self.gpus = gpus if gpus is not None else GpuOwnership(self.home)
        self.scheduling = Scheduling(
            self.home, self.store, self.gpus, self.local, self.settings, watch_queue=watch_queue
        )
        self.lifecycle = Lifecycle(
            self.home,
            self.store,
            self.executors,
            self.gpus,
            self.scheduling,
            self.fresh_record,
            self.settings,
        )
        self.groups = Groups(
            self.home,
            self.store,
            self.lifecycle,
            self.scheduling,
            self.gpus,
            self.settings,
            self.reconcile,
        )
        self.watches = LogWatches()
        self.requeue = Requeue(self.home, self.store, self.executors)
        self.telemetry = NodeTelemetry()  # Slurm jobs' GPU readings, from their sidecar files
        self._requeue_scanned = False  # the first reconcile looks at every ended attempt
        self.metrics = Metrics(self.store)  # histories from the logs, kept in the store

    def close(self) -> None:
        """Close the store's connections (every thread's). The service stays usable: a later
        call opens a new one."""
        self.store.close()

    # -- records ------------------------------------------------------------------------------

    def fresh_record(self, experiment_id: Any) -> ExperimentRecord:
        """The experiment's record after reconciling it with reality (NotFound for none)."""
        record = self.store.get(parse_experiment_id(experiment_id))
        if record.status.is_active:
            self.executors[record.executor].reconcile([record])
            record = self.store.get(record.id)
            if requeue_due(record) and self.requeue.requeue(record):
                record = self.store.get(record.id)  # a new attempt, queued: not the end yet
        elif record.status is Status.PENDING and record.launcher_pid is not None:
            self._end_interrupted_launch(record)
            record = self.store.get(record.id)
        return record

    def records(self, statuses: Sequence[Status] | None = None) -> list[ExperimentRecord]:
        """Snapshots of every experiment (in these states) after reconciling, oldest first."""
        self.reconcile()
        return self.store.list(statuses)

    def history(self, experiment_id: Any) -> list[HistoryEntry]:
        return self.store.history(parse_experiment_id(experiment_id))

    # -- housekeeping -------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring every active experiment up to date (ended, lost, started on Slurm), and end
        the launches whose launching process died before starting them."""
        active = self.store.list([Status.RUNNING, Status.PAUSED, Status.QUEUED])
        for executor in self.executors.values():
            executor.reconcile(active)
        self._requeue_ended(active)
        for record in self.store.list([Status.PENDING]):
            if record.launcher_pid is not None:
                self._end_interrupted_launch(record)

    def _requeue_ended(self, active: Sequence[ExperimentRecord]) -> None:
        """Requeue the Slurm attempts among `active` that just ended in an ending their
        requeue_on names. The first time, every ended attempt is looked at: one whose requeue
        a killed process never submitted is submitted now."""
        if self._requeue_scanned:
            watched = {r.id for r in active if r.requeue_on}
            if not watched:
                return
            self.requeue.step(r for r in listing.requeue_candidates(self.store) if r.id in watched)
            return
        self._requeue_scanned = True
        # Only the rows that may earn a requeue (indexed by status): a store of 10,000 ended
        # experiments must not cost every CLI call a read of all its errors.
        self.requeue.step(listing.requeue_candidates(self.store))

    def _end_interrupted_launch(self, record: ExperimentRecord) -> None:
        """A run() whose process died between creating and starting it: an error that says
        so, rather than a pending row forever."""
        if is_alive(record.launcher_pid, record.launcher_start):
            return  # still being launched
        why = (
            f"launch interrupted: the process starting it (pid {record.launcher_pid}) "
            "ended before it started; restart it to run it"
        )
        self.store.transition(
            record.id, {Status.PENDING}, Status.ERROR, why, error=why, ended=time.time()
        )

    def tick(self) -> None:
        """One housekeeping step, as a monitor tick or a CLI call does: reconcile, then start
        queued experiments whose resources are free."""
        self.reconcile()
        self.scheduling.step()

    # -- logs ---------------------------------------------------------------------------------

    def log_path(self, record: ExperimentRecord, attempt: int | None = None) -> str:
        """The attempt's log file (default: the current attempt)."""
        if attempt is None or attempt == record.attempt:
            if record.log_path is None:
                raise UsageError(f"experiment {record.id} has not run yet: it has no log")
            return record.log_path
        if isinstance(attempt, bool) or not isinstance(attempt, int):
            raise UsageError(f"attempt must be an attempt number, not {attempt!r}")
        if not 1 <= attempt <= record.attempt:
            raise UsageError(
                f"experiment {record.id} has attempts 1..{record.attempt}, not {attempt}"
            )
        recorded = self.store.attempt_log_path(record.id, attempt)
        if recorded is None:
            raise UsageError(f"experiment {record.id}'s attempt {attempt} left no log")
        return recorded

    def readable_log_path(self, record: ExperimentRecord, attempt: int | None = None) -> str:
        """Where the attempt's output can be read now: its log file or, when that file was
        deleted while the experiment runs, the still-open file through /proc."""
        path = self.log_path(record, attempt)
        if os.path.exists(path):
            return path
        current = attempt is None or attempt == record.attempt
        if current and record.status in HOLDING:
            return self.executors[record.executor].readable_log(record, path) or path
        return path

    def logs(self, experiment_id: Any, *, tail: Any = None, attempt: Any = None) -> list[str]:
        """The lines a terminal would show for the attempt's output (default: the latest)."""
        tail = check_count(tail, "tail")
        record = self.fresh_record(experiment_id)
        path = self.readable_log_path(record, attempt)
        lines = render_file(path, tail=tail, rows=tty_rows(record))
        current = attempt is None or attempt == record.attempt
        if current and record.log_problem and not any(line.strip() for line in lines):
            raise no_output(record)
        return lines

    def watched(self, experiment_id: Any) -> WatchedLog:
        """The incremental follower of the experiment's current log."""
        record = self.fresh_record(experiment_id)
        if record.log_path is None:
            raise UsageError(f"experiment {record.id} has not run yet: it has no log")
        return self.watches.get(record.id, record.attempt, record.log_path, tty_rows(record))

    def progress(self, experiment_id: Any) -> Any:
        """The experiment's latest progress reading (nbexp.progress.Progress) or None."""
        record = self.fresh_record(experiment_id)
        return self.watches.progress(record.log_path)

    # -- GPUs ---------------------------------------------------------------------------------

    def gpu_memory(self, experiment_id: Any = None) -> dict[int, Any]:
        running = self.store.list(list(HOLDING))  # a paused run still holds its memory
        usage = self.gpus.experiment_memory(self.gpus.sample(), running)
        for record in running:  # Slurm jobs: their node's GPUs, as their sidecar read them
            on_node = self.telemetry.memory(record) if record.executor == "slurm" else {}
            if on_node:
                usage[record.id] = on_node
        if experiment_id is None:
            return usage
        record = self.fresh_record(experiment_id)  # NotFound for an unknown id
        return usage.get(record.id, {})

    def gpu_holders(self, report: GpuReport | None = None) -> dict[int, list[str]]:
        report = report if report is not None else self.gpus.sample()
        return self.gpus.holders(report, self.store.list(list(HOLDING)))

    # -- settings -----------------------------------------------------------------------------

    def configure(self, values: dict[str, Any]) -> dict[str, str]:
        """Set (or, with None, reset) scheduling settings shared by every process of the home."""
        checked = {key: check_setting(key, value) for key, value in values.items()}
        for key, text in checked.items():
            self.store.set_setting(key, text)
        return self.store.settings()

    def settings(self) -> Settings:
        """The home's settings, checked: a bad stored value is reported once and ignored."""
        settings, problems = parse_settings(self.store.settings())
        for problem in problems:
            if problem not in _reported:
                _reported.add(problem)
                warnings.warn(f"nbexp: {problem}", UserWarning, stacklevel=2)
        return settings

    # -- waiting ------------------------------------------------------------------------------

    def wait(
        self, experiment_id: Any, *, timeout: Any = None, poll_interval: float = 0.05
    ) -> ExperimentRecord:
        """Block until the experiment has ended; its final record."""
        timeout = check_seconds(timeout, "timeout")
        deadline = None if timeout is None else time.monotonic() + timeout
        last_step = 0.0
        while True:
            record = self.fresh_record(experiment_id)
            if record.status.is_terminal:
                return record
            if record.status is Status.PENDING:
                raise InvalidTransition(record.id, "wait for", "pending", ["start"])
            if record.status is Status.QUEUED and time.monotonic() - last_step >= 1.0:
                self.scheduling.step()  # whoever waits keeps the queue moving (no daemon)
                last_step = time.monotonic()
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"experiment {record.id} is still {record.status.value} after {timeout:g} s"
                )
            time.sleep(poll_interval)

    def wait_until_ended(self, experiment_id: int, *, timeout: float) -> None:
        """Wait up to `timeout` seconds for the end; a slow end is not an error here."""
        try:
            self.wait(experiment_id, timeout=timeout)
        except (WaitTimeout, InvalidTransition):
            pass

    def wait_runner_gone(self, record: ExperimentRecord, timeout: float = 6.0) -> None:
        """After an end is recorded, wait (briefly) until the attempt's runner has exited too:
        it records the outcome first, then starts its hook and a scheduling step and waits for
        them (5 s at most)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = self.store.get(record.id)
            if fresh.attempt != record.attempt or not is_alive(
                fresh.runner_pid, fresh.runner_start
            ):
                return
            time.sleep(0.01)

    def discard_pending(self, experiment_id: int) -> None:
        """Remove an experiment that is still pending (a run() that never started it)."""
        self.store.delete(experiment_id, frozenset({Status.PENDING}))


def tty_rows(record: ExperimentRecord) -> int:
    """The terminal height the experiment's output was written for (its pty's, or 40)."""
    tty = (record.options or {}).get("tty") or {}
    return int(tty.get("rows", 40))


def no_output(record: ExperimentRecord) -> NbexpError:
    """What to say when an attempt's log shows nothing because it could not all be written."""
    return NbexpError(f"experiment {record.id} has no output to show: {record.log_problem}")
