"""The end of an attempt, recorded once by whoever sees it first (its runner, or any nbexp
process that finds the runner gone): the outcome with its failure kind and summary, and the retry
it earns, in ONE transaction, so that no kill between the two can lose the retry. Then, outside
the transaction, the on_end hook and a scheduling step are started as detached processes: they
need no notebook, CLI or runner to stay alive.

The runner imports this module only once its command has ended (its memory while the command
runs stays as measured in docs/benchmarks.md).
"""

from __future__ import annotations

import os
import signal
import sys
import time

from .._core.errors import StoreError
from .._core.failures import TAIL_BYTES, Ending, Failure, Retry, classify, clean_tail, plan_retry
from .._core.settings import parse_settings
from .._core.states import Action, Status, sources
from .._io.cgroups import oom_kill_count
from .._io.spawn import python_entry
from .hooks import hook_environment, start_hook

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .._io.store import Store

# Python ignores these; a child must start with the default dispositions.
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


def read_tail(log_path: str | None, size: int = TAIL_BYTES) -> bytes:
    """The last `size` bytes of a log (nothing when it cannot be read)."""
    if not log_path:
        return b""
    try:
        with open(log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - size))
            return log.read(size)
    except OSError:
        return b""


def log_file_problem(log_path: str) -> str | None:
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


def ending_of(
    exit_code: int | None,
    signal_number: int | None,
    stopped: bool,
    reason: str | None,
    timed_out_after: float | None,
    oom_kills_before: int | None,
) -> Ending:
    """What the failure summary needs beyond the log, read as the attempt ends: the OOM kills
    its memory cgroup counted meanwhile, and the peak memory of the largest process reaped."""
    import resource

    after = oom_kill_count()
    known = after is not None and oom_kills_before is not None
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Ending(
        exit_code=exit_code,
        signal=signal_number,
        stopped=stopped,
        stop_reason=reason if stopped else None,
        timed_out_after=timed_out_after,
        oom_kills=(after or 0) - (oom_kills_before or 0) if known else None,
        peak_rss=peak_kib * 1024 if peak_kib else None,
    )


def failure_of(log_path: str | None, status: Status, ending: Ending) -> Failure | None:
    """The failure an ended attempt shows, from its log's tail; None when it completed."""
    if status is Status.COMPLETED:
        return None
    return classify(clean_tail(read_tail(log_path)), ending)


def failure_from_json(data: Any) -> Failure | None:
    """A failure as an `.exit` file keeps it ({"kind", "summary"}), or None."""
    if isinstance(data, dict) and isinstance(data.get("kind"), str):
        return Failure(data["kind"], str(data.get("summary") or ""))
    return None


def record_end(
    store: Store,
    row: dict[str, Any],
    status: Status,
    reason: str | None,
    *,
    failure: Failure | None,
    ending: Ending,
    ended: float,
    **values: Any,
) -> tuple[bool, Retry | None]:
    """Finish the attempt `row["attempt"]` (compare-and-set from the states that may finish)
    with its failure, and queue the retry it earns, in one transaction. (Whether this call
    recorded the end, the retry scheduled or None.) StoreError when the store is locked."""
    retry = None
    # Retries are the local runner's (Slurm requeues its own jobs).
    if failure is not None and status is Status.ERROR and row.get("executor", "local") == "local":
        lines = clean_tail(read_tail(row.get("log_path"))) if _has_regex(row) else []
        retry = plan_retry(
            retries=int(row.get("retries") or 0),
            retried=int(row.get("retried") or 0),
            retry_on=row.get("retry_on"),
            retry_delay=float(row.get("retry_delay") or 0.0),
            failure=failure,
            ending=ending,
            lines=lines,
        )
    error = values.pop("error", None)
    if error is None and status is not Status.COMPLETED:
        error = reason
    with store.write() as conn:
        done = store.transition(
            row["id"],
            sources(Action.FINISH),
            status,
            reason,
            conn,
            where_attempt=row["attempt"],
            ended=ended,
            error=error,
            failure_kind=failure.kind if failure else None,
            failure_summary=failure.summary if failure else None,
            **values,
        )
        if done and retry is not None:
            store.transition(
                row["id"],
                sources(Action.RETRY),
                Status.QUEUED,
                retry.reason,
                conn,
                queued_at=time.time(),
                not_before=ended + retry.delay,
                waiting_for=retry.reason,
                retried=retry.number,
                launcher_pid=None,
                launcher_start=None,
            )
    return done, (retry if done else None)


def record_end_patiently(
    store: Store,
    row: dict[str, Any],
    status: Status,
    reason: str | None,
    failure: Failure | None,
    ending: Ending,
    ended: float,
    patience: float,
    values: dict[str, Any],
) -> tuple[bool, Retry | None] | None:
    """`record_end`, waiting out a locked store for `patience` seconds (StoreError after
    that); None when the store turned out to be gone or replaced (the `.exit` file is all
    that is left to tell)."""
    deadline = time.monotonic() + patience
    delay = 0.05
    while True:
        try:
            return record_end(
                store,
                row,
                status,
                reason,
                failure=failure,
                ending=ending,
                ended=ended,
                exit_code=row["exit_code"],
                signal=row["signal"],
                **values,
            )
        except StoreError:
            if store.db.replaced():
                return None
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _has_regex(row: dict[str, Any]) -> bool:
    return any(str(rule).startswith("regex:") for rule in row.get("retry_on") or ())


def plan_after_end(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    """What to start once the end is recorded, read BEFORE recording it, so that after the
    commit nothing but starting processes remains (a stop that sees the end sees the runner
    gone a moment later): the hook's command and time limit, and whether work is queued."""
    plan: dict[str, Any] = {"hook": None, "timeout": 0.0, "queued": False}
    try:
        settings, _ = parse_settings(store.settings())
        command = row.get("on_end")
        # "" turns the home's default off for one experiment.
        plan["hook"] = (settings.on_end if command is None else command) or None
        plan["timeout"] = float(settings.on_end_timeout)
        plan["queued"] = store.queue_needs_gpus("local") is not None
    except Exception as e:  # a locked store: the step after a retry still runs (see after_end)
        plan["problem"] = f"could not read the settings and the queue: {e}"
    return plan


def after_end(
    plan: dict[str, Any],
    home: str,
    row: dict[str, Any],
    status: Status,
    failure: Failure | None,
    retry: Retry | None,
    *,
    by_runner: bool = True,
) -> list[str]:
    """What follows a recorded end (see `plan_after_end`): the on_end hook and a scheduling
    step, each a detached process. Problems in words (never raised: the outcome is recorded
    already). An end found by another nbexp process (`by_runner=False`: a reconcile, whose
    caller runs its own steps) starts a step only when a retry or other work waits."""
    problems = [plan["problem"]] if plan.get("problem") else []
    if plan.get("hook") and row.get("log_path"):
        env = hook_environment(
            os.environ,
            row,
            home=home,
            status=status.value,
            failure_kind=failure.kind if failure else None,
            summary=failure.summary if failure else None,
            retry=f"{retry.number}/{retry.total}" if retry else None,
        )
        cwd = str(row.get("cwd") or home)
        try:
            start_hook(home, int(row["id"]), plan["hook"], env, cwd, plan["timeout"])
        except Exception as e:
            problems.append(f"could not start the on_end hook: {e}")
    # Always (metrics issue): the step first reads the attempt's log to its end into the store
    # (metric history, final progress), so a run nobody watched has them; then it schedules.
    if not by_runner and retry is None and not plan.get("queued"):
        return problems
    try:
        start_scheduling_step(home, ended=(int(row["id"]), int(row["attempt"])))
    except Exception as e:
        problems.append(f"could not start a scheduling step: {e}")
    return problems


def step_when_due(
    store: Store,
    home: str,
    experiment_id: int,
    due: float,
    wakeup_fd: int,
    stopped: Callable[[], bool],
) -> None:
    """Stay until a retry's delay is over, then run a scheduling step: with the queue watcher,
    one of two processes that start it, so the kill of either loses nothing. A signal on
    `wakeup_fd` that makes `stopped()` true ends the wait."""
    import select

    while not stopped() and time.time() < due:
        try:
            select.select([wakeup_fd], [], [], max(0.0, due - time.time()) + 0.05)
        except InterruptedError:
            pass
    try:
        if not stopped() and store.get_row(experiment_id)["status"] == Status.QUEUED.value:
            start_scheduling_step(home)
    except Exception as e:
        print(f"nbexp runner: could not start a scheduling step: {e}", file=sys.stderr)


def start_scheduling_step(home: str, ended: tuple[int, int] | None = None) -> None:
    """One scheduling step in a short-lived full Python (the GPU probe needs site-packages,
    which a lean runner does not load); it starts a queue watcher if work still waits. With
    `ended` (experiment id, attempt), it first reads that attempt's metrics to the end."""
    extra = ["--ended", str(ended[0]), str(ended[1])] if ended is not None else []
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.posix_spawn(
            sys.executable,
            [sys.executable, *python_entry("nbexp._service.queue_watcher"), home, *extra],
            dict(os.environ),
            file_actions=[(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)],
            setsid=True,
            setsigdef=_RESET_SIGNALS,
        )
    finally:
        os.close(devnull)
