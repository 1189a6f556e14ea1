"""A small client for Slurm's own commands (sbatch, scontrol, scancel, sacct), no daemon of ours.

It writes batch scripts, submits them, polls all jobs with one `scontrol show -o job` call (cached,
so many pollers cost one call per interval) and maps Slurm's job states onto nbexp's `Status`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal as _signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from nbexp._errors import NbexpError, SpawnFailed, UsageError
from nbexp.states import Status

__all__ = [
    "JobInfo",
    "SlurmClient",
    "SlurmCommandMissing",
    "SlurmError",
    "is_active_state",
    "map_job_state",
    "parse_scontrol_jobs",
    "write_batch_script",
]

# How long one Slurm command may take before we give up on the controller for this round.
COMMAND_TIMEOUT_SECONDS = 30.0
DEFAULT_MIN_POLL_INTERVAL = 2.0

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

INSTALL_HINT = (
    "install Slurm's client commands (Debian: apt-get install slurm-client) or run on a login node"
)
CONFIG_HINT = "set SLURM_CONF to your cluster's slurm.conf or run on a login node"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A field boundary in `scontrol -o` output: a space followed by `Key=`. Values may hold spaces
# (WorkDir, Command), so splitting on every space would cut them apart.
_FIELD_BOUNDARY = re.compile(r" (?=[A-Za-z][A-Za-z0-9_/:.\-]*=)")
_ABSENT = frozenset({"", "(null)", "None", "Unknown", "N/A"})


class SlurmError(NbexpError):
    """A Slurm command failed for a reason other than refusing a job (controller down, timeout)."""


class SlurmCommandMissing(SpawnFailed):
    """A Slurm command is not on PATH; the message says what to install."""


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
        return f"killed by {_signal_name(info.signal)}"
    if info.reason and info.reason != "NonZeroExitCode":
        return f"failed ({info.reason})"
    return "failed (Slurm gave no reason)"


def _signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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


def write_batch_script(
    path: str | os.PathLike[str],
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
) -> None:
    """Write a bash batch script that runs `argv` in `cwd` with `env` added.

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
    # 0600: the script can hold secrets passed as environment variables.
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as script:
        script.write("\n".join(lines))


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


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------

Runner = Callable[[list[str], Mapping[str, str]], "subprocess.CompletedProcess[str]"]


def _run_command(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=dict(env),
        check=False,
        timeout=COMMAND_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class _Snapshot:
    taken_at: float
    jobs: dict[str, JobInfo]


class SlurmClient:
    """Talks to one Slurm cluster through its commands.

    `env` replaces the environment the commands see (tests pass SLURM_CONF); by default they
    inherit this process's. `min_poll_interval` bounds how often `query` calls scontrol, however
    many threads poll. `runner` is for tests that fake the commands.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        min_poll_interval: float = DEFAULT_MIN_POLL_INTERVAL,
        jobcomp_path: str | None = None,
        runner: Runner | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.env: dict[str, str] = dict(os.environ if env is None else env)
        self.min_poll_interval = min_poll_interval
        self._runner = runner or _run_command
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        # Final states found outside scontrol never change again; keep them.
        self._final: dict[str, JobInfo] = {}
        self._config: dict[str, str] | None = None
        self._jobcomp_path = jobcomp_path
        self.calls = 0  # Slurm commands run, for tests and benchmarks

    # Running commands --------------------------------------------------------------------------
    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        program = argv[0]
        resolved = shutil.which(program, path=self.env.get("PATH", os.defpath))
        if resolved is None:
            raise SlurmCommandMissing(f"{program} not found: {INSTALL_HINT}")
        conf = self.env.get("SLURM_CONF")
        if conf and not os.path.exists(conf):
            # Slurm's commands would retry for 60 s before saying so.
            raise SlurmCommandMissing(f"SLURM_CONF={conf} does not exist: {CONFIG_HINT}")
        self.calls += 1
        try:
            return self._runner([resolved, *argv[1:]], self.env)
        except subprocess.TimeoutExpired as exc:
            raise SlurmError(
                f"{program} did not answer within {COMMAND_TIMEOUT_SECONDS:.0f} s; "
                "is slurmctld overloaded or down?"
            ) from exc
        except OSError as exc:
            raise SlurmCommandMissing(f"{program} could not run ({exc}): {INSTALL_HINT}") from exc

    def _failure(self, program: str, result: subprocess.CompletedProcess[str]) -> str:
        message = one_line_error(result.stderr, result.stdout)
        return f"{program} failed: {message}{_config_hint(result.stderr)}"

    # Submit --------------------------------------------------------------------------------------
    def submit(self, script_path: str | os.PathLike[str]) -> str:
        """Submit a script; returns the job id. Refusals raise SpawnFailed in Slurm's words."""
        result = self._run(["sbatch", "--parsable", os.fspath(script_path)])
        if result.returncode != 0:
            if _config_hint(result.stderr):
                raise SpawnFailed(self._failure("sbatch", result))  # no cluster, not a refusal
            raise SpawnFailed(
                f"Slurm refused the job: {one_line_error(result.stderr, result.stdout)}"
            )
        # --parsable prints "jobid" or "jobid;cluster"; warnings may precede it on stdout.
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        job_id = lines[-1].split(";")[0].strip() if lines else ""
        if not re.fullmatch(r"\d+(_\d+)?", job_id):
            raise SpawnFailed(f"sbatch printed no job id: {result.stdout.strip()!r}")
        return job_id

    # Query ---------------------------------------------------------------------------------------
    def query(self, job_ids: Iterable[str], *, max_age: float | None = None) -> dict[str, JobInfo]:
        """The state of every job in `job_ids`, from one scontrol call shared by all callers.

        Answers come from a snapshot at most `max_age` seconds old (default: min_poll_interval);
        a job missing from the snapshot forces a new one. Jobs scontrol has forgotten are looked
        up in the jobcomp file or sacct; failing those they are reported with state UNKNOWN.
        """
        wanted = [str(job_id) for job_id in job_ids]
        limit = self.min_poll_interval if max_age is None else max_age
        with self._lock:
            snapshot = self._snapshot
            fresh = snapshot is not None and self._clock() - snapshot.taken_at < limit
            if not (fresh and snapshot is not None and all(j in snapshot.jobs for j in wanted)):
                snapshot = self._refresh(wanted)
            return {job_id: snapshot.jobs[job_id] for job_id in wanted}

    def query_one(self, job_id: str) -> JobInfo:
        """One job, fresh from scontrol (no cache): cheap on a big cluster, for stop loops."""
        result = self._run(["scontrol", "show", "-o", "job", str(job_id)])
        if result.returncode != 0:
            if "Invalid job id" in result.stderr:
                return self._fallback([str(job_id)])[str(job_id)]
            raise SlurmError(self._failure("scontrol", result))
        info = parse_scontrol_jobs(result.stdout).get(str(job_id))
        return info if info is not None else self._fallback([str(job_id)])[str(job_id)]

    def _refresh(self, wanted: list[str]) -> _Snapshot:
        taken_at = self._clock()
        result = self._run(["scontrol", "show", "-o", "job"])
        if result.returncode != 0:
            # "No jobs in the system" is an answer, not a failure.
            if "No jobs" not in result.stdout + result.stderr:
                raise SlurmError(self._failure("scontrol", result))
            jobs: dict[str, JobInfo] = {}
        else:
            jobs = parse_scontrol_jobs(result.stdout)
        missing = [job_id for job_id in wanted if job_id not in jobs]
        if missing:
            jobs.update(self._fallback(missing))
        self._snapshot = _Snapshot(taken_at, jobs)
        return self._snapshot

    def _fallback(self, job_ids: list[str]) -> dict[str, JobInfo]:
        found = {j: self._final[j] for j in job_ids if j in self._final}
        remaining = [j for j in job_ids if j not in found]
        if remaining:
            found.update(self._from_jobcomp(remaining))
            remaining = [j for j in remaining if j not in found]
        if remaining and self._has_accounting():
            found.update(self._from_sacct(remaining))
            remaining = [j for j in remaining if j not in found]
        for job_id, info in found.items():
            if not info.is_active:
                self._final[job_id] = info
        for job_id in remaining:
            found[job_id] = JobInfo(job_id=job_id, state=UNKNOWN_STATE, source="none")
        return found

    def _from_jobcomp(self, job_ids: list[str]) -> dict[str, JobInfo]:
        path = self.jobcomp_path()
        if path is None:
            return {}
        wanted = set(job_ids)
        found: dict[str, JobInfo] = {}
        try:
            with open(path, encoding="utf-8", errors="replace") as jobcomp:
                for line in jobcomp:
                    # Cheap pre-filter: most lines belong to other jobs.
                    job_id = line[6 : line.find(" ")] if line.startswith("JobId=") else ""
                    if job_id in wanted:
                        info = job_info_from_fields(parse_key_values(line), "jobcomp")
                        if info is not None:
                            found[job_id] = info
        except OSError:
            return {}
        return found

    def _from_sacct(self, job_ids: list[str]) -> dict[str, JobInfo]:
        result = self._run(
            [
                "sacct",
                "-n",
                "-P",
                "-X",
                "-j",
                ",".join(job_ids),
                "-o",
                "JobIDRaw,State,ExitCode,Reason,NodeList,Start,End,ElapsedRaw",
            ]
        )
        if result.returncode != 0:
            return {}
        return parse_sacct(result.stdout)

    # Configuration -------------------------------------------------------------------------------
    def config(self) -> dict[str, str]:
        """`scontrol show config` as a dict, read once per client."""
        if self._config is None:
            result = self._run(["scontrol", "show", "config"])
            if result.returncode != 0:
                raise SlurmError(self._failure("scontrol", result))
            config: dict[str, str] = {}
            for line in result.stdout.splitlines():
                key, sep, value = line.partition(" = ")
                if sep:
                    config[key.strip()] = value.strip()
            self._config = config
        return self._config

    def jobcomp_path(self) -> str | None:
        if self._jobcomp_path is None:
            try:
                config = self.config()
            except SlurmError:
                return None
            if config.get("JobCompType") == "jobcomp/filetxt":
                self._jobcomp_path = config.get("JobCompLoc") or ""
            else:
                self._jobcomp_path = ""
        return self._jobcomp_path or None

    def _has_accounting(self) -> bool:
        try:
            storage = self.config().get("AccountingStorageType", "")
        except SlurmError:
            return False
        return storage not in ("", "accounting_storage/none", "(null)")

    # Stop ----------------------------------------------------------------------------------------
    def scancel(self, job_id: str) -> bool:
        """Cancel the job outright: a pending job leaves at once; a running one gets SIGTERM and,
        after the cluster's KillWait, SIGKILL. False when Slurm no longer knows the job."""
        return self._scancel([str(job_id)])

    def signal(self, job_id: str, signal_name: str = "TERM") -> bool:
        """Send a signal to every process of a running job (batch script included).

        Unlike a plain scancel this keeps the job alive, so the command can end by itself and
        its exit status is kept. Slurm turns KILL into a cancel (SIGTERM, then SIGKILL after its
        KillWait), so there is no faster hard kill to ask for. False when the job is not running.
        """
        return self._scancel([f"--signal={signal_name}", "--full", str(job_id)])

    def _scancel(self, args: list[str]) -> bool:
        result = self._run(["scancel", *args])
        if result.returncode == 0:
            return True
        message = one_line_error(result.stderr, result.stdout)
        if any(text in message for text in _GONE_MESSAGES):
            return False
        raise SlurmError(f"scancel failed: {message}")

    def cancel(self, job_id: str, *, grace: float, poll_interval: float = 0.1) -> JobInfo:
        """Stop a job the way nbexp stops a process: SIGTERM, wait `grace` seconds, then end it.

        A pending job is cancelled at once. A running one gets SIGTERM (`signal`); if it is
        still running after `grace`, `scancel` ends it and Slurm sends SIGKILL to what is left
        after the cluster's KillWait (30 s unless configured). Blocks up to `grace` seconds and
        returns the job as last seen, often COMPLETING. Callers that must not block can call
        `signal(job_id, "TERM")` and, later, `scancel(job_id)` themselves.
        """
        info = self.query_one(job_id)
        if info.is_pending:
            self.scancel(job_id)
            return self.query_one(job_id)
        if not info.is_active:
            return info
        self.signal(job_id, "TERM")
        deadline = self._clock() + grace
        while self._clock() < deadline:
            time.sleep(poll_interval)
            info = self.query_one(job_id)
            if not info.is_active or info.state == "COMPLETING":
                return info
        # Not "--signal=KILL --batch": that kills only the batch process, and with proctrack
        # other than cgroup its children would outlive the job. Slurm's own cancel kills them all.
        self.scancel(job_id)
        return self.query_one(job_id)


_GONE_MESSAGES = (
    "Invalid job id",
    "already completing or completed",
    "Job/step already completing",
    "can not be altered now",
)


_NO_CLUSTER_MESSAGES = (
    "configuration source",
    "Unable to process configuration file",
    "Unable to contact slurm controller",
)


def _config_hint(stderr: str) -> str:
    """A hint to add when the command found no cluster (no slurm.conf, controller unreachable)."""
    if any(text in stderr for text in _NO_CLUSTER_MESSAGES):
        return f" ({CONFIG_HINT})"
    return ""
