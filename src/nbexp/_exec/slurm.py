"""The Slurm executor: experiments as batch jobs, with the same states, store and log files.

Launching writes the batch script next to the attempt's log (Slurm's `--output`, so the same
renderer reads it) and keeps the job id in the store. Status comes from one `scontrol` call for
every active job at once, at a bounded rate (the client's cache), whenever the service reconciles.
Stopping is Slurm's own cancel (SIGTERM, grace, then scancel).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .._core.errors import SpawnFailed
from .._core.launch import ATTEMPT_ENV, EXPERIMENT_ID_ENV, effective_argv
from .._core.records import ExperimentRecord
from .._core.states import Action, Status, sources
from .._io.proc import is_alive
from .base import ExecContext

if TYPE_CHECKING:
    from .._core.slurm_jobs import JobInfo
    from .slurm_client import SlurmClient

POLL_INTERVAL_ENV = "NBEXP_SLURM_POLL_INTERVAL"
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

        options = (record.options or {}).get("slurm", {})
        env = dict(record.env)
        env.update(
            {
                EXPERIMENT_ID_ENV: str(record.id),
                ATTEMPT_ENV: str(attempt),
                "NBEXP_HOME": str(self.home),
            }
        )
        script = log_path[: -len(".log")] + ".sbatch"
        try:
            write_batch_script(
                script,
                argv=effective_argv(record.command, shell=record.shell, uv=record.uv),
                cwd=record.cwd,
                env=env,
                log_path=log_path,
                job_name=f"nbexp-{record.id}-{record.name}"[:64],
                partition=options.get("partition"),
                time=options.get("time"),
                cpus=options.get("cpus"),
                mem=options.get("mem"),
                gpus=record.gpus if isinstance(record.gpus, int) else None,
            )
            job_id = self.client.submit(script)
        except (SpawnFailed, OSError) as e:
            why = f"failed to start: {e}"
            self.store.finish(record.id, attempt, Status.ERROR, why)
            raise SpawnFailed(f"experiment {record.id} {why}") from None
        self.store.update_attempt(
            record.id, attempt, job_id=job_id, launcher_pid=None, launcher_start=None
        )

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
            if info is None:
                continue
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
            self.store.transition(
                record.id,
                sources(Action.LAUNCH),
                Status.RUNNING,
                why or "running on Slurm",
                where_attempt=record.attempt,
                started=started or time.time(),
            )
        elif status.is_terminal:
            values: dict[str, Any] = {"exit_code": info.exit_code, "signal": info.signal}
            self.store.finish(
                record.id,
                record.attempt,
                status,
                why,
                ended=info.end_time.timestamp() if info.end_time else time.time(),
                started=record.started or started,
                **values,
            )

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
