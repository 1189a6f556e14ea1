"""Metric histories kept for good: each attempt's log is read incrementally from the byte offset
its cursor reached, by whichever nbexp process looks (a monitor tick, a CLI call, the step that
runs when an experiment ends), and the points go to the store in the same transaction that
moves the cursor (a compare-and-set: two processes never store one byte's points twice).

Wall times are estimated: the bytes read in one pass were written between the previous pass's
file time (or the attempt's start) and the file's modification time now, and each point gets
the time at its byte's share of that span (exact to the monitor's tick while someone watches).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._core.errors import NotFound, UsageError
from .._core.final_progress import final_progress
from .._core.metric_extraction import Columns, MetricExtractor
from .._core.metric_series import (
    CHUNK_POINTS,
    MetricPoint,
    SeriesState,
    Stored,
    WallTimes,
    decode_points,
    encode_points,
    main_metric,
    metric_summary,
    raw_points,
)
from .._core.records import ExperimentRecord
from .._core.states import Status
from .._core.validate import check_ids
from .._io.metric_store import Cursor, MetricStore, PassWrites, SummaryRow
from .._io.store import Store

READ_BYTES = 16 << 20  # read per pass (a pass's points are held in memory)
TICK_BYTES = 1 << 20  # read per experiment per monitor tick: a tick stays short (~0.1 s)
TAIL_BYTES = 16 * 1024  # of a log's end, rendered for its final progress
MAX_RETRIES = 5  # compare-and-set races lost in a row before giving up for now
ROW_METRICS = 8  # latest values a table row carries
SUMMARY_SLACK_S = 5.0  # summaries re-read this far back (writers' clocks and commit order)


@dataclass
class _Live:
    """An attempt's extraction as this process holds it between passes: the extractor and the
    series states as objects (no JSON round trip per pass), where reading stands, and the
    cursor last committed (what the next commit compares against)."""

    committed: Cursor
    offset: int
    extractor: MetricExtractor
    series: dict[str, SeriesState]
    time: float | None
    inode: int | None
    final: bool
    committed_at: float = 0.0  # time.monotonic() of the last commit
    size: int = -1  # the log's size and mtime when last read
    mtime: float = -1.0
    open_chunks: dict[str, bytes] = field(default_factory=dict)  # name -> its open chunk

    @classmethod
    def of(cls, cursor: Cursor) -> _Live:
        state = cursor.state
        return cls(
            committed=cursor,
            offset=cursor.offset,
            extractor=MetricExtractor(state.get("extractor")),
            series={name: SeriesState(s) for name, s in state.get("series", {}).items()},
            time=state.get("time"),
            inode=state.get("inode"),
            final=bool(state.get("final")),
        )

    def state(self) -> dict[str, Any]:
        return {
            "extractor": self.extractor.state,
            "series": {name: s.to_json() for name, s in self.series.items()},
            "time": self.time,
            "inode": self.inode,  # a log replaced by another file is read again from byte 0
            "final": self.final,
        }


class Metrics:
    """Extraction and reading of one home's metric histories."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = MetricStore(store)
        self._live: dict[tuple[int, int], _Live] = {}
        self._lock = threading.RLock()
        self._final: set[tuple[int, int]] | None = None  # attempts read to their end
        self._latest: dict[tuple[int, int], dict[str, SummaryRow]] = {}  # for table rows
        self._summaries_since: float | None = None
        self._sparks: dict[tuple[int, int, str], tuple[float, list[Any]]] = {}

    # -- writing ---------------------------------------------------------------------------

    def update(
        self, record: ExperimentRecord, attempt: int | None = None, *, budget: int | None = None
    ) -> bool:
        # One pass at a time in this process (the monitor thread, a user's cell, the chart's
        # request); other processes are kept apart by the cursor's compare-and-set.
        with self._lock:
            return self._update(record, attempt, budget)

    def _update(self, record: ExperimentRecord, attempt: int | None, budget: int | None) -> bool:
        """Read what the attempt's log (default: the current one) gained since any nbexp
        process last read it; whether it caught up. An ended attempt is read to its very end
        (its last unfinished line included) and its final progress recorded."""
        attempt = record.attempt if attempt is None else attempt
        if attempt < 1 or self.store.read_only:
            return True  # not run yet; or a store we may only read: its histories as they are
        current = attempt == record.attempt
        path = self._log_path(record, attempt)
        if not path:
            return True
        ended = not current or record.status.is_terminal
        started = record.started if current else self._attempt_start(record.id, attempt)
        for _ in range(MAX_RETRIES):
            done = self._pass((record.id, attempt), path, started, ended, budget)
            if done is not None:
                return done
        return False

    def _log_path(self, record: ExperimentRecord, attempt: int) -> str | None:
        if attempt == record.attempt:
            return record.log_path
        return self.store.attempt_log_path(record.id, attempt)

    def _attempt_start(self, experiment_id: int, attempt: int) -> float | None:
        for entry in self.store.attempts(experiment_id):
            if entry.attempt == attempt:
                return entry.started
        return None

    def _pass(
        self,
        key: tuple[int, int],
        path: str,
        started: float | None,
        ended: bool,
        budget: int | None,
    ) -> bool | None:
        """One read-extract-store pass: True caught up, False more to read, None lost a race."""
        try:
            info = os.stat(path)
        except OSError:
            return True  # no log (yet, or any more): nothing to read
        live = self._live.get(key)
        unchanged = live is not None and (info.st_size, info.st_mtime) == (live.size, live.mtime)
        if live is not None and unchanged and (live.final or not ended):
            return True
        if live is None:
            live = self._live[key] = _Live.of(self.db.cursor(*key))
        replaced = live.inode not in (None, info.st_ino) or info.st_size < live.offset
        if replaced or live.committed.state.get("unreadable"):
            self.db.forget(*key)  # the log was replaced or the state lost: start over
            self._live.pop(key, None)
            return None
        if live.final:
            return True
        wanted = min(info.st_size - live.offset, budget or READ_BYTES, READ_BYTES)
        data = _read(path, live.offset, wanted)
        at_end = live.offset + len(data) >= info.st_size
        final = ended and at_end
        # Unchanged since a pass that read to its end means nothing to read; one cut short by
        # its budget is followed by another at the next look, even if the log stays as it is.
        live.size, live.mtime = (info.st_size, info.st_mtime) if at_end else (-1, -1.0)
        if not data and not final:
            return True
        try:
            writes = self._extract(key, live, data, info, started, final, path)
            if not (
                writes.chunks or writes.rewrite or final or time.monotonic() - live.committed_at > 5
            ):
                # Nothing to store: the position is kept here and stored with the next points (or
                # within seconds); another process that reads meanwhile gets the same result.
                return at_end
            writes.state = live.state()
            stored = self.db.commit(*key, live.committed, writes)
        except BaseException:
            # The live state already holds this pass (its offset moved, its points counted):
            # kept, the next pass would store the position past points never stored. Dropped,
            # the next pass starts again from the stored cursor (a locked store, a full disk).
            self._live.pop(key, None)
            raise
        if stored is None:
            self._live.pop(key, None)  # someone else stored these bytes: read their cursor
            return None
        live.committed, live.committed_at = stored, time.monotonic()
        return at_end

    def _extract(
        self,
        key: tuple[int, int],
        live: _Live,
        data: bytes,
        info: os.stat_result,
        started: float | None,
        final: bool,
        path: str,
    ) -> PassWrites:
        """Read `data` into the live state (mutated: dropped if its commit fails)."""
        points, consumed = live.extractor.feed(data, final=final)
        first = float(live.time or started or info.st_mtime)
        available = max(1, info.st_size - live.offset)
        last = first + (info.st_mtime - first) * min(1.0, len(data) / available)
        span = max(0.0, last - first)
        timed = _timed(points, first, span / max(1, len(data)))
        writes = PassWrites(
            offset=live.offset + consumed,
            state={},
            chunks={},
            rewrite=set(),
            summaries={},
            sparks={},
        )
        for name, new in timed.items():
            self._absorb(key, name, live.series.setdefault(name, SeriesState()), new, writes)
        live.offset += consumed
        live.time = first + span * consumed / max(1, len(data))
        live.inode, live.final = info.st_ino, final
        if final:
            tail = _read_tail(path, info.st_size)
            writes.final_progress = final_progress(tail, live.extractor.state)
        return writes

    def _absorb(
        self,
        key: tuple[int, int],
        name: str,
        state: SeriesState,
        new: tuple[list[float], list[float], WallTimes],
        writes: PassWrites,
    ) -> None:
        """A metric's new points into its bounded history: the chunks to write, its summary."""
        stored: list[Stored] = []
        rewrite = False
        steps, values, times = new
        slice_size = CHUNK_POINTS * 8  # thinned as it goes: a huge pass never holds it all
        for start in range(0, len(values), slice_size):
            end = start + slice_size
            stored += state.add(steps[start:end], values[start:end], times[start:end])
            if state.needs_thinning():
                if not rewrite:
                    stored = self._stored_points(key, name) + stored
                    rewrite = True
                stored = state.thinned(stored)
        if rewrite:
            writes.rewrite.add(name)
            state.chunk, state.in_chunk = 0, 0
            open_raw = b""
        else:
            open_raw = self._open_chunk(key, name, state)
        if stored or rewrite:
            writes.chunks[name] = self._chunks(key, name, state, open_raw, stored)
        writes.summaries[name] = _summary(state)
        writes.sparks[name] = state.sparkline()

    def _chunks(
        self,
        key: tuple[int, int],
        name: str,
        state: SeriesState,
        open_raw: bytes,
        new: list[Stored],
    ) -> dict[int, bytes]:
        """The chunks new points go to: the open one grows by appending records (nothing of
        it decoded); a chunk that fills up is compressed, once."""
        out: dict[int, bytes] = {}
        at = 0
        while True:
            part = new[at : at + CHUNK_POINTS - state.in_chunk]
            at += len(part)
            if state.in_chunk == 0 and len(part) == CHUNK_POINTS:
                out[state.chunk] = encode_points(part)  # a whole chunk at once
                state.chunk += 1
            else:
                open_raw = raw_points(part, open_raw)
                state.in_chunk += len(part)
                out[state.chunk] = open_raw
                if state.in_chunk == CHUNK_POINTS:  # it filled up: compress it, once
                    out[state.chunk] = encode_points(decode_points(open_raw))
                    state.chunk, state.in_chunk, open_raw = state.chunk + 1, 0, b""
            if at >= len(new):
                break
        self._live[key].open_chunks[name] = open_raw
        return out

    def _open_chunk(self, key: tuple[int, int], name: str, state: SeriesState) -> bytes:
        """The records of the chunk new points are appended to (b"" when it is new)."""
        if state.in_chunk == 0:
            return b""
        cached = self._live[key].open_chunks.get(name)
        if cached:
            return cached
        blob = self.db.chunk(*key, name, state.chunk)
        if blob is None:
            return b""
        return blob if blob.startswith(b"nbexp-raw") else raw_points(decode_points(blob))

    def _stored_points(self, key: tuple[int, int], name: str) -> list[Stored]:
        return [
            p for blob in self.db.chunks(*key, [name]).get(name, []) for p in decode_points(blob)
        ]

    def tick(self, records: Sequence[ExperimentRecord], *, read_running: bool = True) -> None:
        """A monitor tick's share: read what running experiments printed since the last tick
        (at most TICK_BYTES each; not the local ones when `read_running` is False: a metrics
        reader does), read to the end those that just ended, and one ended attempt that nobody
        has read yet (runs from before this nbexp, or whose end step failed), newest first."""
        if self._final is None:
            self._final = set(self.db.final_cursors())
        backfill: ExperimentRecord | None = None
        for record in records:
            key = (record.id, record.attempt)
            if record.problem or not _has_run(record) or key in self._final:
                continue  # not run yet, or a corrupt row (shown as such, never read)
            if record.status.is_terminal:
                if key in self._live:
                    self._read_to_end(record)  # it ran while we watched
                elif backfill is None or record.id > backfill.id:
                    backfill = record
            elif record.status in (Status.PENDING, Status.QUEUED):
                continue
            elif read_running or record.executor != "local":
                self.update(record, budget=TICK_BYTES)  # running (or paused)
            else:
                self._live.pop(key, None)  # read elsewhere: from the stored cursor if we resume
        if backfill is not None:
            self._read_to_end(backfill, budget=TICK_BYTES)

    def forget_except(self, keys: set[tuple[int, int]]) -> None:
        """Drop the live state of every attempt not in `keys` (a long-lived reader's memory)."""
        with self._lock:
            for key in [k for k in self._live if k not in keys]:
                del self._live[key]

    def _read_to_end(self, record: ExperimentRecord, budget: int | None = None) -> None:
        self.update(record, budget=budget)
        live = self._live.get((record.id, record.attempt))
        if live is not None and live.final:
            assert self._final is not None
            self._final.add((record.id, record.attempt))

    def row_fields(self, records: Sequence[ExperimentRecord]) -> dict[int, dict[str, Any]]:
        """What a table row shows of each experiment's current attempt: its metrics' latest
        values (the main one first, at most ROW_METRICS), and the main one's sparkline. Only
        summaries written since the last call are read."""
        with self._lock:
            return self._row_fields(records)

    def _row_fields(self, records: Sequence[ExperimentRecord]) -> dict[int, dict[str, Any]]:
        for row in self.db.current_summaries(self._summaries_since):
            self._latest.setdefault((row.experiment_id, row.attempt), {})[row.name] = row
            since = row.updated - SUMMARY_SLACK_S  # a slower writer may commit an older time
            self._summaries_since = max(self._summaries_since or since, since)
        fields: dict[int, dict[str, Any]] = {}
        for record in records:
            if record.problem:
                continue
            found = self._latest.get((record.id, record.attempt))
            main = main_metric(found) if found else None
            if not found or main is None:
                continue
            names = [main, *sorted(n for n in found if n != main)][:ROW_METRICS]
            fields[record.id] = {
                "metrics": {name: _wire_number(found[name].last) for name in names},
                "main_metric": main,
                "spark": self._spark(record.id, record.attempt, main, found[main].updated),
            }
        return fields

    def _spark(self, experiment_id: int, attempt: int, name: str, updated: float) -> list[Any]:
        key = (experiment_id, attempt, name)
        cached = self._sparks.get(key)
        if cached is None or cached[0] != updated:
            values = [_wire_number(v) for v in self.db.spark(experiment_id, attempt, name)]
            cached = self._sparks[key] = (updated, values)
        return cached[1]

    # -- reading ---------------------------------------------------------------------------

    def caught_up(self, record: ExperimentRecord, attempt: Any = None) -> tuple[int, int]:
        """(id, attempt) of an attempt (default: the current one; UsageError for one it never
        had) after reading its log's newest bytes."""
        chosen = record.attempt if attempt is None else attempt
        if attempt is not None and (
            isinstance(attempt, bool)
            or not isinstance(attempt, int)
            or not 1 <= attempt <= record.attempt
        ):
            raise UsageError(
                f"attempt must be one of experiment {record.id}'s attempts "
                f"(1..{record.attempt}), not {attempt!r}"
            )
        self._catch_up(record, chosen)
        return record.id, chosen

    def _catch_up(self, record: ExperimentRecord, attempt: int) -> None:
        """Read the attempt's log up to where it ended when asked. A pass reads at most
        READ_BYTES, so a long log that nobody read yet takes several; a run that prints faster
        than it is read is not chased past that end."""
        path = self._log_path(record, attempt)
        try:
            end = os.stat(path).st_size if path else 0
        except OSError:
            end = 0
        while not self.update(record, attempt):
            live = self._live.get((record.id, attempt))
            if live is not None and live.offset >= end:
                return

    @staticmethod
    def select(records: Sequence[ExperimentRecord], ids: Any, group: Any) -> list[ExperimentRecord]:
        """The records with these ids (NotFound for an unknown one) and in this group."""
        chosen = list(records)
        if ids is not None:
            wanted = check_ids(ids, "ids")
            known = {r.id for r in chosen}
            unknown = [i for i in wanted if i not in known]
            if unknown:
                raise NotFound(unknown[0])
            chosen = [r for r in chosen if r.id in set(wanted)]
        if group is not None:
            if not isinstance(group, str):
                raise UsageError(f"group must be a group's name, not {group!r}")
            chosen = [r for r in chosen if r.group_name == group]
        return chosen

    def series(
        self, experiment_id: int, attempt: int, names: Sequence[str] | None = None
    ) -> dict[str, list[MetricPoint]]:
        """Every stored point of the attempt's metrics (or of `names`), oldest first, ending with
        the latest value."""
        with self.store.snapshot():  # the chunks as the cursor describes them, never a pass apart
            cursor = self.db.cursor(experiment_id, attempt)
            states = cursor.state.get("series", {})
            wanted = list(states) if names is None else [n for n in names if n in states]
            chunks = self.db.chunks(experiment_id, attempt, wanted) if wanted else {}
        out: dict[str, list[MetricPoint]] = {}
        for name in sorted(wanted):
            points = [p for blob in chunks.get(name, []) for p in decode_points(blob)]
            tail = SeriesState(states[name]).tail()
            if points and tail and tail[0] == points[-1]:
                tail = tail[1:]
            out[name] = [MetricPoint(s, v, ms / 1000) for s, v, ms in points + tail]
        return out

    def series_since(
        self, experiment_id: int, attempt: int, name: str, start: int
    ) -> tuple[int, int, list[Stored]] | None:
        """For a live chart: (bucket size, stored count, points from stored index `start` on,
        then the unfinished bucket's and the latest point); None when the metric has none.
        Index `start` and on are read only when `bucket` is the one the caller had (else it
        must take the whole history again, from 0)."""
        # Not halfway through this process's pass (its points counted, not yet stored), and
        # the chunks as the cursor read describes them (another process's pass in between).
        with self._lock, self.store.snapshot():
            return self._series_since(experiment_id, attempt, name, start)

    def _series_since(
        self, experiment_id: int, attempt: int, name: str, start: int
    ) -> tuple[int, int, list[Stored]] | None:
        live = self._live.get((experiment_id, attempt))
        # This process's own state when it writes this history (the monitor, each tick: its
        # series match the chunks stored), else the store's.
        if live is not None and name in live.series:
            series = live.series[name]
        else:
            state = self.db.cursor(experiment_id, attempt).state.get("series", {}).get(name)
            if state is None:
                return None
            series = SeriesState(state)
        start = max(0, min(start, series.stored))
        first = start // CHUNK_POINTS
        blobs = self.db.chunks_from(experiment_id, attempt, name, first)
        points = [p for blob in blobs for p in decode_points(blob)][start - first * CHUNK_POINTS :]
        tail = series.tail()
        if points and tail and tail[0] == points[-1]:
            tail = tail[1:]
        return series.bucket, series.stored, points + tail

    def latest_summary(self, experiment_id: int, attempt: int, name: str) -> SummaryRow | None:
        """The summary `row_fields` last read (no query): to tell whether a metric moved."""
        return self._latest.get((experiment_id, attempt), {}).get(name)

    def summaries(self, experiment_id: int, attempt: int) -> dict[str, SummaryRow]:
        return {row.name: row for row in self.db.summaries(experiment_id, attempt)}

    def compare(
        self, records: Sequence[ExperimentRecord], directions: dict[str, str]
    ) -> list[dict[str, Any]]:
        """One row per experiment (its current attempt): who it is, and per metric last /
        min / max and the best value's step. Each log is read up to its end first."""
        rows = []
        for record in records:
            self._catch_up(record, record.attempt)
            summaries = self.summaries(record.id, record.attempt)
            rows.append(
                {
                    "id": record.id,
                    "name": record.name,
                    "status": record.status.value,
                    "runtime": record.runtime,
                    "attempt": record.attempt,
                    "group": record.group_name,
                    "params": record.params,
                    "metrics": {
                        name: metric_summary(name, summary, directions)
                        for name, summary in summaries.items()
                    },
                }
            )
        return rows


def _has_run(record: ExperimentRecord) -> bool:
    return bool(record.log_path) and isinstance(record.attempt, int) and record.attempt >= 1


def _timed(
    points: dict[str, Columns], first: float, per_byte: float
) -> dict[str, tuple[list[float], list[float], WallTimes]]:
    """Each series' columns with its points' wall times in ms (as stored), from their bytes'
    offsets; a time is worked out only if a point that needs it is kept (see WallTimes)."""
    start, scale = first * 1000, per_byte * 1000
    shared: list[tuple[list[int], WallTimes]] = []  # series from the same lines: one object
    out = {}
    for name, (steps, values, offsets) in points.items():
        times = next((t for o, t in shared if o == offsets), None)  # list == runs in C
        if times is None:
            times = WallTimes(offsets, start, scale)
            shared.append((offsets, times))
        out[name] = (steps, values, times)
    return out


def _summary(state: SeriesState) -> dict[str, Any]:
    none: list[float | None] = [None, None, None]
    last: list[float | None] = list(state.last) if state.last else none
    low: list[float | None] = list(state.low) if state.low else none
    high: list[float | None] = list(state.high) if state.high else none
    return {
        "count": state.count,
        "stored": state.stored,
        "last": _finite_or_nan(last[1]),
        "last_step": last[0],
        "min": low[1],
        "min_step": low[0],
        "max": high[1],
        "max_step": high[0],
    }


def _wire_number(value: float | None) -> float | None:
    """A value for a table row: 5 significant digits (enough to read, short on the wire)."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.5g}")


def _finite_or_nan(value: float | None) -> float | None:
    # SQLite stores NaN as NULL; the summary's last value then reads as "no number".
    return None if value is None or math.isnan(value) else value


def _read(path: str, offset: int, size: int) -> bytes:
    if size <= 0:
        return b""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return b""
    try:
        return os.pread(fd, size, offset)
    finally:
        os.close(fd)


def _read_tail(path: str, size: int) -> bytes:
    return _read(path, max(0, size - TAIL_BYTES), min(size, TAIL_BYTES))
