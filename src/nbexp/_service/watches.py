"""Logs the service reads: one incremental follower per watched experiment (for live views and
`log_changes`), and one tail cache for every log's last lines (for progress bars and cards).

A watch's line versions keep growing across attempts, so a viewer that last saw version V of
attempt 1 is told about every line of attempt 2 when it asks again (never left with stale lines).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .._io.logs import TailCache

if TYPE_CHECKING:
    from .._io.logs import LogFollower, StyledText
    from ..progress import Progress

# Lines of a log's end scanned for its current progress bar.
PROGRESS_SCAN_LINES = 20


class WatchedLog:
    """One attempt's log followed incrementally (its metrics are kept by `metrics.Metrics`)."""

    def __init__(self, path: str, rows: int = 40, *, first_version: int = 0) -> None:
        # Imported here: the renderer is only needed once somebody watches a log.
        from .._io.logs import LogFollower

        self.path = path
        self.follower: LogFollower = LogFollower(path, rows=rows)
        self.follower.version = first_version
        self._lock = threading.RLock()  # the dashboard's thread and the user's may both ask

    @property
    def line_count(self) -> int:
        return int(self.follower.line_count)

    @property
    def version(self) -> int:
        return int(self.follower.version)

    def update(self, max_polls: int | None = None) -> bool:
        """Read what was appended (at most `max_polls` reads of the follower's byte budget;
        None: until caught up). Whether it caught up."""
        with self._lock:
            polls = 0
            while True:
                found = self.follower.poll()
                polls += 1
                if found.caught_up:
                    return True
                if max_polls is not None and polls >= max_polls:
                    return False

    def changed_since(self, version: int) -> tuple[int, list[int]]:
        """(current version, numbers of the lines changed after `version` that exist)."""
        with self._lock:
            current, changed = self.follower.changes_since(version)
            count = self.follower.line_count
        # The cursor's empty row below the last line is not a line of the log (yet).
        return current, sorted(n for n in changed if n < count)

    def changes_since(self, version: int) -> tuple[int, dict[int, str]]:
        """(current version, {line number: text}) for the lines changed after `version`."""
        self.update()
        with self._lock:
            current, changed = self.follower.changes_since(version)
            count = self.follower.line_count
        return current, {n: text for n, text in changed.items() if n < count}

    def lines(self, start: int, end: int) -> list[str | StyledText]:
        """Lines [start, end): styled (text, spans) where the renderer still holds them, plain
        text re-rendered from the file for older ones. At most `end - start` lines."""
        with self._lock:
            start, end = max(0, start), min(end, self.follower.line_count)
            if start >= end:
                return []
            held = max(start, min(end, self.follower.screen.first_line))
            out: list[str | StyledText] = []
            if held > start:
                out.extend(self.follower.lines(start, held))
            out.extend(self.follower.styled(n) for n in range(held, end))
            return out


class LogWatches:
    """The watched logs of one home, keyed by experiment (a new attempt replaces the old watch),
    and the shared tail cache."""

    def __init__(self) -> None:
        self._by_experiment: dict[int, tuple[int, WatchedLog]] = {}
        self._lock = threading.Lock()
        self.tails = TailCache()

    def get(self, experiment_id: int, attempt: int, path: str, rows: int = 40) -> WatchedLog:
        with self._lock:
            current = self._by_experiment.get(experiment_id)
            if current is None or current[0] != attempt:
                # Versions go on from the previous attempt's, so they only ever grow.
                first = current[1].version + 1 if current is not None else 0
                current = (attempt, WatchedLog(path, rows, first_version=first))
                self._by_experiment[experiment_id] = current
            return current[1]

    def forget(self, experiment_id: int) -> None:
        with self._lock:
            self._by_experiment.pop(experiment_id, None)

    def progress(self, log_path: str | None) -> Progress | None:
        """The current progress bar of a log (its latest bar among the last lines; nested bars
        as the outer one with the inner beneath and the run's ETA), or None."""
        from ..progress import nested_progress

        lines = self.tails.lines(log_path)
        return nested_progress(lines[-PROGRESS_SCAN_LINES:]) if lines else None

    def progress_json(self, log_path: str | None) -> dict[str, Any] | None:
        found = self.progress(log_path)
        return None if found is None else found.to_json()

    def tail(self, log_path: str | None, count: int, width: int = 200) -> list[str]:
        """The last `count` non-blank lines of a log, each cut to `width` characters."""
        lines = [line[:width] for line in self.tails.lines(log_path) if line.strip()]
        return lines[-count:] if count > 0 else []
