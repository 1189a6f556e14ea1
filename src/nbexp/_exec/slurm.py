"""The Slurm executor: experiments as batch jobs, with the same states, store and log files.

Launching writes the batch script next to the attempt's log (Slurm's `--output`, so the same
renderer reads it) and keeps the job id in the store. Status comes from one `scontrol` call for
every active job at once, at a bounded rate (the client's cache), whenever the service reconciles.
Stopping is Slurm's own cancel (SIGTERM, grace, then scancel).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .._core.errors import SpawnFailed, UsageError
from .._core.failures import Ending, Failure, clean_tail
from .._core.launch import ATTEMPT_ENV, EXPERIMENT_ID_ENV, effective_argv
from .._core.records import ExperimentRecord
from .._core.slurm_script import Task, slurm_signal
from .._core.states import Action, Status, sources
from .._core.telemetry import DEFAULT_INTERVAL_S, telemetry_path
from .._io.proc import is_alive
from .._io.spawn import python_entry
from .base import ExecContext
from .ending import after_end, plan_after_end, read_tail, record_end

if TYPE_CHECKING:
    from .._core.slurm_jobs import JobInfo
    from .slurm_client import SlurmClient

POLL_INTERVAL_ENV = "NBEXP_SLURM_POLL_INTERVAL"
TELEMETRY_ENV = "NBEXP_SLURM_TELEMETRY"  # "0": no GPU telemetry sidecar in GPU jobs
TELEMETRY_INTERVAL_ENV = "NBEXP_SLURM_TELEMETRY_INTERVAL"  # seconds between its readings
# A queued row without a job id is being submitted right now; after this long it is lost.
SUBMIT_GRACE_S = 60.0


class SlurmExecutor:
    """Batch jobs on the Slurm cluster whose commands (sbatch, scontrol…) are on PATH."""

    name: ClassVar[str] = "slurm"
    claim_status: ClassVar[Status] = Status.QUEUED  # Slurm's own queue decides when it runs

    def __init__(self, context: ExecContext, client: SlurmClient | None = None) -> None:
        self.home = context.home
        self.store = context.store
        self._client = client

    @property
    def client(self) -> SlurmClient:
        """The Slurm client (created on first use; SLURM_CONF etc. from the environment)."""
        if self._client is None:
            from .slurm_client import SlurmClient

            interval = float(os.environ.get(POLL_INTERVAL_ENV, "2.0"))
            self._client = SlurmClient(min_poll_interval=interval)
        return self._client

    def problem(self, record: ExperimentRecord, attempt: int) -> str | None:
        return None  # the command runs on a node: only sbatch can tell

    def launch(self, record: ExperimentRecord, attempt: int, log_path: str) -> None:
        """Write the attempt's batch script and hand it to sbatch."""
        from .slurm_client import write_batch_script

        script = log_path[: -len(".log")] + ".sbatch"
        try:
            task = self.task(record, attempt, log_path)
            write_batch_script(
                script,
                argv=task.argv,
                cwd=task.cwd,
                env=task.env,
                log_path=log_path,
                job_name=f"nbexp-{record.id}-{record.name}"[:64],
                sidecar=task.sidecar,
                sidecar_log=task.sidecar_log,
                begin=_begin(record.not_before),
                **job_options(record),
            )
            job_id = self.client.submit(script)
        except (SpawnFailed, UsageError, OSError) as e:
            why = f"failed to start: {e}"
            self.store.finish(record.id, attempt, Status.ERROR, why)
            raise SpawnFailed(f"experiment {record.id} {why}") from None
        self.store.update_attempt(
            record.id,
            attempt,
            job_id=job_id,
            array_job=None,
            launcher_pid=None,
            launcher_start=None,
        )

    def launch_array(
        self,
        records: Sequence[ExperimentRecord],
        attempts: Sequence[int],
        log_paths: Sequence[str],
        max_parallel: int | None = None,
    ) -> str:
        """Submit claimed attempts (all queued) as ONE job array, `--array=0-(N-1)%K`: task i
        runs records[i]'s command and writes its log; each member's job id is `ARRAY_i`.
        The array's id; SpawnFailed (each member recorded as an error) if Slurm refuses."""
        from .slurm_client import write_array_script

        try:
            options = array_options(records)
            folder = self._array_folder(records[0])
            # Slurm names each task's output after the pattern's %a: a link to the member's
            # attempt log makes it write there, Slurm's own messages included.
            for index, path in enumerate(log_paths):
                os.symlink(path, folder / f"task-{index}.log")
            members = zip(records, attempts, log_paths, strict=True)
            tasks = [self.task(*member) for member in members]
            script = folder / "array.sbatch"
            write_array_script(
                script,
                tasks,
                output_pattern=str(folder / "task-%a.log"),
                job_name=f"nbexp-{records[0].group_name or records[0].name}"[:64],
                max_parallel=max_parallel,
                **options,
            )
            array_id = self.client.submit(script)
        except (SpawnFailed, UsageError, OSError) as e:
            why = f"failed to start: {e}"
            for record, attempt in zip(records, attempts, strict=True):
                self.store.finish(record.id, attempt, Status.ERROR, why)
            raise SpawnFailed(f"the job array of experiments {records[0].id}… {why}") from None
        with self.store.write() as conn:
            for index, record in enumerate(records):
                self.store.update(
                    record.id,
                    conn,
                    job_id=f"{array_id}_{index}",
                    array_job=array_id,
                    launcher_pid=None,
                    launcher_start=None,
                )
        self._cancel_stopped_tasks(records, attempts, array_id)
        return array_id

    def _array_folder(self, first: ExperimentRecord) -> Path:
        """A new folder for one array's script and task links, beside the experiments' logs."""
        import secrets

        from .._io.paths import ensure_private_dir, logs_root

        name = f"{first.id}-{first.attempt + 1}-{secrets.token_hex(4)}"
        folder = logs_root(self.home, self.store.store_id) / "slurm-arrays" / name
        ensure_private_dir(folder, self.home)
        return folder

    def _cancel_stopped_tasks(
        self, records: Sequence[ExperimentRecord], attempts: Sequence[int], array_id: str
    ) -> None:
        """A member stopped while sbatch ran is interrupted already: its task must not run."""
        for index, (record, attempt) in enumerate(zip(records, attempts, strict=True)):
            now = self.store.get(record.id)
            if now.attempt == attempt and now.status.is_terminal:
                self.client.scancel(f"{array_id}_{index}")

    def task(self, record: ExperimentRecord, attempt: int, log_path: str) -> Task:
        """What the job (or its array task) runs for this attempt: the command, its folder and
        variables, and the GPU telemetry sidecar when it asks for GPUs."""
        env = dict(record.env)
        env.update(
            {
                EXPERIMENT_ID_ENV: str(record.id),
                ATTEMPT_ENV: str(attempt),
                "NBEXP_HOME": str(self.home),
            }
        )
        argv = effective_argv(record.command, shell=record.shell, uv=record.uv)
        if not record.gpus or os.environ.get(TELEMETRY_ENV, "1") == "0":
            return Task(argv, record.cwd, env)
        interval = os.environ.get(TELEMETRY_INTERVAL_ENV, str(DEFAULT_INTERVAL_S))
        # The interpreter that runs nbexp here runs the sidecar there: the shared filesystem
        # that holds NBEXP_HOME usually holds the environment too. If it cannot start, the job
        # runs all the same; only its GPU readings are missing (its log says why).
        sidecar = [
            sys.executable,
            *python_entry("nbexp._exec.telemetry"),
            "--out",
            telemetry_path(log_path),
            "--interval",
            interval,
        ]
        return Task(argv, record.cwd, env, sidecar, log_path[: -len(".log")] + ".gpu.log")

    def reconcile(self, active: Sequence[ExperimentRecord]) -> None:
        """Bring queued/running Slurm experiments up to date with one query for all their jobs."""
        mine = [r for r in active if r.executor == self.name and r.status.is_active]
        if not mine:
            return
        for record in mine:
            if record.job_id is None and not self._submitting(record):
                why = (
                    f"launch interrupted: the process submitting it to Slurm (pid "
                    f"{record.launcher_pid}) ended before sbatch answered"
                )
                self.store.finish(record.id, record.attempt, Status.ERROR, why)
        jobs = [r for r in mine if r.job_id is not None]
        if not jobs:
            return
        from .._core.slurm_jobs import map_job_state
        from .slurm_client import SlurmError

        try:
            infos = self.client.query([str(r.job_id) for r in jobs])
        except SlurmError:
            return  # a slow or restarting controller: keep what we know and ask again later
        for record in jobs:
            info = infos.get(str(record.job_id))
            if info is None or info.settling:
                continue  # unknown; or ended, with accounting's details still to come
            status, reason = map_job_state(info, record.stop_requested is not None)
            self._apply(record, info, status, reason)

    def _submitting(self, record: ExperimentRecord) -> bool:
        """Whether the process that claimed this attempt may still be handing it to sbatch."""
        if record.launcher_pid is None:  # a row from nbexp 0.1: the old grace period
            return time.time() - (record.queued_at or record.created) <= SUBMIT_GRACE_S
        return is_alive(record.launcher_pid, record.launcher_start)

    def _apply(
        self, record: ExperimentRecord, info: JobInfo, status: Status, why: str | None
    ) -> None:
        if status is record.status:
            return
        started = info.start_time.timestamp() if info.start_time else None
        if status is Status.RUNNING:
            where = f" on {info.node_list}" if info.node_list else ""
            self.store.transition(
                record.id,
                sources(Action.LAUNCH),
                Status.RUNNING,
                why or f"running on Slurm{where}",
                where_attempt=record.attempt,
                started=started or time.time(),
                node=info.node_list,
            )
        elif status.is_terminal:
            values: dict[str, Any] = {"exit_code": info.exit_code, "signal": info.signal}
            if info.node_list and not record.node:
                values["node"] = info.node_list
            failure = slurm_failure(record, info, status)
            row = self.store.get_row(record.id)
            plan = plan_after_end(self.store, row)
            done, _ = record_end(
                self.store,
                row,
                status,
                why,
                failure=failure,
                ending=Ending(info.exit_code, info.signal, stopped=status is Status.INTERRUPTED),
                ended=info.end_time.timestamp() if info.end_time else time.time(),
                started=record.started or started,
                **values,
            )
            if done:  # its on_end hook, from whichever process saw the end first
                row.update(values, error=why)
                after_end(plan, str(self.home), row, status, failure, None)

    def stop(self, record: ExperimentRecord, grace: float) -> None:
        """Cancel the job: at once while it waits; once it runs, SIGTERM, then scancel after
        `grace` seconds."""
        if record.job_id is None:
            why = "stopped by user before Slurm accepted it"
            self.store.finish(
                record.id, record.attempt, Status.INTERRUPTED, why, error="stopped by user"
            )
            return
        self.client.cancel(str(record.job_id), grace=grace)

    def pause(self, record: ExperimentRecord) -> None:
        """`scontrol suspend`: Slurm stops every process of the job; its allocation stays."""
        self._suspend_or_resume(record, "suspend")

    def resume(self, record: ExperimentRecord) -> None:
        self._suspend_or_resume(record, "resume")

    def _suspend_or_resume(self, record: ExperimentRecord, verb: str) -> None:
        from .slurm_client import SlurmError

        if record.job_id is None:
            raise SpawnFailed(f"experiment {record.id} has no Slurm job to {verb} yet")
        try:
            getattr(self.client, verb)(str(record.job_id))
        except SlurmError as e:
            raise SpawnFailed(f"cannot {verb} experiment {record.id}: {e}") from None

    def sweep(self, record: ExperimentRecord) -> int:
        return 0  # an ended job's processes are Slurm's to clean up

    def readable_log(self, record: ExperimentRecord, path: str) -> str | None:
        return None  # the log lives on the cluster's shared filesystem, not in a local process


def slurm_failure(record: ExperimentRecord, info: JobInfo, status: Status) -> Failure | None:
    """The failure of an ended job: Slurm's own verdict (time limit, out of memory, node
    failure, preemption) where it gave one, else what the log's tail says."""
    if status is not Status.ERROR:
        return None
    from .._core.slurm_jobs import job_failure

    lines = clean_tail(read_tail(record.log_path))
    return job_failure(info, lines, time_limit=record.timeout)


def job_options(record: ExperimentRecord) -> dict[str, Any]:
    """The sbatch options of an experiment's jobs: its Slurm options (partition, time, cpus,
    mem), its GPU count, and its early signal before the time limit (`--signal=B:USR1@90`)."""
    from .._core.durations import parse_timeout_signal

    options = (record.options or {}).get("slurm", {})
    early = parse_timeout_signal(record.timeout_signal) if record.timeout_signal else None
    return {
        "partition": options.get("partition"),
        "time": options.get("time"),
        "cpus": options.get("cpus"),
        "mem": options.get("mem"),
        "gpus": record.gpus if isinstance(record.gpus, int) else None,
        "signal": slurm_signal(early),
    }


def array_options(records: Sequence[ExperimentRecord]) -> dict[str, Any]:
    """The sbatch options the members of one array share; UsageError when they differ (an
    array has one partition, time limit, CPU, memory and GPU request for all its tasks)."""
    if not records:
        raise UsageError("a job array needs at least one experiment")
    first = job_options(records[0])
    for record in records[1:]:
        other = job_options(record)
        if other != first:
            differs = ", ".join(k for k in first if first[k] != other[k])
            raise UsageError(
                f"the runs of one Slurm sweep share one job array, so they need the same "
                f"Slurm options; experiment {record.id} differs in {differs}"
            )
    return first


def _begin(not_before: float | None) -> str | None:
    """sbatch --begin for a requeue that waits (retry_delay): Slurm holds it until then."""
    if not_before is None:
        return None
    wait = int(not_before - time.time())
    return f"now+{wait}" if wait > 0 else None
