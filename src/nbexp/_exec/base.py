"""The executor interface: how one engine starts, stops and probes attempts.

The service owns every status decision that executors share: it claims a new attempt with one
compare-and-set (into `claim_status`), records stop requests, and only then calls the executor.
An executor gets an `ExecContext` (the home and its store) and records, never the manager, so a
new engine (Ray Jobs, Kubernetes…) is one new module implementing `Executor`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from .._core.records import ExperimentRecord
from .._core.states import Status
from .._io.store import Store


@dataclass(frozen=True)
class ExecContext:
    """All an executor may use: the nbexp home folder and its store."""

    home: Path
    store: Store


class Executor(Protocol):
    """One engine. Methods may raise nbexp's own errors (SpawnFailed, StoreError); the service
    turns nothing else into a user-facing message."""

    name: ClassVar[str]
    # The state a claimed attempt starts in: RUNNING where nbexp's scheduler decided it may run
    # now (local), QUEUED where the engine has its own queue (Slurm).
    claim_status: ClassVar[Status]

    def problem(self, record: ExperimentRecord, attempt: int) -> str | None:
        """Why this attempt cannot possibly start (checked before claiming), or None."""
        ...

    def launch(self, record: ExperimentRecord, attempt: int, log_path: str) -> None:
        """Start an attempt already claimed in the store. On failure, record the attempt as
        an error and raise SpawnFailed."""
        ...

    def stop(self, record: ExperimentRecord, grace: float) -> None:
        """End the attempt's whole process tree (SIGTERM, `grace` seconds, SIGKILL). The stop
        request is already in the store."""
        ...

    def pause(self, record: ExperimentRecord) -> None:
        """Stop the attempt's whole process tree where it is (the store says paused
        already); its resources stay held."""
        ...

    def resume(self, record: ExperimentRecord) -> None:
        """Let a paused attempt's tree run again (the store says running already)."""
        ...

    def sweep(self, record: ExperimentRecord) -> int:
        """End the processes an ended attempt left running (its runner was killed); how many."""
        ...

    def reconcile(self, active: Sequence[ExperimentRecord]) -> None:
        """Bring this engine's queued and running experiments up to date with reality (ended,
        lost, started). `active` may hold other engines' records: skip them."""
        ...

    def readable_log(self, record: ExperimentRecord, path: str) -> str | None:
        """Where a running attempt's deleted log can still be read, or None."""
        ...
