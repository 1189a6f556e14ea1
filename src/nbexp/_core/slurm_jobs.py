"""Slurm's side of things as pure data: job states mapped onto nbexp's `Status`, `scontrol`,
`sacct` and jobcomp output parsed into `JobInfo`, and the text of a batch script. No I/O: the
client that runs the commands is `_exec.slurm_client`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from .errors import UsageError
from .states import Status, signal_name

__all__ = [
    "JobInfo",
    "batch_script",
    "is_active_state",
    "map_job_state",
    "parse_sacct",
    "parse_scontrol_jobs",
]


QUEUED_STATES = frozenset(
    {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
)
# SUSPENDED/STOPPED jobs still hold their processes; nbexp has no "suspended", so running it is.
RUNNING_STATES = frozenset(
    {"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "RESIZING", "SUSPENDED", "STOPPED"}
)
UNKNOWN_STATE = "UNKNOWN"

# COMPLETING can outlast the processes by the cluster's KillWait (30 s by default) after a cancel.
RUNNING_REASONS = {
    "COMPLETING": "ending: Slurm is cleaning up the job",
    "SUSPENDED": "suspended by Slurm",
    "STOPPED": "suspended by Slurm",
}

# Final Slurm states other than COMPLETED/FAILED/CANCELLED, said in words for the error reason.
ERROR_REASONS = {
    "OUT_OF_MEMORY": "out of memory (Slurm)",
    "NODE_FAIL": "node failure (Slurm)",
    "TIMEOUT": "time limit reached",
    "PREEMPTED": "preempted by a higher-priority job (Slurm)",
    "BOOT_FAIL": "node failed to boot (Slurm)",
    "DEADLINE": "deadline reached before the job could run (Slurm)",
    "REVOKED": "revoked by another cluster of the federation (Slurm)",
    "SPECIAL_EXIT": "special exit requested by the job's epilog (Slurm)",
}

# Why a job is still waiting, for the common Reason= values; others are shown as Slurm says them.
PENDING_REASONS = {
    "Resources": "waiting for resources",
    "Priority": "waiting behind higher-priority jobs",
    "Dependency": "waiting for a dependency",
    "BeginTime": "waiting for its begin time",
    "JobHeldUser": "held by its user",
    "JobHeldAdmin": "held by an administrator",
    "ReqNodeNotAvail": "requested node not available",
    "PartitionDown": "partition is down",
    "Reservation": "waiting for a reservation",
}

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A field boundary in `scontrol -o` output: a space followed by `Key=`. Values may hold spaces
# (WorkDir, Command), so splitting on every space would cut them apart.
_FIELD_BOUNDARY = re.compile(r" (?=[A-Za-z][A-Za-z0-9_/:.\-]*=)")
_ABSENT = frozenset({"", "(null)", "None", "Unknown", "N/A"})


@dataclass(frozen=True)
class JobInfo:
    """One job as Slurm last reported it."""

    job_id: str
    state: str  # Slurm's word: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ... or UNKNOWN
    exit_code: int | None = None  # the command's exit status (first half of ExitCode=N:S)
    signal: int | None = None  # the signal that ended it (second half), None when 0
    reason: str | None = None  # Slurm's Reason=, None when it says None
    node_list: str | None = None
    run_time_seconds: float | None = None
    start_time: datetime | None = None  # aware, local time zone
    end_time: datetime | None = None
    source: str = "scontrol"  # where it came from: scontrol, jobcomp, sacct or none
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_active(self) -> bool:
        return is_active_state(self.state)

    @property
    def is_pending(self) -> bool:
        return self.state in QUEUED_STATES


def is_active_state(state: str) -> bool:
    """Queued or running: Slurm will still change the job by itself."""
    return state in QUEUED_STATES or state in RUNNING_STATES


# --------------------------------------------------------------------------------------------
# Pure parts: state mapping and output parsing
# --------------------------------------------------------------------------------------------


def map_job_state(info: JobInfo, stop_requested: bool) -> tuple[Status, str | None]:
    """nbexp's status for a Slurm job, with the reason in words (None when there is none).

    Like the local runner, any end after a user's stop counts as interrupted: the command may
    exit 0, 143 or die by SIGKILL while it is being stopped.
    """
    state = info.state
    if state in QUEUED_STATES:
        return Status.QUEUED, _pending_reason(info.reason)
    if state in RUNNING_STATES:
        return Status.RUNNING, RUNNING_REASONS.get(state)
    if stop_requested:
        return Status.INTERRUPTED, "stopped by user"
    if state == "COMPLETED":
        return Status.COMPLETED, None
    if state == "CANCELLED":
        return Status.ERROR, "cancelled by Slurm or an administrator"
    if state == "FAILED":
        return Status.ERROR, _failure_reason(info)
    if state in ERROR_REASONS:
        return Status.ERROR, ERROR_REASONS[state]
    if state == UNKNOWN_STATE:
        return Status.ERROR, f"lost: Slurm no longer knows job {info.job_id}"
    return Status.ERROR, f"ended in Slurm state {state}"


def _pending_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    return PENDING_REASONS.get(reason, f"waiting in Slurm's queue ({reason})")


def _failure_reason(info: JobInfo) -> str:
    if info.exit_code not in (None, 0):
        return f"exit code {info.exit_code}"
    if info.signal:
        return f"killed by {signal_name(info.signal)}"
    if info.reason and info.reason != "NonZeroExitCode":
        return f"failed ({info.reason})"
    return "failed (Slurm gave no reason)"


def parse_key_values(line: str) -> dict[str, str]:
    """`Key=value Key2=value with spaces ...` → dict; the first of a repeated key wins."""
    fields: dict[str, str] = {}
    for chunk in _FIELD_BOUNDARY.split(line.strip()):
        key, sep, value = chunk.partition("=")
        if sep:
            # First wins: later free-text fields (Comment=, Command=) cannot shadow JobState.
            fields.setdefault(key, value)
    return fields


def job_info_from_fields(fields: Mapping[str, str], source: str) -> JobInfo | None:
    """A JobInfo from one scontrol / jobcomp record; None when it names no job."""
    job_id = fields.get("JobId")
    if not job_id:
        return None
    exit_code, signal_number = _parse_exit_code(fields.get("ExitCode"))
    return JobInfo(
        job_id=job_id,
        # sacct and squeue write "CANCELLED by 0"; the state is the first word.
        state=(fields.get("JobState") or UNKNOWN_STATE).split()[0].upper(),
        exit_code=exit_code,
        signal=signal_number,
        reason=_present(fields.get("Reason")),
        node_list=_present(fields.get("NodeList")),
        run_time_seconds=_parse_duration(fields.get("RunTime")),
        start_time=_parse_time(fields.get("StartTime")),
        end_time=_parse_time(fields.get("EndTime")),
        source=source,
        fields=dict(fields),
    )


def parse_scontrol_jobs(output: str, source: str = "scontrol") -> dict[str, JobInfo]:
    """Parse `scontrol show -o job` (one job per line) or a jobcomp/filetxt file.

    A job id seen twice keeps its last record: the jobcomp file appends, so the newest wins.
    """
    jobs: dict[str, JobInfo] = {}
    for line in output.splitlines():
        info = job_info_from_fields(parse_key_values(line), source)
        if info is not None:
            jobs[info.job_id] = info
    return jobs


def parse_sacct(output: str) -> dict[str, JobInfo]:
    """Parse `sacct -n -P -X -o JobIDRaw,State,ExitCode,Reason,NodeList,Start,End,ElapsedRaw`."""
    jobs: dict[str, JobInfo] = {}
    for line in output.splitlines():
        parts = line.split("|")
        if len(parts) < 8 or not parts[0]:
            continue
        job_id, state, exit_code, reason, node_list, start, end, elapsed = parts[:8]
        fields = {
            "JobId": job_id,
            "JobState": state,
            "ExitCode": exit_code,
            "Reason": reason,
            "NodeList": node_list,
            "StartTime": start,
            "EndTime": end,
        }
        info = job_info_from_fields(fields, "sacct")
        if info is not None:
            seconds = float(elapsed) if elapsed.isdigit() else None
            jobs[job_id] = replace(info, run_time_seconds=seconds)
    return jobs


def _present(value: str | None) -> str | None:
    return None if value is None or value in _ABSENT else value


def _parse_exit_code(value: str | None) -> tuple[int | None, int | None]:
    if not value:
        return None, None
    code, _, sig = value.partition(":")
    try:
        exit_code = int(code)
        signal_number = int(sig) if sig else 0
    except ValueError:
        return None, None
    return exit_code, (signal_number or None)


def _parse_duration(value: str | None) -> float | None:
    """Slurm's [D-]HH:MM:SS (or MM:SS) → seconds."""
    if not value or value in _ABSENT or value in ("INVALID", "UNLIMITED"):
        return None
    days, _, clock = value.rpartition("-")
    try:
        parts = [int(p) for p in clock.split(":")]
        seconds = 0
        for part in parts:
            seconds = seconds * 60 + part
        return float(seconds + (int(days) * 86400 if days else 0))
    except ValueError:
        return None


def _parse_time(value: str | None) -> datetime | None:
    # Slurm prints local wall-clock time without a zone; astimezone() attaches the local one.
    if not value or value in _ABSENT:
        return None
    try:
        return datetime.fromisoformat(value).astimezone()
    except ValueError:
        return None


def one_line_error(stderr: str, stdout: str = "") -> str:
    """Slurm's own complaint on one line: `prog: error:` prefixes dropped, repeats removed."""
    messages: list[str] = []
    for raw in (stderr or stdout).splitlines():
        text = re.sub(r"^\S+: (error|fatal): ", "", raw.strip())
        if text and text not in messages:
            messages.append(text)
    return "; ".join(messages) or "no message"


# --------------------------------------------------------------------------------------------
# Batch scripts
# --------------------------------------------------------------------------------------------


def batch_script(
    *,
    argv: Sequence[str],
    cwd: str,
    env: Mapping[str, str],
    log_path: str,
    job_name: str,
    partition: str | None = None,
    time: str | None = None,
    cpus: int | None = None,
    mem: str | None = None,
    gpus: int | None = None,
    extra: Iterable[str] = (),
) -> str:
    """A bash batch script that runs `argv` in `cwd` with `env` added.

    stdout and stderr both go to `log_path` (appended, byte for byte), and the command is
    exec'd so that scancel's signals reach it rather than a shell in between.
    """
    if not argv:
        raise UsageError("the Slurm job needs a command (argv is empty)")
    options = _sbatch_options(
        cwd=cwd,
        log_path=log_path,
        job_name=job_name,
        partition=partition,
        time=time,
        cpus=cpus,
        mem=mem,
        gpus=gpus,
        extra=extra,
    )
    lines = ["#!/bin/bash", *(f"#SBATCH {option}" for option in options), ""]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in _checked_env(env)]
    lines += ["export PYTHONUNBUFFERED=1", f"cd {shlex.quote(cwd)} || exit 1"]
    lines += [f"exec {shlex.join(argv)}", ""]
    return "\n".join(lines)


def _sbatch_options(
    *,
    cwd: str,
    log_path: str,
    job_name: str,
    partition: str | None,
    time: str | None,
    cpus: int | None,
    mem: str | None,
    gpus: int | None,
    extra: Iterable[str],
) -> list[str]:
    options = [
        f"--job-name={_sbatch_value(job_name)}",
        f"--output={_sbatch_value(log_path)}",  # no --error: stderr joins stdout in one log
        "--open-mode=append",  # a requeue or a header written by nbexp is kept
        f"--chdir={_sbatch_value(cwd)}",
        # One Slurm job is one attempt: a requeue would put a running experiment back to
        # PENDING, which nbexp's states do not allow. `extra` may say --requeue to override.
        "--no-requeue",
    ]
    if partition:
        options.append(f"--partition={_sbatch_value(partition)}")
    if time:
        options.append(f"--time={_sbatch_value(time)}")
    if cpus is not None:
        options.append(f"--cpus-per-task={_positive(cpus, 'cpus')}")
    if mem:
        options.append(f"--mem={_sbatch_value(mem)}")
    if gpus is not None:
        options.append(f"--gpus={_positive(gpus, 'gpus')}")
    for option in extra:
        if "\n" in option or not option.startswith("-"):
            raise UsageError(f"extra sbatch option must be one option like --qos=high: {option!r}")
        options.append(option)
    return options


def _sbatch_value(value: str) -> str:
    # sbatch reads #SBATCH lines itself: double quotes group a value with spaces; there is no
    # escape for a quote or a newline, so refuse those instead of writing a broken script.
    if "\n" in value or '"' in value:
        raise UsageError(f"sbatch option values cannot hold quotes or newlines: {value!r}")
    return f'"{value}"' if (" " in value or "\t" in value) else value


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise UsageError(f"{name} must be at least 1 for a Slurm job, got {value}")
    return value


def _checked_env(env: Mapping[str, str]) -> list[tuple[str, str]]:
    for name in env:
        if not _ENV_NAME.match(name):
            raise UsageError(f"not a valid environment variable name: {name!r}")
    return sorted(env.items())
