"""Slurm's requeue, done by nbexp: an attempt that ended in an ending its `requeue_on` names
(timeout, preempted, node-fail) is submitted again as a new attempt — a new single job with its
own log — up to `retries` times.

No process has to be there at the moment the job ends: the ended row itself (error, that failure
kind, retries left) says a requeue is due, so whichever nbexp process looks next (a monitor
tick, a CLI call, a `wait`) submits it, and a process killed between the end and the
resubmission loses nothing. The claim is a compare-and-set on that very attempt, so two
processes never both resubmit, and a restart made meanwhile by a user wins.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from .._core.errors import InvalidTransition, NbexpError
from .._core.records import ExperimentRecord
from .._core.states import Status
from .._exec.base import Executor
from .._io.store import Store
from .claims import claim


def requeue_due(record: ExperimentRecord) -> bool:
    """Whether this ended Slurm attempt earns a resubmission."""
    return (
        record.executor == "slurm"
        and record.status is Status.ERROR
        and bool(record.requeue_on)
        and record.failure_kind in (record.requeue_on or ())
        and record.retried < record.retries
    )


class Requeue:
    """Resubmits the Slurm attempts whose ending their requeue_on names."""

    def __init__(self, home: Path, store: Store, executors: Mapping[str, Executor]) -> None:
        self.home = home
        self.store = store
        self.executors = executors

    def step(self, records: Iterable[ExperimentRecord] | None = None) -> list[int]:
        """Requeue every attempt that earned it (among `records`, default: the store's
        errors); the ids resubmitted. A refusal by Slurm ends that attempt as an error."""
        candidates = self.store.list([Status.ERROR]) if records is None else records
        done = []
        for record in candidates:
            if requeue_due(record) and self.requeue(record):
                done.append(record.id)
        return done

    def requeue(self, record: ExperimentRecord) -> bool:
        """Claim the next attempt (queued) and submit it; False if another process (or a
        user's restart) came first."""
        number = record.retried + 1
        reason = f"requeued after {record.failure_kind} ({number}/{record.retries})"
        not_before = (record.ended or time.time()) + record.retry_delay
        try:
            with self.store.write() as conn:
                attempt, path = claim(
                    self.store,
                    self.home,
                    conn,
                    record.id,
                    record.attempt,
                    from_statuses=frozenset({Status.ERROR}),
                    to_status=Status.QUEUED,
                    reason=reason,
                    only_if_attempt=True,
                    retried=number,
                    not_before=not_before if record.retry_delay > 0 else None,
                    waiting_for=reason,
                )
        except InvalidTransition:
            return False
        try:
            self.executors[record.executor].launch(self.store.get(record.id), attempt, path)
        except NbexpError:
            pass  # recorded by the executor as "failed to start: …" (no failure kind: no loop)
        return True
