"""The public handle on a group of experiments (a sweep is one): `mgr.sweep(...)`,
`mgr.group("ablation")`. Thin, like `Experiment`: every attribute reads the store afresh and the
work is done by the home's service (`_service/groups.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ._core.errors import NbexpError
from ._core.records import ExperimentRecord
from ._core.states import Status
from ._core.validate import check_flag, check_seconds, parse_status
from ._io.store import Store
from ._service.core import Service
from ._service.groups import Groups

# Handles on experiments (`nbexp.Experiment`; named loosely here: _manager imports this module).
Experiment = Any


class Manager(Protocol):
    """What a Group needs of its ExperimentManager."""

    service: Service
    store: Store
    home: Path
    stop_grace: float

    def get(self, experiment_id: int) -> Experiment: ...

    def compare(
        self,
        ids: Sequence[int] | None = None,
        *,
        group: str | None = None,
        status: Any = None,
        directions: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]: ...


class Group:
    """A named group of experiments: its members, their counts by status, and the verbs on all
    of them at once. `max_parallel` (settable) caps how many run at a time."""

    def __init__(self, manager: Manager, name: str) -> None:
        self.manager = manager
        self.name = name

    @property
    def _groups(self) -> Groups:
        return self.manager.service.groups

    # -- reading ------------------------------------------------------------------------------

    def records(self, status: Status | str | None = None) -> list[ExperimentRecord]:
        """Snapshots of the members (in that status), oldest first."""
        statuses = [parse_status(status)] if status is not None else None
        self.manager.service.reconcile()
        return self._groups.members(self.name, statuses)

    @property
    def experiments(self) -> list[Experiment]:
        """The members, oldest first."""
        return [self.manager.get(r.id) for r in self.records()]

    @property
    def ids(self) -> list[int]:
        return [r.id for r in self.records()]

    @property
    def counts(self) -> dict[str, int]:
        """How many members are in each state, e.g. {"running": 2, "queued": 6}."""
        counts: dict[str, int] = {}
        for record in self.records():
            counts[record.status.value] = counts.get(record.status.value, 0) + 1
        return counts

    @property
    def params(self) -> list[dict[str, Any]]:
        """Each member's parameters (a sweep's), oldest first; {} for a member without."""
        return [dict(r.params or {}) for r in self.records()]

    @property
    def max_parallel(self) -> int | None:
        """At most this many members run at once (None: no limit of the group's own)."""
        value = self.manager.store.groups().get(self.name, {}).get("max_parallel")
        return int(value) if value is not None else None

    @max_parallel.setter
    def max_parallel(self, value: int | None) -> None:
        self._groups.set_max_parallel(self.name, value)

    @property
    def paused(self) -> bool:
        """Whether its queue is paused (queued members wait; running ones go on)."""
        return bool(self.manager.store.groups().get(self.name, {}).get("paused"))

    # -- verbs --------------------------------------------------------------------------------

    def stop(self, grace: float | None = None, *, wait: bool = True) -> list[Experiment]:
        """Take the queued members out of the queue and stop the running ones (SIGTERM, grace,
        SIGKILL); the members acted on."""
        checked = check_seconds(grace, "the grace period")
        grace = self.manager.stop_grace if checked is None else checked
        ids = self._groups.stop(self.name, grace)
        if check_flag(wait, "wait"):
            for experiment_id in ids:
                self.manager.service.wait_until_ended(experiment_id, timeout=grace + 15.0)
        return [self.manager.get(i) for i in ids]

    def restart(self, failed_only: bool = True) -> list[Experiment]:
        """Run the members that failed again (failed_only=False: every ended member), through
        the queue so that the group's limit holds; the members restarted."""
        ids = self._groups.restart(self.name, failed_only=check_flag(failed_only, "failed_only"))
        return [self.manager.get(i) for i in ids]

    def remove(self, delete_logs: bool = True) -> list[int]:
        """Forget every member and the group's settings (refused while a member runs); the ids
        removed."""
        return self._groups.remove(self.name, delete_logs=check_flag(delete_logs, "delete_logs"))

    def wait(self, timeout: float | None = None) -> Group:
        """Block until no member is queued or running."""
        self._groups.wait(self.name, timeout=timeout)
        return self

    def pause(self) -> Group:
        """Hold the group's queue: queued members wait until resume(); running ones go on."""
        self._groups.pause(self.name)
        return self

    def resume(self) -> Group:
        self._groups.resume(self.name)
        return self

    def compare(
        self, *, status: Any = None, directions: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The members side by side, one row each: id, name, status, params, and per metric
        its last, min, max and best value (`ExperimentManager.compare(group=…)`)."""
        return self.manager.compare(group=self.name, status=status, directions=directions)

    # -- Python -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Experiment]:
        return iter(self.experiments)

    def __len__(self) -> int:
        return len(self.records())

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Group)
            and other.name == self.name
            and other.manager.home == self.manager.home
        )

    def __hash__(self) -> int:
        return hash((self.name, str(self.manager.home)))

    def __repr__(self) -> str:
        try:
            counts = self.counts
        except NbexpError:
            return f"<Group {self.name!r} (removed)>"
        shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no experiments"
        return f"<Group {self.name!r}: {shown}>"
