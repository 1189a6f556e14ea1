"""The runner: one small detached process per attempt (`nbexp._exec.runner HOME ID ATTEMPT`).

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
import sys
import time

from .._core.launch import DEFAULT_TTY_SIZE, child_environment, effective_argv
from .._core.states import Status, outcome_reason, outcome_status, signal_name
from .._io import proc as _proc
from .._io.spawn import describe_os_error, find_executable, python_entry
from .._io.store import Store

# No subprocess, pathlib, typing or dataclasses here: this process lives as long as the
# experiment, and every module it imports is resident memory (see benchmarks/bench_runner.py).

DEFAULT_STOP_GRACE_S = 10.0
GIVE_UP_AFTER_KILL_S = 10.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

# Python ignores SIGPIPE (and SIGXFSZ); children must start with the default dispositions.
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


def exit_file_path(log_path: str) -> str:
    return str(log_path)[: -len(".log")] + ".exit"


class Runner:
    def __init__(self, home: str, experiment_id: int, attempt: int) -> None:
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
        self.log_path = ""
        self.log_fd: int | None = None
        self.pty_master: int | None = None
        self.tty_mode = False
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
        row = self.store.get_row(self.experiment_id)
        if row["status"] != Status.RUNNING.value or row["attempt"] != self.attempt:
            return 0  # someone else already decided this attempt's fate
        self.log_path = row["log_path"]
        argv = effective_argv(row["command"], shell=row["shell"], uv=row["uv"])
        env = child_environment(
            row["env"],
            home=self.home,
            experiment_id=row["id"],
            attempt=row["attempt"],
            gpus=row["assigned_gpus"],
        )
        self.log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if self.stop_signal is not None or row["stop_requested"] is not None:
            self._finish(exit_code=None, signal_number=None, stopped=True)
            return 0
        tty = (row.get("options") or {}).get("tty")
        self.tty_mode = bool(tty)
        try:
            if tty:
                self.main_pid = self._spawn_on_pty(argv, row["cwd"], env, tty)
            else:
                self.main_pid = self._spawn(argv, row["cwd"], env)
        except OSError as e:
            reason = describe_os_error(e, argv, row["cwd"])
            os.write(self.log_fd, f"nbexp: {reason}\n".encode())
            os.close(self.log_fd)
            self.log_fd = None
            self._record_outcome(None, None, Status.ERROR, f"failed to start: {reason}")
            return 0
        if not tty:
            os.close(self.log_fd)  # the child holds it; we never touch its output
            self.log_fd = None
        self.store.update(
            self.experiment_id, pid=self.main_pid, pid_start=_proc.identity(self.main_pid)
        )
        self._loop()
        self._drain_pty()
        self._finish_from_wait_status()
        return 0

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

    def _spawn_on_pty(self, argv: list[str], cwd: str, env: dict[str, str], tty: object) -> int:
        """Start the command on a new pseudo-terminal whose output we copy into the log."""
        import fcntl
        import struct
        import termios

        columns, rows = DEFAULT_TTY_SIZE
        if isinstance(tty, dict):
            columns, rows = int(tty.get("columns", columns)), int(tty.get("rows", rows))
        env = dict(env, COLUMNS=str(columns), LINES=str(rows))
        env.setdefault("TERM", "xterm-256color")
        executable = find_executable(argv[0], env.get("PATH"))
        os.chdir(cwd)
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        error_r, error_w = os.pipe()  # carries an exec failure back from the child
        pid = os.fork()
        if pid == 0:  # the child: new session, the pty as controlling terminal, then exec
            try:
                os.close(master)
                os.close(error_r)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.dup2(slave, 1)
                os.dup2(slave, 2)
                for sig in (*_RESET_SIGNALS, signal.SIGCHLD, *STOP_SIGNALS):
                    signal.signal(sig, signal.SIG_DFL)
                signal.set_wakeup_fd(-1)
                os.execve(executable, argv, env)
            except OSError as e:
                os.write(error_w, f"{e.errno}".encode())
            finally:
                os._exit(127)
        os.close(slave)
        os.close(error_w)
        failure = os.read(error_r, 64)
        os.close(error_r)
        if failure:
            os.close(master)
            os.waitpid(pid, 0)
            raise OSError(int(failure), os.strerror(int(failure)), argv[0])
        os.set_blocking(master, False)
        self.pty_master = master
        return pid

    def _copy_pty_output(self) -> bool:
        """Copy what the pty has into the log; False once it is closed (all writers gone)."""
        if self.pty_master is None:
            return False
        while True:
            try:
                data = os.read(self.pty_master, 65536)
            except BlockingIOError:
                return True
            except OSError:  # EIO: every process holding the terminal has exited
                data = b""
            if not data:
                os.close(self.pty_master)
                self.pty_master = None
                return False
            if self.log_fd is not None:
                os.write(self.log_fd, data)

    def _drain_pty(self) -> None:
        """After the tree has ended: copy the pty's last bytes, then close the log."""
        deadline = time.monotonic() + 2
        while self.pty_master is not None and time.monotonic() < deadline:
            select.select([self.pty_master], [], [], 0.05)
            self._copy_pty_output()
        if self.pty_master is not None:
            os.close(self.pty_master)
            self.pty_master = None
        if self.tty_mode and self.log_fd is not None:
            os.close(self.log_fd)
            self.log_fd = None

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
                watched = [self._wakeup_r]
                if self.pty_master is not None:
                    watched.append(self.pty_master)
                select.select(watched, [], [], timeout)
            except InterruptedError:
                pass
            try:
                while os.read(self._wakeup_r, 512):
                    pass
            except BlockingIOError:
                pass
            if self.pty_master is not None:
                self._copy_pty_output()

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
                reason = f"stopped: the nbexp runner received {signal_name(self.stop_signal)}"
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
                self.store.finish(
                    self.experiment_id,
                    self.attempt,
                    status,
                    reason,
                    ended=ended,
                    exit_code=exit_code,
                    signal=signal_number,
                )
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self._after_finish()

    def _after_finish(self) -> None:
        """Let queued work start now that resources are free (no daemon does it for us).

        The step needs the GPU probe (site-packages), which this lean process does not load:
        start a short-lived full Python for it, only when something is actually queued.
        """
        try:
            if self.store.queue_needs_gpus("local") is None:
                return  # nothing of ours waits (a Slurm job waiting is Slurm's business)
            devnull = os.open(os.devnull, os.O_RDWR)
            try:
                os.posix_spawn(
                    sys.executable,
                    [sys.executable, *python_entry("nbexp._service.scheduling"), self.home],
                    dict(os.environ),
                    file_actions=[(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)],
                    setsid=True,
                    setsigdef=_RESET_SIGNALS,
                )
            finally:
                os.close(devnull)
        except Exception as e:  # never lose an outcome over a scheduling problem
            print(f"nbexp runner: could not start a scheduling step: {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    home, experiment_id, attempt = args[0], int(args[1]), int(args[2])
    runner = Runner(home, experiment_id, attempt)
    try:
        return runner.run()
    except BaseException as e:
        # Leave the store consistent: an attempt whose runner broke is an error, with the cause
        # (unless the command still runs: then reconcile keeps watching it by pid).
        if _proc.is_alive(runner.main_pid):
            raise
        try:
            Store(home).finish(
                experiment_id,
                attempt,
                Status.ERROR,
                f"nbexp runner failed: {type(e).__name__}: {e}",
            )
        finally:
            raise


if __name__ == "__main__":
    sys.exit(main())
