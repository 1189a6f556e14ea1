"""The one claim path: how an experiment gets a new attempt, for every executor and every caller
(start, force start, restart, a scheduling step).

A claim is a compare-and-set from the states the action allows into the executor's claim state
(running for local runs, queued for Slurm) that resets the previous attempt's fields, written with
its history row inside the caller's transaction. The executor is only called after the commit.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see _io/database.py
import os
import time
from pathlib import Path

from .._core.errors import InvalidTransition
from .._core.records import ExperimentRecord
from .._core.states import Action, Status, allowed_actions
from .._io.paths import ensure_private_dir, log_path
from .._io.proc import identity
from .._io.store import Store, new_attempt_fields


def refusal(record: ExperimentRecord, action: Action) -> InvalidTransition:
    """The error for an action the record's state does not allow, naming what is allowed."""
    return InvalidTransition(
        record.id, action.value, record.status.value, allowed_actions(record.status)
    )


def launcher_fields() -> dict[str, object]:
    """This process as the launcher of an attempt: if it dies before the runner (or sbatch)
    takes over, the next look at the store sees the launch was interrupted."""
    pid = os.getpid()
    return {"launcher_pid": pid, "launcher_start": identity(pid)}


def claim(
    store: Store,
    home: Path,
    conn: sqlite3.Connection,
    record_id: int,
    previous_attempt: int,
    *,
    from_statuses: frozenset[Status],
    to_status: Status,
    reason: str,
    gpus: list[int] | None = None,
    only_if_attempt: bool = False,
    **values: object,
) -> tuple[int, str]:
    """Claim attempt `previous_attempt + 1` inside `conn`'s transaction; (attempt, log path).
    `only_if_attempt`: only while the experiment is still at `previous_attempt` (a requeue
    must not claim over a restart someone made meanwhile). `values`: more columns to set.

    Raises InvalidTransition when someone else changed the state first.
    """
    attempt = previous_attempt + 1
    path = log_path(home, store.store_id, record_id, attempt)
    ensure_private_dir(path.parent, home)
    now = time.time()
    stamps = {"started": now} if to_status is Status.RUNNING else {"queued_at": now}
    fields = new_attempt_fields(
        attempt, str(path), assigned_gpus=gpus, **stamps, **launcher_fields(), **values
    )
    where = previous_attempt if only_if_attempt else None
    if not store.transition(
        record_id, from_statuses, to_status, reason, conn, where_attempt=where, **fields
    ):
        raise refusal(store.get(record_id), Action.START)
    return attempt, str(path)
