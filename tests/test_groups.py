"""Groups: a per-group parallel limit the scheduler honours (even with GPUs free), stop /
restart / remove / wait / pause / resume of a whole group, run(group=…), tags and notes."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status, UsageError, WaitTimeout

from .conftest import wait_for

PY = sys.executable
SLEEP = [PY, "-c", "import sys, time; time.sleep(float(sys.argv[1]))", "{t}"]
EXIT = [PY, "-c", "import sys; sys.exit(int(sys.argv[1]))", "{code}"]


def watch_running(manager: ExperimentManager, group: str, stop: threading.Event) -> list[int]:
    """How many members ran at each look, until `stop`."""
    seen: list[int] = []
    while not stop.is_set():
        members = [r for r in manager.store.list() if r.group_name == group]
        seen.append(sum(r.status is Status.RUNNING for r in members))
        time.sleep(0.01)
    return seen


def test_max_parallel_holds_even_with_gpus_free(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 runs on 2 simulated GPUs, max_parallel=1: one at a time, the rest queued saying why."""
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "2")
    manager = ExperimentManager(home=home)
    group = manager.sweep(SLEEP, {"t": [0.3] * 8}, name="one-by-one", gpus=1, max_parallel=1)
    queued = [r for r in group.records() if r.status is Status.QUEUED]
    assert len(queued) == 7
    assert queued[0].waiting_for == "group 'one-by-one' already runs 1 (max_parallel 1)"
    stop = threading.Event()
    seen: list[int] = []
    watcher = threading.Thread(
        target=lambda: seen.extend(watch_running(manager, "one-by-one", stop))
    )
    watcher.start()
    try:
        group.wait(timeout=90)
    finally:
        stop.set()
        watcher.join()
    assert max(seen) == 1, "never more than one member runs"
    assert group.counts == {"completed": 8}
    starts = sorted(r.started for r in group.records() if r.started is not None)
    ends = sorted(r.ended for r in group.records() if r.ended is not None)
    assert all(start >= end - 0.05 for start, end in zip(starts[1:], ends, strict=False))


def test_raising_the_limit_starts_more(manager: ExperimentManager) -> None:
    group = manager.sweep(SLEEP, {"t": [30] * 4}, max_parallel=1)
    assert group.counts == {"running": 1, "queued": 3}
    group.max_parallel = 3
    assert group.max_parallel == 3
    assert group.counts == {"running": 3, "queued": 1}
    with pytest.raises(UsageError, match="max_parallel must be a whole number >= 1"):
        group.max_parallel = -1
    group.stop(grace=1)
    assert group.counts == {"interrupted": 3, "pending": 1}


def test_stop_dequeues_first_so_nothing_starts_in_a_freed_slot(
    manager: ExperimentManager,
) -> None:
    group = manager.sweep(SLEEP, {"t": [30] * 5}, max_parallel=2, name="stoppable")
    running = [r.id for r in group.records() if r.status is Status.RUNNING]
    assert len(running) == 2
    stopped = group.stop(grace=1)
    assert sorted(e.id for e in stopped) == group.ids
    manager.tick()  # a scheduling step after the stop starts nothing
    assert group.counts == {"interrupted": 2, "pending": 3}
    assert {manager.get(i).status for i in running} == {Status.INTERRUPTED}


def test_restart_failed_only_reruns_just_the_failures(manager: ExperimentManager) -> None:
    group = manager.sweep(EXIT, {"code": [0, 3, 0, 4]}, name="flaky")
    group.wait(timeout=60)
    assert group.counts == {"completed": 2, "error": 2}
    again = group.restart()
    assert sorted(e.id for e in again) == [r.id for r in group.records() if r.params["code"]]  # type: ignore[index]
    group.wait(timeout=60)
    assert [r.attempt for r in group.records()] == [1, 2, 1, 2]
    everything = group.restart(failed_only=False)
    assert len(everything) == 4
    group.wait(timeout=60)
    assert [r.attempt for r in group.records()] == [2, 3, 2, 3]


def test_pause_holds_the_queue_and_resume_lets_it_go(manager: ExperimentManager) -> None:
    group = manager.sweep(SLEEP, {"t": [0.5, 0.2, 0.2]}, name="paused", max_parallel=1)
    group.pause()
    assert group.paused
    wait_for(lambda: manager.get(group.ids[0]).status is Status.COMPLETED, timeout=30)
    manager.tick()
    waiting = [r for r in group.records() if r.status is Status.QUEUED]
    assert len(waiting) == 2
    assert waiting[0].waiting_for == "group 'paused' is paused (nbexp group resume paused)"
    group.resume()
    assert not group.paused
    group.wait(timeout=60)
    assert group.counts == {"completed": 3}


def test_wait_gives_up_with_a_timeout(manager: ExperimentManager) -> None:
    group = manager.sweep(SLEEP, {"t": [30]}, name="slow")
    with pytest.raises(WaitTimeout, match="group 'slow' still has 1 queued or running"):
        group.wait(timeout=0.3)
    group.stop(grace=1)


def test_remove_refuses_while_a_member_runs_then_forgets_everything(
    manager: ExperimentManager,
) -> None:
    group = manager.sweep(SLEEP, {"t": [30, 0]}, name="gone", max_parallel=1)
    with pytest.raises(UsageError, match=r"group 'gone' has 1 running experiment \(\d+\)"):
        group.remove()
    group.stop(grace=1)
    logs = [Path(p).parent for r in group.records() if (p := r.log_path)]
    assert group.remove() and manager.groups() == []
    assert manager.records() == []
    assert not any(folder.exists() for folder in logs)
    with pytest.raises(UsageError, match="no group named 'gone'"):
        manager.group("gone")


def test_run_with_a_group_tags_and_a_note(manager: ExperimentManager) -> None:
    exp = manager.run(
        [PY, "-c", "pass"], group="ablation", tags=["baseline", "v2", "v2"], note="no dropout"
    )
    other = manager.create(["true"], group="ablation")
    assert exp.group == "ablation" and exp.tags == ["baseline", "v2"] and exp.note == "no dropout"
    assert manager.group("ablation").ids == [exp.id, other.id]
    assert [g.name for g in manager.groups()] == ["ablation"]
    assert manager.tag(exp.id, add=["best"], remove=["v2"]) == ["baseline", "best"]
    assert manager.get(exp.id).tags == ["baseline", "best"]
    manager.note(exp.id, "the one to beat")
    assert manager.get(exp.id).note == "the one to beat"
    assert [h.reason for h in manager.history(exp.id)][-2:] == [
        "tags +best -v2",
        "note changed",
    ]
    with pytest.raises(UsageError, match="'x' is both added and removed"):
        manager.tag(exp.id, add="x", remove="x")
    for bad in ({"group": ""}, {"group": " padded "}, {"tags": ["two words"]}, {"tags": "+x"}):
        with pytest.raises(UsageError):
            manager.create(["true"], **bad)  # type: ignore[arg-type]
    assert len(manager.records()) == 2


def test_compare_puts_the_members_params_and_metrics_side_by_side(
    manager: ExperimentManager,
) -> None:
    script = (
        "import sys\n"
        "for i in range(5): print(f'step={{i}} loss={{float(sys.argv[1]) / (i + 1)}}')\n"
    )
    group = manager.sweep([PY, "-c", script, "{lr}"], {"lr": [1, 2]}, name="cmp")
    group.wait(timeout=60)
    rows = group.compare()
    assert [(r["params"], r["metrics"]["loss"]["last"]) for r in rows] == [
        ({"lr": 1}, 0.2),
        ({"lr": 2}, 0.4),
    ]
    assert [r["metrics"]["loss"]["direction"] for r in rows] == ["min", "min"]
