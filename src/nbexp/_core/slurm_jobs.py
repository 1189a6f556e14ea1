"""Slurm's side of things as pure data: job states mapped onto nbexp's `Status` and failure
kinds, and `scontrol`, `sacct` and jobcomp output parsed into `JobInfo` (array tasks keyed
`JOBID_TASK`, as nbexp stores them). No I/O: the client that runs the commands is
`_exec.slurm_client`; batch scripts are written by `_core.slurm_script`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from .durations import format_duration
from .failures import Ending, Failure, classify
from .states import Status, signal_name

__all__ = [
    "SACCT_FORMAT",
    "JobInfo",
    "is_active_state",
    "job_failure",
    "map_job_state",
    "parse_sacct",
    "parse_scontrol_jobs",
    "slurm_failure_kind",
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
    time_limit_seconds: float | None = None  # None: no limit (or not said)
    cancelled_by: int | None = None  # the uid sacct names in "CANCELLED by UID"
    array_job: str | None = None  # the array this task belongs to (job_id is then A_TASK)
    source: str = "scontrol"  # where it came from: scontrol, jobcomp, sacct or none
    # Ended by the controller's word, but accounting (which names who cancelled it and the
    # limit it ran into) has not recorded it yet: ask again before taking this as its end.
    settling: bool = False
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
        by = f" (uid {info.cancelled_by})" if info.cancelled_by is not None else ""
        return Status.ERROR, f"cancelled by Slurm or an administrator{by}"
    if state == "FAILED":
        return Status.ERROR, _failure_reason(info)
    if state in ERROR_REASONS:
        return Status.ERROR, ERROR_REASONS[state]
    if state == UNKNOWN_STATE:
        return Status.ERROR, f"lost: Slurm no longer knows job {info.job_id}"
    return Status.ERROR, f"ended in Slurm state {state}"


# Slurm's endings as nbexp's failure kinds (the endings of issue 13 add: exception, cuda-oom,
# nccl, segfault, signal, exit, found in the log). `requeue_on` names these.
SLURM_FAILURE_KINDS = {
    "TIMEOUT": "timeout",
    "DEADLINE": "timeout",
    "OUT_OF_MEMORY": "oom-killed",
    "NODE_FAIL": "node-fail",
    "BOOT_FAIL": "node-fail",
    "PREEMPTED": "preempted",
    "CANCELLED": "cancelled",
}
REQUEUE_KINDS = ("timeout", "preempted", "node-fail")

# What slurmstepd writes into the job's output when it ends a job, and the kind it means. Read
# from the log's tail: the same words whatever the cluster's accounting says (a job killed by
# jobacct_gather's OverMemoryKill is recorded as FAILED, yet its log says why).
SLURM_LOG_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("timeout", re.compile(r"\*\*\* JOB \S+ ON \S+ CANCELLED AT \S+ DUE TO TIME LIMIT")),
    ("preempted", re.compile(r"\*\*\* JOB \S+ ON \S+ CANCELLED AT \S+ DUE TO PREEMPTION")),
    ("node-fail", re.compile(r"\*\*\* JOB \S+ ON \S+ CANCELLED AT \S+ DUE TO NODE FAIL")),
    (
        "oom-killed",
        re.compile(r"Exceeded job memory limit|exceeded memory limit|oom-kill event"),
    ),
)


def slurm_failure_kind(info: JobInfo) -> str | None:
    """The failure kind Slurm's final state names by itself (TIMEOUT → timeout…), or None when
    the state says no more than "failed" (the log's tail then tells)."""
    return SLURM_FAILURE_KINDS.get(info.state)


def slurm_log_failure(lines: list[str]) -> tuple[str, str] | None:
    """(kind, the line) from slurmstepd's own words in a job's log, searched from the end."""
    for line in reversed(lines):
        for kind, pattern in SLURM_LOG_MARKERS:
            if pattern.search(line):
                return kind, line.strip()
    return None


def job_failure(info: JobInfo, lines: list[str], *, time_limit: float | None = None) -> Failure:
    """Why a Slurm job that ended in error failed, as a kind and one line: Slurm's own verdict
    first (TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, a cancel nbexp did not ask for), then
    slurmstepd's words in the log's tail (`lines`), then what the log says of the command
    itself (a traceback, CUDA out of memory…), as for a local run."""
    kind = slurm_failure_kind(info)
    limit = time_limit or info.time_limit_seconds
    node = f" on {info.node_list}" if info.node_list else ""
    if kind == "timeout":
        after = f" after {format_duration(limit)}" if limit else ""
        return Failure(kind, f"timed out{after} (Slurm's time limit)")
    if kind == "oom-killed":
        return Failure(kind, f"killed for using more memory than the job asked for{node} (Slurm)")
    if kind == "node-fail":
        return Failure(kind, f"its node{node.replace(' on', '')} failed (Slurm: {info.state})")
    if kind == "preempted":
        return Failure(kind, "preempted by a higher-priority job (Slurm)")
    if kind == "cancelled":
        by = f" (uid {info.cancelled_by})" if info.cancelled_by is not None else ""
        return Failure(kind, f"cancelled by Slurm or an administrator{by}")
    found = slurm_log_failure(lines)
    if found is not None:
        return Failure(*found)
    return classify(lines, Ending(info.exit_code, info.signal)) or Failure(
        "exit", f"ended in Slurm state {info.state}"
    )


def parse_time_limit(text: str | None) -> float | None:
    """Seconds of a Slurm time limit (`--time`): minutes, MM:SS, H:MM:SS, D-H, D-H:MM,
    D-H:MM:SS; None for none, UNLIMITED or an unreadable one."""
    if not text or text.upper() in ("UNLIMITED", "INFINITE", "NONE"):
        return None
    text = text.strip()
    days_text, dash, clock = text.partition("-")
    if not dash:
        days_text, clock = "0", text
    parts = clock.split(":")
    if not (days_text.isdigit() and all(p.isdigit() for p in parts) and len(parts) <= 3):
        return None
    numbers = [int(p) for p in parts]
    if dash:  # D-H, D-H:MM, D-H:MM:SS
        numbers += [0] * (3 - len(numbers))
        hours, minutes, seconds = numbers
    elif len(numbers) == 1:  # minutes
        hours, minutes, seconds = 0, numbers[0], 0
    elif len(numbers) == 2:  # MM:SS
        hours, (minutes, seconds) = 0, numbers
    else:
        hours, minutes, seconds = numbers
    return float(int(days_text) * 86400 + hours * 3600 + minutes * 60 + seconds)


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
    """A JobInfo from one scontrol / jobcomp record; None when it names no job. An array task
    gets the id `ARRAYJOB_TASK`, as sbatch --array, scancel and nbexp's store name it."""
    job_id = fields.get("JobId")
    if not job_id:
        return None
    array_job = _present(fields.get("ArrayJobId"))
    task = _present(fields.get("ArrayTaskId"))
    if array_job and task and task.isdigit():
        job_id = f"{array_job}_{task}"
    words = (fields.get("JobState") or UNKNOWN_STATE).split()
    exit_code, signal_number = _parse_exit_code(fields.get("ExitCode"))
    return JobInfo(
        job_id=job_id,
        # sacct and squeue write "CANCELLED by 0"; the state is the first word.
        state=words[0].upper(),
        exit_code=exit_code,
        signal=signal_number,
        reason=_present(fields.get("Reason")),
        node_list=_present(fields.get("NodeList")),
        run_time_seconds=_parse_duration(fields.get("RunTime")),
        start_time=_parse_time(fields.get("StartTime")),
        end_time=_parse_time(fields.get("EndTime")),
        time_limit_seconds=_parse_duration(fields.get("TimeLimit")),
        cancelled_by=_cancelled_by(words),
        array_job=array_job if "_" in job_id else None,
        source=source,
        fields=dict(fields),
    )


def _cancelled_by(words: list[str]) -> int | None:
    if len(words) == 3 and words[1] == "by" and words[2].isdigit():
        return int(words[2])
    return None


def parse_scontrol_jobs(output: str, source: str = "scontrol") -> dict[str, JobInfo]:
    """Parse `scontrol show -o job` (one job per line) or a jobcomp/filetxt file.

    A job id seen twice keeps its last record: the jobcomp file appends, so the newest wins.
    The pending tasks of an array come as one record (`ArrayTaskId=3-5%2`): each gets its own
    entry (`A_3`, `A_4`, `A_5`).
    """
    jobs: dict[str, JobInfo] = {}
    for line in output.splitlines():
        fields = parse_key_values(line)
        info = job_info_from_fields(fields, source)
        if info is None:
            continue
        for job_id in _pending_tasks(fields.get("ArrayJobId"), fields.get("ArrayTaskId")):
            jobs[job_id] = replace(info, job_id=job_id, array_job=fields["ArrayJobId"])
        if "_" in info.job_id or not _present(fields.get("ArrayTaskId")):
            jobs[info.job_id] = info
    return jobs


def _pending_tasks(array_job: str | None, tasks: str | None) -> list[str]:
    """`A_i` for each index of a task expression such as `3-5%2` or `[1,4-6]`; [] for one
    index (that task has a record of its own)."""
    if not array_job or not tasks or tasks.isdigit() or not _present(tasks):
        return []
    return [f"{array_job}_{index}" for index in expand_indices(tasks)]


def expand_indices(text: str) -> list[int]:
    """Slurm's index expression (`0-5%2`, `[1,3,7-9]`, `4-10:2`) as indices; [] if unreadable."""
    text = text.strip().strip("[]").split("%", 1)[0]
    indices: list[int] = []
    for part in text.split(","):
        span, _, step = part.partition(":")
        first, _, last = span.partition("-")
        if not (first.isdigit() and (not last or last.isdigit()) and (not step or step.isdigit())):
            return []
        stop = int(last) if last else int(first)
        indices.extend(range(int(first), stop + 1, int(step) if step else 1))
    return indices


# What the client asks sacct for (-o), in this order; `parse_sacct` reads the same.
SACCT_FORMAT = "JobID,JobIDRaw,State,ExitCode,Reason,NodeList,Start,End,ElapsedRaw,TimelimitRaw"


def parse_sacct(output: str) -> dict[str, JobInfo]:
    """Parse `sacct -n -P -o SACCT_FORMAT` (without -X: the batch step's line is read too). An
    array task is keyed `A_TASK` (its JobID column); a pending array's `A_[3-5%2]` line gives
    each of its tasks. The job's exit code is its batch step's when the allocation's says
    nothing (sacct writes 0:0 there for a job killed by a signal)."""
    jobs: dict[str, JobInfo] = {}
    batch_exits: dict[str, tuple[int | None, int | None]] = {}
    for line in output.splitlines():
        parts = line.split("|")
        if len(parts) < 10 or not parts[0]:
            continue
        job_id, raw_id, state, exit_code, reason, node_list, start, end, elapsed, limit = parts[:10]
        if "." in job_id:  # a step: only the batch step's exit status matters here
            base, _, step = job_id.partition(".")
            if step == "batch":
                batch_exits[base] = _parse_exit_code(exit_code)
            continue
        array_job, _, task = job_id.partition("_")
        fields = {
            "JobId": raw_id or job_id,
            "JobState": state,
            "ExitCode": exit_code,
            "Reason": reason,
            "NodeList": node_list,
            "StartTime": start,
            "EndTime": end,
        }
        if task:
            fields.update(ArrayJobId=array_job, ArrayTaskId=task.strip("[]"))
        info = job_info_from_fields(fields, "sacct")
        if info is None:
            continue
        info = replace(
            info,
            run_time_seconds=float(elapsed) if elapsed.isdigit() else None,
            time_limit_seconds=float(limit) * 60 if limit.isdigit() else None,
        )
        pending = _pending_tasks(array_job, task) if task.startswith("[") else []
        for key in pending or [info.job_id]:
            owner = info.array_job or (array_job if task else None)
            jobs[key] = replace(info, job_id=key, array_job=owner)
    for key, (code, signal_number) in batch_exits.items():
        info = jobs.get(key)
        if info is not None and not info.signal and not info.exit_code and (code or signal_number):
            jobs[key] = replace(info, exit_code=code, signal=signal_number)
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
