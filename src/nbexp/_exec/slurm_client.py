"""A small client for Slurm's own commands (sbatch, scontrol, scancel, sacct), no daemon of ours.

It writes batch scripts, submits them, and polls all jobs with one `scontrol show -o job` call
(cached, so many pollers cost one call per interval). Where the cluster keeps accounting, a job's
final state comes from `sacct` (one call for every job that ended since the last poll), and from
`scontrol` or the jobcomp file only while sacct has not recorded it yet. What the commands print
is parsed by the pure `_core.slurm_jobs`; scripts are written by `_core.slurm_script`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .._core.errors import NbexpError, SpawnFailed
from .._core.slurm_jobs import (
    SACCT_FORMAT,
    UNKNOWN_STATE,
    JobInfo,
    is_active_state,
    job_info_from_fields,
    map_job_state,
    one_line_error,
    parse_key_values,
    parse_sacct,
    parse_scontrol_jobs,
)
from .._core.slurm_script import array_script, batch_script

__all__ = [
    "JobInfo",
    "SlurmClient",
    "SlurmCommandMissing",
    "SlurmError",
    "is_active_state",
    "map_job_state",
    "parse_scontrol_jobs",
    "write_array_script",
    "write_batch_script",
]

# How long one Slurm command may take before we give up on the controller for this round.
COMMAND_TIMEOUT_SECONDS = 30.0
DEFAULT_MIN_POLL_INTERVAL = 2.0
# How long an end scontrol reports waits for accounting to record it (see _accounted_ends).
ACCOUNTING_WAIT_S = 10.0
INSTALL_HINT = (
    "install Slurm's client commands (Debian: apt-get install slurm-client) or run on a login node"
)
CONFIG_HINT = "set SLURM_CONF to your cluster's slurm.conf or run on a login node"


class SlurmError(NbexpError):
    """A Slurm command failed for a reason other than refusing a job (controller down, timeout)."""


class SlurmCommandMissing(SpawnFailed):
    """A Slurm command is not on PATH; the message says what to install."""


def write_batch_script(path: str | os.PathLike[str], **fields: Any) -> None:
    """Write `batch_script(**fields)` to `path`, mode 0600 (it can hold secrets passed as
    environment variables)."""
    _write_private(path, batch_script(**fields))


def write_array_script(path: str | os.PathLike[str], tasks: Any, **fields: Any) -> None:
    """Write `array_script(tasks, **fields)` to `path`, mode 0600."""
    _write_private(path, array_script(tasks, **fields))


def _write_private(path: str | os.PathLike[str], text: str) -> None:
    # O_EXCL | O_NOFOLLOW: never write through a file or symlink someone planted there.
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as script:
        script.write(text)


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
        self._unaccounted: dict[str, float] = {}  # ended jobs sacct lacks: since when (clock)
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
        a job missing from the snapshot forces a new one. With accounting, a job that ended is
        read from sacct (one call for all of them). Jobs scontrol has forgotten are looked up in
        sacct or the jobcomp file; failing those they are reported with state UNKNOWN. Array
        tasks are asked for as `ARRAYJOB_TASK`.
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
            # "Job 12_5 not found": a pending array task, cancelled, has no record of its own.
            said = result.stderr + result.stdout
            if "Invalid job id" in said or "not found" in said:
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
        jobs.update(self._accounted_ends(wanted, jobs))
        missing = [job_id for job_id in wanted if job_id not in jobs]
        if missing:
            jobs.update(self._fallback(missing))
        self._snapshot = _Snapshot(taken_at, jobs)
        return self._snapshot

    def _accounted_ends(self, wanted: list[str], jobs: dict[str, JobInfo]) -> dict[str, JobInfo]:
        """The final record of each wanted job that scontrol shows as ended: from sacct when
        the cluster keeps accounting (who cancelled it, the limit it ran into), kept for good.
        A job sacct has not recorded yet (its end takes ~0.1 s to get there, longer on a busy
        slurmdbd) keeps scontrol's record, marked `settling` for up to ACCOUNTING_WAIT_S so
        that callers ask again rather than take an end without its details; after that (a
        slurmdbd that is down) scontrol's record is the end."""
        ended = [j for j in wanted if j in jobs and not jobs[j].is_active]
        finals = {j: self._final[j] for j in ended if j in self._final}
        asked = [j for j in ended if j not in finals]
        if asked and self._has_accounting():
            for job_id, info in self._from_sacct(asked).items():
                if job_id in jobs and not info.is_active:
                    finals[job_id] = self._final[job_id] = _merged(info, jobs[job_id])
                    self._unaccounted.pop(job_id, None)
            now = self._clock()
            for job_id in asked:
                if job_id not in finals:
                    since = self._unaccounted.setdefault(job_id, now)
                    if now - since < ACCOUNTING_WAIT_S:
                        finals[job_id] = replace(jobs[job_id], settling=True)
        return finals

    def _fallback(self, job_ids: list[str]) -> dict[str, JobInfo]:
        found = {j: self._final[j] for j in job_ids if j in self._final}
        remaining = [j for j in job_ids if j not in found]
        # Accounting first where there is some: it also knows array tasks and who cancelled.
        if remaining and self._has_accounting():
            found.update(self._from_sacct(remaining))
            remaining = [j for j in remaining if j not in found]
        if remaining:
            found.update(self._from_jobcomp(remaining))
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
        arrays = tuple(f"ArrayJobId={j.split('_')[0]} " for j in wanted if "_" in j)
        found: dict[str, JobInfo] = {}
        try:
            with open(path, encoding="utf-8", errors="replace") as jobcomp:
                for line in jobcomp:
                    # Cheap pre-filter: most lines belong to other jobs.
                    job_id = line[6 : line.find(" ")] if line.startswith("JobId=") else ""
                    if job_id in wanted or (arrays and any(a in line for a in arrays)):
                        info = job_info_from_fields(parse_key_values(line), "jobcomp")
                        if info is not None and info.job_id in wanted:
                            found[info.job_id] = info
        except OSError:
            return {}
        return found

    def _from_sacct(self, job_ids: list[str]) -> dict[str, JobInfo]:
        result = self._run(["sacct", "-n", "-P", "-j", ",".join(job_ids), "-o", SACCT_FORMAT])
        if result.returncode != 0:
            return {}
        wanted = set(job_ids)
        return {j: info for j, info in parse_sacct(result.stdout).items() if j in wanted}

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

    def suspend(self, job_id: str) -> None:
        """`scontrol suspend`: SIGSTOP to every process of a running job (it keeps its node and
        GPUs). Clusters may allow it to operators only: the refusal is raised as it reads."""
        self._scontrol_job("suspend", job_id)

    def resume(self, job_id: str) -> None:
        """`scontrol resume`: SIGCONT to a suspended job."""
        self._scontrol_job("resume", job_id)

    def _scontrol_job(self, verb: str, job_id: str) -> None:
        result = self._run(["scontrol", verb, str(job_id)])
        if result.returncode != 0:
            raise SlurmError(self._failure(f"scontrol {verb}", result))

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


def _merged(primary: JobInfo, secondary: JobInfo) -> JobInfo:
    """`primary` (sacct's record) with what only `secondary` (scontrol's) says filled in."""
    exit_status: dict[str, Any] = {}
    if not primary.exit_code and not primary.signal:
        exit_status = {"exit_code": secondary.exit_code, "signal": secondary.signal}
    missing = {
        name: getattr(secondary, name)
        for name in ("reason", "node_list", "start_time", "end_time", "time_limit_seconds")
        if getattr(primary, name) is None
    }
    fields = {**secondary.fields, **primary.fields}
    return replace(primary, fields=fields, **missing, **exit_status)


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
