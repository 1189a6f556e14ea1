"""on_end hooks: the user's own shell line, run once an attempt's outcome is recorded.

Whoever records an outcome (the runner, or any nbexp process that finds a runner gone) calls
`start_hook`, which spawns a small detached supervisor (`python -I -S … nbexp._exec.hooks`): it
survives the kill of the process that started it, runs `/bin/sh -c CMD` with the NBEXP_*
variables in its environment and its output in `attempt-N.hook.log` beside the attempt's log,
ends it (SIGTERM, grace, SIGKILL to its whole tree) at its time limit, and writes a failing or
hanging hook into the experiment's history. The outcome itself is never touched. The hook log is
created with O_EXCL: one hook run per attempt, whoever asks twice.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from .._core.errors import StoreError
from .._io import proc as _proc
from .._io.spawn import python_entry

TYPE_CHECKING = False  # the runner imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

DEFAULT_HOOK_TIMEOUT_S = 60.0
HOOK_GRACE_S = 5.0  # SIGTERM to SIGKILL for a hook past its time limit
HOOK_COMMAND_ENV = "NBEXP_HOOK_COMMAND"
HOOK_TIMEOUT_ENV = "NBEXP_HOOK_TIMEOUT"
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


def hook_log_path(log_path: str) -> str:
    return log_path[: -len(".log")] + ".hook.log"


def hook_environment(
    base: Mapping[str, str],
    row: Mapping[str, Any],
    *,
    home: str,
    status: str,
    failure_kind: str | None,
    summary: str | None,
    retry: str | None,
) -> dict[str, str]:
    """The hook's environment: `base` (the launcher's), the experiment's own variables, and
    what the hook is about. Names as docs/endings.md lists them."""
    env = dict(base)
    env.update(row.get("env") or {})
    exit_code = row.get("exit_code")
    env.update(
        {
            "NBEXP_HOME": str(home),
            "NBEXP_ID": str(row["id"]),
            "NBEXP_NAME": str(row["name"]),
            "NBEXP_STATUS": status,
            "NBEXP_EXIT_CODE": "" if exit_code is None else str(exit_code),
            "NBEXP_SIGNAL": "" if row.get("signal") is None else str(row["signal"]),
            "NBEXP_FAILURE_KIND": failure_kind or "",
            "NBEXP_SUMMARY": summary or row.get("error") or "",
            "NBEXP_LOG": str(row.get("log_path") or ""),
            "NBEXP_ATTEMPT": str(row["attempt"]),
            "NBEXP_RETRY": retry or "",  # "1/2" when this failure is retried
        }
    )
    # The hook is not part of the experiment: without its markers, a stop never sweeps it up.
    env.pop("NBEXP_EXPERIMENT_ID", None)
    return env


def start_hook(
    home: str, experiment_id: int, command: str, env: dict[str, str], cwd: str, timeout: float
) -> None:
    """Start the detached supervisor that runs `command` (in its own session, so the caller
    may die or return at once)."""
    env = dict(env)
    env[HOOK_COMMAND_ENV] = command
    env[HOOK_TIMEOUT_ENV] = str(timeout)
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.posix_spawn(
            sys.executable,
            [
                sys.executable,
                "-I",
                "-S",
                *python_entry("nbexp._exec.hooks"),
                str(home),
                str(experiment_id),
                cwd if os.path.isdir(cwd) else str(home),
            ],
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)],
            setsid=True,
            setsigdef=_RESET_SIGNALS,
        )
    finally:
        os.close(devnull)


def run_hook(command: str, env: dict[str, str], cwd: str, log_path: str, timeout: float) -> str:
    """Run the hook to its end or its time limit; what happened, in words ("" when it exited
    0). Its tree is ended at the limit. The hook log is claimed with O_EXCL first."""
    try:
        fd = os.open(
            log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_NOFOLLOW, 0o600
        )
    except FileExistsError:
        return ""  # someone else runs (or ran) this attempt's hook
    except OSError as e:
        return f"could not create {log_path}: {e.strerror}"
    _proc.become_subreaper()  # what the hook leaves behind stays ours to end
    try:
        pid = os.posix_spawn(
            "/bin/sh",
            ["/bin/sh", "-c", command],
            env,
            file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
            + [(os.POSIX_SPAWN_DUP2, fd, out) for out in (1, 2)],
            setpgroup=0,
            setsigdef=_RESET_SIGNALS,
        )
    except OSError as e:
        os.close(fd)
        return f"could not start /bin/sh: {e.strerror}"
    os.close(fd)
    deadline = time.monotonic() + timeout
    status = _wait(pid, deadline)
    # What it started in the background may finish within the same limit; then it is ended.
    tree = lambda: _proc.descendants(os.getpid(), [pid])  # noqa: E731
    while tree() and time.monotonic() < deadline:
        _reap_orphans()
        time.sleep(0.1)
    _proc.kill_tree(tree, timeout=HOOK_GRACE_S)
    if status is None:
        return f"timed out after {timeout:g} s and was stopped"
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return ""
    return f"exit code {code}" if code > 0 else f"killed by {signal.Signals(-code).name}"


def _reap_orphans() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _wait(pid: int, deadline: float) -> int | None:
    """The hook's wait status, or None when it outlived `deadline` (then it is stopped)."""
    delay = 0.01
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    _proc.signal_group(pid, signal.SIGTERM)
    _proc.signal_all(_proc.descendants(os.getpid()), signal.SIGTERM)
    grace = time.monotonic() + HOOK_GRACE_S
    while time.monotonic() < grace:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return None
        time.sleep(0.05)
    return None


def main(argv: list[str] | None = None) -> int:
    """The supervisor: `… nbexp._exec.hooks HOME ID CWD`, the hook in its environment."""
    args = sys.argv[1:] if argv is None else argv
    home, experiment_id, cwd = args[0], int(args[1]), args[2]
    env = dict(os.environ)
    command = env.pop(HOOK_COMMAND_ENV, "")
    timeout = float(env.pop(HOOK_TIMEOUT_ENV, DEFAULT_HOOK_TIMEOUT_S))
    log_path = env.get("NBEXP_LOG", "")
    if not command or not log_path.endswith(".log"):
        return 2
    hook_log = hook_log_path(log_path)
    os.chdir(cwd)
    outcome = run_hook(command, env, cwd, hook_log, timeout)
    if outcome:
        _note(home, experiment_id, f"on_end hook {outcome} (its output: {hook_log})")
    return 0


def _note(home: str, experiment_id: int, text: str) -> None:
    """Write `text` into the history, waiting out a locked store for a while."""
    from .._io.store import Store

    deadline = time.monotonic() + 600
    delay = 0.1
    while True:
        try:
            store = Store(home, create=False)
            try:
                store.note(experiment_id, text)
            finally:
                store.close()
            return
        except StoreError:
            if time.monotonic() > deadline:
                return
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        except Exception:
            return  # removed meanwhile (NotFound): nobody left to tell


if __name__ == "__main__":
    sys.exit(main())
