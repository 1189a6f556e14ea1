"""Pause and resume with real process trees, checked in /proc: every process stopped (state T),
a child forked just before the pause and one forked while paused included; resume; stop while
paused; runtime without the pause; the kill -9 of the controller or of the runner; the GPU stays
held; the CLI and the dashboard's actions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager, GpuConflict, InvalidTransition, Status
from nbexp._core.states import allowed_actions
from nbexp._io import proc as _proc
from nbexp._ui.actions import handle_action

from .conftest import cli, processes_of_home, wait_for

PY = sys.executable
# Forks a long-lived child every 20 ms (every other one in a session of its own, out of the
# process group) and writes every pid it makes to a file.
SPAWNER = """
import os, sys, time
pids = sys.argv[1]
def log(pid):
    with open(pids, "a") as f:
        f.write(f"{pid}\\n")
log(os.getpid())
for i in range(300):
    pid = os.fork()
    if pid == 0:
        if i % 2:
            os.setsid()
        while True:
            time.sleep(0.02)
    log(pid)
    time.sleep(0.02)
while True:
    time.sleep(0.02)
"""


def listed(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2]


def states(pids: list[int]) -> dict[int, str]:
    found = {}
    for pid in pids:
        try:
            found[pid] = state(pid)
        except OSError:
            pass
    return found


def spawn_tree(manager: ExperimentManager, tmp_path: Path, **options: object) -> tuple[int, Path]:
    pids = tmp_path / "pids"
    exp = manager.run([PY, "-c", SPAWNER, str(pids)], **options)  # type: ignore[arg-type]
    wait_for(lambda: len(listed(pids)) >= 6, timeout=20)
    return exp.id, pids


def test_the_whole_tree_stops_and_runs_again(manager: ExperimentManager, tmp_path: Path) -> None:
    experiment_id, pids = spawn_tree(manager, tmp_path)
    manager.pause(experiment_id)  # while it forks every 20 ms: the newest child is seconds old
    assert manager.get(experiment_id).status is Status.PAUSED
    frozen = listed(pids)
    assert len(frozen) >= 6
    assert set(states(frozen).values()) == {"T"}, states(frozen)
    time.sleep(0.5)
    assert listed(pids) == frozen  # nothing forks while paused

    # Something wakes the main process behind nbexp's back; it forks again: the runner stops
    # the new child and the main process again within a moment. (Woken again until it has
    # forked: the runner may stop it before its first fork on a loaded machine.)
    def woken_and_forked() -> bool:
        os.kill(frozen[0], signal.SIGCONT)
        time.sleep(0.1)
        return len(listed(pids)) > len(frozen)

    wait_for(woken_and_forked, timeout=20)
    wait_for(lambda: set(states(listed(pids)).values()) == {"T"}, timeout=5,
             describe=lambda: states(listed(pids)))  # fmt: skip
    newest = listed(pids)[-1]
    assert state(newest) == "T"

    manager.resume(experiment_id)
    assert manager.get(experiment_id).status is Status.RUNNING
    assert "T" not in states(listed(pids)).values()
    count = len(listed(pids))
    wait_for(lambda: len(listed(pids)) > count + 3, timeout=10)  # it forks again
    manager.stop(experiment_id, grace=5)
    assert not any(_proc.is_alive(p) for p in listed(pids))


def test_stop_while_paused(manager: ExperimentManager, home: Path, tmp_path: Path) -> None:
    experiment_id, pids = spawn_tree(manager, tmp_path)
    manager.pause(experiment_id)
    began = time.monotonic()
    exp = manager.stop(experiment_id, grace=30)
    took = time.monotonic() - began
    assert exp.status is Status.INTERRUPTED and exp.error == "stopped by user"
    assert took < 5, took  # resumed first, so SIGTERM ended it without waiting for SIGKILL
    assert exp.record.signal == signal.SIGTERM
    assert not any(_proc.is_alive(p) for p in listed(pids))
    wait_for(lambda: not processes_of_home(home), timeout=5)


def test_runtime_leaves_the_pause_out(manager: ExperimentManager) -> None:
    exp = manager.run(["sleep", "60"])
    wait_for(lambda: exp.pid)
    began = time.time()
    time.sleep(0.5)
    manager.pause(exp.id)
    time.sleep(2.0)
    paused = exp.record
    assert paused.runtime is not None and paused.runtime < 1.5  # frozen while paused
    time.sleep(0.5)
    assert abs((exp.record.runtime or 0) - paused.runtime) < 0.05
    manager.resume(exp.id)
    time.sleep(0.5)
    record = manager.stop(exp.id, grace=5).record
    wall = (record.ended or 0) - began
    assert record.paused_seconds >= 2.0
    assert record.runtime is not None and abs(record.runtime - (wall - record.paused_seconds)) < 0.5
    assert record.runtime < wall - 1.9


def test_pause_survives_kill_9_of_the_controller(
    manager: ExperimentManager, home: Path, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "controller.py"
    script.write_text(
        "import os, sys, time\nfrom nbexp import ExperimentManager\n"
        f"mgr = ExperimentManager(home={str(home)!r})\n"
        f"exp = mgr.run([{PY!r}, '-c', {SPAWNER!r}, {str(pids)!r}])\n"
        "p = sys.argv[1]\n"
        "while not os.path.exists(p) or len(open(p).read().split()) < 6:\n"
        "    time.sleep(0.02)\n"
        "exp.pause()\nprint(exp.id, flush=True)\ntime.sleep(600)\n"
    )
    env = dict(os.environ, NBEXP_HOME=str(home))
    controller = subprocess.Popen(
        [PY, str(script), str(pids)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert controller.stdout is not None
        experiment_id = int(controller.stdout.readline())
        os.kill(controller.pid, signal.SIGKILL)
        controller.wait(timeout=10)
        time.sleep(1.0)
        assert manager.get(experiment_id).status is Status.PAUSED
        assert set(states(listed(pids)).values()) == {"T"}
        manager.resume(experiment_id)
        assert "T" not in states(listed(pids)).values()
        manager.stop(experiment_id, grace=5)
        assert not any(_proc.is_alive(p) for p in listed(pids))
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait()
        controller.stdout.close()  # type: ignore[union-attr]


def test_pause_and_resume_after_kill_9_of_the_runner(
    manager: ExperimentManager, home: Path, tmp_path: Path
) -> None:
    experiment_id, pids = spawn_tree(manager, tmp_path)
    record = manager.get(experiment_id).record
    assert record.runner_pid is not None
    os.kill(record.runner_pid, signal.SIGKILL)
    wait_for(lambda: not _proc.is_alive(record.runner_pid, record.runner_start))
    manager.pause(experiment_id)  # this process stops the tree itself
    assert set(states(listed(pids)).values()) == {"T"}
    manager.resume(experiment_id)
    assert "T" not in states(listed(pids)).values()
    manager.pause(experiment_id)
    exp = manager.stop(experiment_id, grace=5)
    assert exp.status is Status.INTERRUPTED
    assert not any(_proc.is_alive(p) for p in listed(pids))
    wait_for(lambda: not processes_of_home(home), timeout=10)


def test_a_paused_run_keeps_its_gpu(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "1")
    manager = ExperimentManager(home=home)
    holder = manager.run(["sleep", "60"], gpus=1)
    wait_for(lambda: holder.pid)
    manager.pause(holder.id)
    assert manager.gpu_holders()[0] == [f"#{holder.id} sleep"]
    with pytest.raises(GpuConflict):
        manager.run(["sleep", "1"], gpus=1)
    waiting = manager.run(["sleep", "1"], gpus=1, queue=True)
    manager.schedule()
    assert waiting.status is Status.QUEUED
    manager.stop(holder.id, grace=5)
    wait_for(lambda: manager.schedule() or waiting.status is not Status.QUEUED, timeout=20)


def test_cli_and_states(manager: ExperimentManager, home: Path) -> None:
    exp = manager.run(["sleep", "60"])
    wait_for(lambda: exp.pid)
    out = cli(home, "pause", str(exp.id))
    assert out.returncode == 0 and out.stdout.startswith(f"{exp.id} paused"), out
    assert "GPUs stay held" in out.stdout
    row = next(line for line in cli(home, "ls").stdout.splitlines() if line.startswith(str(exp.id)))
    assert "paused" in row and str(exp.pid) in row
    again = cli(home, "pause", str(exp.id))
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "allowed now: resume, stop" in again.stderr, again.stderr
    assert cli(home, "resume", str(exp.id)).stdout.strip() == f"{exp.id} running"
    manager.stop(exp.id, grace=5)
    with pytest.raises(InvalidTransition, match="cannot pause"):
        manager.pause(exp.id)
    assert cli(home, "resume", str(exp.id)).returncode == 1
    assert allowed_actions(Status.RUNNING) == ["pause", "stop"]
    assert allowed_actions(Status.PAUSED) == ["resume", "stop"]


def test_dashboard_actions(manager: ExperimentManager) -> None:
    exp = manager.run(["sleep", "60"])
    wait_for(lambda: exp.pid)

    def row_of(experiment_id: int) -> dict[str, object]:
        return {"status": manager.get(experiment_id).status.value}

    reply = handle_action(manager.service, {"req": 1, "id": exp.id, "action": "pause"}, 5, row_of)  # type: ignore[arg-type]
    assert reply["type"] == "action_done" and reply["row"] == {"status": "paused"}, reply
    assert "GPUs stay held" in reply["message"]
    reply = handle_action(manager.service, {"req": 2, "id": exp.id, "action": "pause"}, 5, row_of)  # type: ignore[arg-type]
    assert reply["type"] == "error" and "allowed now: resume, stop" in reply["message"]
    reply = handle_action(manager.service, {"req": 3, "id": exp.id, "action": "resume"}, 5, row_of)  # type: ignore[arg-type]
    assert reply["row"] == {"status": "running"}
    manager.stop(exp.id, grace=5)


def test_a_group_with_a_paused_member(manager: ExperimentManager, home: Path) -> None:
    paused = manager.run(["sleep", "60"], group="g")
    other = manager.run(["sleep", "60"], group="g")
    wait_for(lambda: paused.pid and other.pid)
    manager.pause(paused.id)
    manager.stop(other.id, grace=5)
    # The paused member has not ended: waiting for the group waits for it, rm refuses it, and
    # a stop of the group stops it.
    waiting = cli(home, "group", "wait", "g", "--timeout", "0.5")
    assert waiting.returncode != 0, waiting
    removal = cli(home, "rm", "--group", "g")
    assert removal.returncode != 0 and "stop them first" in removal.stderr, removal.stderr
    stopped = cli(home, "stop", "--group", "g", "--grace", "5")
    assert stopped.returncode == 0, stopped.stderr
    assert paused.status is Status.INTERRUPTED
    wait_for(lambda: not processes_of_home(home), timeout=10)
