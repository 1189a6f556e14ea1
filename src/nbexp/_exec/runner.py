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
from .._io.cgroups import oom_kill_count
from .._io.spawn import describe_os_error, find_executable
from .._io.store import Store

# No subprocess, pathlib, typing or dataclasses here: this process lives as long as the
# experiment, and every module it imports is resident memory (see benchmarks/bench_runner.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._core.durations import TimeLimit
    from .._core.failures import Ending, Failure, Retry
    from .pty_output import PtyCopier

DEFAULT_STOP_GRACE_S = 10.0
KILL_TIMEOUT_S = 10.0  # after this, a process stuck in the kernel is given up on
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# "Read your state from the store": pause or resume (see docs/endings.md).
PAUSE_SIGNAL = signal.SIGUSR1
PAUSED_POLL_S = 0.5  # while paused, how often the tree is checked for processes to stop
HELPERS_WAIT_S = 5.0  # how long the runner waits for the step and hook it started at the end
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
        self.row: dict[str, Any] = {}  # the experiment as it was at the start
        self.limit: TimeLimit | None = None  # its time limit (paused time excluded)
        self.timed_out = False
        self.paused_since: float | None = None  # monotonic, while the tree is stopped
        self.check_pause = False  # PAUSE_SIGNAL came: read the store's paused/running
        self.oom_kills_before: int | None = None
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)

    # -- signals ------------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_stop_signal)
        signal.signal(PAUSE_SIGNAL, self._on_pause_signal)

    def _on_pause_signal(self, _signum: int, _frame: object) -> None:
        self.check_pause = True

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
        self.row = row
        self._read_limits(row)
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
        if self.limit is not None:
            self.limit.start(time.monotonic())
        self._loop()
        if self.pty is not None:
            self.pty.drain()
            self.log_problem = self.log_problem or self.pty.problem
        self._finish_from_wait_status()
        return 0

    def _read_limits(self, row: dict[str, Any]) -> None:
        if row.get("timeout") is not None:
            from .._core.durations import TimeLimit, parse_timeout_signal  # only limited runs

            early = None
            try:
                early = (
                    parse_timeout_signal(row["timeout_signal"]) if row["timeout_signal"] else None
                )
            except Exception as e:  # checked when it was created; a bad row must not kill us
                _say(f"nbexp runner: ignoring timeout_signal {row['timeout_signal']!r}: {e}")
            self.limit = TimeLimit(float(row["timeout"]), early)
        self.oom_kills_before = oom_kill_count()

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
            if self.check_pause:
                self._follow_pause()
            if self.paused_since is not None and self.kill_deadline is None:
                _proc.freeze(self._tree)  # a process that joined the tree meanwhile stops too
            self._check_limits()
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

    # -- pause and time limits ----------------------------------------------------------------

    def _follow_pause(self) -> None:
        """Make the tree match the store: stopped while paused, running otherwise."""
        if self.kill_deadline is not None or self.main_status is not None:
            self.check_pause = False  # ending: it stays running so that it can end
            return
        try:
            status = self.store.get_row(self.experiment_id)["status"]
        except Exception:
            return  # a locked store: check_pause stays set, the loop comes back soon
        self.check_pause = False
        if status == Status.PAUSED.value and self.paused_since is None:
            _proc.freeze(self._tree)
            self.paused_since = time.monotonic()
            if self.limit is not None:
                self.limit.pause(self.paused_since)
        elif status == Status.RUNNING.value and self.paused_since is not None:
            self._thaw()

    def _thaw(self) -> None:
        """SIGCONT to the whole tree; the time limit moves on by the time spent paused."""
        self._end_pause()
        _proc.signal_group(self.main_pid, signal.SIGCONT)
        _proc.signal_all(self._tree(), signal.SIGCONT)

    def _end_pause(self) -> None:
        self.paused_since = None
        if self.limit is not None:
            self.limit.resume(time.monotonic())

    def _check_limits(self) -> None:
        """The early signal, then the time limit (a stop like the user's, but an error)."""
        if self.limit is None or self.main_status is not None or self.kill_deadline is not None:
            return
        due = self.limit.due(time.monotonic())
        if due == "early" and self.limit.early is not None:
            number = self.limit.early[0]
            # The command only: a worker without a handler would die of SIGUSR1's default.
            _proc.signal_all([self.main_pid] if self.main_pid else [], number)
            self._note(self.limit.early_note(signal_name(number)))
            due = self.limit.due(time.monotonic())
        if due == "limit":
            self.timed_out = True
            self._begin_stop()

    def _note(self, text: str) -> None:
        try:
            self.store.note(self.experiment_id, text)
        except Exception:
            pass  # only history: never worth holding the main loop for

    def _sleep(self) -> None:
        timeout: float | None = None
        if self.kill_deadline is not None:
            # Poll gently: processes outside our reach (not our children) send no SIGCHLD.
            timeout = max(0.0, min(0.2, self.kill_deadline - time.monotonic()))
        elif self.paused_since is not None or self.check_pause:
            timeout = PAUSED_POLL_S if not self.check_pause else STORE_WAIT_S
        elif self.limit is not None and self.main_status is None:
            timeout = self.limit.wait(time.monotonic())
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
        if self.paused_since is not None:
            self._end_pause()  # the tree is resumed below, after its SIGTERM
        grace = DEFAULT_STOP_GRACE_S
        try:
            stored = self.store.get_row(self.experiment_id).get("stop_grace")
            if stored is not None:
                grace = float(stored)
        except Exception:
            pass  # stopping must work even when the store cannot be read
        # Stopped first (walked until nothing new appears): a process that ran between the walk
        # and its SIGTERM could fork a child that never gets one and lives until the SIGKILL.
        # A stopped process keeps its SIGTERM pending; the SIGCONT below delivers it first.
        tree = _proc.freeze(self._tree)
        if self.main_pid:
            _proc.signal_group(self.main_pid, signal.SIGTERM)
        _proc.signal_all(tree, signal.SIGTERM)
        # And SIGCONT after it: a process stopped by anyone (our pause, a pause this runner did
        # not see through, a user's kill -STOP) acts on its SIGTERM now, not after the grace.
        if self.main_pid:
            _proc.signal_group(self.main_pid, signal.SIGCONT)
        _proc.signal_all(tree, signal.SIGCONT)
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
            from .ending import log_file_problem  # only now: the command has ended

            self.log_problem = self.log_problem or log_file_problem(self.log_path)
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
        limit = self.limit if self.timed_out and not stopped else None  # it ended the run
        if limit is not None:
            status = Status.ERROR
            reason = limit.reason()
        from .ending import ending_of  # only now: the command has ended

        ending = ending_of(
            exit_code,
            signal_number,
            stopped,
            reason,
            None if limit is None else limit.seconds,
            self.oom_kills_before,
        )
        self._record_outcome(exit_code, signal_number, status, reason, ending)

    def _record_outcome(
        self,
        exit_code: int | None,
        signal_number: int | None,
        status: Status,
        reason: str | None,
        ending: Ending | None = None,
    ) -> None:
        """Record the outcome in the `.exit` file and in the store: each independently of the
        other (a full disk must not cost the store its outcome, nor a locked store the file).
        The failure summary and the retry it earns go into the store in the same transaction."""
        from .._core.failures import Ending
        from .ending import failure_of, plan_after_end, record_end_patiently

        ended = self.ended or time.time()
        ending = ending or Ending(exit_code, signal_number)
        failure: Failure | None = None
        try:
            failure = failure_of(self.log_path, status, ending)
        except Exception as e:  # a summary is worth less than the outcome it explains
            _say(f"nbexp runner: no failure summary: {type(e).__name__}: {e}")
        outcome = {
            "exit_code": exit_code,
            "signal": signal_number,
            "status": status.value,
            "error": reason,
            "ended": ended,
            "log_problem": self.log_problem,
            "failure": failure.to_json() if failure else None,
            "stopped": ending.stopped,
        }
        try:
            write_json(exit_file_path(self.log_path), outcome)
            patience = OUTCOME_RETRY_S
        except OSError as e:
            _say(f"nbexp runner: cannot write the .exit file: {e}")
            patience = OUTCOME_RETRY_NO_FILE_S
        self._flush()
        row = {**self.row, "id": self.experiment_id, "attempt": self.attempt}
        row.update(log_path=self.log_path, exit_code=exit_code, signal=signal_number, error=reason)
        retry = None
        plan = plan_after_end(self.store, row) if self.store_ok else {}
        if self.store_ok:
            values = dict(self.pending, log_problem=self.log_problem)
            done = record_end_patiently(
                self.store, row, status, reason, failure, ending, ended, patience, values
            )
            self.store_ok, retry = done is not None, done[1] if done else None
        if self.store_ok:
            self._after_recorded(plan, row, status, failure, retry, ended)

    def _wait_for_helpers(self) -> None:
        """Outlive the scheduling step (and a quick hook) started above, HELPERS_WAIT_S at
        most: a stop that sees this runner gone then finds nothing of the attempt left."""
        deadline = time.monotonic() + HELPERS_WAIT_S
        while time.monotonic() < deadline:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    time.sleep(0.02)
            except ChildProcessError:
                return  # none left

    def _after_recorded(
        self,
        plan: dict[str, Any],
        row: dict[str, Any],
        status: Status,
        failure: Failure | None,
        retry: Retry | None,
        ended: float,
    ) -> None:
        """The on_end hook and a scheduling step (queued work may start now that resources are
        free: no daemon does it for us), each a detached process; then, for a retry that
        waits, stay to start it when due."""
        from .ending import after_end, step_when_due

        for problem in after_end(plan, self.home, row, status, failure, retry):
            _say(f"nbexp runner: {problem}")
        self._wait_for_helpers()
        if retry is not None and retry.delay > 0:
            stopped = lambda: self.stop_signal is not None  # noqa: E731
            step_when_due(
                self.store,
                self.home,
                self.experiment_id,
                ended + retry.delay,
                self._wakeup_r,
                stopped,
            )


def _say(text: str) -> None:
    """A line for the runner's own log, which may be on a full disk: never fatal."""
    try:
        print(text, file=sys.stderr, flush=True)
    except OSError:
        pass


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
