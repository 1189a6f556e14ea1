"""The monitor thread: snapshots of the store, progress from log tails, GPU readings, and what a
subscriber gets told when something changes."""

from __future__ import annotations

import getpass
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager
from nbexp._io.logs import TailCache
from nbexp._io.proc import pid_owner
from nbexp._service.gpus import GpuOwnership
from nbexp._service.watches import LogWatches
from nbexp._ui.monitor import Monitor, Snapshot, diff_rows, shared_monitor
from nbexp.gpu import GpuMonitor, GpuReport, NvmlBackend, NvmlSession

from . import fake_pynvml
from .conftest import wait_for
from .fake_pynvml import GIB, FakeGpu

PY = sys.executable


class NoGpus:
    """A GPU backend that reads nothing, and says so."""

    def __init__(self) -> None:
        self.samples = 0

    def read(self) -> GpuReport:
        self.samples += 1
        return GpuReport((), reason="fake")


def monitor_of(manager: ExperimentManager, interval: float = 1.0) -> Monitor:
    """A monitor of the manager's home whose GPU probe reads nothing."""
    probe = GpuOwnership(manager.home, monitor=GpuMonitor(backend=NoGpus()))
    return Monitor(manager.service, interval, gpus=probe)


def test_diff_rows_reports_changed_new_and_removed() -> None:
    before = {1: {"id": 1, "status": "running"}, 2: {"id": 2, "status": "queued"}}
    after = {1: {"id": 1, "status": "completed"}, 3: {"id": 3, "status": "pending"}}
    changed, removed = diff_rows(before, after)
    assert changed == [after[1], after[3]]
    assert removed == [2]
    assert diff_rows(after, dict(after)) == ([], [])


def test_tail_follows_carriage_returns_and_drops_colours(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    log.write_bytes(b"epoch 1\n\x1b[32m 10%|#  | 1/10\r 20%|## | 2/10\x1b[0m\r")
    assert LogWatches().tail(str(log), 1) == [" 20%|## | 2/10"]
    log.write_bytes(b"done\n\n")
    assert LogWatches().tail(str(log), 5) == ["done"]
    assert LogWatches().tail(str(tmp_path / "missing.log"), 5) == []


def test_tails_are_reread_only_when_the_log_grows(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    log.write_bytes(b"start\n 10%|#         | 10/100 [00:01<00:09, 9.9it/s]")
    cache = TailCache()
    first = cache.lines(str(log))
    assert cache.lines(str(log)) is first  # unchanged file: the cached object
    watches = LogWatches()
    progress = watches.progress_json(str(log))
    assert progress is not None and progress["n"] == 10 and progress["total"] == 100
    with open(log, "ab") as f:
        f.write(b"\r 55%|#####     | 55/100 [00:05<00:04, 9.9it/s]")
    assert cache.lines(str(log)) is not first
    assert watches.progress_json(str(log))["n"] == 55  # type: ignore[index]
    assert watches.progress_json(str(tmp_path / "missing.log")) is None


def test_snapshot_rows_carry_status_actions_and_progress(manager: ExperimentManager) -> None:
    script = "import sys; sys.stdout.write(' 40%|####      | 4/10 [00:01<00:01]\\n')"
    done = manager.run([PY, "-c", script], name="bar")
    pending = manager.create([PY, "-c", "pass"], name="later")
    done.wait(timeout=30)
    monitor = monitor_of(manager)
    snap = monitor.snapshot()
    row = snap.rows[done.id]
    assert row["status"] == "completed"
    assert row["actions"] == ["restart", "remove"]
    assert row["progress"]["n"] == 4 and row["progress"]["total"] == 10
    assert row["started"] is not None and row["ended"] is not None
    assert snap.rows[pending.id]["actions"] == ["start", "force start", "remove"]
    assert snap.rows[pending.id]["progress"] is None
    assert snap.log_paths[done.id].endswith(".log")
    assert snap.gpu_info["reason"] == "fake"


def test_a_new_manager_sees_what_still_runs(manager: ExperimentManager, home: Path) -> None:
    """After a kernel restart nothing in memory survives: the store is enough."""
    exp = manager.run([PY, "-c", "import time; time.sleep(30)"], name="survivor")
    wait_for(lambda: manager.get(exp.id).pid)
    fresh = ExperimentManager(home=home)
    snap = monitor_of(fresh).snapshot()
    assert snap.rows[exp.id]["status"] == "running"
    assert snap.rows[exp.id]["pid"] == manager.get(exp.id).pid
    manager.stop(exp.id, grace=1)


def test_thread_ticks_subscribers_and_stops_when_nobody_listens(
    manager: ExperimentManager,
) -> None:
    monitor = monitor_of(manager, 0.05)
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
    monitor = monitor_of(manager)
    got: list[Snapshot] = []

    def broken(snap: Snapshot) -> None:
        raise RuntimeError("boom")

    monitor.subscribe(broken, start=False)
    monitor.subscribe(got.append, start=False)
    monitor.tick()
    assert len(got) == 1


def test_housekeeping_errors_are_reported_not_raised(manager: ExperimentManager) -> None:
    monitor = monitor_of(manager)

    def locked() -> None:
        raise RuntimeError("database is locked")

    manager.service.tick = locked  # type: ignore[method-assign]
    snap = monitor.tick()
    assert snap.errors == ["housekeeping failed: database is locked"]


def test_wake_ticks_before_the_interval_ends(manager: ExperimentManager) -> None:
    monitor = monitor_of(manager, 30)
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
    service = manager.service
    assert shared_monitor(service, 1.0) is shared_monitor(service, 1.0)
    other = ExperimentManager(home=home).service
    assert shared_monitor(other, 1.0) is shared_monitor(service, 1.0)
    assert shared_monitor(service, 1.0) is not shared_monitor(service, 0.5)
    with pytest.raises(ValueError, match="interval"):
        Monitor(service, interval=0)


def test_monitor_reads_simulated_gpus(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "2")
    monitor = Monitor(ExperimentManager(home=manager.home).service)  # a probe made after setenv
    snap = monitor.snapshot()
    assert snap.gpu_info["simulated"] is True
    assert [g["index"] for g in snap.gpu_info["gpus"]] == [0, 1]
    assert snap.gpu_info["gpus"][0]["mem_total"] > 1000  # MiB, not bytes  # type: ignore[operator]
    memory, util, _, _ = snap.gpu[0]
    assert memory is not None and memory > 100 and util is not None and 0 <= util <= 100
    assert monitor.gpu_history([0, 1], 10)[0]  # the probe keeps readings


def test_resubscribing_while_the_thread_winds_down_keeps_it_ticking(
    manager: ExperimentManager,
) -> None:
    monitor = monitor_of(manager, 0.05)
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
        gpus = GpuOwnership(manager.home, monitor=probe, owner=owner)
        monitor = Monitor(manager.service, gpus=gpus)
        first = monitor.snapshot()
        second = monitor.snapshot()
        assert second.gpu_foreign == {
            "0": [{"pid": stranger.pid, "user": getpass.getuser(), "mem": 9216}]
        }  # GPU 1 holds only our experiment
        assert first.gpu_foreign == second.gpu_foreign
        assert asked == [stranger.pid], "the owner is looked up once per process, not per tick"
    finally:
        stranger.kill()
        stranger.wait()
        manager.stop(exp.id, grace=1)
