"""Identity of stores, homes and files (hardening items 6–8): a reset store never reuses another
store's logs, a home shared with other users is refused, a planted symlink is never written
through, and a read-only store can still be read and is never left broken."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbexp import ExperimentManager, SpawnFailed, Status, StoreError
from nbexp._io import proc as _proc
from nbexp._io.store import Store

from ..conftest import REPO, cli, kill_pids, processes_of_home, wait_for

PY = sys.executable


# -- 6. a reset store or a deleted home never reuses ids' files -----------------------------------


def test_a_new_store_never_takes_an_old_stores_logs(home: Path) -> None:
    old = ExperimentManager(home=home).run([PY, "-c", "print('old'); raise SystemExit(9)"])
    old_record = old.wait(timeout=20).record
    (home / "nbexp.db").rename(home / "nbexp.db.bad")  # nbexp's own advice for a bad store
    for side in ("-wal", "-shm"):
        (home / f"nbexp.db{side}").unlink(missing_ok=True)
    fresh = ExperimentManager(home=home)
    new = fresh.run([PY, "-c", "print('new')"])
    assert new.id == old.id == 1  # ids start again...
    record = new.wait(timeout=20).record
    assert record.log_path != old_record.log_path  # ...but never in the same folder
    assert (record.status, record.exit_code) == (Status.COMPLETED, 0)
    assert fresh.logs(new.id) == ["new"]
    assert Path(old_record.log_path).read_text() == "old\n"  # untouched


def test_a_runner_of_a_deleted_home_never_writes_into_the_new_one(home: Path) -> None:
    first = ExperimentManager(home=home)
    doomed = first.run([PY, "-c", "import time; time.sleep(1.5); raise SystemExit(9)"])
    runner = wait_for(lambda: first.get(doomed.id).record.runner_pid)
    shutil.rmtree(home)  # the user deletes NBEXP_HOME while the job runs
    second = ExperimentManager(home=home)
    fresh = second.run([PY, "-c", "import time; time.sleep(4)"])
    assert fresh.id == doomed.id
    wait_for(lambda: not _proc.is_alive(runner), timeout=20)  # the old runner ended
    record = second.get(fresh.id).record
    assert record.status is Status.RUNNING and record.exit_code is None, record
    assert not any("exit code 9" in (h.reason or "") for h in fresh.history())
    assert fresh.wait(timeout=20).status is Status.COMPLETED
    kill_pids(processes_of_home(home))


# -- 7. homes and folders shared with other users -----------------------------------------------


def test_a_home_writable_by_others_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(StoreError, match=r"can be written by other users \(mode 0777\).*chmod"):
        ExperimentManager(home=shared)
    result = subprocess.run(
        [PY, "-m", "nbexp", "--home", str(shared), "ls"], capture_output=True, text=True
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result
    assert "chmod" in result.stderr


def test_a_home_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a folder to another user")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)  # nobody
    with pytest.raises(StoreError, match="belongs to another user"):
        ExperimentManager(home=theirs)


def test_planted_symlinks_are_never_written_through(home: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o600)
    store_id = Store(home).store_id
    folder = home / "logs" / store_id / "1"
    folder.mkdir(parents=True, mode=0o700)
    manager = ExperimentManager(home=home)
    (folder / "attempt-1.runner.log").symlink_to(victim)
    with pytest.raises(SpawnFailed, match="is a symlink"):  # the launcher refuses its file
        manager.run([PY, "-c", "print('overwrite!')"])
    assert victim.read_text() == "precious\n"
    (folder / "attempt-1.runner.log").unlink()
    for name in ("attempt-2.log", "attempt-2.exit", "attempt-2.pid"):
        (folder / name).symlink_to(victim)
    restarted = manager.restart(1)  # the runner refuses the log (and its other files)
    record = restarted.wait(timeout=20).record
    assert record.status is Status.ERROR and "exists already" in (record.error or ""), record
    assert victim.read_text() == "precious\n"


def test_a_planted_symlink_for_a_log_folder_is_refused(home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    manager = ExperimentManager(home=home)
    (home / "logs").mkdir(mode=0o700, exist_ok=True)
    (home / "logs" / manager.store.store_id).symlink_to(elsewhere)
    with pytest.raises(StoreError, match="is a symlink"):
        manager.run(["true"])
    assert list(elsewhere.iterdir()) == []


def test_files_nbexp_makes_are_private_under_umask_000(home: Path) -> None:
    old = os.umask(0)
    try:
        manager = ExperimentManager(home=home)
        exp = manager.run([PY, "-c", "print('hi')"]).wait(timeout=20)
    finally:
        os.umask(old)
    made = [home / "nbexp.db", Path(exp.log_path), Path(exp.log_path).parent]
    made.append(Path(exp.log_path[: -len(".log")] + ".exit"))
    for path in made:
        assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))


# -- 8. read-only and empty databases -------------------------------------------------------------


def test_an_empty_database_over_existing_logs_is_refused(home: Path) -> None:
    ExperimentManager(home=home).run(["true"]).wait(timeout=20)
    for name in ("nbexp.db", "nbexp.db-wal", "nbexp.db-shm"):
        (home / name).unlink(missing_ok=True)
    (home / "nbexp.db").write_bytes(b"")  # truncated by a crash or a full disk
    with pytest.raises(StoreError, match=r"empty \(0 bytes\).*mv"):
        ExperimentManager(home=home)


def test_a_copied_database_is_made_private(home: Path) -> None:
    ExperimentManager(home=home)
    (home / "nbexp.db").chmod(0o644)
    ExperimentManager(home=home).list()
    assert (home / "nbexp.db").stat().st_mode & 0o777 == 0o600


AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def as_nobody(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The nbexp CLI as another user, from this checkout, with the system's Python (the test
    venv lives under /root, which nobody can read)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src"), "NBEXP_HOME": str(home)}
    return subprocess.run(
        [*AS_NOBODY, "/usr/bin/python3", "-m", "nbexp", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def nobodys_home() -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("setpriv") or not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs root, setpriv and /usr/bin/python3 to act as a second user")
    if not os.access(REPO / "src", os.R_OK) or (REPO.stat().st_mode & 0o005) != 0o005:
        pytest.skip(f"{REPO} is not readable by other users")
    # pytest's tmp folders are root's only: a folder of /tmp that nobody may enter instead.
    parent = Path(tempfile.mkdtemp(prefix="nbexp-nobody-"))
    parent.chmod(0o755)
    home = parent / "home"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    try:
        probe = as_nobody(home, "ls")
        if probe.returncode != 0:
            pytest.skip(f"the system Python cannot run nbexp as nobody: {probe.stderr.strip()}")
        yield home
    finally:
        kill_pids(processes_of_home(home))
        shutil.rmtree(parent, ignore_errors=True)


def test_a_read_only_store_can_be_read_and_is_left_reopenable(nobodys_home: Path) -> None:
    home = nobodys_home
    assert as_nobody(home, "run", "--wait", "--", "echo", "hello").returncode == 0
    database = home / "nbexp.db"
    for side in ("-wal", "-shm"):
        Path(f"{database}{side}").unlink(missing_ok=True)
    database.chmod(0o400)
    for args in (["ls"], ["show", "1"], ["logs", "1"], ["show", "--json", "1"]):
        result = as_nobody(home, *args)
        assert result.returncode == 0, (args, result.stderr)
    assert as_nobody(home, "logs", "1").stdout == "hello\n"
    assert json.loads(as_nobody(home, "show", "--json", "1").stdout)["status"] == "completed"
    refused = as_nobody(home, "run", "--", "true")
    assert refused.returncode == 1 and "read-only" in refused.stderr, refused
    database.chmod(0o600)
    assert as_nobody(home, "run", "--wait", "--", "true").returncode == 0
    for name in os.listdir(home):
        if name.startswith("nbexp.db"):
            assert (home / name).stat().st_mode & 0o777 == 0o600, name


def test_a_store_left_with_an_unwritable_shm_is_repaired(nobodys_home: Path) -> None:
    home = nobodys_home
    assert as_nobody(home, "create", "--", "true").returncode == 0
    database = home / "nbexp.db"
    # What an older nbexp left after a read with the database at 0400: SQLite's side files
    # with the database's mode, which broke every write after `chmod 600`.
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("SELECT 1").fetchall()
    time.sleep(0.1)
    for side in ("-wal", "-shm"):
        path = Path(f"{database}{side}")
        if path.exists():
            os.chown(path, 65534, 65534)
            path.chmod(0o400)
    result = as_nobody(home, "start", "1")
    conn.close()
    assert result.returncode == 0, result.stderr


def test_cli_and_api_say_one_line_for_a_locked_store(home: Path) -> None:
    ExperimentManager(home=home)
    conn = sqlite3.connect(home / "nbexp.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = cli(home, "create", "--", "true", env=dict(os.environ, NBEXP_BUSY_TIMEOUT="0.2"))
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "locked" in result.stderr and "NBEXP_BUSY_TIMEOUT" in result.stderr
