"""Opening nbexp's SQLite database safely: its schema and migrations, its identity, file modes,
read-only use, and SQLite's errors turned into messages that say what to do.

- Every database has a random `store_id` (the `meta` table): log folders and runners carry it,
  so a log, an `.exit` file or a runner of one store can never be taken for another's (after
  `mv nbexp.db nbexp.db.bad`, or a home deleted and made again, ids start at 1 again).
- A database we may not write (chmod 400, another user's) is opened read-only without creating
  SQLite's `-shm`/`-wal` files; a `-shm` left unwritable by such an open is repaired on the next
  open, and the files are kept at mode 0600 (a copied or migrated database included).
- An empty (0-byte) database file beside existing logs is refused rather than silently becoming
  a new, empty store.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # see below
import contextlib
import os
import threading

from .._core.errors import StoreError, UsageError

# The runner imports this module: no typing, dataclasses or pathlib at run time, and SQLite
# through its C module `_sqlite3`, which is everything nbexp uses of it (connect, Row, the
# errors; CPython has had it under that name since 2.5): the `sqlite3` package around it only adds
# datetime adapters, and importing `datetime` for them cost every runner 0.3 MB of memory.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

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
    # v3 -> v4: the store's identity, who is launching an attempt (so that an interrupted launch
    # is noticed at once), and why a queued experiment waits now.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ALTER TABLE experiments ADD COLUMN launcher_pid INTEGER;
    ALTER TABLE experiments ADD COLUMN launcher_start TEXT;
    ALTER TABLE experiments ADD COLUMN waiting_for TEXT;
    ALTER TABLE experiments ADD COLUMN log_problem TEXT;
    """,
    # v4 -> v5: a researcher's day. Groups and sweeps (group, params, tags, a note, per-group
    # limits), metric histories kept for good (append-only chunks, a summary per metric, the
    # byte offset extraction reached), endings that explain themselves (failure kind and
    # summary, retries, time limits, hooks, pause), and Slurm depth (arrays, node, requeue).
    """
    ALTER TABLE experiments ADD COLUMN group_name TEXT;
    ALTER TABLE experiments ADD COLUMN params TEXT;
    ALTER TABLE experiments ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE experiments ADD COLUMN note TEXT;
    ALTER TABLE experiments ADD COLUMN failure_kind TEXT;
    ALTER TABLE experiments ADD COLUMN failure_summary TEXT;
    ALTER TABLE experiments ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE experiments ADD COLUMN retry_on TEXT;
    ALTER TABLE experiments ADD COLUMN retry_delay REAL NOT NULL DEFAULT 0;
    ALTER TABLE experiments ADD COLUMN not_before REAL;
    ALTER TABLE experiments ADD COLUMN timeout REAL;
    ALTER TABLE experiments ADD COLUMN timeout_signal TEXT;
    ALTER TABLE experiments ADD COLUMN on_end TEXT;
    ALTER TABLE experiments ADD COLUMN paused_at REAL;
    ALTER TABLE experiments ADD COLUMN paused_seconds REAL NOT NULL DEFAULT 0;
    ALTER TABLE experiments ADD COLUMN node TEXT;
    ALTER TABLE experiments ADD COLUMN array_job TEXT;
    ALTER TABLE experiments ADD COLUMN requeue_on TEXT;
    ALTER TABLE experiments ADD COLUMN final_progress TEXT;
    ALTER TABLE attempts ADD COLUMN failure_kind TEXT;
    ALTER TABLE attempts ADD COLUMN failure_summary TEXT;
    CREATE INDEX experiments_by_group ON experiments (group_name);
    CREATE TABLE groups (
        name TEXT PRIMARY KEY,
        created REAL NOT NULL,
        max_parallel INTEGER,
        paused INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE metric_cursors (
        experiment_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (experiment_id, attempt)
    );
    CREATE TABLE metric_chunks (
        experiment_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        name TEXT NOT NULL,
        chunk INTEGER NOT NULL,
        points BLOB NOT NULL,
        PRIMARY KEY (experiment_id, attempt, name, chunk)
    );
    CREATE TABLE metric_summaries (
        experiment_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        last REAL,
        last_step REAL,
        min REAL,
        min_step REAL,
        max REAL,
        max_step REAL,
        updated REAL NOT NULL,
        PRIMARY KEY (experiment_id, attempt, name)
    );
    """,
    # v5 -> v6: a change counter, so that a dashboard of 10,000 experiments reads only the rows
    # that changed since its last tick (`changed > ?`), whoever wrote them (a runner of any
    # version included: triggers, not code, keep it). `change_seq` only grows, deletions too.
    """
    CREATE TABLE change_seq (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
    INSERT INTO change_seq (id, seq) SELECT 1, COALESCE(MAX(id), 0) FROM experiments;
    ALTER TABLE experiments ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
    UPDATE experiments SET changed = id;
    CREATE INDEX experiments_by_change ON experiments (changed);
    CREATE TRIGGER experiments_inserted AFTER INSERT ON experiments
    BEGIN
        UPDATE change_seq SET seq = seq + 1;
        UPDATE experiments SET changed = (SELECT seq FROM change_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER experiments_updated AFTER UPDATE ON experiments
    WHEN NEW.changed = OLD.changed
    BEGIN
        UPDATE change_seq SET seq = seq + 1;
        UPDATE experiments SET changed = (SELECT seq FROM change_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER experiments_deleted AFTER DELETE ON experiments
    BEGIN
        UPDATE change_seq SET seq = seq + 1;
    END;
    """,
    # v6 -> v7: how many retries the current run has used ("attempt 2/3"): reset by a start or
    # restart, one more for each retry the end of an attempt schedules.
    """
    ALTER TABLE experiments ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
_STORE_ID_SINCE = 4  # the schema version that added the meta table


def busy_timeout() -> float:
    try:
        return float(os.environ.get(BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT_S))
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT_S


class Database:
    """The SQLite file of one home: one connection per thread, every one closed by `close()`."""

    def __init__(self, home: str, *, timeout: float | None = None, create: bool = True) -> None:
        self.home = home
        self.path = os.path.join(home, DATABASE_FILENAME)
        self.busy_timeout = busy_timeout() if timeout is None else timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # guards _connections and migrations
        self._store_id: str | None = None
        self._prepare_file(create)
        self.read_only = not os.access(self.path, os.W_OK)
        self._inode = _inode(self.path)
        with self.translate_errors():
            if not self.read_only:
                self._migrate(self.connection())
            else:
                self._check_version(self.connection())

    # -- the file ---------------------------------------------------------------------------

    def _prepare_file(self, create: bool) -> None:
        """Create the database file (0600) when missing (if asked to); refuse an empty one over
        old logs; repair the modes of SQLite's side files."""
        try:
            info = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            info = None
        except OSError as e:
            why = e.strerror
            raise StoreError(f"cannot create the nbexp database {self.path}: {why}") from None
        if info is None and not create:
            raise StoreError(f"the nbexp database {self.path} is gone (the home was deleted?)")
        if info is None:
            try:
                os.makedirs(self.home, mode=0o700, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                os.close(fd)
            except FileExistsError:
                pass  # another process created it meanwhile
            except OSError as e:
                raise StoreError(f"cannot create the nbexp database {self.path}: {e}") from None
            return
        if not _is_regular(info.st_mode):
            raise StoreError(
                f"{self.path} is not a regular file (a symlink or a folder?): move it aside "
                f"(mv {self.path} {self.path}.bad)"
            )
        if info.st_size == 0 and _has_logs(self.home):
            raise StoreError(
                f"the nbexp database {self.path} is empty (0 bytes) but {self.home}/logs holds "
                "experiments' logs: it was truncated or lost. Restore it from a backup, or move "
                f"it aside (mv {self.path} {self.path}.bad) to start a new store (the logs stay)"
            )
        for path in (self.path, self.path + "-wal", self.path + "-shm"):
            _private_mode(path)

    def replaced(self) -> bool:
        """Whether the file at our path is no longer the database we opened (deleted with its
        home, or moved aside and made anew): writes would then go nowhere useful. A new file
        may get the old one's inode number back, so the store id is compared too."""
        if _inode(self.path) != self._inode:
            return True
        if self._store_id is None:
            return False
        try:
            fresh = sqlite3.connect(f"file:{_uri_path(self.path)}?mode=ro", uri=True, timeout=1)
            try:
                row = fresh.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
            finally:
                fresh.close()
        except sqlite3.Error:
            return False  # cannot tell (locked, older schema): assume it is still ours
        return row is not None and row[0] != self._store_id

    # -- connections ------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (made on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            # A read-only open must not leave SQLite's -shm behind (it would keep this file's
            # 0400 mode and break writes after a chmod 600): immutable needs no side files,
            # unless a WAL holds writes not yet in the main file.
            wal = self.path + "-wal"
            mode = "ro" if os.path.exists(wal) and os.path.getsize(wal) > 0 else "ro&immutable=1"
            conn = sqlite3.connect(
                f"file:{_uri_path(self.path)}?mode={mode}",
                uri=True,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            return conn
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # may find the file locked by a writer
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()  # not handed out: nobody else would close it
            raise
        return conn

    def close(self) -> None:
        """Close every connection of every thread (each thread makes a new one if it goes on)."""
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        _close_all(connections)
        self._local = threading.local()

    def __del__(self) -> None:
        # A store nobody holds any more closes its connections itself, before the collector
        # reaches each sqlite3.Connection (which would warn); callers close() when done anyway.
        _close_all(getattr(self, "_connections", []))

    def close_thread(self) -> None:
        """Close this thread's connection (a thread that ends calls it)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    # -- errors and transactions ------------------------------------------------------------

    @contextlib.contextmanager
    def translate_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as e:
            text = str(e)
            if "locked" in text or "busy" in text:
                raise StoreError(
                    f"the nbexp database {self.path} stayed locked by another process for "
                    f"{self.busy_timeout:g} s; try again (set {BUSY_TIMEOUT_ENV} to wait longer)"
                ) from None
            if "readonly" in text or "read-only" in text:
                if self.replaced():
                    raise StoreError(
                        f"the nbexp database {self.path} was deleted or replaced while in use"
                    ) from None
                raise StoreError(self.read_only_message()) from None
            raise StoreError(f"cannot use the nbexp database {self.path}: {text}") from None
        except OverflowError:
            # A number (an id, a priority) that no SQLite INTEGER can hold: bad input, not a crash.
            raise UsageError("a number is out of range: use values below 2**63") from None
        except sqlite3.DatabaseError as e:
            raise StoreError(
                f"{self.path} is not a readable nbexp database ({e}); move it aside "
                f"(mv {self.path} {self.path}.bad) and nbexp will start a new one"
            ) from None

    def read_only_message(self) -> str:
        return (
            f"the nbexp database {self.path} is read-only for you: nbexp can show experiments "
            f"but not change them (chmod 600 {self.path} if it is yours)"
        )

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; taken at BEGIN so that compare-and-set steps never deadlock."""
        if self.read_only:
            raise StoreError(self.read_only_message())
        with self.translate_errors():
            conn = self.connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: the reads inside see the database as at the first of them."""
        with self.translate_errors():
            conn = self.connection()
            if conn.in_transaction:  # already inside one (a write, an outer snapshot)
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")  # it only read: this just ends the snapshot

    # -- schema and identity ----------------------------------------------------------------

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} has schema v{version}, newer than this nbexp "
                f"understands (v{SCHEMA_VERSION}); upgrade nbexp"
            )
        return version

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._check_version(conn) == SCHEMA_VERSION:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read inside the lock: another process may have migrated meanwhile.
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                for step in range(version, SCHEMA_VERSION):
                    for statement in _split_sql(MIGRATIONS[step]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {step + 1}")
                if version < _STORE_ID_SINCE:
                    conn.execute(
                        "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)",
                        (os.urandom(6).hex(),),
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @property
    def store_id(self) -> str:
        """This store's random identity (12 hex digits), fixed when the database was made."""
        if self._store_id is None:
            with self.translate_errors():
                row = (
                    self.connection()
                    .execute("SELECT value FROM meta WHERE key = 'store_id'")
                    .fetchone()
                )
            if row is None:
                raise StoreError(f"{self.path} has no store id; move it aside and start anew")
            self._store_id = str(row[0])
        return self._store_id


def _inode(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for conn in list(connections):
        with contextlib.suppress(sqlite3.Error):
            conn.close()
    connections.clear()


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (none of ours contain ';' inside literals); a
    `CREATE TRIGGER … BEGIN …; END` stays one statement."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    statements: list[str] = []
    trigger: list[str] = []
    for piece in (s.strip() for s in "\n".join(lines).split(";")):
        if trigger:
            trigger.append(piece)
            if piece.upper() == "END":
                statements.append(";\n".join(trigger))
                trigger = []
        elif piece.upper().startswith("CREATE TRIGGER"):
            trigger = [piece]
        elif piece:
            statements.append(piece)
    return statements


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _has_logs(home: str) -> bool:
    try:
        with os.scandir(os.path.join(home, "logs")) as entries:
            return any(entries)
    except OSError:
        return False


def _private_mode(path: str) -> None:
    """Give a file of ours mode 0600 (readable and writable by us only) where it differs."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return
    if info.st_uid != os.geteuid() or not _is_regular(info.st_mode):
        return
    if info.st_mode & 0o777 not in (0o600, 0o400) or (
        path.endswith(("-wal", "-shm")) and info.st_mode & 0o200 == 0
    ):
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600, follow_symlinks=False)


def _uri_path(path: str) -> str:
    from urllib.parse import quote

    return quote(os.path.abspath(path))
