"""The runner: one small detached process per attempt
(`nbexp._exec.runner HOME ID ATTEMPT [STORE_ID]`).

It starts in its own session, so the kernel or CLI that launched it can die without touching the
experiment. It spawns the command with stdout and stderr on the attempt's log file (no Python in
the data path), becomes the subreaper of the command's tree so that no descendant can escape a
stop, sleeps on signals (no polling), and records what happens twice: in small files beside the
log and in the store. It never gives up on the store while its command lives: a write that finds
the store locked waits in `pending` and is retried from the main loop, which keeps serving
signals meanwhile; failing to write one record of the outcome never prevents the other.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

from .._core.errors import StoreError
from .._core.launch import child_environment, effective_argv
from .._core.states import Status, outcome_reason, outcome_status, signal_name
from .._io import proc as _proc
from .._io.attempt_files import exit_file_path, pid_file_path, write_json
from .._io.spawn import describe_os_error, find_executable, python_entry
from .._io.store import Store

# No subprocess, pathlib, typing or dataclasses here: this process lives as long as the
# experiment, and every module it imports is resident memory (see benchmarks/bench_runner.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .pty_output import PtyCopier

DEFAULT_STOP_GRACE_S = 10.0
KILL_TIMEOUT_S = 10.0  # after this, a process stuck in the kernel is given up on
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# Python ignores SIGPIPE (and SIGXFSZ); children must start with the default dispositions.
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
# A store write never holds the main loop longer than this; it is retried later instead.
STORE_WAIT_S = 0.2
RETRY_MAX_DELAY_S = 2.0
# How long the outcome keeps being offered to a locked store once the command has ended.
OUTCOME_RETRY_S = 600.0  # with the `.exit` file written (reconcile reads it meanwhile)
OUTCOME_RETRY_NO_FILE_S = 86400.0  # when the store is the only record left


class Runner:
    def __init__(
        self, home: str, experiment_id: int, attempt: int, store_id: str | None = None
    ) -> None:
        self.home = home
        self.experiment_id = experiment_id
        self.attempt = attempt
        self.expected_store_id = store_id
        self.store = Store(home, busy_timeout=STORE_WAIT_S, create=False)
        self.store_ok = True  # False once the home's database turned out to be another store
        self.pending: dict[str, Any] = {}  # fields the store has not taken yet
        self.ids: dict[str, Any] = {}  # what the .pid file holds
        self.retry_at = 0.0
        self.retry_delay = 0.05
        self.main_pid: int | None = None
        self.main_status: int | None = None  # raw wait status once reaped
        self.ended: float | None = None
        self.stop_signal: int | None = None  # the signal that asked us to stop
        self.kill_deadline: float | None = None
        self.killed = False
        self.log_path = ""
        self.log_fd: int | None = None
        self.pty: PtyCopier | None = None
        self.log_problem: str | None = None
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
        row = self._wait_for_store(self._read_row)
        if row is None or row["status"] != Status.RUNNING.value or row["attempt"] != self.attempt:
            return 0  # another store, or someone else already decided this attempt's fate
        self.log_path = row["log_path"]
        self._record(
            runner_pid=os.getpid(),
            runner_start=_proc.identity(os.getpid()),
            launcher_pid=None,  # the launch is done: from now on this runner answers for it
            launcher_start=None,
        )
        argv = effective_argv(row["command"], shell=row["shell"], uv=row["uv"])
        env = child_environment(
            row["env"],
            home=self.home,
            experiment_id=row["id"],
            attempt=row["attempt"],
            gpus=row["assigned_gpus"],
            uv=bool(row["uv"]),
        )
        problem = self._open_log()
        if problem is not None:
            self._record_outcome(None, None, Status.ERROR, f"failed to start: {problem}")
            return 0
        if self.stop_signal is not None or row["stop_requested"] is not None:
            self._finish(exit_code=None, signal_number=None, stopped=True)
            return 0
        if not self._start(argv, row["cwd"], env, (row.get("options") or {}).get("tty")):
            return 0
        self._record(pid=self.main_pid, pid_start=_proc.identity(self.main_pid or 0))
        self._loop()
        if self.pty is not None:
            self.pty.drain()
            self.log_problem = self.log_problem or self.pty.problem
        self._finish_from_wait_status()
        return 0

    def _read_row(self) -> dict[str, Any] | None:
        if self.store.store_id != self.expected_store_id and self.expected_store_id is not None:
            self.store_ok = False  # the home's database was replaced since we were launched
            return None
        return self.store.get_row(self.experiment_id)

    def _open_log(self) -> str | None:
        """Open the attempt's new log file; why not, in words. A file already there (a planted
        symlink, a leftover) is refused rather than written through."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_NOFOLLOW
        try:
            self.log_fd = os.open(self.log_path, flags, 0o600)
        except (FileExistsError, IsADirectoryError):
            return f"its log file {self.log_path} exists already; refusing to write through it"
        except OSError as e:
            return f"cannot create its log file {self.log_path}: {e.strerror}"
        return None

    def _start(self, argv: list[str], cwd: str, env: dict[str, str], tty: object) -> bool:
        assert self.log_fd is not None
        try:
            if tty:
                from .pty_output import PtyCopier, spawn_on_pty  # only pty runs pay for it

                default_signals = (*_RESET_SIGNALS, signal.SIGCHLD, *STOP_SIGNALS)
                self.main_pid, master = spawn_on_pty(argv, cwd, env, tty, default_signals)
                self.pty = PtyCopier(master, self.log_fd)
            else:
                self.main_pid = self._spawn(argv, cwd, env)
        except OSError as e:
            reason = describe_os_error(e, argv, cwd)
            try:
                os.write(self.log_fd, f"nbexp: {reason}\n".encode())
            except OSError:
                pass  # the error is recorded below either way
            os.close(self.log_fd)
            self.log_fd = None
            self._record_outcome(None, None, Status.ERROR, f"failed to start: {reason}")
            return False
        if self.pty is None:
            os.close(self.log_fd)  # the child holds it; we never touch its output
        self.log_fd = None
        return True

    def _spawn(self, argv: list[str], cwd: str, env: dict[str, str]) -> int:
        """Start the command in its own process group, output straight onto the log file."""
        os.chdir(cwd)  # posix_spawn has no cwd argument; the runner needs no cwd of its own
        executable = find_executable(argv[0], env.get("PATH"))
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            return os.posix_spawn(
                executable,
                argv,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, devnull, 0),
                    (os.POSIX_SPAWN_DUP2, self.log_fd, 1),
                    (os.POSIX_SPAWN_DUP2, self.log_fd, 2),
                ],
                setpgroup=0,
                setsigdef=_RESET_SIGNALS,
            )
        finally:
            os.close(devnull)

    # -- the store, with patience -------------------------------------------------------------

    def _record(self, **fields: Any) -> None:
        """Remember `fields` beside the log (at once) and in the store (as soon as it lets us)."""
        self.ids.update(fields)
        try:
            write_json(pid_file_path(self.log_path), self.ids)
        except OSError:
            pass  # the store has them too; the file only helps while the store is locked
        self.pending.update(fields)
        self._flush()

    def _flush(self) -> None:
        if not self.pending or not self.store_ok or time.monotonic() < self.retry_at:
            return
        try:
            if self.expected_store_id is not None and self.store.store_id != self.expected_store_id:
                self.store_ok = False
                return
            self.store.update_attempt(self.experiment_id, self.attempt, **self.pending)
        except StoreError:
            if self.store.db.replaced():
                self.store_ok = False  # the home was deleted or its database moved aside
                return
            self.retry_at = time.monotonic() + self.retry_delay
            self.retry_delay = min(self.retry_delay * 2, RETRY_MAX_DELAY_S)
            return
        self.pending.clear()
        self.retry_delay = 0.05

    def _wait_for_store(self, read: Any) -> Any:
        """`read()`, retried for as long as the store stays locked (nothing runs yet)."""
        delay = 0.05
        while True:
            try:
                return read()
            except StoreError:
                if self.stop_signal is not None:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_DELAY_S)

    # -- waiting ------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self._reap()
            self._flush()
            if self.stop_signal is not None and self.kill_deadline is None:
                self._begin_stop()
            if self.main_status is not None and self.kill_deadline is None:
                # The main process ended by itself: end whatever it left behind too.
                if self._tree():
                    self._begin_stop()
                else:
                    return
            if self.kill_deadline is not None and self._kill_step():
                return
            self._sleep()

    def _kill_step(self) -> bool:
        """During a stop: SIGKILL the tree once the grace period is over. Whether we are done."""
        assert self.kill_deadline is not None
        if self.main_status is not None and not self._tree():
            return True
        if time.monotonic() >= self.kill_deadline and not self.killed:
            self.killed = True
            _proc.kill_tree(self._tree, timeout=KILL_TIMEOUT_S)
            self._reap()
        # Something unkillable (stuck in the kernel) must not keep the outcome unrecorded.
        return self.killed and self.main_status is not None

    def _sleep(self) -> None:
        timeout: float | None = None
        if self.kill_deadline is not None:
            # Poll gently: processes outside our reach (not our children) send no SIGCHLD.
            timeout = max(0.0, min(0.2, self.kill_deadline - time.monotonic()))
        if self.pending and self.store_ok:
            wait = max(0.0, self.retry_at - time.monotonic())
            timeout = wait if timeout is None else min(timeout, wait)
        try:
            watched = [self._wakeup_r]
            if self.pty is not None and self.pty.master is not None:
                watched.append(self.pty.master)
            select.select(watched, [], [], timeout)
        except InterruptedError:
            pass
        try:
            while os.read(self._wakeup_r, 512):
                pass
        except BlockingIOError:
            pass
        if self.pty is not None:
            self.pty.copy()

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

    def _begin_stop(self) -> None:
        grace = DEFAULT_STOP_GRACE_S
        try:
            stored = self.store.get_row(self.experiment_id).get("stop_grace")
            if stored is not None:
                grace = float(stored)
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
            return self.store.get_row(self.experiment_id).get("stop_requested") is not None
        except Exception:
            return False

    def _finish_from_wait_status(self) -> None:
        assert self.main_status is not None
        code = os.waitstatus_to_exitcode(self.main_status)
        exit_code, signal_number = (code, None) if code >= 0 else (None, -code)
        if self.pty is None:
            self.log_problem = self.log_problem or _log_file_problem(self.log_path)
        self._finish(exit_code, signal_number, self._stop_requested())

    def _finish(self, exit_code: int | None, signal_number: int | None, stopped: bool) -> None:
        status = outcome_status(exit_code, signal_number, stopped)
        reason = outcome_reason(exit_code, signal_number, stopped)
        if stopped and self.stop_signal is not None:
            try:
                requested = self.store.get_row(self.experiment_id).get("stop_requested")
            except Exception:
                requested = None
            if requested is None:
                reason = f"stopped: the nbexp runner received {signal_name(self.stop_signal)}"
        self._record_outcome(exit_code, signal_number, status, reason)

    def _record_outcome(
        self, exit_code: int | None, signal_number: int | None, status: Status, reason: str | None
    ) -> None:
        """Record the outcome in the `.exit` file and in the store: each independently of the
        other (a full disk must not cost the store its outcome, nor a locked store the file)."""
        ended = self.ended or time.time()
        outcome = {
            "exit_code": exit_code,
            "signal": signal_number,
            "status": status.value,
            "error": reason,
            "ended": ended,
            "log_problem": self.log_problem,
        }
        try:
            write_json(exit_file_path(self.log_path), outcome)
            patience = OUTCOME_RETRY_S
        except OSError as e:
            _say(f"nbexp runner: cannot write the .exit file: {e}")
            patience = OUTCOME_RETRY_NO_FILE_S
        self._flush()
        deadline = time.monotonic() + patience
        delay = 0.05
        while self.store_ok:
            try:
                self.store.finish(
                    self.experiment_id,
                    self.attempt,
                    status,
                    reason,
                    ended=ended,
                    exit_code=exit_code,
                    signal=signal_number,
                    log_problem=self.log_problem,
                    **self.pending,
                )
                break
            except StoreError:
                if self.store.db.replaced():
                    self.store_ok = False  # nothing left to tell: the .exit file is all
                    break
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._after_finish()

    def _after_finish(self) -> None:
        """Let queued work start now that resources are free (no daemon does it for us).

        The step needs the GPU probe (site-packages), which this lean process does not load:
        start a short-lived full Python for it, only when something is actually queued.
        """
        try:
            if not self.store_ok or self.store.queue_needs_gpus("local") is None:
                return  # nothing of ours waits (a Slurm job waiting is Slurm's business)
            devnull = os.open(os.devnull, os.O_RDWR)
            try:
                os.posix_spawn(
                    sys.executable,
                    [sys.executable, *python_entry("nbexp._service.queue_watcher"), self.home],
                    dict(os.environ),
                    file_actions=[(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)],
                    setsid=True,
                    setsigdef=_RESET_SIGNALS,
                )
            finally:
                os.close(devnull)
        except Exception as e:  # never lose an outcome over a scheduling problem
            _say(f"nbexp runner: could not start a scheduling step: {e}")


def _say(text: str) -> None:
    """A line for the runner's own log, which may be on a full disk: never fatal."""
    try:
        print(text, file=sys.stderr, flush=True)
    except OSError:
        pass


def _log_file_problem(log_path: str) -> str | None:
    """Why the command's output may not all be in its log file, or None."""
    folder = os.path.dirname(log_path)
    if not os.path.exists(log_path):
        return "its log file was deleted while it ran: its output is lost"
    try:
        space = os.statvfs(folder)
    except OSError:
        return None
    if space.f_bavail == 0:
        return "the filesystem holding its log is full: the end of its output may be missing"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    home, experiment_id, attempt = args[0], int(args[1]), int(args[2])
    store_id = args[3] if len(args) > 3 else None  # runners of nbexp 0.1 pass none
    runner = Runner(home, experiment_id, attempt, store_id)
    try:
        return runner.run()
    except BaseException as e:
        # Leave the store consistent: an attempt whose runner broke is an error, with the cause
        # (unless the command still runs: then reconcile keeps watching it by pid).
        if _proc.is_alive(runner.main_pid) or not runner.store_ok:
            raise
        try:
            store = Store(home, create=False)
            try:
                store.finish(
                    experiment_id,
                    attempt,
                    Status.ERROR,
                    f"nbexp runner failed: {type(e).__name__}: {e}",
                )
            finally:
                store.close()
        finally:
            raise


if __name__ == "__main__":
    sys.exit(main())
