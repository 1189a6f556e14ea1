"""The monitor thread: snapshots of the store, progress from log tails, GPU readings, and what a
subscriber gets told when something changes."""

from __future__ import annotations

import getpass
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager
from nbexp._monitor import (
    GpuSource,
    Monitor,
    Snapshot,
    _ProgressCache,
    diff_rows,
    last_screen_line,
    shared_monitor,
)
from nbexp.gpu import GpuMonitor, NvmlBackend, NvmlSession, pid_owner

from . import fake_pynvml
from .conftest import wait_for
from .fake_pynvml import GIB, FakeGpu

PY = sys.executable


class FakeGpus:
    def __init__(self) -> None:
        self.samples = 0

    def sample(self, running: Any = ()) -> dict[str, Any]:
        self.samples += 1
        return {"available": False, "simulated": False, "reason": "fake", "gpus": []}

    def history(self, indices: list[int], limit: int) -> list[list[list[Any]]]:
        return [[] for _ in indices]


def test_diff_rows_reports_changed_new_and_removed() -> None:
    before = {1: {"id": 1, "status": "running"}, 2: {"id": 2, "status": "queued"}}
    after = {1: {"id": 1, "status": "completed"}, 3: {"id": 3, "status": "pending"}}
    changed, removed = diff_rows(before, after)
    assert changed == [after[1], after[3]]
    assert removed == [2]
    assert diff_rows(after, dict(after)) == ([], [])


def test_last_screen_line_follows_carriage_returns_and_drops_colours() -> None:
    data = b"epoch 1\n\x1b[32m 10%|#  | 1/10\r 20%|## | 2/10\x1b[0m\r"
    assert last_screen_line(data) == "20%|## | 2/10"
    assert last_screen_line(b"done\n\n") == "done"
    assert last_screen_line(b"") == ""


def test_progress_is_reread_only_when_the_log_grows(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    log.write_bytes(b"start\n 10%|#         | 10/100 [00:01<00:09, 9.9it/s]")
    cache = _ProgressCache()
    first = cache.get(str(log))
    assert first is not None and first["n"] == 10 and first["total"] == 100
    assert cache.get(str(log)) is first  # unchanged file: the cached object
    with open(log, "ab") as f:
        f.write(b"\r 55%|#####     | 55/100 [00:05<00:04, 9.9it/s]")
    assert cache.get(str(log))["n"] == 55  # type: ignore[index]
    assert cache.get(str(tmp_path / "missing.log")) is None


def test_snapshot_rows_carry_status_actions_and_progress(manager: ExperimentManager) -> None:
    script = "import sys; sys.stdout.write(' 40%|####      | 4/10 [00:01<00:01]\\n')"
    done = manager.run([PY, "-c", script], name="bar")
    pending = manager.create([PY, "-c", "pass"], name="later")
    done.wait(timeout=30)
    monitor = Monitor(manager, gpu_source=FakeGpus())
    snap = monitor.snapshot()
    row = snap.rows[done.id]
    assert row["status"] == "completed"
    assert row["actions"] == ["restart", "remove"]
    assert row["progress"]["n"] == 4 and row["progress"]["total"] == 10
    assert row["started"] is not None and row["ended"] is not None
    assert snap.rows[pending.id]["actions"] == ["start", "force start", "remove"]
    assert snap.rows[pending.id]["progress"] is None
    assert snap.log_paths[done.id].endswith(".log")
    assert snap.gpus["reason"] == "fake"


def test_a_new_manager_sees_what_still_runs(manager: ExperimentManager, home: Path) -> None:
    """After a kernel restart nothing in memory survives: the store is enough."""
    exp = manager.run([PY, "-c", "import time; time.sleep(30)"], name="survivor")
    wait_for(lambda: manager.get(exp.id).pid)
    fresh = ExperimentManager(home=home)
    snap = Monitor(fresh, gpu_source=FakeGpus()).snapshot()
    assert snap.rows[exp.id]["status"] == "running"
    assert snap.rows[exp.id]["pid"] == manager.get(exp.id).pid
    manager.stop(exp.id, grace=1)


def test_thread_ticks_subscribers_and_stops_when_nobody_listens(
    manager: ExperimentManager,
) -> None:
    monitor = Monitor(manager, interval=0.05, gpu_source=FakeGpus())
    got: list[Snapshot] = []
    monitor.subscribe(got.append)
    wait_for(lambda: len(got) >= 3, timeout=10)
    assert monitor.running
    monitor.unsubscribe(got.append)
    wait_for(lambda: not monitor.running, timeout=5)
    count = len(got)
    time.sleep(0.2)
    assert len(got) == count


def test_a_failing_subscriber_does_not_starve_the_others(manager: ExperimentManager) -> None:
    monitor = Monitor(manager, gpu_source=FakeGpus())
    got: list[Snapshot] = []

    def broken(snap: Snapshot) -> None:
        raise RuntimeError("boom")

    monitor.subscribe(broken, start=False)
    monitor.subscribe(got.append, start=False)
    monitor.tick()
    assert len(got) == 1


def test_housekeeping_errors_are_reported_not_raised(manager: ExperimentManager) -> None:
    monitor = Monitor(manager, gpu_source=FakeGpus())

    def locked() -> None:
        raise RuntimeError("database is locked")

    manager.tick = locked  # type: ignore[method-assign]
    snap = monitor.tick()
    assert snap.errors == ["housekeeping failed: database is locked"]


def test_wake_ticks_before_the_interval_ends(manager: ExperimentManager) -> None:
    monitor = Monitor(manager, interval=30, gpu_source=FakeGpus())
    ticked = threading.Event()
    seen: list[float] = []

    def on_tick(snap: Snapshot) -> None:
        seen.append(snap.at)
        if len(seen) >= 2:
            ticked.set()

    monitor.subscribe(on_tick)
    wait_for(lambda: seen)
    monitor.wake()
    assert ticked.wait(timeout=5), "wake() did not tick early"
    monitor.unsubscribe(on_tick)


def test_views_of_one_home_share_a_monitor(manager: ExperimentManager, home: Path) -> None:
    assert shared_monitor(manager, 1.0) is shared_monitor(manager, 1.0)
    assert shared_monitor(ExperimentManager(home=home), 1.0) is shared_monitor(manager, 1.0)
    assert shared_monitor(manager, 1.0) is not shared_monitor(manager, 0.5)
    with pytest.raises(ValueError, match="interval"):
        Monitor(manager, interval=0)


def test_monitor_reads_simulated_gpus(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "2")
    monitor = Monitor(manager)
    snap = monitor.snapshot()
    assert snap.gpus["simulated"] is True
    assert [g["index"] for g in snap.gpus["gpus"]] == [0, 1]
    gpu = snap.gpus["gpus"][0]
    assert gpu["mem_total"] > 1000  # MiB, not bytes
    assert 0 <= gpu["util"] <= 100
    assert monitor.gpu_source.history([0, 1], 10)[0]  # the probe keeps readings


def test_resubscribing_while_the_thread_winds_down_keeps_it_ticking(
    manager: ExperimentManager,
) -> None:
    monitor = Monitor(manager, interval=0.05, gpu_source=FakeGpus())
    first: list[Snapshot] = []
    second: list[Snapshot] = []
    for _ in range(20):
        monitor.subscribe(first.append)
        monitor.unsubscribe(first.append)  # asks the thread to stop...
        monitor.subscribe(second.append)  # ...and at once someone listens again
        count = len(second)
        wait_for(lambda count=count: len(second) > count + 1, timeout=5)
        monitor.unsubscribe(second.append)
    wait_for(lambda: not monitor.running, timeout=5)


def test_gpu_info_names_someone_elses_processes_but_not_ours(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a shared server the panel must show a stranger's job; our own stays an experiment."""
    exp = manager.run([PY, "-c", "import time; time.sleep(60)"], name="ours")
    ours = wait_for(lambda: manager.get(exp.id).pid)
    stranger = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])  # not nbexp's
    try:
        fake_pynvml.install(
            monkeypatch,
            [
                FakeGpu(processes=[(ours, 2 * GIB), (stranger.pid, 9 * GIB)]),
                FakeGpu(uuid="GPU-bbbb", processes=[(ours, GIB)]),
            ],
        )
        asked: list[int] = []

        def owner(pid: int) -> str | None:
            asked.append(pid)
            return pid_owner(pid)

        probe = GpuMonitor(backend=NvmlBackend(NvmlSession()))  # a session of its own: fresh
        monitor = Monitor(manager, gpu_source=GpuSource(probe=probe, owner=owner))
        first = monitor.snapshot()
        second = monitor.snapshot()
        gpu0, gpu1 = second.gpus["gpus"]
        assert gpu0["foreign"] == [{"pid": stranger.pid, "user": getpass.getuser(), "mem": 9216}]
        assert gpu1["foreign"] == []  # only our experiment on it
        assert first.gpus == second.gpus
        assert asked == [stranger.pid], "the owner is looked up once per process, not per tick"
    finally:
        stranger.kill()
        stranger.wait()
        manager.stop(exp.id, grace=1)
