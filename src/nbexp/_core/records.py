"""Snapshots of what the store holds, as frozen dataclasses (the store itself speaks dicts)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .states import Status


@dataclass(frozen=True)
class ExperimentRecord:
    """One row of the store, as plain data."""

    id: int
    name: str
    command: list[str]
    shell: bool
    cwd: str
    env: dict[str, str]
    gpus: Any  # the request: None, an int (any N), or a list of indices/UUIDs
    status: Status
    created: float
    started: float | None
    ended: float | None
    pid: int | None
    exit_code: int | None
    signal: int | None
    error: str | None
    attempt: int
    log_path: str | None
    pid_start: str | None = None
    runner_pid: int | None = None
    runner_start: str | None = None
    stop_requested: float | None = None
    stop_grace: float | None = None
    uv: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    executor: str = "local"
    job_id: str | None = None
    priority: int = 0
    after: list[int] = field(default_factory=list)
    assigned_gpus: list[int] | None = None
    queued_at: float | None = None
    launcher_pid: int | None = None  # the process launching this attempt, until its runner runs
    launcher_start: str | None = None
    waiting_for: str | None = None  # why it is queued, as the last scheduling step saw it
    log_problem: str | None = None  # why its log may be incomplete (a full disk, deleted)
    group_name: str | None = None  # the group (a sweep is one) it belongs to
    params: dict[str, Any] | None = None  # a sweep member's parameters
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    failure_kind: str | None = None  # why it ended, as a kind: exception, cuda-oom, timeout…
    failure_summary: str | None = None  # …and in one line, from its log's tail
    retries: int = 0  # how many times a failure may be retried
    retry_on: list[str] | None = None  # which failures (None: the default policy)
    retry_delay: float = 0.0  # seconds before a retry starts
    not_before: float | None = None  # a queued retry waits until then
    timeout: float | None = None  # seconds an attempt may run
    timeout_signal: str | None = None  # e.g. "USR1@60": that signal 60 s before the limit
    on_end: str | None = None  # a shell line run when an attempt ends
    paused_at: float | None = None  # when it was paused (while paused)
    paused_seconds: float = 0.0  # time spent paused by the current attempt
    node: str | None = None  # where it runs (Slurm)
    array_job: str | None = None  # the Slurm array it was submitted in
    requeue_on: list[str] | None = None  # Slurm endings that resubmit it
    final_progress: dict[str, Any] | None = None  # the last progress of an ended attempt
    retried: int = 0  # retries the current run has used (reset by a start or restart)
    problem: str | None = None  # set when the store's row could not be read (corrupt)

    @property
    def runtime(self) -> float | None:
        """Seconds the current attempt has run (so far, while it runs), paused time left out."""
        if self.started is None:
            return None
        end = self.ended if self.ended is not None else time.time()
        if self.paused_at is not None:
            end = min(end, self.paused_at)  # the clock stopped when it was paused
        return max(0.0, end - self.started - (self.paused_seconds or 0.0))

    @property
    def failure(self) -> dict[str, str] | None:
        """Why the current attempt failed: {"kind", "summary"}, or None."""
        if self.failure_kind is None:
            return None
        return {"kind": self.failure_kind, "summary": self.failure_summary or ""}

    @property
    def attempt_text(self) -> str:
        """ "attempt 2/3" while retries are allowed (the run's own count), else "attempt 2"."""
        if self.retries:
            return f"attempt {self.retried + 1}/{self.retries + 1}"
        return f"attempt {self.attempt}"

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form used by `nbexp show --json` and `nbexp list --json`."""
        return {
            "id": self.id,
            "name": self.name,
            "command": self.command,
            "shell": self.shell,
            "cwd": self.cwd,
            "env": self.env,
            "status": self.status.value,
            "pid": self.pid,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "error": self.error,
            "attempt": self.attempt,
            "gpus": self.assigned_gpus if self.assigned_gpus is not None else self.gpus,
            "gpu_request": self.gpus,
            "created": self.created,
            "started": self.started,
            "ended": self.ended,
            "runtime": self.runtime,
            "log_path": self.log_path,
            "uv": self.uv,
            "executor": self.executor,
            "job_id": self.job_id,
            "priority": self.priority,
            "after": self.after,
            "options": self.options,
            "failure": self.failure,
            "retries": self.retries,
            "retried": self.retried,
            "timeout": self.timeout,
            "paused_seconds": self.paused_seconds,
            "group": self.group_name,
            "params": self.params,
            "tags": self.tags,
            "note": self.note,
        }


@dataclass(frozen=True)
class HistoryEntry:
    at: float
    from_status: Status | None
    to_status: Status
    reason: str | None


@dataclass(frozen=True)
class AttemptRecord:
    experiment_id: int
    attempt: int
    status: Status
    started: float | None
    ended: float | None
    pid: int | None
    exit_code: int | None
    signal: int | None
    error: str | None
    log_path: str


def record_from_values(values: dict[str, Any]) -> ExperimentRecord:
    known = ExperimentRecord.__dataclass_fields__
    fields = {k: v for k, v in values.items() if k in known}
    fields["status"] = Status(fields["status"])
    return ExperimentRecord(**fields)


def corrupt_record(raw: dict[str, Any], why: str) -> ExperimentRecord:
    """A row the store cannot decode, as a record that says so: shown as an error that can be
    removed, while the rest of the store keeps working."""

    def text(key: str, default: str) -> str:
        value = raw.get(key)
        return value if isinstance(value, str) else default

    def number(key: str) -> Any:
        value = raw.get(key)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    problem = f"corrupt row in the store ({why}); remove it with nbexp rm {raw.get('id')}"
    return ExperimentRecord(
        id=int(raw["id"]),
        name=text("name", "?"),
        command=[],
        shell=False,
        cwd=text("cwd", ""),
        env={},
        gpus=None,
        status=Status.ERROR,
        created=number("created") or 0.0,
        started=number("started"),
        ended=number("ended"),
        pid=None,
        exit_code=number("exit_code"),
        signal=number("signal"),
        error=problem,
        attempt=number("attempt") or 0,
        log_path=raw.get("log_path") if isinstance(raw.get("log_path"), str) else None,
        executor=text("executor", "local"),
        problem=problem,
    )
