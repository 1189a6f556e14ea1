"""The experiment store: one SQLite database (WAL) shared by every nbexp process.

Only this module speaks SQL. Status changes are compare-and-set updates whose allowed source
states come from `states.TRANSITIONS`, each written together with its history row.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import sqlite3
import threading
import time

from .._core.errors import NotFound, StoreError, UsageError
from .._core.states import Action, Status, sources

# The runner imports this module: keep its imports light (no typing, dataclasses or pathlib
# at run time), since every running experiment pays for them in memory.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from typing import Any

    from .._core.records import AttemptRecord, ExperimentRecord, HistoryEntry
    from .._core.scheduler import QueuedRow

DATABASE_FILENAME = "nbexp.db"

BUSY_TIMEOUT_ENV = "NBEXP_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT_S = 10.0

# Forward migrations; MIGRATIONS[n] takes a database from schema version n to n + 1.
# Never edit a released entry: add a new one (tests/data/ keeps old databases that must open).
MIGRATIONS: list[str] = [
    # v0 -> v1: the first schema.
    """
    CREATE TABLE experiments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        command TEXT NOT NULL,              -- JSON argv
        shell INTEGER NOT NULL DEFAULT 0,
        cwd TEXT NOT NULL,
        env TEXT NOT NULL DEFAULT '{}',     -- JSON overrides
        gpus TEXT,                          -- JSON request, NULL = CPU only
        status TEXT NOT NULL,
        created REAL NOT NULL,
        started REAL,
        ended REAL,
        pid INTEGER,
        exit_code INTEGER,
        signal INTEGER,
        error TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        log_path TEXT
    );
    CREATE TABLE attempts (
        experiment_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        started REAL,
        ended REAL,
        pid INTEGER,
        exit_code INTEGER,
        signal INTEGER,
        error TEXT,
        log_path TEXT NOT NULL,
        PRIMARY KEY (experiment_id, attempt)
    );
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        experiment_id INTEGER NOT NULL,
        at REAL NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX history_by_experiment ON history (experiment_id, id);
    """,
    # v1 -> v2: process identity (pid reuse), the runner, stop requests, uv/tty, executors.
    """
    ALTER TABLE experiments ADD COLUMN pid_start TEXT;
    ALTER TABLE experiments ADD COLUMN runner_pid INTEGER;
    ALTER TABLE experiments ADD COLUMN runner_start TEXT;
    ALTER TABLE experiments ADD COLUMN stop_requested REAL;
    ALTER TABLE experiments ADD COLUMN stop_grace REAL;
    ALTER TABLE experiments ADD COLUMN uv INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE experiments ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE experiments ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE experiments ADD COLUMN job_id TEXT;
    ALTER TABLE experiments ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE experiments ADD COLUMN after TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE experiments ADD COLUMN assigned_gpus TEXT;
    ALTER TABLE experiments ADD COLUMN queued_at REAL;
    CREATE INDEX experiments_by_status ON experiments (status);
    """,
    # v2 -> v3: settings shared by every process (scheduling limits).
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


_JSON_COLUMNS = {"command", "env", "gpus", "options", "after", "assigned_gpus"}
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


def _busy_timeout() -> float:
    try:
        return float(os.environ.get(BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT_S))
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT_S


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
    )
    fields.update(values)
    return fields


class Store:
    """Access to one nbexp database. Safe to share between threads (one connection each)."""

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.home = os.fspath(home)
        self.path = os.path.join(self.home, DATABASE_FILENAME)
        self.busy_timeout = _busy_timeout()
        self._local = threading.local()
        self._migrate_lock = threading.Lock()
        if not os.path.exists(self.path):
            try:
                os.makedirs(self.home, mode=0o700, exist_ok=True)
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
            except OSError as e:
                raise StoreError(f"cannot create the nbexp database {self.path}: {e}") from None
        with self._translate_errors():
            self._migrate(self._connection())

    # -- connections and error translation ------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as e:
            text = str(e)
            if "locked" in text or "busy" in text:
                raise StoreError(
                    f"the nbexp database {self.path} stayed locked by another process for "
                    f"{self.busy_timeout:g} s; try again (set {BUSY_TIMEOUT_ENV} to wait longer)"
                ) from None
            raise StoreError(f"cannot use the nbexp database {self.path}: {text}") from None
        except OverflowError:
            # A number (an id, a priority) that no SQLite INTEGER can hold: bad input, not a crash.
            raise UsageError("a number is out of range: use values below 2**63") from None
        except sqlite3.DatabaseError as e:
            raise StoreError(
                f"{self.path} is not a readable nbexp database ({e}); move it aside "
                f"(mv {self.path} {self.path}.bad) and nbexp will start a new one"
            ) from None

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._translate_errors():
            yield self._connection()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; taken at BEGIN so that compare-and-set steps never deadlock."""
        with self._translate_errors():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._migrate_lock:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the database {self.path} has schema v{version}, newer than this nbexp "
                    f"understands (v{SCHEMA_VERSION}); upgrade nbexp"
                )
            if version == SCHEMA_VERSION:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read inside the lock: another process may have migrated meanwhile.
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                for step in range(version, SCHEMA_VERSION):
                    for statement in _split_sql(MIGRATIONS[step]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {step + 1}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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

    def get_row(self, experiment_id: int) -> dict[str, Any]:
        """One experiment as a plain dict (the runner's view: no record classes needed)."""
        if not -(2**63) <= experiment_id < 2**63:
            raise NotFound(experiment_id)  # no row can have it; SQLite could not even look
        with self.read() as conn:
            row = conn.execute(
                "SELECT * FROM experiments WHERE id = ?", (experiment_id,)
            ).fetchone()
        if row is None:
            raise NotFound(experiment_id)
        return decode_row(row)

    def get(self, experiment_id: int) -> ExperimentRecord:
        from .._core.records import record_from_values

        return record_from_values(self.get_row(experiment_id))

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
        from .._core.records import record_from_values

        return [record_from_values(decode_row(r)) for r in rows]

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
        old = Status(row["status"])
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
                                  signal, error, log_path)
            SELECT id, attempt, status, started, ended, pid, exit_code, signal, error, log_path
            FROM experiments WHERE id = ? AND attempt > 0 AND log_path IS NOT NULL
            ON CONFLICT (experiment_id, attempt) DO UPDATE SET
                status = excluded.status, started = excluded.started, ended = excluded.ended,
                pid = excluded.pid, exit_code = excluded.exit_code, signal = excluded.signal,
                error = excluded.error
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
            sql += " AND status = 'running'"
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

    def read_queue(self, conn: sqlite3.Connection) -> dict[int, QueuedRow]:
        """The local queue, in one indexed query, keyed by id (inside the caller's transaction)."""
        from .._core.scheduler import QueuedRow

        rows = conn.execute(
            "SELECT id, attempt, gpus, options, priority, queued_at, created, after "
            "FROM experiments WHERE status = 'queued' AND executor = 'local'"
        ).fetchall()
        return {
            r[0]: QueuedRow(
                id=r[0],
                attempt=r[1],
                gpus=_fast_json(r[2], []),
                options=_fast_json(r[3], {}) or {},
                priority=r[4],
                queued_at=r[5] if r[5] is not None else r[6],
                after=tuple(_fast_json(r[7], []) or ()),
            )
            for r in rows
        }

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
            cursor = conn.execute(
                f"DELETE FROM experiments WHERE id = ? AND status IN ({marks})",
                [experiment_id, *(s.value for s in allowed_from)],
            )
            if cursor.rowcount != 1:
                return False
            conn.execute("DELETE FROM attempts WHERE experiment_id = ?", (experiment_id,))
            conn.execute("DELETE FROM history WHERE experiment_id = ?", (experiment_id,))
            return True

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


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (none of ours contain ';' inside literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
