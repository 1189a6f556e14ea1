"""The SQLite store: schema migrations, compare-and-set, permissions, bad database files."""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import stat
import sys
import threading
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager, Status, StoreError
from nbexp._io.store import SCHEMA_VERSION, Store
from nbexp.states import Action, sources

from .conftest import cli

DATA = Path(__file__).parent / "data"


def test_home_and_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "h"
    mgr = ExperimentManager(home=home)
    exp = mgr.run(["true"])
    exp.wait(timeout=10)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "nbexp.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(exp.log_path).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(exp.log_path).parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "logs").stat().st_mode) == 0o700
    with closing(sqlite3.connect(home / "nbexp.db")) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_schema_v1_database_opens_and_migrates(tmp_path: Path) -> None:
    home = tmp_path / "old"
    home.mkdir(mode=0o700)
    shutil.copy(DATA / "nbexp-schema-v1.db", home / "nbexp.db")
    store = Store(home)
    assert store.schema_version() == SCHEMA_VERSION > 1
    records = store.list()
    assert [(r.id, r.name, r.status) for r in records] == [
        (1, "train", Status.COMPLETED),
        (2, "sweep-a", Status.ERROR),
        (3, "pending-job", Status.PENDING),
    ]
    assert records[0].command == ["python", "train.py", "--lr", "3e-4"]
    assert records[1].env == {"SEED": "1"} and records[1].error == "exit code 1"
    assert records[2].executor == "local" and records[2].after == []
    assert [h.to_status for h in store.history(1)] == [
        Status.PENDING,
        Status.RUNNING,
        Status.COMPLETED,
    ]
    # And the migrated database is fully usable: the old pending experiment runs.
    mgr = ExperimentManager(home=home)
    assert mgr.start(3).wait(timeout=10).status is Status.COMPLETED


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store(tmp_path)
    conn = sqlite3.connect(tmp_path / "nbexp.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="upgrade nbexp"):
        Store(tmp_path)


def test_compare_and_set_changes_a_status_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    experiment_id = store.insert(name="x", command=["true"], cwd="/", env={})
    assert store.transition(experiment_id, sources(Action.START), Status.RUNNING, "a")
    assert not store.transition(experiment_id, sources(Action.START), Status.RUNNING, "b")
    assert [h.reason for h in store.history(experiment_id)] == ["created", "a"]


def test_compare_and_set_from_many_threads(tmp_path: Path) -> None:
    Store(tmp_path)
    experiment_id = Store(tmp_path).insert(name="x", command=["true"], cwd="/", env={})
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        store = Store(tmp_path)
        barrier.wait()
        wins.append(store.transition(experiment_id, sources(Action.START), Status.RUNNING, "go"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_corrupt_database_gives_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    garbage = b"this is not sqlite" * 100
    (home / "nbexp.db").write_bytes(garbage)
    with pytest.raises(StoreError, match=r"not a readable nbexp database.*move it aside"):
        ExperimentManager(home=home)
    result = cli(home, "list")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "not a readable nbexp database" in result.stderr
    assert (home / "nbexp.db").read_bytes() == garbage


def test_a_database_that_cannot_be_opened_leaves_no_connection_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The connection made before its set-up failed is closed then, not left to the collector
    # (Python 3.13 reports an unclosed sqlite3 connection as an unraisable ResourceWarning).
    home = tmp_path / "h"
    home.mkdir()
    (home / "nbexp.db").write_bytes(b"this is not sqlite" * 100)
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for _ in range(3):
            with pytest.raises(StoreError):
                Store(home)
        gc.collect()
    assert [u.exc_value for u in unraisable] == []


def test_database_locked_by_another_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    mgr = ExperimentManager(home=home)
    exp = mgr.create(["true"], name="kept")
    blocker = sqlite3.connect(home / "nbexp.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        monkeypatch.setenv("NBEXP_BUSY_TIMEOUT", "0.3")
        with pytest.raises(StoreError, match="locked by another process"):
            ExperimentManager(home=home).create(["true"], name="lost")
        env = dict(os.environ, NBEXP_BUSY_TIMEOUT="0.3")
        result = cli(home, "create", "--", "true", env=env)
        assert result.returncode == 1 and "locked by another process" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # Nothing half-written: the first experiment is there, the refused ones are not.
    assert [r.name for r in Store(home).list()] == ["kept"]
    assert exp.status is Status.PENDING


def test_a_home_that_cannot_be_a_folder_is_one_clear_line(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for home, words in [(a_file, "is not a folder"), (a_file / "sub", "cannot create")]:
        with pytest.raises(StoreError, match=words):
            ExperimentManager(home=home)
        result = cli(home, "list")
        assert result.returncode == 1, result.stderr
        assert result.stderr.count("\n") == 1 and words in result.stderr
    with pytest.raises(StoreError, match="cannot create the nbexp database"):
        Store(a_file / "sub")


def test_an_empty_home_means_the_default_not_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBEXP_HOME", str(tmp_path / "h"))
    monkeypatch.chdir(tmp_path)
    assert ExperimentManager(home="").home == tmp_path / "h"
    assert not (tmp_path / "nbexp.db").exists()


def test_finish_ends_only_the_named_attempt_and_words_the_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    experiment_id = store.insert(name="x", command=["true"], cwd="/", status="running", attempt=2)
    assert not store.finish(experiment_id, 1, Status.ERROR, "late news of attempt 1")
    assert store.finish(experiment_id, 2, Status.ERROR, "exit code 3", exit_code=3)
    record = store.get(experiment_id)
    assert (record.status, record.error, record.exit_code) == (Status.ERROR, "exit code 3", 3)
    assert record.ended is not None
    store.transition(experiment_id, {Status.ERROR}, Status.RUNNING, "restart")
    assert store.finish(experiment_id, 2, Status.COMPLETED, None, ended=5.0, exit_code=0)
    record = store.get(experiment_id)
    assert (record.error, record.ended) == (None, 5.0)
