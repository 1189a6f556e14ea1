"""GPU allocation, conflicts and the queue with real processes on simulated GPUs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbexp import Busy, ExperimentManager, GpuConflict, GpuUnavailable, Status, UsageError
from nbexp._io.store import Store

from .conftest import cli, python_command, wait_for

PRINT_GPUS = "import os; print(os.environ.get('CUDA_VISIBLE_DEVICES'))"


@pytest.fixture(autouse=True)
def two_simulated_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "2")


def test_conflict_names_the_holder_then_queue_and_force(manager: ExperimentManager) -> None:
    first = manager.run(["sleep", "30"], gpus=[0], name="holder")
    assert first.status is Status.RUNNING and first.gpus == [0]
    with pytest.raises(GpuConflict, match=r"waits for GPU 0, held by #1 holder.*queue=True"):
        manager.run(["sleep", "30"], gpus=[0])
    assert len(manager.records()) == 1  # a refused run() leaves nothing behind
    refused = manager.create(["sleep", "30"], gpus=[0])
    with pytest.raises(GpuConflict):
        manager.start(refused.id)
    assert refused.status is Status.PENDING  # a refused start() leaves it pending
    queued = manager.start(refused.id, queue=True)
    assert queued.status is Status.QUEUED
    forced = manager.start(refused.id, force=True)
    assert forced.status is Status.RUNNING and forced.gpus == [0]
    reasons = [h.reason or "" for h in forced.history()]
    assert any("force start (ignoring busy GPU 0, held by #1 holder)" in r for r in reasons)


def test_missing_gpu_lists_the_available_ones(manager: ExperimentManager) -> None:
    with pytest.raises(GpuUnavailable, match="GPU 7 does not exist; this machine has GPUs 0, 1"):
        manager.run(["true"], gpus=[7])
    result = cli(manager.home, "run", "--gpus", "7,", "--", "true")
    assert result.returncode == 1 and "GPU 7 does not exist" in result.stderr


def test_any_n_gpus(manager: ExperimentManager) -> None:
    both = manager.run(python_command(PRINT_GPUS), gpus=2).wait(timeout=20)
    assert both.logs() == ["0,1"]
    for queue in (False, True):  # more GPUs than exist: no queue would ever start it
        with pytest.raises(GpuUnavailable, match="asks for 3 GPUs; this machine has GPUs 0, 1"):
            manager.run(["true"], gpus=3, queue=queue)
    one = manager.run(["sleep", "30"], gpus=1)
    other = manager.run(python_command(PRINT_GPUS), gpus=1).wait(timeout=20)
    assert {tuple(one.gpus), tuple(other.gpus)} == {(0,), (1,)}


def test_queue_advances_with_no_manager_alive(home: Path) -> None:
    # Launch from a separate process that exits at once: nobody watches but the runners.
    script = (
        "from nbexp import ExperimentManager\n"
        "m = ExperimentManager()\n"
        "m.run(['sleep', '0.5'], gpus=[0])\n"
        f"m.run([{sys.executable!r}, '-c', {PRINT_GPUS!r}], gpus=[0], queue=True)\n"
    )
    env = dict(os.environ, NBEXP_HOME=str(home))
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=30)
    store = Store(home)  # read-only observer: no reconcile, no scheduling step
    assert store.get(2).status is Status.QUEUED
    wait_for(lambda: store.get(2).status is Status.COMPLETED, timeout=30)
    assert store.get(2).assigned_gpus == [0]
    assert [h.reason for h in store.history(2)][-2] == "launched from the queue"


def test_dependencies(manager: ExperimentManager) -> None:
    first = manager.run(["sleep", "0.3"])
    after = manager.run(python_command("print('second')"), after=[first.id])
    assert after.status is Status.QUEUED
    wait_for(lambda: after.status is Status.COMPLETED, timeout=30)
    failing = manager.run(["sh", "-c", "sleep 0.3; exit 1"])
    blocked = manager.run(["true"], after=[failing.id])
    wait_for(lambda: blocked.status is Status.ERROR, timeout=30)
    assert blocked.error == f"not started: experiment {failing.id} (a dependency) ended error"
    with pytest.raises(UsageError, match="ended error"):
        manager.run(["true"], after=[failing.id])


def test_stop_of_a_queued_experiment_leaves_the_queue(manager: ExperimentManager) -> None:
    manager.run(["sleep", "30"], gpus=[1])
    waiting = manager.run(["true"], gpus=[1], queue=True)
    assert manager.stop(waiting.id).status is Status.PENDING
    assert [h.reason for h in waiting.history()][-1] == "stopped while queued"


def test_cpu_limit(manager: ExperimentManager) -> None:
    manager.configure(max_parallel_cpu=1)
    manager.run(["sleep", "0.5"])
    with pytest.raises(Busy, match=r"limit 1"):
        manager.run(["true"])
    second = manager.run(["true"], queue=True)
    assert second.status is Status.QUEUED
    wait_for(lambda: second.status is Status.COMPLETED, timeout=30)


def test_parallel_scheduling_steps_never_double_book(home: Path) -> None:
    manager = ExperimentManager(home=home)
    blocker = manager.run(["sleep", "60"], gpus=[0, 1])
    queued = [manager.run(["sleep", "60"], gpus=1, queue=True) for _ in range(6)]
    assert all(q.status is Status.QUEUED for q in queued)
    manager.stop(blocker.id, grace=1, wait=True)
    # A dozen processes run scheduling steps at the same moment.
    go = home / "go"
    script = (
        "import os, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        "from nbexp import ExperimentManager\n"
        "ExperimentManager().schedule()\n"
    )
    env = dict(os.environ, NBEXP_HOME=str(home))
    steps = [subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(12)]
    go.touch()
    assert all(p.wait(timeout=60) == 0 for p in steps)
    running = [q for q in queued if q.status is Status.RUNNING]
    assert len(running) == 2
    assert sorted(g for q in running for g in q.gpus) == [0, 1]
    assert sum(q.status is Status.QUEUED for q in queued) == 4


def test_gpus_command_labels_simulated(home: Path) -> None:
    manager = ExperimentManager(home=home)
    manager.run(["sleep", "30"], gpus=[1], name="trainer")
    table = cli(home, "gpus")
    assert table.returncode == 0
    assert "SIMULATED" in table.stdout and "#1 trainer" in table.stdout
    as_json = cli(home, "gpus", "--json")
    assert '"simulated": true' in as_json.stdout
    listing = cli(home, "list")
    assert listing.stdout.splitlines()[1].split()[-1] == "1"


def test_gpu_freed_outside_nbexp_starts_the_queue(home: Path) -> None:
    # Every GPU looks taken by "someone else" (its idle memory is over a 0 MB threshold).
    manager = ExperimentManager(home=home)
    manager.configure(gpu_busy_memory_mb=0)
    with pytest.raises(GpuConflict, match="used by a process outside nbexp"):
        manager.run(["true"], gpus=1)
    waiting = manager.run(python_command(PRINT_GPUS), gpus=1, queue=True)
    assert waiting.status is Status.QUEUED
    # The other user leaves. Only the store changes: no nbexp call, no runner ends.
    Store(home).set_setting("gpu_busy_memory_mb", "100000")
    wait_for(lambda: Store(home).get(waiting.id).status is Status.COMPLETED, timeout=30)
    # The watcher leaves once the queue is empty.
    from nbexp._service.scheduling import queue_watcher_running

    wait_for(lambda: not queue_watcher_running(str(home)), timeout=15)


def test_sharing_and_minimum_free_memory(manager: ExperimentManager) -> None:
    first = manager.run(["sleep", "30"], gpus=[0], share_gpus=True)
    shared = manager.run(["sleep", "30"], gpus=[0], share_gpus=True)
    assert shared.status is Status.RUNNING and first.status is Status.RUNNING
    with pytest.raises(GpuConflict):
        manager.run(["sleep", "30"], gpus=[0])  # does not allow sharing
    with pytest.raises(GpuConflict, match="needs 1 free GPU, 0 free"):
        manager.run(["true"], gpus=1, min_gpu_memory_mb=10_000_000)
    result = cli(manager.home, "run", "--gpus", "1", "--min-gpu-memory", "1000", "--", "true")
    assert result.returncode == 0


def test_gpu_memory_per_experiment(manager: ExperimentManager) -> None:
    # Simulated GPUs report each running experiment's main process with some memory.
    exp = manager.run(["sleep", "30"], gpus=[1])
    wait_for(lambda: exp.pid)
    used = exp.gpu_memory
    assert list(used) == [1] and used[1] > 0
    assert manager.gpu_memory()[exp.id].keys() == {1}
    shown = json.loads(cli(manager.home, "show", str(exp.id), "--json").stdout)
    assert list(shown["gpu_memory"]) == ["1"]
    cpu_only = manager.run(["sleep", "30"])
    assert cpu_only.gpu_memory == {}


def test_list_says_why_an_experiment_waits(manager: ExperimentManager) -> None:
    manager.run(["sleep", "30"], gpus=[0])
    manager.run(["true"], gpus=2, queue=True)
    row = cli(manager.home, "list").stdout.splitlines()[2]
    assert "queued" in row and "needs 2 free GPUs, 1 free" in row


def test_a_planted_watcher_lock_symlink_is_never_followed(home: Path, tmp_path: Path) -> None:
    """Checking for a queue watcher opened the lock with O_CREAT through whatever was there: a
    dangling symlink made it create the file it pointed at."""
    from nbexp._service.scheduling import hold_watcher_lock, queue_watcher_running

    ExperimentManager(home=home)  # the home exists
    target = tmp_path / "created-through-the-link"
    (home / "queue-watcher.lock").symlink_to(target)
    assert queue_watcher_running(str(home)) is False
    assert hold_watcher_lock(str(home)) is None
    assert not target.exists()
