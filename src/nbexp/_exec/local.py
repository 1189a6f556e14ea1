"""The local executor: runner processes on this machine. It starts one detached runner per
attempt, stops an attempt (through its runner, or by itself when the runner is gone), and
reconciles what the store says with the processes that actually exist.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.errors import SpawnFailed
from .._core.launch import ATTEMPT_ENV, EXPERIMENT_ID_ENV, child_environment, effective_argv
from .._core.records import ExperimentRecord
from .._core.states import Status
from .._io import proc as _proc
from .._io.paths import runner_log_path
from .._io.spawn import python_entry, reap_children, spawn_problem, track_child
from .base import ExecContext
from .runner import exit_file_path

# A running row without a runner pid is being launched; after this long it is lost.
LAUNCH_GRACE_S = 30.0


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
            record.env, home=self.home, experiment_id=record.id, attempt=attempt, gpus=None
        )
        return spawn_problem(argv, record.cwd, env)

    def launch(self, record: ExperimentRecord, attempt: int, log_path: str) -> None:
        """Start the detached runner of an attempt already claimed as running."""
        experiment_id = record.id
        runner_log = os.open(
            runner_log_path(self.home, experiment_id, attempt),
            os.O_WRONLY | os.O_CREAT | os.O_APPEND,
            0o600,
        )
        try:
            runner = subprocess.Popen(
                [
                    sys.executable,
                    "-I",  # isolated and without site: only nbexp and the standard library,
                    "-S",  # which keeps each runner's resident memory small
                    *python_entry("nbexp._exec.runner"),
                    str(self.home),
                    str(experiment_id),
                    str(attempt),
                ],
                stdin=subprocess.DEVNULL,
                stdout=runner_log,
                stderr=runner_log,
                start_new_session=True,
                close_fds=True,
                cwd=str(self.home),
            )
        except OSError as e:
            why = f"failed to start the nbexp runner: {e}"
            self.store.finish(experiment_id, attempt, Status.ERROR, why)
            raise SpawnFailed(f"experiment {experiment_id}: {why}") from None
        finally:
            os.close(runner_log)
        track_child(runner)
        self.store.update(
            experiment_id, runner_pid=runner.pid, runner_start=_proc.identity(runner.pid)
        )

    def stop(self, record: ExperimentRecord, grace: float) -> None:
        """Ask the runner to stop the tree; if the runner is gone, stop the tree here."""
        deadline = time.monotonic() + 5
        # Wait until the runner is ready for signals: its pid is recorded (by the launcher) and
        # it has spawned the command (its handlers are installed by then). A SIGTERM earlier
        # would kill the runner itself before it could stop anything.
        while record.status is Status.RUNNING and (
            record.runner_pid is None
            or (record.pid is None and _proc.is_alive(record.runner_pid, record.runner_start))
        ):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
            record = self.store.get(record.id)
        if record.status is not Status.RUNNING:
            return
        if _proc.is_alive(record.runner_pid, record.runner_start):
            assert record.runner_pid is not None
            os.kill(record.runner_pid, signal.SIGTERM)
            return
        # The runner is gone (killed, or it crashed): end the tree ourselves.
        self._kill_tree_without_runner(record, grace)
        why = "stopped by user (its runner was gone, so the exit status is unknown)"
        self.store.finish(
            record.id, record.attempt, Status.INTERRUPTED, why, error="stopped by user"
        )

    def _tree_without_runner(self, record: ExperimentRecord) -> set[int]:
        pids: set[int] = set()
        if _proc.is_alive(record.pid, record.pid_start):
            assert record.pid is not None
            pids |= {record.pid} | _proc.descendants(record.pid, [record.pid])
        markers = {
            EXPERIMENT_ID_ENV: str(record.id),
            ATTEMPT_ENV: str(record.attempt),
            "NBEXP_HOME": str(self.home),
        }
        return pids | _proc.processes_with_environ(markers)

    def _kill_tree_without_runner(self, record: ExperimentRecord, grace: float) -> None:
        _proc.signal_all(self._tree_without_runner(record), signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not self._tree_without_runner(record):
                return
            time.sleep(0.05)
        _proc.signal_all(self._tree_without_runner(record), signal.SIGKILL)
        deadline = time.monotonic() + 5
        while self._tree_without_runner(record) and time.monotonic() < deadline:
            time.sleep(0.02)  # SIGKILL is delivered asynchronously

    def readable_log(self, record: ExperimentRecord, path: str) -> str | None:
        """A /proc path through which a running attempt's deleted log file can still be read
        (its command or runner holds it open), or None."""
        target = f"{path} (deleted)"
        for pid, identity in (
            (record.pid, record.pid_start),
            (record.runner_pid, record.runner_start),
        ):
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

    def reconcile(self, active: Sequence[ExperimentRecord]) -> None:
        """Mark running attempts whose runner and command are gone as ended (or lost)."""
        reap_children()  # runners this process started and that have exited: no zombies
        for record in active:
            if record.executor == self.name and record.status is Status.RUNNING:
                self._reconcile_one(record)

    def _reconcile_one(self, record: ExperimentRecord) -> None:
        if _proc.is_alive(record.runner_pid, record.runner_start):
            return
        if record.runner_pid is None and time.time() - (record.started or 0) < LAUNCH_GRACE_S:
            return  # being launched right now
        if _proc.is_alive(record.pid, record.pid_start):
            return  # the runner died but the command still runs: keep showing it as running
        outcome = _read_exit_file(record)
        if outcome is not None:
            self.store.finish(
                record.id,
                record.attempt,
                Status(outcome["status"]),
                outcome.get("error"),
                ended=outcome.get("ended"),
                exit_code=outcome.get("exit_code"),
                signal=outcome.get("signal"),
            )
            return
        why = (
            f"lost: its runner (pid {record.runner_pid}) and process (pid {record.pid}) are gone "
            "(killed, or the machine restarted); the exit status is unknown"
        )
        self.store.finish(record.id, record.attempt, Status.ERROR, why)


def _read_exit_file(record: ExperimentRecord) -> dict[str, Any] | None:
    if not record.log_path:
        return None
    try:
        with open(exit_file_path(record.log_path)) as f:
            data: dict[str, Any] = json.load(f)
            return data
    except (OSError, ValueError):
        return None
