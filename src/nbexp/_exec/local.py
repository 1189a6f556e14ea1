"""The local executor: runner processes on this machine. It starts one detached runner per
attempt, stops an attempt (through its runner, or by itself when the runner is gone), and
reconciles what the store says with the processes that actually exist.

An attempt's processes are found three ways, so that none is missed when its runner was killed:
the recorded pids (store, or the `.pid` file beside the log when the store was locked), their
process group, and the environment marker every process of the experiment inherits
(NBEXP_EXPERIMENT_ID + NBEXP_ATTEMPT + NBEXP_HOME). "Lost" is only ever declared once none of
them is alive.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.errors import SpawnFailed, StoreError
from .._core.failures import Ending, Failure
from .._core.launch import ATTEMPT_ENV, EXPERIMENT_ID_ENV, child_environment, effective_argv
from .._core.records import ExperimentRecord
from .._core.states import HOLDING, Status
from .._io import proc as _proc
from .._io.attempt_files import exit_file_path, pid_file_path, read_json
from .._io.paths import runner_log_path
from .._io.spawn import python_entry, reap_children, spawn_problem, track_child
from .base import ExecContext
from .ending import after_end, failure_from_json, failure_of, plan_after_end, record_end
from .runner import PAUSE_SIGNAL

# A running row from nbexp 0.1 (no launcher recorded) without a runner pid is being launched;
# after this long it is not. Newer rows name their launcher, which is checked instead.
LAUNCH_GRACE_S = 30.0
LEFTOVER_GRACE_S = 1.0  # SIGTERM to SIGKILL for processes an ended experiment left behind
SETTLE_S = 5.0  # how long pause() and resume() wait to see the tree stopped or running again


class LocalExecutor:
    """Process control for one nbexp home (the store says what should be; this makes it so)."""

    name: ClassVar[str] = "local"
    claim_status: ClassVar[Status] = Status.RUNNING

    def __init__(self, context: ExecContext) -> None:
        self.home = context.home
        self.store = context.store

    def problem(self, record: ExperimentRecord, attempt: int) -> str | None:
        """Why the command cannot start here (not found, bad cwd, permissions), or None."""
        argv = effective_argv(record.command, shell=record.shell, uv=record.uv)
        env = child_environment(
            record.env,
            home=self.home,
            experiment_id=record.id,
            attempt=attempt,
            gpus=None,
            uv=record.uv,
        )
        return spawn_problem(argv, record.cwd, env)

    # -- launching ----------------------------------------------------------------------------

    def launch(self, record: ExperimentRecord, attempt: int, log_path: str) -> None:
        """Start the detached runner of an attempt already claimed as running."""
        try:
            runner_log = os.open(
                runner_log_path(log_path),
                os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW,
                0o600,
            )
        except OSError as e:
            if e.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink someone planted there
                why = f"{runner_log_path(log_path)} is a symlink: refusing to write through it"
            else:
                why = f"cannot create the runner's log: {e.strerror}"
            self._failed(record.id, attempt, why)
        try:
            runner = subprocess.Popen(
                [
                    sys.executable,
                    "-I",  # isolated and without site: only nbexp and the standard library,
                    "-S",  # which keeps each runner's resident memory small
                    *python_entry("nbexp._exec.runner"),
                    str(self.home),
                    str(record.id),
                    str(attempt),
                    self.store.store_id,
                ],
                stdin=subprocess.DEVNULL,
                stdout=runner_log,
                stderr=runner_log,
                start_new_session=True,
                close_fds=True,
                cwd=str(self.home),
            )
        except OSError as e:
            self._failed(record.id, attempt, f"failed to start the nbexp runner: {e}")
        finally:
            os.close(runner_log)
        track_child(runner)
        try:  # the runner records itself too (retrying): a locked store must not fail run()
            self.store.update_attempt(
                record.id,
                attempt,
                runner_pid=runner.pid,
                runner_start=_proc.identity(runner.pid),
            )
        except StoreError:
            pass

    def _failed(self, experiment_id: int, attempt: int, why: str) -> Any:
        self.store.finish(experiment_id, attempt, Status.ERROR, why)
        raise SpawnFailed(f"experiment {experiment_id}: {why}")

    # -- stopping -----------------------------------------------------------------------------

    def stop(self, record: ExperimentRecord, grace: float) -> None:
        """Ask the runner to stop the tree; if the runner is gone, stop the tree here."""
        record = self._wait_until_signalable(record)
        if record.status not in HOLDING:
            return
        runner_pid, runner_start = self._ids(record, "runner")
        if _proc.is_alive(runner_pid, runner_start):
            assert runner_pid is not None
            if record.status is Status.PAUSED and not _proc.catches(runner_pid, PAUSE_SIGNAL):
                # A runner older than pause would SIGTERM a stopped tree: wake the tree to
                # hear it. (A runner that pauses resumes the tree itself, after its SIGTERM:
                # waking it here too would let it fork, between the runner's look at the
                # tree and its SIGTERM, a child that gets none and lives until the SIGKILL.)
                _proc.signal_all(self._processes(record) - {runner_pid}, signal.SIGCONT)
            os.kill(runner_pid, signal.SIGTERM)
            return
        # The runner is gone (killed, or it crashed): end the tree ourselves.
        self._end(record, grace)
        why = "stopped by user (its runner was gone, so the exit status is unknown)"
        self._end_attempt(
            record,
            Status.INTERRUPTED,
            why,
            None,
            Ending(None, None, stopped=True),
            error="stopped by user",
        )

    # -- pausing ------------------------------------------------------------------------------

    def pause(self, record: ExperimentRecord) -> None:
        """Stop the attempt's whole tree (the store says paused already): its runner does it
        and keeps every new process stopped; with the runner gone, this process stops what
        it finds. Waits (SETTLE_S at most) until the tree is seen stopped."""
        self._pause_or_resume(self._wait_until_signalable(record), stopped=True)

    def resume(self, record: ExperimentRecord) -> None:
        """SIGCONT to the whole tree (the store says running again), the same two ways."""
        self._pause_or_resume(record, stopped=False)

    def _pause_or_resume(self, record: ExperimentRecord, *, stopped: bool) -> None:
        runner_pid, runner_start = self._ids(record, "runner")
        runner_alive = _proc.is_alive(runner_pid, runner_start)
        if runner_alive and runner_pid is not None and _proc.catches(runner_pid, PAUSE_SIGNAL):
            os.kill(runner_pid, PAUSE_SIGNAL)  # "read your state": the runner follows the store
        else:
            others = {runner_pid} if runner_alive else set()
            tree = lambda: self._processes(record) - others  # noqa: E731
            if stopped:
                _proc.freeze(tree)
            else:
                _proc.signal_all(tree(), signal.SIGCONT)
        self._settle(record, stopped=stopped)

    def _settle(self, record: ExperimentRecord, *, stopped: bool) -> bool:
        """Wait until every process of the attempt but its runner is stopped (or running)."""
        runner_pid, _ = self._ids(record, "runner")
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            pids = self._processes(record) - {runner_pid}
            if all(_proc.is_stopped(pid) is stopped for pid in pids):
                return True
            time.sleep(0.02)
        return False

    def _wait_until_signalable(self, record: ExperimentRecord) -> ExperimentRecord:
        """Wait (5 s at most) until the runner has spawned the command: its handlers are
        installed by then. A SIGTERM earlier would kill the runner before it could stop
        anything."""
        deadline = time.monotonic() + 5
        while record.status in HOLDING and time.monotonic() < deadline:
            runner_pid, runner_start = self._ids(record, "runner")
            pid, _ = self._ids(record, "pid")
            runner_alive = _proc.is_alive(runner_pid, runner_start)
            if runner_pid is not None and (pid is not None or not runner_alive):
                break
            if runner_pid is None and not self._launcher_alive(record):
                break
            time.sleep(0.01)
            record = self.store.get(record.id)
        return record

    def sweep(self, record: ExperimentRecord) -> int:
        """End what an ended attempt left running (its runner was killed); how many. While
        its runner lives (it is finishing), the runner cleans up by itself."""
        runner_pid, runner_start = self._ids(record, "runner")
        if _proc.is_alive(runner_pid, runner_start):
            return 0
        processes = self._processes(record)
        if processes:
            self._end(record, LEFTOVER_GRACE_S)
        return len(processes)

    def _end(self, record: ExperimentRecord, grace: float) -> None:
        """SIGTERM, `grace` seconds, then SIGKILL until nothing of the attempt is left."""
        _proc.signal_all(self._processes(record), signal.SIGTERM)
        _proc.signal_all(self._processes(record), signal.SIGCONT)  # a paused tree must hear it
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self._processes(record):
            time.sleep(0.05)
        _proc.kill_tree(lambda: self._processes(record))

    # -- what exists ----------------------------------------------------------------------------

    def _ids(self, record: ExperimentRecord, which: str) -> tuple[int | None, str | None]:
        """(pid, identity) of the attempt's runner or command ("runner" / "pid"): from the store,
        or from the `.pid` file when the store has not been told yet."""
        key = "runner_pid" if which == "runner" else "pid"
        start_key = "runner_start" if which == "runner" else "pid_start"
        pid, start = getattr(record, key), getattr(record, start_key)
        if pid is None and record.log_path:
            found = read_json(pid_file_path(record.log_path)) or {}
            pid, start = found.get(key), found.get(start_key)
        return (pid if isinstance(pid, int) else None), (start if isinstance(start, str) else None)

    def _processes(self, record: ExperimentRecord) -> set[int]:
        """Every live process of the attempt: its runner, command, process group, descendants,
        and whatever carries its environment marker."""
        found: set[int] = set()
        for which in ("runner", "pid"):
            pid, start = self._ids(record, which)
            if pid is not None and _proc.is_alive(pid, start):
                found |= {pid} | _proc.descendants(pid, [pid] if which == "pid" else [])
        pid, start = self._ids(record, "pid")
        if pid is not None and (start is None or _proc.identity(pid) in (None, start)):
            found |= _proc.group_members(pid)  # the group outlives its leader
        markers = {
            EXPERIMENT_ID_ENV: str(record.id),
            ATTEMPT_ENV: str(record.attempt),
            "NBEXP_HOME": str(self.home),
        }
        return found | _proc.processes_with_environ(markers)

    def _launcher_alive(self, record: ExperimentRecord) -> bool:
        if record.launcher_pid is None:  # a row from nbexp 0.1: give it the old grace period
            return time.time() - (record.started or 0) < LAUNCH_GRACE_S
        return _proc.is_alive(record.launcher_pid, record.launcher_start)

    def readable_log(self, record: ExperimentRecord, path: str) -> str | None:
        """A /proc path through which a running attempt's deleted log file can still be read
        (its command or runner holds it open), or None."""
        target = f"{path} (deleted)"
        for which in ("pid", "runner"):
            pid, identity = self._ids(record, which)
            if not pid or not _proc.is_alive(pid, identity):
                continue
            try:
                descriptors = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in descriptors:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return f"/proc/{pid}/fd/{fd}"
                except OSError:
                    continue
        return None

    # -- reconciling ----------------------------------------------------------------------------

    def reconcile(self, active: Sequence[ExperimentRecord]) -> None:
        """Mark running attempts whose runner and command are gone as ended (or lost)."""
        reap_children()  # runners this process started and that have exited: no zombies
        for record in active:
            if record.executor == self.name and record.status in HOLDING:
                self._reconcile_one(record)

    def _reconcile_one(self, record: ExperimentRecord) -> None:
        runner_pid, runner_start = self._ids(record, "runner")
        if _proc.is_alive(runner_pid, runner_start):
            return
        if runner_pid is None and self._launcher_alive(record):
            return  # being launched right now
        pid, pid_start = self._ids(record, "pid")
        if _proc.is_alive(pid, pid_start):
            return  # the runner died but the command still runs: keep showing it as running
        outcome = read_json(exit_file_path(record.log_path)) if record.log_path else None
        if self._processes(record):
            # The runner is gone and the command ended, but something it started lives on:
            # end it (nobody else will), and only then record the end.
            self._end(record, LEFTOVER_GRACE_S)
            if self._processes(record):
                return  # unkillable for now: try again next time, never "lost" while alive
        if outcome is not None and outcome.get("status") in {s.value for s in Status}:
            status = Status(outcome["status"])
            ending = Ending(
                outcome.get("exit_code"),
                outcome.get("signal"),
                stopped=bool(outcome.get("stopped", status is Status.INTERRUPTED)),
            )
            # A runner of this version wrote its failure; an older one's is read from the log.
            failure = (
                failure_from_json(outcome["failure"])
                if "failure" in outcome
                else failure_of(record.log_path, status, ending)
            )
            self._end_attempt(
                record,
                status,
                outcome.get("error"),
                failure,
                ending,
                ended=outcome.get("ended"),
                exit_code=outcome.get("exit_code"),
                signal=outcome.get("signal"),
                log_problem=outcome.get("log_problem"),
            )
            return
        # Lost: the exit status is unknown; the log may still say what went wrong.
        lost = Ending(None, None)
        failure = failure_of(record.log_path, Status.ERROR, lost)
        self._end_attempt(record, Status.ERROR, _lost_reason(record, pid), failure, lost)

    def _end_attempt(
        self,
        record: ExperimentRecord,
        status: Status,
        reason: str | None,
        failure: Failure | None,
        ending: Ending,
        *,
        ended: float | None = None,
        **values: Any,
    ) -> None:
        """Record an end the runner could not (with its failure and the retry it earns), then
        start its on_end hook and a scheduling step, as the runner would have."""
        row = self.store.get_row(record.id)
        if row["attempt"] != record.attempt:
            return  # moved on meanwhile
        ended = ended if ended is not None else time.time()
        plan = plan_after_end(self.store, row)
        done, retry = record_end(
            self.store, row, status, reason, failure=failure, ending=ending, ended=ended, **values
        )
        if done:
            row.update(values, error=values.get("error", reason))
            after_end(plan, str(self.home), row, status, failure, retry, by_runner=False)


def _lost_reason(record: ExperimentRecord, pid: int | None) -> str:
    if record.runner_pid is None and pid is None and record.launcher_pid is not None:
        return (
            f"launch interrupted: the process starting it (pid {record.launcher_pid}) ended "
            "before its runner started"
        )
    return (
        f"lost: its runner (pid {record.runner_pid}) and process (pid {pid}) are gone "
        "(killed, or the machine restarted); the exit status is unknown"
    )
