"""The SQL of metric histories (schema v5's metric_cursors, metric_chunks, metric_summaries).

One write transaction per extraction pass: the cursor's byte offset moves with a compare-and-set
(`UPDATE … WHERE offset = ?`), in the same transaction as the points and summaries it brings, so
two processes reading one log never both store its points. Chunk -1 of a metric holds its
sparkline (JSON), so a table can show one without reading the history.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see _io/database.py
import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

SPARK_CHUNK = -1


@dataclass(frozen=True)
class SummaryRow:
    """One metric of one attempt, as stored: exact over every point seen."""

    experiment_id: int
    attempt: int
    name: str
    count: int
    stored: int
    last: float | None
    last_step: float | None
    min: float | None
    min_step: float | None
    max: float | None
    max_step: float | None
    updated: float


@dataclass(frozen=True)
class Cursor:
    """How far extraction got: the byte offset, its state, and the state's stored text (the
    compare-and-set checks both, so a pass that moved no byte still counts)."""

    offset: int
    state: dict[str, Any]
    token: str | None  # None: no cursor yet


@dataclass
class PassWrites:
    """What one extraction pass stores: the new cursor, and per metric its chunks (all of them
    when `rewrite`, else the ones given replace or add to what is there) and summary."""

    offset: int
    state: dict[str, Any]
    chunks: dict[str, dict[int, bytes]]
    rewrite: set[str]
    summaries: dict[str, dict[str, Any]]
    sparks: dict[str, list[float | None]]
    final_progress: dict[str, Any] | None = None  # set on the experiment when the log ended


class Transactions(Protocol):
    """What this module needs of `store.Store` (which imports this module to delete an
    experiment's histories with it)."""

    def read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

    def write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...


class MetricStore:
    """Metric histories in one home's database."""

    def __init__(self, store: Transactions) -> None:
        self.store = store

    # -- reading ----------------------------------------------------------------------------

    def cursor(self, experiment_id: int, attempt: int) -> Cursor:
        """Where extraction of an attempt's log stands (offset 0 and no state before any)."""
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT offset, state FROM metric_cursors WHERE experiment_id = ? AND attempt = ?",
                (experiment_id, attempt),
            ).fetchone()
        if row is None:
            return Cursor(0, {}, None)
        try:
            state = json.loads(row[1])
        except ValueError:
            state = None
        if not isinstance(state, dict):
            state = {"unreadable": True}  # the history is rebuilt from the start of the log
        return Cursor(int(row[0]), state, row[1])

    def chunks(
        self, experiment_id: int, attempt: int, names: Iterable[str] | None = None
    ) -> dict[str, list[bytes]]:
        """Every stored chunk of the attempt's metrics (or of `names`), in order."""
        sql = (
            "SELECT name, points FROM metric_chunks WHERE experiment_id = ? AND attempt = ? "
            "AND chunk >= 0"
        )
        args: list[Any] = [experiment_id, attempt]
        wanted = list(names) if names is not None else None
        if wanted is not None:
            sql += f" AND name IN ({', '.join('?' * len(wanted))})"
            args += wanted
        with self.store.read() as conn:
            rows = conn.execute(sql + " ORDER BY name, chunk", args).fetchall()
        found: dict[str, list[bytes]] = {}
        for name, blob in rows:
            found.setdefault(name, []).append(bytes(blob))
        return found

    def chunks_from(self, experiment_id: int, attempt: int, name: str, first: int) -> list[bytes]:
        """One metric's chunks from number `first` on, in order (a live chart's new points)."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT points FROM metric_chunks WHERE experiment_id = ? AND attempt = ? "
                "AND name = ? AND chunk >= ? ORDER BY chunk",
                (experiment_id, attempt, name, max(0, first)),
            ).fetchall()
        return [bytes(r[0]) for r in rows]

    def chunk(self, experiment_id: int, attempt: int, name: str, chunk: int) -> bytes | None:
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT points FROM metric_chunks "
                "WHERE experiment_id = ? AND attempt = ? AND name = ? AND chunk = ?",
                (experiment_id, attempt, name, chunk),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def summaries(self, experiment_id: int, attempt: int) -> list[SummaryRow]:
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT * FROM metric_summaries WHERE experiment_id = ? AND attempt = ? "
                "ORDER BY name",
                (experiment_id, attempt),
            ).fetchall()
        return [SummaryRow(*row) for row in rows]

    def current_summaries(self, updated_since: float | None = None) -> list[SummaryRow]:
        """The summaries of every experiment's current attempt (changed since a time)."""
        sql = (
            "SELECT s.* FROM metric_summaries s JOIN experiments e "
            "ON e.id = s.experiment_id AND e.attempt = s.attempt"
        )
        args: list[Any] = []
        if updated_since is not None:
            sql += " WHERE s.updated >= ?"
            args.append(updated_since)
        with self.store.read() as conn:
            rows = conn.execute(sql + " ORDER BY s.experiment_id, s.name", args).fetchall()
        return [SummaryRow(*row) for row in rows]

    def final_cursors(self) -> list[tuple[int, int]]:
        """(experiment id, attempt) of every attempt whose log was read to its end."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT experiment_id, attempt FROM metric_cursors "
                "WHERE state LIKE '%\"final\":true%'"
            ).fetchall()
        return [(int(r[0]), int(r[1])) for r in rows]

    def spark(self, experiment_id: int, attempt: int, name: str) -> list[float | None]:
        blob = self.chunk(experiment_id, attempt, name, SPARK_CHUNK)
        if blob is None:
            return []
        try:
            values = json.loads(blob)
        except ValueError:
            return []
        return values if isinstance(values, list) else []

    # -- writing ----------------------------------------------------------------------------

    def commit(
        self, experiment_id: int, attempt: int, expected: Cursor, writes: PassWrites
    ) -> Cursor | None:
        """Store one pass if the cursor is still `expected` (nobody stored these bytes
        meanwhile): the new cursor; None when another process got there first."""
        token = json.dumps(writes.state, separators=(",", ":"))
        with self.store.write() as conn:
            # Stamped once the write lock is held, so summaries' times follow commit order:
            # a reader that asks for those written since its last look misses none.
            now = time.time()
            if not _move_cursor(conn, experiment_id, attempt, expected, writes.offset, token):
                return None
            key = (experiment_id, attempt)
            for name in writes.rewrite:
                conn.execute(
                    "DELETE FROM metric_chunks "
                    "WHERE experiment_id = ? AND attempt = ? AND name = ? AND chunk >= 0",
                    (*key, name),
                )
            conn.executemany(
                "INSERT OR REPLACE INTO metric_chunks (experiment_id, attempt, name, chunk, points)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (*key, name, number, blob)
                    for name, chunks in writes.chunks.items()
                    for number, blob in chunks.items()
                ]
                + [
                    (*key, name, SPARK_CHUNK, json.dumps(values).encode())
                    for name, values in writes.sparks.items()
                ],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO metric_summaries (experiment_id, attempt, name, count, "
                "stored, last, last_step, min, min_step, max, max_step, updated) VALUES "
                "(:id, :attempt, :name, :count, :stored, :last, :last_step, :min, :min_step, "
                ":max, :max_step, :updated)",
                [
                    {**s, "id": experiment_id, "attempt": attempt, "name": name, "updated": now}
                    for name, s in writes.summaries.items()
                ],
            )
            if writes.final_progress is not None:
                conn.execute(
                    "UPDATE experiments SET final_progress = ? WHERE id = ? AND attempt = ?",
                    (json.dumps(writes.final_progress), experiment_id, attempt),
                )
        return Cursor(writes.offset, writes.state, token)

    def forget(self, experiment_id: int, attempt: int) -> None:
        """Drop an attempt's histories (its log was replaced: they are rebuilt from byte 0)."""
        with self.store.write() as conn:
            delete_metrics(conn, experiment_id, attempt)


def _move_cursor(
    conn: sqlite3.Connection,
    experiment_id: int,
    attempt: int,
    expected: Cursor,
    offset: int,
    state: str,
) -> bool:
    if expected.token is None:
        inserted = conn.execute(
            "INSERT OR IGNORE INTO metric_cursors (experiment_id, attempt, offset, state) "
            "VALUES (?, ?, ?, ?)",
            (experiment_id, attempt, offset, state),
        )
        return inserted.rowcount == 1
    moved = conn.execute(
        "UPDATE metric_cursors SET offset = ?, state = ? "
        "WHERE experiment_id = ? AND attempt = ? AND offset = ? AND state = ?",
        (offset, state, experiment_id, attempt, expected.offset, expected.token),
    )
    return moved.rowcount == 1


def delete_metrics(
    conn: sqlite3.Connection, experiment_id: int, attempt: int | None = None
) -> None:
    """Remove an experiment's metric rows (of one attempt, or all), inside `conn`'s transaction."""
    where = "experiment_id = ?" + (" AND attempt = ?" if attempt is not None else "")
    args = (experiment_id,) if attempt is None else (experiment_id, attempt)
    for table in ("metric_cursors", "metric_chunks", "metric_summaries"):
        conn.execute(f"DELETE FROM {table} WHERE {where}", args)
