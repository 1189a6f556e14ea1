"""Reading log files through the terminal renderer: the one follower, the one tail reader.

`LogFollower` tails a file from a byte offset in bounded chunks and keeps versioned line changes
(for live views); `TailCache` gives the rendered last lines of many logs, re-read only when a file
changed (for progress readings and cards); `render_file` renders a whole file in bounded memory.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, overload

from ..terminal import Screen, ScreenState, Span, render

__all__ = ["FollowUpdate", "LogFollower", "TailCache", "render_file", "rendered_batches"]

TRUNCATED_NOTE = "[nbexp: log truncated, restarting]"
DELETED_NOTE = "[nbexp: log file deleted; showing what was read]"
REPLACED_NOTE = "[nbexp: log file replaced, restarting]"
GONE_LINE = "[nbexp: line no longer in the log file]"
_TAIL_CHECK = 64  # bytes compared before each read to notice a rewritten file


class FollowUpdate(NamedTuple):
    """What one `poll` found."""

    version: int  # bumps whenever any line changed
    changed: dict[int, str]  # line number -> new text, for lines still held
    line_count: int
    caught_up: bool  # False when the poll stopped at its byte budget with more to read


StyledText = tuple[str, list[Span]]


@dataclass
class _Checkpoint:
    offset: int  # bytes of the file fed before this state
    state: ScreenState


@dataclass
class _Source:
    """Identity of the file being read, to notice truncation and replacement."""

    inode: int | None = None
    device: int | None = None
    missing: bool = False


class LogFollower:
    """Renders a log file incrementally; line numbers are stable and count from the start.

    Only the last `max_lines` lines are held; older ones are fetched on demand by `lines()`,
    which re-renders from the nearest checkpoint (a copy of the live screenful taken every
    `checkpoint_bytes`), so memory stays bounded however long the log grows.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        rows: int = 40,
        max_lines: int = 10_000,
        chunk_size: int = 1 << 20,
        poll_budget: int = 64 << 20,
        checkpoint_bytes: int = 16 << 20,
        max_checkpoints: int = 256,
    ) -> None:
        self.path = Path(path)
        self.rows = rows
        self.max_lines = max_lines
        self.chunk_size = chunk_size
        self.poll_budget = poll_budget
        self.checkpoint_bytes = checkpoint_bytes
        self._checkpoint_every = checkpoint_bytes  # doubles when checkpoints are thinned
        self.max_checkpoints = max_checkpoints
        self.offset = 0  # bytes of the current file already rendered
        self._tail = b""  # the last bytes rendered, to notice the file being rewritten
        self._pruned_at = 0  # screen.first_line when line versions were last pruned
        self.version = 0
        self._source = _Source()
        self._first_in_file = 0  # the number of the first line rendered from the current file
        self._line_versions: dict[int, int] = {}
        self._screen = self._new_screen()
        self._checkpoints: list[_Checkpoint] = [_Checkpoint(0, self._screen.state())]

    # ----------------------------------------------------------------------- queries

    @property
    def line_count(self) -> int:
        return self._screen.line_count

    @property
    def screen(self) -> Screen:
        """The renderer's live state (read it, don't feed it)."""
        return self._screen

    def tail(self, count: int) -> list[str]:
        """The last `count` lines (from memory)."""
        total = self.line_count
        return self._screen.lines(max(self._screen.first_line, total - count), total)

    def styled(self, number: int) -> StyledText:
        """Text and style spans of a held line."""
        return self._screen.styled_line(number)

    @overload
    def changes_since(
        self, version: int, *, styled: Literal[False] = False
    ) -> tuple[int, dict[int, str]]: ...

    @overload
    def changes_since(
        self, version: int, *, styled: Literal[True]
    ) -> tuple[int, dict[int, StyledText]]: ...

    def changes_since(
        self, version: int, *, styled: bool = False
    ) -> tuple[int, dict[int, str]] | tuple[int, dict[int, StyledText]]:
        """(current version, lines changed after `version`), for a viewer that last saw it.

        Version 0 gets every held line. Reported lines at or beyond `line_count` are blank
        rows the viewer should drop; lines that left memory are never reported.
        """
        screen = self._screen
        first = screen.first_line
        numbers = sorted(n for n, v in self._line_versions.items() if v > version and n >= first)
        if styled:
            return self.version, {n: screen.styled_line(n) for n in numbers}
        return self.version, {n: screen.line(n) for n in numbers}

    def lines(self, start: int, stop: int) -> list[str]:
        """Lines [start, stop), re-rendering older ones from the file when not held."""
        stop = min(stop, self.line_count)
        if start >= stop:
            return []
        held = self._screen.first_line
        if start >= held:
            return self._screen.lines(start, stop)
        older = self._reread(start, min(stop, held))
        return older + self._screen.lines(held, stop)

    # ----------------------------------------------------------------------- reading

    def poll(self) -> FollowUpdate:
        """Read what was appended since the last call (up to `poll_budget` bytes)."""
        changed: set[int] = set()
        caught_up = self._check_source(changed)
        if not self._source.missing:
            caught_up = self._read_new(changed)
        if changed:
            self.version += 1
            self._line_versions.update(dict.fromkeys(changed, self.version))
            self._forget_dropped()
        screen = self._screen
        texts = {n: screen.line(n) for n in sorted(changed) if n >= screen.first_line}
        return FollowUpdate(self.version, texts, screen.line_count, caught_up)

    def _read_new(self, changed: set[int]) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._mark_missing(changed)
            return True
        try:
            tail = self._tail
            if tail and os.pread(fd, len(tail), self.offset - len(tail)) != tail:
                # Truncated and rewritten past our offset between two polls: the bytes we
                # already rendered are not there any more.
                self._restart(TRUNCATED_NOTE, changed)
            budget = self.poll_budget
            while budget > 0:
                data = os.pread(fd, min(self.chunk_size, budget), self.offset)
                if not data:
                    return True
                self._feed(data, changed)
                budget -= len(data)
            return os.fstat(fd).st_size <= self.offset
        finally:
            os.close(fd)

    def _feed(self, data: bytes, changed: set[int]) -> None:
        first = self._screen.first_line
        changed |= self._screen.feed(data)
        if self._screen.first_line > first:
            # Lines that left memory during this poll are not worth reporting (or holding).
            changed.difference_update(range(first, self._screen.first_line))
        self.offset += len(data)
        self._tail = (
            data[-_TAIL_CHECK:] if len(data) >= _TAIL_CHECK else (self._tail + data)[-_TAIL_CHECK:]
        )
        last = self._checkpoints[-1].offset if self._checkpoints else 0
        if self.offset - last >= self._checkpoint_every:
            self._add_checkpoint()

    def _check_source(self, changed: set[int]) -> bool:
        """Notice deletion, truncation or replacement of the file before reading."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._mark_missing(changed)
            return True
        source = self._source
        replaced = source.inode is not None and (info.st_ino, info.st_dev) != (
            source.inode,
            source.device,
        )
        if replaced or (source.missing and self.offset > 0):
            self._restart(REPLACED_NOTE, changed)
        elif info.st_size < self.offset:
            self._restart(TRUNCATED_NOTE, changed)
        source.inode, source.device, source.missing = info.st_ino, info.st_dev, False
        return False

    def _mark_missing(self, changed: set[int]) -> None:
        # A file not created yet is just waited for; one that was there and went is noted.
        if not self._source.missing and self._source.inode is not None:
            self._source.missing = True
            changed |= self._screen.note(DELETED_NOTE)

    def _restart(self, note: str, changed: set[int]) -> None:
        """Start over at byte 0 of a new or truncated file, below a note line."""
        changed |= self._screen.note(note)
        self.offset = 0
        self._tail = b""
        self._first_in_file = self._screen.line_count
        self._checkpoints = [_Checkpoint(0, self._screen.state())]
        self._checkpoint_every = self.checkpoint_bytes

    # ---------------------------------------------------------------- bookkeeping

    def _forget_dropped(self) -> None:
        """Versions of lines that left memory are of no use to any viewer."""
        first = self._screen.first_line
        if first > self._pruned_at:
            self._pruned_at = first
            self._line_versions = {n: v for n, v in self._line_versions.items() if n >= first}

    def _add_checkpoint(self) -> None:
        state = self._screen.state()
        if sum(map(len, state.lines)) > 256 * 1024:
            return  # a screenful of giant lines: skip, the next checkpoint will do
        self._checkpoints.append(_Checkpoint(self.offset, state))
        if len(self._checkpoints) > self.max_checkpoints:
            # Keep the first and thin the rest to every other one, and take new ones half as
            # often: the spacing stays even over the whole log (re-reads stay short).
            self._checkpoints = self._checkpoints[:1] + self._checkpoints[2::2]
            self._checkpoint_every *= 2

    def _new_screen(self) -> Screen:
        return Screen(self.rows, max_lines=self.max_lines)

    def _reread(self, start: int, stop: int) -> list[str]:
        """Render lines [start, stop) again from the file, from the nearest checkpoint."""
        if start < self._first_in_file:
            # Lines from before a truncation are gone from disk.
            gone = min(stop, self._first_in_file) - start
            return [GONE_LINE] * gone + self._reread(start + gone, stop)
        if start >= stop:
            return []
        usable = [c for c in self._checkpoints if c.state.top <= start]
        checkpoint = usable[-1] if usable else self._checkpoints[0]
        found: dict[int, str] = {}

        def keep(first: int, texts: list[str]) -> None:
            for number in range(max(first, start), min(first + len(texts), stop)):
                found[number] = texts[number - first]

        screen = Screen.restore(checkpoint.state, self.rows, max_lines=self.rows, on_final=keep)
        offset = checkpoint.offset
        try:
            with open(self.path, "rb") as log:
                log.seek(offset)
                while screen.final_count < stop and offset < self.offset:
                    data = log.read(min(self.chunk_size, self.offset - offset))
                    if not data:
                        break
                    screen.feed(data)
                    offset += len(data)
        except OSError:
            return [GONE_LINE] * (stop - start)
        for number in range(max(start, screen.first_line), min(stop, screen.line_count)):
            found[number] = screen.line(number)
        return [found.get(n, GONE_LINE) for n in range(start, stop)]


def rendered_batches(path: str | os.PathLike[str], *, rows: int = 40) -> Iterator[list[str]]:
    """A log file's rendered lines in order, a batch at a time as soon as they can no longer
    change; read in 1 MiB chunks.

    Memory holds a window of lines and one chunk's worth, whatever the file's size, so a
    caller can print a log of any length. A missing file gives no lines.
    """
    batches: list[list[str]] = []
    screen = Screen(
        rows, max_lines=max(rows, 1000), on_final=lambda _, lines: batches.append(lines)
    )
    with suppress(FileNotFoundError), open(path, "rb") as log:
        while chunk := log.read(1 << 20):
            screen.feed(chunk)
            yield from batches
            batches.clear()
    yield screen.lines()


def render_file(
    path: str | os.PathLike[str], *, tail: int | None = None, rows: int = 40
) -> list[str]:
    """A log file's rendered lines (the last `tail` of them), read in 1 MiB chunks.

    With `tail`, memory stays bounded by `tail` lines whatever the file's size; without it,
    by the lines themselves (never the raw bytes as well). A missing file gives [].
    """
    if tail is not None and tail <= 0:
        return []
    kept: deque[str] = deque(maxlen=tail)
    for batch in rendered_batches(path, rows=rows):
        kept.extend(batch)
    return list(kept)


# Enough of a log's end to hold its last progress bar and a few lines of output, however fast it
# prints: reading it costs the same per running experiment however long the log grows.
TAIL_BYTES = 16 * 1024
# Rendered lines kept per log: enough for its progress bar and a card's last lines. Logs of
# ended experiments stay cached (they never change), so each entry must stay small.
TAIL_LINES = 20
TAIL_LINE_CHARS = 4096


class TailCache:
    """The last `TAIL_LINES` rendered lines of log files (from their last `TAIL_BYTES`), each file
    re-read only when its size or mtime changed: a stat is much cheaper than a read and a render."""

    def __init__(self, tail_bytes: int = TAIL_BYTES) -> None:
        self.tail_bytes = tail_bytes
        self._seen: dict[str, tuple[int, int, list[str]]] = {}
        self._lock = threading.Lock()  # the monitor thread and a user's thread both read

    def lines(self, path: str | None) -> list[str]:
        """The last lines a terminal would show (without colours); [] for a missing file."""
        if not path:
            return []
        try:
            info = os.stat(path)
        except OSError:
            return []
        key = (info.st_size, info.st_mtime_ns)
        with self._lock:
            cached = self._seen.get(path)
        if cached is not None and cached[:2] == key:
            return cached[2]
        try:
            with open(path, "rb") as log:
                log.seek(max(0, info.st_size - self.tail_bytes))
                data = log.read(self.tail_bytes)
        except OSError:
            return []
        rendered = [line[:TAIL_LINE_CHARS] for line in render(data)[-TAIL_LINES:]]
        with self._lock:
            self._seen[path] = (*key, rendered)
        return rendered

    def forget_except(self, paths: set[str]) -> None:
        """Drop the cache of every file not in `paths` (ended or removed experiments)."""
        with self._lock:
            for path in [p for p in self._seen if p not in paths]:
                del self._seen[path]
