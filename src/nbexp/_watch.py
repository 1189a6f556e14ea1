"""Logs the manager watches: one incremental follower per (experiment, attempt), so repeated
delta calls read only what was appended, plus the postfix metrics seen on the way."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._follow import LogFollower
    from .progress import MetricHistory


class WatchedLog:
    """A log followed incrementally, with the history of the metrics its bars printed."""

    def __init__(self, path: str, rows: int = 40) -> None:
        # Imported here: the renderer is only needed once somebody watches a log.
        from ._follow import LogFollower
        from .progress import MetricHistory

        self.follower: LogFollower = LogFollower(path, rows=rows)
        self.metrics: MetricHistory = MetricHistory()
        self._lock = threading.Lock()  # the dashboard's thread and the user's may both ask

    def update(self) -> None:
        from .progress import parse_progress

        with self._lock:
            while True:
                found = self.follower.poll()
                for number in sorted(found.changed):
                    self.metrics.add(parse_progress(found.changed[number]))
                if found.caught_up:
                    return

    def changes_since(self, version: int) -> tuple[int, dict[int, str]]:
        self.update()
        with self._lock:
            new_version, changed = self.follower.changes_since(version)
            count = self.follower.line_count
        # The cursor's empty row below the last line is not a line of the log (yet).
        return new_version, {n: text for n, text in changed.items() if n < count}


class Watches:
    """The manager's watched logs, keyed by experiment; a new attempt replaces the old watch."""

    def __init__(self) -> None:
        self._by_experiment: dict[int, tuple[int, WatchedLog]] = {}
        self._lock = threading.Lock()

    def get(self, experiment_id: int, attempt: int, path: str, rows: int) -> WatchedLog:
        with self._lock:
            current = self._by_experiment.get(experiment_id)
            if current is None or current[0] != attempt:
                current = (attempt, WatchedLog(path, rows))
                self._by_experiment[experiment_id] = current
            return current[1]

    def forget(self, experiment_id: int) -> None:
        with self._lock:
            self._by_experiment.pop(experiment_id, None)
