"""The Slurm executor: experiments as batch jobs, with the same states, store and log files.

Submitting writes the batch script next to the attempt's log (Slurm's `--output`, so the same
renderer reads it) and keeps the job id in the store. Status comes from one `scontrol` call for
every active job at once, at a bounded rate (the client's cache), whenever the manager reconciles.
Stopping is Slurm's own cancel (SIGTERM, grace, then scancel).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._errors import SpawnFailed, UsageError
from ._launch import ATTEMPT_ENV, EXPERIMENT_ID_ENV, effective_argv
from ._paths import ensure_private_dir, log_path
from ._store import new_attempt_fields
from .states import Action, Status, sources

if TYPE_CHECKING:
    from ._manager import ExperimentManager
    from ._records import ExperimentRecord
    from ._slurm import SlurmClient

POLL_INTERVAL_ENV = "NBEXP_SLURM_POLL_INTERVAL"
# A queued row without a job id is being submitted right now; after this long it is lost.
SUBMIT_GRACE_S = 60.0
SLURM_OPTIONS = ("partition", "time", "cpus", "mem")


def slurm_options(values: dict[str, Any], gpus: Any) -> dict[str, Any]:
    """Checked per-experiment Slurm options (stored in the record's options)."""
    if isinstance(gpus, list):
        raise UsageError(
            "on Slurm, ask for a number of GPUs (gpus=2, --gpus 2): Slurm chooses which ones"
        )
    options = {k: v for k, v in values.items() if v is not None}
    if "cpus" in options and (not isinstance(options["cpus"], int) or options["cpus"] < 1):
        raise UsageError(f"cpus must be a positive integer, not {options['cpus']!r}")
    return options


def make_client() -> SlurmClient:
    from ._slurm import SlurmClient

    interval = float(os.environ.get(POLL_INTERVAL_ENV, "2.0"))
    return SlurmClient(min_poll_interval=interval)


def submit(
    manager: ExperimentManager,
    record: ExperimentRecord,
    from_statuses: frozenset[Status],
    reason: str,
) -> None:
    """Claim a new attempt as queued, write its batch script and hand it to sbatch."""
    from ._slurm import write_batch_script

    attempt = record.attempt + 1
    path = log_path(manager.home, record.id, attempt)
    ensure_private_dir(path.parent)
    claimed = manager.store.transition(
        record.id,
        from_statuses,
        Status.QUEUED,
        f"{reason}: submitting to Slurm",
        **new_attempt_fields(attempt, str(path), queued_at=time.time()),
    )
    if not claimed:
        raise manager._refusal(manager.store.get(record.id), Action.START)
    options = (record.options or {}).get("slurm", {})
    env = dict(record.env)
    env.update(
        {
            EXPERIMENT_ID_ENV: str(record.id),
            ATTEMPT_ENV: str(attempt),
            "NBEXP_HOME": str(manager.home),
        }
    )
    script = str(path)[: -len(".log")] + ".sbatch"
    try:
        write_batch_script(
            script,
            argv=effective_argv(record.command, shell=record.shell, uv=record.uv),
            cwd=record.cwd,
            env=env,
            log_path=str(path),
            job_name=f"nbexp-{record.id}-{record.name}"[:64],
            partition=options.get("partition"),
            time=options.get("time"),
            cpus=options.get("cpus"),
            mem=options.get("mem"),
            gpus=record.gpus if isinstance(record.gpus, int) else None,
        )
        job_id = manager.slurm.submit(script)
    except SpawnFailed as e:
        why = f"failed to start: {e}"
        manager.store.transition(
            record.id,
            frozenset({Status.QUEUED}),
            Status.ERROR,
            why,
            where_attempt=attempt,
            error=why,
            ended=time.time(),
        )
        raise SpawnFailed(f"experiment {record.id} {why}") from None
    manager.store.update(record.id, job_id=job_id)


def reconcile(manager: ExperimentManager, records: Iterable[ExperimentRecord]) -> None:
    """Bring queued/running Slurm experiments up to date with one query for all their jobs."""
    active = [r for r in records if r.executor == "slurm" and r.status.is_active]
    if not active:
        return
    pending_submit = [r for r in active if r.job_id is None]
    for record in pending_submit:
        if time.time() - (record.queued_at or record.created) > SUBMIT_GRACE_S:
            why = "lost: the process submitting it to Slurm ended before sbatch answered"
            manager.store.finish(record.id, record.attempt, Status.ERROR, why)
    jobs = [r for r in active if r.job_id is not None]
    if not jobs:
        return
    from ._slurm import SlurmError, map_job_state

    try:
        infos = manager.slurm.query([str(r.job_id) for r in jobs])
    except SlurmError:
        return  # a slow or restarting controller: keep what we know and ask again later
    for record in jobs:
        info = infos.get(str(record.job_id))
        if info is None:
            continue
        status, reason = map_job_state(info, record.stop_requested is not None)
        _apply(manager, record, info, status, reason)


def _apply(
    manager: ExperimentManager,
    record: ExperimentRecord,
    info: Any,
    status: Status,
    why: str | None,
) -> None:
    if status is record.status:
        return
    if status is Status.RUNNING:
        started = info.start_time.timestamp() if info.start_time else time.time()
        manager.store.transition(
            record.id,
            sources(Action.LAUNCH),
            Status.RUNNING,
            why or "running on Slurm",
            where_attempt=record.attempt,
            started=started,
        )
        return
    if status.is_terminal:
        ended = info.end_time.timestamp() if info.end_time else time.time()
        manager.store.finish(
            record.id,
            record.attempt,
            status,
            why,
            ended=ended,
            exit_code=info.exit_code,
            signal=info.signal,
            started=record.started or (info.start_time.timestamp() if info.start_time else None),
        )


def stop(manager: ExperimentManager, record: ExperimentRecord, grace: float) -> None:
    """Cancel the job: at once while it waits, SIGTERM then scancel after `grace` once it runs."""
    with manager.store.write() as conn:
        conn.execute(
            "UPDATE experiments SET stop_requested = ?, stop_grace = ? "
            "WHERE id = ? AND attempt = ?",
            (time.time(), grace, record.id, record.attempt),
        )
    if record.job_id is None:
        why = "stopped by user before Slurm accepted it"
        manager.store.finish(
            record.id, record.attempt, Status.INTERRUPTED, why, error="stopped by user"
        )
        return
    manager.slurm.cancel(str(record.job_id), grace=grace)
