"""The runner: one small detached process per attempt (`python -m nbexp._runner HOME ID ATTEMPT`).

It starts in its own session, so the kernel or CLI that launched it can die without touching the
experiment. It spawns the command with stdout and stderr on the attempt's log file (no Python in
the data path), becomes the subreaper of the command's tree so that no descendant can escape a
stop, sleeps on signals (no polling), and records the outcome: first in an `.exit` file beside the
log, then in the store.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import _proc
from ._launch import child_environment, describe_os_error, effective_argv
from ._store import Store
from .states import Action, Status, outcome_reason, outcome_status, sources

DEFAULT_STOP_GRACE_S = 10.0
GIVE_UP_AFTER_KILL_S = 10.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def exit_file_path(log_path: str | Path) -> Path:
    return Path(str(log_path)[: -len(".log")] + ".exit")


class Runner:
    def __init__(self, home: Path, experiment_id: int, attempt: int) -> None:
        self.home = home
        self.experiment_id = experiment_id
        self.attempt = attempt
        self.store = Store(home)
        self.main_pid: int | None = None
        self.main_status: int | None = None  # raw wait status once reaped
        self.ended: float | None = None
        self.stop_signal: int | None = None  # the signal that asked us to stop
        self.kill_deadline: float | None = None
        self.killed = False
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)

    # -- signals ------------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, _frame: object) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum

    # -- main ---------------------------------------------------------------------------------

    def run(self) -> int:
        _proc.become_subreaper()
        self._install_signal_handlers()
        record = self.store.get(self.experiment_id)
        if record.status is not Status.RUNNING or record.attempt != self.attempt:
            return 0  # someone else already decided this attempt's fate
        assert record.log_path is not None
        self.log_path = record.log_path
        argv = effective_argv(record.command, shell=record.shell, uv=record.uv)
        env = child_environment(
            record.env,
            home=self.home,
            experiment_id=record.id,
            attempt=record.attempt,
            gpus=record.assigned_gpus,
        )
        log_fd = os.open(record.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if self.stop_signal is not None or record.stop_requested is not None:
            self._finish(exit_code=None, signal_number=None, stopped=True)
            return 0
        try:
            child = subprocess.Popen(
                argv,
                cwd=record.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                process_group=0,
                close_fds=True,
            )
        except OSError as e:
            reason = describe_os_error(e, argv, record.cwd)
            os.write(log_fd, f"nbexp: {reason}\n".encode())
            os.close(log_fd)
            self._record_outcome(None, None, Status.ERROR, f"failed to start: {reason}")
            return 0
        os.close(log_fd)
        self.main_pid = child.pid
        child.returncode = 0  # we reap it ourselves; keep Popen from trying again
        self.store.update(self.experiment_id, pid=child.pid, pid_start=_proc.identity(child.pid))
        self._loop()
        self._finish_from_wait_status()
        return 0

    def _loop(self) -> None:
        while True:
            self._reap()
            if self.stop_signal is not None and self.kill_deadline is None:
                self._begin_stop()
            if self.main_status is not None and self.kill_deadline is None:
                # The main process ended by itself: end whatever it left behind too.
                if self._tree():
                    self._begin_stop(leftovers=True)
                else:
                    return
            if self.kill_deadline is not None:
                tree = self._tree()
                if self.main_status is not None and not tree:
                    return
                if time.monotonic() >= self.kill_deadline and not self.killed:
                    _proc.signal_all(tree, signal.SIGKILL)
                    self.killed = True
                if (
                    self.killed
                    and self.main_status is not None
                    and (time.monotonic() > self.kill_deadline + GIVE_UP_AFTER_KILL_S)
                ):
                    return  # something unkillable (stuck in the kernel); record what we know
            timeout = None
            if self.kill_deadline is not None:
                # Poll gently: processes outside our reach (not our children) send no SIGCHLD.
                timeout = (
                    0.05
                    if self.killed
                    else max(0.0, min(0.2, self.kill_deadline - time.monotonic()))
                )
            try:
                select.select([self._wakeup_r], [], [], timeout)
            except InterruptedError:
                pass
            try:
                while os.read(self._wakeup_r, 512):
                    pass
            except BlockingIOError:
                pass

    def _tree(self) -> set[int]:
        groups = [self.main_pid] if self.main_pid else []
        return _proc.descendants(os.getpid(), groups)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.main_pid and self.main_status is None:
                self.main_status = status
                self.ended = time.time()

    def _begin_stop(self, leftovers: bool = False) -> None:
        grace = DEFAULT_STOP_GRACE_S
        try:
            record = self.store.get(self.experiment_id)
            if record.stop_grace is not None:
                grace = record.stop_grace
        except Exception:
            pass  # stopping must work even when the store cannot be read
        tree = self._tree()
        if self.main_pid:
            _proc.signal_group(self.main_pid, signal.SIGTERM)
        _proc.signal_all(tree, signal.SIGTERM)
        self.kill_deadline = time.monotonic() + grace

    # -- outcome ------------------------------------------------------------------------------

    def _stop_requested(self) -> bool:
        if self.stop_signal is not None:
            return True
        try:
            return self.store.get(self.experiment_id).stop_requested is not None
        except Exception:
            return False

    def _finish_from_wait_status(self) -> None:
        assert self.main_status is not None
        code = os.waitstatus_to_exitcode(self.main_status)
        exit_code, signal_number = (code, None) if code >= 0 else (None, -code)
        self._finish(exit_code, signal_number, self._stop_requested())

    def _finish(self, exit_code: int | None, signal_number: int | None, stopped: bool) -> None:
        status = outcome_status(exit_code, signal_number, stopped)
        reason = outcome_reason(exit_code, signal_number, stopped)
        if stopped and self.stop_signal is not None:
            try:
                requested = self.store.get(self.experiment_id).stop_requested is not None
            except Exception:
                requested = False
            if not requested:
                reason = f"stopped: the nbexp runner received {_proc.signal_name(self.stop_signal)}"
        self._record_outcome(exit_code, signal_number, status, reason)

    def _record_outcome(
        self, exit_code: int | None, signal_number: int | None, status: Status, reason: str | None
    ) -> None:
        ended = self.ended or time.time()
        outcome = {
            "exit_code": exit_code,
            "signal": signal_number,
            "status": status.value,
            "error": reason,
            "ended": ended,
        }
        # The exit file first: if the store cannot be written now, reconcile reads it later.
        exit_file = exit_file_path(self.log_path)
        fd = os.open(exit_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(outcome, f)
        deadline = time.monotonic() + 300
        while True:
            try:
                self.store.transition(
                    self.experiment_id,
                    sources(Action.FINISH),
                    status,
                    reason,
                    where_attempt=self.attempt,
                    ended=ended,
                    exit_code=exit_code,
                    signal=signal_number,
                    error=reason if status is not Status.COMPLETED else None,
                )
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self._after_finish()

    def _after_finish(self) -> None:
        """Let queued work start now that resources are free (no daemon does it for us)."""
        try:
            from ._scheduling import run_scheduling_step

            run_scheduling_step(self.home)
        except ImportError:
            pass
        except Exception as e:  # never lose an outcome over a scheduling problem
            print(f"nbexp runner: scheduling step failed: {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    home, experiment_id, attempt = Path(args[0]), int(args[1]), int(args[2])
    runner = Runner(home, experiment_id, attempt)
    try:
        return runner.run()
    except BaseException as e:
        # Leave the store consistent: an attempt whose runner broke is an error, with the cause
        # (unless the command still runs: then reconcile keeps watching it by pid).
        if _proc.is_alive(runner.main_pid):
            raise
        try:
            Store(home).transition(
                experiment_id,
                sources(Action.FINISH),
                Status.ERROR,
                f"nbexp runner failed: {type(e).__name__}: {e}",
                where_attempt=attempt,
                ended=time.time(),
                error=f"nbexp runner failed: {type(e).__name__}: {e}",
            )
        finally:
            raise


if __name__ == "__main__":
    sys.exit(main())
