"""The log view's tools, kernel side: search over a whole log (the lines as a terminal shows
them, rendered from the file in bounded memory), exports in pieces that each stay under 256 KB
(the raw bytes, or the rendered text), the attempt picker's list and the end marker the view
draws below an ended attempt's last line. The log file itself is never written.
"""

from __future__ import annotations

import base64
import itertools
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from .._core.errors import NbexpError, UsageError
from .._core.records import AttemptRecord, ExperimentRecord
from .._core.states import Status
from .._service.core import Service, tty_rows
from ..terminal import Screen
from .protocol import AttemptJson, LogChunkMessage, LogMatchesMessage, reply_to

MAX_MATCHES = 10_000  # line numbers sent for one search (~70 KB)
MAX_QUERY = 1000
READ_BYTES = 1 << 20
RAW_PIECE = 180 * 1024  # bytes per raw piece: 240 KiB once in base64
TEXT_PIECE = 200 * 1024  # characters per rendered piece
EXPORT_IDLE_S = 120.0  # an export nobody continues is dropped after this


def end_text(status: Status, error: str | None, exit_code: int | None) -> str | None:
    """How an attempt ended, for the marker below its last line; None while it runs."""
    if not status.is_terminal:
        return None
    if status is Status.COMPLETED:
        return "completed (exit code 0)"
    if error:
        return error
    return f"exit code {exit_code}" if exit_code is not None else status.value


def attempts_json(service: Service, record: ExperimentRecord) -> list[AttemptJson]:
    """Every attempt of an experiment, oldest first (the attempt picker)."""
    found: dict[int, AttemptRecord] = {a.attempt: a for a in service.store.attempts(record.id)}
    out: list[AttemptJson] = []
    for number in range(1, record.attempt + 1):
        attempt = found.get(number)
        if number == record.attempt:
            status, end = record.status, end_text(record.status, record.error, record.exit_code)
        elif attempt is not None:
            status, end = attempt.status, end_text(attempt.status, attempt.error, attempt.exit_code)
        else:
            continue
        out.append({"attempt": number, "status": status.value, "end": end})
    return out


def attempt_end(service: Service, record: ExperimentRecord, attempt: int) -> str | None:
    if attempt == record.attempt:
        return end_text(record.status, record.error, record.exit_code)
    for found in service.store.attempts(record.id):
        if found.attempt == attempt:
            return end_text(found.status, found.error, found.exit_code)
    return None


# -- rendering a whole file, in bounded memory ---------------------------------------------------


def rendered_batches(path: str, rows: int) -> Iterator[tuple[int, list[str]]]:
    """(number of the first line, texts) of consecutive lines of the log as a terminal shows
    it, from the start; memory holds a thousand lines and one read's."""
    ready: list[tuple[int, list[str]]] = []
    screen = Screen(rows, max_lines=max(rows, 1000), on_final=lambda n, t: ready.append((n, t)))
    with open(path, "rb") as log:
        while chunk := log.read(READ_BYTES):
            screen.feed(chunk)
            yield from ready
            ready.clear()
    if screen.line_count > screen.first_line:
        yield screen.first_line, screen.lines()


def rendered_lines(path: str, rows: int) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, in order (see rendered_batches)."""
    for first, texts in rendered_batches(path, rows):
        yield from zip(itertools.count(first), texts)


def matching_lines(pattern: re.Pattern[str], first: int, texts: list[str]) -> Iterator[int]:
    """The numbers of the lines among `texts` (numbered from `first`) the pattern finds in:
    one search over their joined text, so lines without a match cost no Python step."""
    blob = "\n".join(texts)
    position, line, counted = 0, first, 0
    while (found := pattern.search(blob, position)) is not None:
        line += blob.count("\n", counted, found.start())
        yield line
        next_line = blob.find("\n", found.start())
        if next_line < 0:
            return
        counted, position, line = next_line + 1, next_line + 1, line + 1


def search(
    service: Service, record: ExperimentRecord, content: Mapping[str, Any]
) -> LogMatchesMessage:
    """The numbers of the lines of the attempt's log that contain the query (first
    MAX_MATCHES), searched as the view shows them (colours and redraws applied)."""
    query = content.get("query")
    attempt = content.get("attempt")
    if not isinstance(query, str) or not query or len(query) > MAX_QUERY:
        raise UsageError(f"a log search needs a query of 1 to {MAX_QUERY} characters")
    if isinstance(attempt, bool) or not isinstance(attempt, int):
        raise UsageError("a log search needs an attempt number")
    pattern = _pattern(query, bool(content.get("regex")), bool(content.get("case")))
    path = service.readable_log_path(record, attempt)
    matches: list[int] = []
    truncated, total = False, 0
    try:
        for first, texts in rendered_batches(path, tty_rows(record)):
            total = first + len(texts)
            if truncated:
                continue  # only counting the lines now
            for number in matching_lines(pattern, first, texts):
                if len(matches) >= MAX_MATCHES:
                    truncated = True
                    break
                matches.append(number)
    except FileNotFoundError:
        raise NbexpError(f"experiment {record.id}'s log is gone (deleted or moved)") from None
    return {
        "type": "log_matches",
        "req": reply_to(content.get("req")),
        "id": record.id,
        "attempt": attempt,
        "query": query,
        "matches": matches,
        "truncated": truncated,
        "total": total,
    }


def _pattern(query: str, regex: bool, case: bool) -> re.Pattern[str]:
    flags = re.MULTILINE | (0 if case else re.IGNORECASE)  # ^ and $ at each line
    if not regex:
        return re.compile(re.escape(query), flags)
    try:
        pattern = re.compile(query, flags)
    except re.error as e:
        raise UsageError(f"not a regular expression: {e}") from None
    if pattern.search(""):
        raise UsageError(f"{query!r} matches empty text, so every line: narrow it down")
    return pattern


# -- exports ----------------------------------------------------------------------------------


class Exports:
    """Exports in progress: a rendered one goes on where its last piece stopped (the renderer
    keeps its place), so a million-line log is sent in pieces without re-rendering any."""

    def __init__(self) -> None:
        self._running: dict[int, tuple[Iterator[tuple[int, str]], float]] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def piece(
        self, service: Service, record: ExperimentRecord, content: Mapping[str, Any]
    ) -> LogChunkMessage:
        attempt, cursor, kind = content.get("attempt"), content.get("cursor"), content.get("format")
        if isinstance(attempt, bool) or not isinstance(attempt, int):
            raise UsageError("a log export needs an attempt number")
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
            raise UsageError("a log export needs a cursor >= 0 (0 to begin)")
        if kind not in ("raw", "text"):
            raise UsageError(f"a log export is 'raw' or 'text', not {kind!r}")
        path = service.readable_log_path(record, attempt)
        try:
            size = os.path.getsize(path)
            data, after = (
                _raw_piece(path, cursor, size)
                if kind == "raw"
                else self._text_piece(path, cursor, tty_rows(record))
            )
        except FileNotFoundError:
            raise NbexpError(f"experiment {record.id}'s log is gone (deleted or moved)") from None
        return {
            "type": "log_chunk",
            "req": reply_to(content.get("req")),
            "id": record.id,
            "attempt": attempt,
            "format": str(kind),
            "data": data,
            "cursor": after,
            "size": size,
        }

    def _text_piece(self, path: str, cursor: int, rows: int) -> tuple[str, int | None]:
        with self._lock:
            now = time.monotonic()
            for key in [k for k, (_, at) in self._running.items() if now - at > EXPORT_IDLE_S]:
                del self._running[key]
            found = self._running.pop(cursor, None) if cursor else None
        if cursor and found is None:
            raise UsageError("that export was dropped (no piece asked for a while): start again")
        lines = found[0] if found is not None else rendered_lines(path, rows)
        parts, size = [], 0
        for _, text in lines:
            parts.append(text)
            size += len(text) + 1
            if size >= TEXT_PIECE:
                number = next(self._numbers)
                with self._lock:
                    self._running[number] = (lines, time.monotonic())
                return "\n".join(parts) + "\n", number
        return ("\n".join(parts) + "\n") if parts else "", None


def _raw_piece(path: str, cursor: int, size: int) -> tuple[str, int | None]:
    with open(path, "rb") as log:
        log.seek(cursor)
        data = log.read(min(RAW_PIECE, max(0, size - cursor)))
    after = cursor + len(data)
    return base64.b64encode(data).decode("ascii"), (after if after < size and data else None)


def watch(service: Service, experiment_id: int, attempt: int) -> Any:
    """The follower of an attempt's log: the service's live one for the current attempt, a
    fresh one (read once, it ended) for an earlier attempt."""
    from .._service.watches import WatchedLog

    record = service.fresh_record(experiment_id)
    if attempt == record.attempt:
        return service.watched(experiment_id)
    return WatchedLog(service.readable_log_path(record, attempt), tty_rows(record))
