"""The experiment store: one SQLite database (WAL) shared by every nbexp process.

Only this module speaks SQL. Status changes are compare-and-set updates whose allowed source
states come from `states.TRANSITIONS`, each written together with its history row.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see _io/database.py
import builtins
import contextlib
import json
import os
import time

from .._core.errors import NotFound
from .._core.states import Action, Status, sources
from .database import (
    DATABASE_FILENAME,
    DEFAULT_BUSY_TIMEOUT_S,
    MIGRATIONS,
    SCHEMA_VERSION,
    Database,
)

# The runner imports this module: keep its imports light (no typing, dataclasses or pathlib
# at run time), since every running experiment pays for them in memory.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from typing import Any

    from .._core.records import AttemptRecord, ExperimentRecord, HistoryEntry
    from .._core.scheduler import QueuedRow

_STATUS_VALUES = frozenset(s.value for s in Status)
_JSON_COLUMNS = {
    "command",
    "env",
    "gpus",
    "options",
    "after",
    "assigned_gpus",
    "params",
    "tags",
    "retry_on",
    "requeue_on",
    "final_progress",
}
_BOOL_COLUMNS = {"shell", "uv"}


def decode_row(row: sqlite3.Row) -> dict[str, Any]:
    """A row as a dict with JSON columns parsed and booleans as bool."""
    values: dict[str, Any] = {}
    for key in row.keys():  # noqa: SIM118 - sqlite3.Row is not a mapping
        value = row[key]
        if key in _JSON_COLUMNS and value is not None:
            value = json.loads(value)
        elif key in _BOOL_COLUMNS:
            value = bool(value)
        values[key] = value
    return values


def new_attempt_fields(attempt: int, log_path: str, **values: Any) -> dict[str, Any]:
    """Columns for a new attempt: every field the previous attempt left behind reset, then
    `values` (started, assigned_gpus, queued_at …) set. One list, for every executor."""
    fields: dict[str, Any] = dict(
        attempt=attempt,
        log_path=log_path,
        started=None,
        ended=None,
        pid=None,
        pid_start=None,
        runner_pid=None,
        runner_start=None,
        exit_code=None,
        signal=None,
        error=None,
        stop_requested=None,
        stop_grace=None,
        job_id=None,
        assigned_gpus=None,
        waiting_for=None,
        launcher_pid=None,
        launcher_start=None,
        log_problem=None,
        failure_kind=None,
        failure_summary=None,
        not_before=None,
        paused_at=None,
        paused_seconds=0.0,
        node=None,
        final_progress=None,
    )
    fields.update(values)
    return fields


class Store:
    """Access to one nbexp database. Safe to share between threads (one connection each)."""

    def __init__(
        self,
        home: str | os.PathLike[str],
        *,
        busy_timeout: float | None = None,
        create: bool = True,
    ) -> None:
        self.home = os.fspath(home)
        # create=False: a runner must never make a new database (the home was deleted).
        self.db = Database(self.home, timeout=busy_timeout, create=create)
        self.path = self.db.path
        self.busy_timeout = self.db.busy_timeout

    @property
    def read_only(self) -> bool:
        """True when this process may read the database but not write it."""
        return self.db.read_only

    @property
    def store_id(self) -> str:
        """The store's random identity; log folders and runners carry it."""
        return self.db.store_id

    def close(self) -> None:
        """Close every connection this store opened, in every thread."""
        self.db.close()

    def close_thread(self) -> None:
        """Close the calling thread's connection (call it when a thread ends)."""
        self.db.close_thread()

    def read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return _reading(self.db)

    def write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction; taken at BEGIN so that compare-and-set steps never deadlock."""
        return self.db.write()

    def snapshot(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """Reads that see the store as it was at the first of them (one read transaction), so
        that what they read together agrees while other processes write between them."""
        return self.db.snapshot()

    def schema_version(self) -> int:
        with self.read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- experiments ------------------------------------------------------------------------

    def insert(self, **values: Any) -> int:
        values.setdefault("created", time.time())
        values.setdefault("status", Status.PENDING.value)
        columns = list(values)
        encoded = [_encode(c, values[c]) for c in columns]
        with self.write() as conn:
            cursor = conn.execute(
                f"INSERT INTO experiments ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                encoded,
            )
            experiment_id = int(cursor.lastrowid or 0)
            _add_history(conn, experiment_id, None, Status(values["status"]), "created")
        return experiment_id

    def _row(self, experiment_id: int) -> sqlite3.Row:
        if not -(2**63) <= experiment_id < 2**63:
            raise NotFound(experiment_id)  # no row can have it; SQLite could not even look
        with self.read() as conn:
            row = conn.execute(
                "SELECT * FROM experiments WHERE id = ?", (experiment_id,)
            ).fetchone()
        if row is None:
            raise NotFound(experiment_id)
        return row

    def get_row(self, experiment_id: int) -> dict[str, Any]:
        """One experiment as a plain dict (the runner's view: no record classes needed)."""
        return decode_row(self._row(experiment_id))

    def get(self, experiment_id: int) -> ExperimentRecord:
        return _record(self._row(experiment_id))

    def list(
        self,
        statuses: Sequence[Status] | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> builtins.list[ExperimentRecord]:
        """Experiments (in these states), oldest first; inside `conn`'s transaction if given."""
        if conn is None:
            with self.read() as c:
                return self.list(statuses, c)
        if statuses:
            marks = ", ".join("?" * len(statuses))
            rows = conn.execute(
                f"SELECT * FROM experiments WHERE status IN ({marks}) ORDER BY id",
                [s.value for s in statuses],
            ).fetchall()
        else:
            rows = conn.execute("SELECT * FROM experiments ORDER BY id").fetchall()
        return [_record(r) for r in rows]

    def update(
        self, experiment_id: int, conn: sqlite3.Connection | None = None, **values: Any
    ) -> None:
        """Set fields that are not the status (pids, offsets, requests)."""
        assert "status" not in values, "use transition() to change a status"
        sets = ", ".join(f"{c} = ?" for c in values)
        params = [_encode(c, v) for c, v in values.items()] + [experiment_id]
        sql = f"UPDATE experiments SET {sets} WHERE id = ?"
        if conn is not None:
            conn.execute(sql, params)
            return
        with self.write() as c:
            c.execute(sql, params)

    def update_attempt(self, experiment_id: int, attempt: int, **values: Any) -> None:
        """Set fields (not the status) of one attempt; nothing if the experiment moved on."""
        assert "status" not in values, "use transition() to change a status"
        sets = ", ".join(f"{c} = ?" for c in values)
        params = [_encode(c, v) for c, v in values.items()] + [experiment_id, attempt]
        with self.write() as conn:
            conn.execute(f"UPDATE experiments SET {sets} WHERE id = ? AND attempt = ?", params)

    def transition(
        self,
        experiment_id: int,
        from_statuses: frozenset[Status] | set[Status],
        to_status: Status,
        reason: str | None,
        conn: sqlite3.Connection | None = None,
        *,
        where_attempt: int | None = None,
        **values: Any,
    ) -> bool:
        """Compare-and-set: move to `to_status` only if the status is one of `from_statuses`.

        Returns whether this call made the change. `values` are written in the same statement.
        """
        if conn is None:
            with self.write() as c:
                return self.transition(
                    experiment_id,
                    from_statuses,
                    to_status,
                    reason,
                    c,
                    where_attempt=where_attempt,
                    **values,
                )
        row = conn.execute(
            "SELECT status, attempt FROM experiments WHERE id = ?", (experiment_id,)
        ).fetchone()
        if row is None:
            raise NotFound(experiment_id)
        old = Status(row["status"]) if row["status"] in _STATUS_VALUES else None
        sets = ["status = ?"] + [f"{c} = ?" for c in values]
        params: list[Any] = [to_status.value] + [_encode(c, v) for c, v in values.items()]
        marks = ", ".join("?" * len(from_statuses))
        sql = f"UPDATE experiments SET {', '.join(sets)} WHERE id = ? AND status IN ({marks})"
        params += [experiment_id] + [s.value for s in from_statuses]
        if where_attempt is not None:
            sql += " AND attempt = ?"
            params.append(where_attempt)
        if conn.execute(sql, params).rowcount != 1:
            return False
        _add_history(conn, experiment_id, old, to_status, reason)
        self._sync_attempt(conn, experiment_id)
        return True

    def finish(
        self,
        experiment_id: int,
        attempt: int,
        status: Status,
        reason: str | None,
        *,
        ended: float | None = None,
        error: str | None = None,
        **values: Any,
    ) -> bool:
        """End one attempt (compare-and-set from the states that may finish; `ended` defaults
        to now). Unless it completed, the reason is also the error shown, if none is given."""
        if error is None and status is not Status.COMPLETED:
            error = reason
        return self.transition(
            experiment_id,
            sources(Action.FINISH),
            status,
            reason,
            where_attempt=attempt,
            ended=time.time() if ended is None else ended,
            error=error,
            **values,
        )

    def _sync_attempt(self, conn: sqlite3.Connection, experiment_id: int) -> None:
        """Mirror the current attempt's fields into the attempts table."""
        conn.execute(
            """
            INSERT INTO attempts (experiment_id, attempt, status, started, ended, pid, exit_code,
                                  signal, error, log_path, failure_kind, failure_summary)
            SELECT id, attempt, status, started, ended, pid, exit_code, signal, error, log_path,
                   failure_kind, failure_summary
            FROM experiments WHERE id = ? AND attempt > 0 AND log_path IS NOT NULL
            ON CONFLICT (experiment_id, attempt) DO UPDATE SET
                status = excluded.status, started = excluded.started, ended = excluded.ended,
                pid = excluded.pid, exit_code = excluded.exit_code, signal = excluded.signal,
                error = excluded.error, failure_kind = excluded.failure_kind,
                failure_summary = excluded.failure_summary
            WHERE excluded.status != 'queued'  -- an ended attempt whose retry waits stays ended
            """,
            (experiment_id,),
        )

    def request_stop(
        self, experiment_id: int, attempt: int, grace: float, *, only_running: bool
    ) -> None:
        """Record that a user asked this attempt to stop (the runner and reconcile read it)."""
        sql = (
            "UPDATE experiments SET stop_requested = ?, stop_grace = ? WHERE id = ? AND attempt = ?"
        )
        if only_running:
            sql += " AND status IN ('running', 'paused')"
        with self.write() as conn:
            conn.execute(sql, (time.time(), grace, experiment_id, attempt))

    # -- the queue ----------------------------------------------------------------------------

    def queue_needs_gpus(self, executor: str = "local") -> bool | None:
        """None when nothing of `executor` is queued (the common case: one indexed query);
        else whether any queued experiment asks for GPUs."""
        with self.read() as conn:
            row = conn.execute(
                "SELECT MAX(gpus IS NOT NULL) FROM experiments "
                "WHERE status = 'queued' AND executor = ?",
                (executor,),
            ).fetchone()
        return None if row[0] is None else bool(row[0])

    def read_queue(self, conn: sqlite3.Connection) -> tuple[dict[int, QueuedRow], dict[int, str]]:
        """The local queue, in one indexed query, keyed by id (inside the caller's transaction),
        and the queued rows that cannot be decoded, with why."""
        from .._core.scheduler import QueuedRow

        rows = conn.execute(
            "SELECT id, attempt, gpus, options, priority, queued_at, created, after, group_name, "
            "not_before, waiting_for FROM experiments "
            "WHERE status = 'queued' AND executor = 'local'"
        ).fetchall()
        queue: dict[int, QueuedRow] = {}
        corrupt: dict[int, str] = {}
        for r in rows:
            try:
                queue[r[0]] = QueuedRow(
                    id=r[0],
                    attempt=r[1],
                    gpus=_fast_json(r[2], []),
                    options=_fast_json(r[3], {}) or {},
                    priority=r[4],
                    queued_at=r[5] if r[5] is not None else r[6],
                    after=tuple(_fast_json(r[7], []) or ()),
                    group=r[8],
                    not_before=r[9],
                    waiting_for=r[10],
                )
            except (ValueError, TypeError) as e:
                corrupt[r[0]] = f"its row in the store is corrupt ({e})"
        return queue, corrupt

    # -- groups -------------------------------------------------------------------------------

    def groups(self, conn: sqlite3.Connection | None = None) -> dict[str, dict[str, Any]]:
        """Every group with settings of its own: {name: {created, max_parallel, paused}}."""
        if conn is None:
            with self.read() as c:
                return self.groups(c)
        rows = conn.execute("SELECT name, created, max_parallel, paused FROM groups").fetchall()
        return {
            r["name"]: {
                "created": r["created"],
                "max_parallel": r["max_parallel"],
                "paused": bool(r["paused"]),
            }
            for r in rows
        }

    def set_group(self, name: str, **values: Any) -> None:
        """Create a group's row (if missing) and set `max_parallel` and/or `paused`."""
        with self.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO groups (name, created) VALUES (?, ?)", (name, time.time())
            )
            for column in ("max_parallel", "paused"):
                if column in values:
                    conn.execute(
                        f"UPDATE groups SET {column} = ? WHERE name = ?",
                        (_encode(column, values[column]), name),
                    )

    def delete_group(self, name: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM groups WHERE name = ?", (name,))

    def set_waiting_reasons(self, conn: sqlite3.Connection, reasons: dict[int, str]) -> None:
        """Record why each queued experiment waits now (callers pass only what changed)."""
        conn.executemany(
            "UPDATE experiments SET waiting_for = ? WHERE id = ? AND status = 'queued'",
            [(why, experiment_id) for experiment_id, why in reasons.items()],
        )

    def dependency_statuses(
        self, conn: sqlite3.Connection, ids: Iterable[int]
    ) -> dict[int, Status | None]:
        """Each id's status, None for one that no longer exists."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = conn.execute(
            f"SELECT id, status FROM experiments WHERE id IN ({marks})", wanted
        ).fetchall()
        found: dict[int, Status | None] = {r["id"]: Status(r["status"]) for r in rows}
        return {i: found.get(i) for i in wanted}

    def delete(self, experiment_id: int, allowed_from: frozenset[Status]) -> bool:
        with self.write() as conn:
            marks = ", ".join("?" * len(allowed_from))
            # A status no version of nbexp wrote (a corrupt row) may always be removed.
            known = ", ".join("?" * len(Status))
            cursor = conn.execute(
                f"DELETE FROM experiments WHERE id = ? "
                f"AND (status IN ({marks}) OR status NOT IN ({known}))",
                [experiment_id, *(s.value for s in allowed_from), *(s.value for s in Status)],
            )
            if cursor.rowcount != 1:
                return False
            conn.execute("DELETE FROM attempts WHERE experiment_id = ?", (experiment_id,))
            conn.execute("DELETE FROM history WHERE experiment_id = ?", (experiment_id,))
            # Imported here: the runner loads this module and must stay lean.
            from .metric_store import delete_metrics

            delete_metrics(conn, experiment_id)
            return True

    def note(self, experiment_id: int, reason: str) -> None:
        """A history entry that records an event without a status change."""
        with self.write() as conn:
            row = conn.execute(
                "SELECT status FROM experiments WHERE id = ?", (experiment_id,)
            ).fetchone()
            if row is None:
                raise NotFound(experiment_id)
            status = Status(row["status"]) if row["status"] in _STATUS_VALUES else Status.ERROR
            _add_history(conn, experiment_id, status, status, reason)

    def attempt_log_paths(self, experiment_id: int) -> builtins.list[str]:
        """The log file of every attempt of an experiment (the current one included)."""
        with self.read() as conn:
            rows = conn.execute(
                "SELECT log_path FROM attempts WHERE experiment_id = ? "
                "UNION SELECT log_path FROM experiments WHERE id = ? AND log_path IS NOT NULL",
                (experiment_id, experiment_id),
            ).fetchall()
        return [r[0] for r in rows if isinstance(r[0], str)]

    def attempt_log_path(self, experiment_id: int, attempt: int) -> str | None:
        """Where attempt `attempt` of an experiment logged, as recorded."""
        with self.read() as conn:
            row = conn.execute(
                "SELECT log_path FROM attempts WHERE experiment_id = ? AND attempt = ?",
                (experiment_id, attempt),
            ).fetchone()
        return row[0] if row is not None else None

    def history(self, experiment_id: int) -> builtins.list[HistoryEntry]:
        from .._core.records import HistoryEntry

        with self.read() as conn:
            rows = conn.execute(
                "SELECT at, from_status, to_status, reason FROM history "
                "WHERE experiment_id = ? ORDER BY id",
                (experiment_id,),
            ).fetchall()
        return [
            HistoryEntry(
                r["at"],
                Status(r["from_status"]) if r["from_status"] else None,
                Status(r["to_status"]),
                r["reason"],
            )
            for r in rows
        ]

    def attempts(self, experiment_id: int) -> builtins.list[AttemptRecord]:
        from .._core.records import AttemptRecord

        with self.read() as conn:
            rows = conn.execute(
                "SELECT * FROM attempts WHERE experiment_id = ? ORDER BY attempt", (experiment_id,)
            ).fetchall()
        return [
            AttemptRecord(
                r["experiment_id"],
                r["attempt"],
                Status(r["status"]),
                r["started"],
                r["ended"],
                r["pid"],
                r["exit_code"],
                r["signal"],
                r["error"],
                r["log_path"],
            )
            for r in rows
        ]

    def settings(self) -> dict[str, str]:
        with self.read() as conn:
            return {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM settings")}

    def set_setting(self, key: str, value: str | None) -> None:
        with self.write() as conn:
            if value is None:
                conn.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )


def _record(row: sqlite3.Row) -> ExperimentRecord:
    """A row as a record; a row that cannot be decoded as a record flagged corrupt."""
    from .._core.records import corrupt_record, record_from_values

    try:
        return record_from_values(decode_row(row))
    except (ValueError, TypeError, KeyError) as e:
        return corrupt_record(dict(zip(row.keys(), tuple(row), strict=True)), str(e))


def _encode(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS and value is not None:
        return json.dumps(value)
    if isinstance(value, Status):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def _add_history(
    conn: sqlite3.Connection,
    experiment_id: int,
    old: Status | None,
    new: Status,
    reason: str | None,
) -> None:
    conn.execute(
        "INSERT INTO history (experiment_id, at, from_status, to_status, reason) "
        "VALUES (?, ?, ?, ?, ?)",
        (experiment_id, time.time(), old.value if old else None, new.value, reason),
    )


def _fast_json(text: str | None, empty: Any) -> Any:
    # Most rows hold '[]' / '{}' / NULL: skip the parser for those (1,000 rows per step).
    if text is None:
        return None
    if text in ("[]", "{}"):
        return empty
    return json.loads(text)


@contextlib.contextmanager
def _reading(db: Database) -> Iterator[sqlite3.Connection]:
    with db.translate_errors():
        yield db.connection()


__all__ = [
    "DATABASE_FILENAME",
    "DEFAULT_BUSY_TIMEOUT_S",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Store",
    "decode_row",
    "new_attempt_fields",
]
