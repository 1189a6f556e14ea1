"""Queries over many experiments at once, for stores of thousands: a page of the table sorted
and filtered in SQL (`nbexp ls`), counts per status and per group, a sweep's rows inserted in one
transaction, tags and notes, and the change counter (schema v6) that lets a monitor read only the
rows that changed since its last tick.

With `store.py` and `database.py`, the only module that speaks SQL.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see _io/database.py
import json
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .._core.errors import NotFound
from .._core.records import ExperimentRecord, corrupt_record, record_from_values
from .._core.states import Status
from .store import Store, decode_row

# How `nbexp ls --sort COL` orders, as SQL over the experiments table. Missing values sort last.
SORT_COLUMNS = {
    "id": "id",
    "name": "name COLLATE NOCASE",
    "status": "status",
    "group": "group_name COLLATE NOCASE",
    "created": "created",
    "started": "started",
    "ended": "ended",
    "runtime": "(COALESCE(ended, {now!r}) - started)",
    "exit": "exit_code",
    "priority": "priority",
}


@dataclass(frozen=True)
class Page:
    """Some experiments of a filtered list, and how many match in all."""

    records: list[ExperimentRecord]
    total: int  # experiments matching the filter
    everything: int  # experiments in the store


def _records(rows: Iterable[sqlite3.Row]) -> list[ExperimentRecord]:
    out = []
    for row in rows:
        try:
            out.append(record_from_values(decode_row(row)))
        except (ValueError, TypeError, KeyError) as e:
            out.append(corrupt_record(dict(zip(row.keys(), tuple(row), strict=True)), str(e)))
    return out


def _where(
    statuses: Sequence[Status] | None,
    group: str | None,
    ended_before: float | None = None,
    tag: str | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if tag is not None:  # tags: a JSON list of words
        clauses.append("EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)")
        params.append(tag)
    if statuses:
        clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
        params += [s.value for s in statuses]
    if group is not None:
        clauses.append("group_name = ?")
        params.append(group)
    if ended_before is not None:
        clauses.append("COALESCE(ended, created) < ?")
        params.append(ended_before)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def page(
    store: Store,
    *,
    statuses: Sequence[Status] | None = None,
    group: str | None = None,
    sort: str = "id",
    descending: bool = True,
    limit: int | None = 50,
    tag: str | None = None,
) -> Page:
    """The first `limit` experiments (None: all) matching the filter in this order; one indexed
    query for the rows and one for the counts, whatever the store's size."""
    where, params = _where(statuses, group, tag=tag)
    order = SORT_COLUMNS[sort].format(now=time.time())  # a float literal, never user text
    direction = "DESC" if descending else "ASC"
    sql = (
        f"SELECT * FROM experiments{where} "
        f"ORDER BY ({order}) IS NULL, {order} {direction}, id {direction}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with store.read() as conn:
        rows = conn.execute(sql, params).fetchall()
        total = conn.execute(f"SELECT COUNT(*) FROM experiments{where}", params).fetchone()[0]
        everything = (
            total if not where else conn.execute("SELECT COUNT(*) FROM experiments").fetchone()[0]
        )
    return Page(_records(rows), int(total), int(everything))


def matching(
    store: Store,
    *,
    statuses: Sequence[Status] | None = None,
    group: str | None = None,
    ended_before: float | None = None,
) -> list[ExperimentRecord]:
    """Every experiment matching the filter, oldest first (`ended_before`: ended, or created
    if it never ran, before that time)."""
    where, params = _where(statuses, group, ended_before)
    with store.read() as conn:
        rows = conn.execute(f"SELECT * FROM experiments{where} ORDER BY id", params).fetchall()
    return _records(rows)


def requeue_candidates(store: Store) -> list[ExperimentRecord]:
    """Ended Slurm attempts that may earn a requeue (errors with requeue_on and retries left);
    `requeue_due` decides among them."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT * FROM experiments WHERE status = 'error' AND executor = 'slurm' "
            "AND requeue_on IS NOT NULL AND retried < retries ORDER BY id"
        ).fetchall()
    return _records(rows)


def status_counts(store: Store, group: str | None = None) -> dict[str, int]:
    where, params = _where(None, group)
    with store.read() as conn:
        rows = conn.execute(
            f"SELECT status, COUNT(*) FROM experiments{where} GROUP BY status", params
        ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def group_counts(store: Store) -> dict[str, dict[str, Any]]:
    """Every group that has members or settings: {name: {statuses: {status: n}, created,
    max_parallel, paused}}, the newest group first."""
    with store.read() as conn:
        members = conn.execute(
            "SELECT group_name, status, COUNT(*), MIN(created) FROM experiments "
            "WHERE group_name IS NOT NULL GROUP BY group_name, status"
        ).fetchall()
        settings = conn.execute("SELECT name, created, max_parallel, paused FROM groups").fetchall()
    groups: dict[str, dict[str, Any]] = {}
    for name, status, count, created in members:
        entry = groups.setdefault(
            name, {"statuses": {}, "created": created, "max_parallel": None, "paused": False}
        )
        entry["statuses"][status] = int(count)
        entry["created"] = min(entry["created"], created)
    for name, created, max_parallel, paused in settings:
        entry = groups.setdefault(
            name, {"statuses": {}, "created": created, "max_parallel": None, "paused": False}
        )
        entry.update(max_parallel=max_parallel, paused=bool(paused))
    return dict(sorted(groups.items(), key=lambda item: -item[1]["created"]))


def group_exists(store: Store, name: str) -> bool:
    with store.read() as conn:
        member = conn.execute(
            "SELECT 1 FROM experiments WHERE group_name = ? LIMIT 1", (name,)
        ).fetchone()
        own = conn.execute("SELECT 1 FROM groups WHERE name = ?", (name,)).fetchone()
    return member is not None or own is not None


def insert_queued(
    store: Store, rows: Sequence[dict[str, Any]], group: str, max_parallel: int | None
) -> list[int]:
    """A sweep's experiments, queued, in one transaction with their history rows and their
    group's row (its parallel limit): 100 runs cost one commit, not 100."""
    now = time.time()
    ids: list[int] = []
    with store.write() as conn:
        conn.execute("INSERT OR IGNORE INTO groups (name, created) VALUES (?, ?)", (group, now))
        if max_parallel is not None:
            conn.execute("UPDATE groups SET max_parallel = ? WHERE name = ?", (max_parallel, group))
        for values in rows:
            values = {**values, "status": Status.QUEUED.value, "created": now, "queued_at": now}
            columns = list(values)
            cursor = conn.execute(
                f"INSERT INTO experiments ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                [_encode(values[c]) for c in columns],
            )
            ids.append(int(cursor.lastrowid or 0))
        conn.executemany(
            "INSERT INTO history (experiment_id, at, from_status, to_status, reason) "
            "VALUES (?, ?, NULL, 'queued', ?)",
            [(i, now, f"created by sweep {group!r}") for i in ids],
        )
    return ids


def _encode(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


def change_tags(
    store: Store, experiment_id: int, add: Sequence[str], remove: Sequence[str]
) -> list[str]:
    """Add and remove tags in one transaction, noted in the history; the tags now."""
    with store.write() as conn:
        row = conn.execute(
            "SELECT tags, status FROM experiments WHERE id = ?", (experiment_id,)
        ).fetchone()
        if row is None:
            raise NotFound(experiment_id)
        tags = [t for t in json.loads(row[0] or "[]") if t not in remove]
        tags += [t for t in add if t not in tags]
        conn.execute(
            "UPDATE experiments SET tags = ? WHERE id = ?", (json.dumps(tags), experiment_id)
        )
        words = [f"+{t}" for t in add] + [f"-{t}" for t in remove]
        _note(conn, experiment_id, row[1], "tags " + " ".join(words))
    return tags


def set_note(store: Store, experiment_id: int, note: str | None) -> None:
    with store.write() as conn:
        row = conn.execute(
            "SELECT status FROM experiments WHERE id = ?", (experiment_id,)
        ).fetchone()
        if row is None:
            raise NotFound(experiment_id)
        conn.execute("UPDATE experiments SET note = ? WHERE id = ?", (note, experiment_id))
        _note(conn, experiment_id, row[0], "note changed" if note else "note removed")


def _note(conn: sqlite3.Connection, experiment_id: int, status: str, reason: str) -> None:
    conn.execute(
        "INSERT INTO history (experiment_id, at, from_status, to_status, reason) "
        "VALUES (?, ?, ?, ?, ?)",
        (experiment_id, time.time(), status, status, reason),
    )


# -- what changed (schema v6's counter) -----------------------------------------------------------


def change_seq(store: Store) -> int:
    """A number that grows whenever any experiment is created, changed or removed."""
    with store.read() as conn:
        return int(conn.execute("SELECT seq FROM change_seq").fetchone()[0])


def changed_since(
    store: Store, seq: int, known: Collection[int]
) -> tuple[int, list[ExperimentRecord], set[int] | None]:
    """(the counter now, the experiments changed after `seq`, and the ids that exist when some
    of `known` may be gone, else None), read in one transaction so that they agree."""
    with store.snapshot() as conn:
        now = int(conn.execute("SELECT seq FROM change_seq").fetchone()[0])
        rows = conn.execute(
            "SELECT * FROM experiments WHERE changed > ? ORDER BY id", (seq,)
        ).fetchall()
        count = conn.execute("SELECT COUNT(*) FROM experiments").fetchone()[0]
        ids = None
        if count != len(known) + sum(1 for r in rows if r["id"] not in known):
            ids = {r[0] for r in conn.execute("SELECT id FROM experiments")}
    return now, _records(rows), ids


def database_bytes(store: Store) -> int:
    """The database's size in bytes (its pages; the WAL file is counted by the caller)."""
    with store.read() as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(size)
