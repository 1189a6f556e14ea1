"""The home's metrics reader: a process of its own that reads running local experiments' logs
into their histories, so a watching kernel does not (and N kernels do not each read the same
bytes). Real runs, real reader processes, real SQLite; every process killed by pid."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nbexp import ExperimentManager, Status
from nbexp._core.metric_series import MetricPoint
from nbexp._io import proc as _proc
from nbexp._io.database import BUSY_TIMEOUT_ENV
from nbexp._io.metric_store import MetricStore
from nbexp._io.spawn import python_entry
from nbexp._service.metrics_reader import READER_LOCK, READER_LOG, ReaderStarter, reader_pid
from nbexp._ui.monitor import Monitor

from .conftest import wait_for

PY = sys.executable
# ~100 metric lines a second until stopped (or `argv[1]` seconds).
PRINTER = """
import sys, time
end = time.time() + float(sys.argv[1])
i = 0
while time.time() < end:
    print(f"step={i} loss={1 / (i + 1):.6f} acc={i % 97 / 97:.4f}", flush=True)
    i += 1
    time.sleep(0.01)
"""


def start_reader(
    home: Path, idle_exit: float = 2.0, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PY, *python_entry("nbexp._service.metrics_reader"), "--watch", str(home), str(idle_exit)],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def stored_count(manager: ExperimentManager, experiment_id: int) -> int:
    """Points of `loss` in the store, read without reading the log (no pass of our own)."""
    rows = MetricStore(manager.store).summaries(experiment_id, 1)
    return next((row.count for row in rows if row.name == "loss"), 0)


def test_a_reader_stores_histories_while_runs_run_and_nobody_watches(
    manager: ExperimentManager,
) -> None:
    exp = manager.run([PY, "-c", PRINTER, "60"])
    reader = start_reader(manager.home)
    try:
        wait_for(lambda: reader_pid(manager.home) == reader.pid, timeout=30)
        first = wait_for(lambda: stored_count(manager, exp.id), timeout=30)
        later = wait_for(lambda: max(0, stored_count(manager, exp.id) - first - 100), timeout=30)
        assert manager.get(exp.id).status is Status.RUNNING and later > first
        manager.stop(exp.id, grace=1)
        assert reader.wait(timeout=30) == 0  # nothing runs any more: it leaves
        assert reader_pid(manager.home) is None
    finally:
        _kill(reader)
    # What it stored, then the end step's last pass, is the history one read of the log gives.
    kept = assert_history_is_one_read(manager, exp.id)
    assert len(kept["loss"]) >= first + 100 + later


def test_a_watching_kernel_leaves_running_logs_to_the_reader_and_takes_over_if_it_dies(
    manager: ExperimentManager,
) -> None:
    exp = manager.run([PY, "-c", PRINTER, "60"])
    monitor = Monitor(manager.service, interval=0.2)
    metrics = manager.service.metrics
    key = (exp.id, 1)
    try:
        log = Path(str(exp.record.log_path))
        wait_for(lambda: log.exists() and log.stat().st_size > 0, timeout=30)
        monitor.tick()  # no reader yet: this tick reads the log itself and starts one
        assert key in metrics._live
        pid = wait_for(lambda: reader_pid(manager.home), timeout=30)
        monitor.tick()
        assert key not in metrics._live  # left to the reader
        before = wait_for(lambda: stored_count(manager, exp.id), timeout=30)
        wait_for(lambda: stored_count(manager, exp.id) > before + 100, timeout=30)
        row = monitor.tick().rows[exp.id]
        assert row["metrics"] and "loss" in row["metrics"]  # rows read the store either way

        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not _proc.is_alive(pid), timeout=10)
        monitor.tick()  # no reader (and none restarted within RESTART_AFTER_S): read here
        assert reader_pid(manager.home) is None and key in metrics._live
        count = stored_count(manager, exp.id)
        wait_for(lambda: monitor.tick() and stored_count(manager, exp.id) > count + 50, timeout=30)
    finally:
        manager.stop(exp.id, grace=1)
    assert_history_is_one_read(manager, exp.id)  # nothing lost


def test_one_reader_per_home(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", PRINTER, "60"])
    readers = [start_reader(manager.home) for _ in range(4)]
    try:
        holder = wait_for(lambda: reader_pid(manager.home), timeout=30)
        others = [r for r in readers if r.pid != holder]
        assert len(others) == 3
        for other in others:
            assert other.wait(timeout=30) == 0  # found the lock taken: left at once
        assert ReaderStarter(manager.home).ensure() is True  # and nothing more is started
    finally:
        manager.stop(exp.id, grace=1)
        for reader in readers:
            _kill(reader)


def test_the_reader_outlasts_a_locked_store(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", PRINTER, "60"])
    reader = start_reader(manager.home)
    try:
        wait_for(lambda: reader_pid(manager.home) == reader.pid, timeout=30)
        wait_for(lambda: stored_count(manager, exp.id), timeout=30)
        blocker = sqlite3.connect(manager.store.path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # no reader, no writer for 6 s
        time.sleep(6)
        blocker.execute("ROLLBACK")
        blocker.close()
        count = stored_count(manager, exp.id)
        wait_for(lambda: stored_count(manager, exp.id) > count + 100, timeout=30)
        assert reader.poll() is None  # still reading
    finally:
        manager.stop(exp.id, grace=1)
        _kill(reader)
    assert_history_is_one_read(manager, exp.id)


def test_a_planted_lock_symlink_is_never_written_through(
    manager: ExperimentManager, tmp_path: Path
) -> None:
    target = plant_symlink(manager.home / READER_LOCK, tmp_path)
    reader = start_reader(manager.home)
    _, err = reader.communicate(timeout=30)
    assert reader.returncode == 0 and b"is a symlink" in err
    assert target.read_text() == "keep me"
    assert reader_pid(manager.home) is None
    assert ReaderStarter(manager.home).ensure() is False  # the kernel keeps reading itself
    # The reader a kernel starts says why in the home's metrics-reader.log.
    log = manager.home / READER_LOG
    wait_for(lambda: log.exists() and b"is a symlink" in log.read_bytes(), timeout=30)
    assert target.read_text() == "keep me"


def test_a_planted_reader_log_symlink_starts_no_reader(
    manager: ExperimentManager, tmp_path: Path
) -> None:
    target = plant_symlink(manager.home / READER_LOG, tmp_path)
    assert ReaderStarter(manager.home).ensure() is False  # none started: the kernel reads
    time.sleep(0.5)
    assert reader_pid(manager.home) is None
    assert target.read_text() == "keep me"


def assert_history_is_one_read(
    manager: ExperimentManager, experiment_id: int
) -> dict[str, list[MetricPoint]]:
    """The history stored (then read to the end) has the steps and values one read of the
    whole log gives afresh; returns it. (A point's wall time is estimated per pass, so a
    history read in many passes and one read at once differ there by milliseconds.)"""
    kept = manager.metrics(experiment_id)
    MetricStore(manager.store).forget(experiment_id, 1)
    afresh = ExperimentManager(home=manager.home).metrics(experiment_id)

    def steps_and_values(history: dict[str, list[MetricPoint]]) -> dict[str, list[Any]]:
        return {name: [point[:2] for point in points] for name, points in history.items()}

    assert steps_and_values(kept) == steps_and_values(afresh)
    return kept


def plant_symlink(at: Path, tmp_path: Path) -> Path:
    """What another user could leave in a home: `at` a symlink to a file of theirs."""
    target = tmp_path / "victim"
    target.write_text("keep me")
    at.symlink_to(target)
    return target


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stderr is not None:
        process.stderr.close()


def test_a_reader_whose_store_stays_locked_leaves(manager: ExperimentManager) -> None:
    """Every round fails (the store locked past its busy timeout): it leaves after 3 x its idle
    time instead of trying for ever; a kernel's next tick reads the logs itself again."""
    exp = manager.run([PY, "-c", PRINTER, "60"])
    reader = start_reader(manager.home, idle_exit=1.0, env={BUSY_TIMEOUT_ENV: "0.2"})
    blocker = sqlite3.connect(manager.store.path, isolation_level=None)
    try:
        wait_for(lambda: reader_pid(manager.home) == reader.pid, timeout=30)
        wait_for(lambda: stored_count(manager, exp.id), timeout=30)
        blocker.execute("BEGIN EXCLUSIVE")
        assert reader.wait(timeout=30) == 0
        blocker.execute("ROLLBACK")
        assert reader.stderr is not None and b"reading metrics failed" in reader.stderr.read()
        assert ReaderStarter(manager.home).ensure() is False  # free again: a kernel reads
    finally:
        blocker.close()
        _kill(reader)
        manager.stop(exp.id, grace=1)
