"""Experiments whose runner and process vanished are marked lost, and pid reuse cannot fool it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nbexp import ExperimentManager, Status
from nbexp._io import proc as _proc
from nbexp._io.store import Store
from nbexp.states import Action, sources

from .conftest import cli, wait_for


def _fake_running_row(home: Path, **pids: object) -> int:
    store = Store(home)
    experiment_id = store.insert(name="ghost", command=["sleep", "100"], cwd="/", env={})
    log = home / "ghost.log"
    log.write_text("")
    store.transition(
        experiment_id,
        sources(Action.START),
        Status.RUNNING,
        "start",
        attempt=1,
        started=time.time() - 3600,
        log_path=str(log),
        **pids,
    )
    return experiment_id


def test_dead_pids_are_lost(home: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    experiment_id = _fake_running_row(
        home, pid=dead.pid, pid_start="x:1", runner_pid=dead.pid, runner_start="x:1"
    )
    manager = ExperimentManager(home=home)
    exp = manager.get(experiment_id)
    assert exp.status is Status.ERROR
    assert exp.error is not None and exp.error.startswith("lost:")


def test_reused_pid_does_not_fool_it(home: Path) -> None:
    # The row claims a pid that is alive now but belongs to another, newer process.
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        experiment_id = _fake_running_row(
            home,
            pid=stranger.pid,
            pid_start=f"{_proc.boot_id()}:1",
            runner_pid=stranger.pid,
            runner_start=f"{_proc.boot_id()}:2",
        )
        result = cli(home, "list", "--json")
        assert result.returncode == 0
        assert '"status": "error"' in result.stdout and "lost" in result.stdout
        assert ExperimentManager(home=home).get(experiment_id).status is Status.ERROR
        assert stranger.poll() is None  # and the stranger was left alone
    finally:
        stranger.kill()
        stranger.wait()


def test_killed_runner_and_command_become_lost(manager: ExperimentManager) -> None:
    exp = manager.run(["sleep", "60"])
    pid = wait_for(lambda: exp.pid)
    runner = exp.record.runner_pid
    assert runner is not None
    os.kill(runner, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _proc.is_alive(runner) and not _proc.is_alive(pid))
    assert exp.status is Status.ERROR
    assert "lost" in (exp.error or "")


def test_outcome_written_before_the_store_is_recovered(manager: ExperimentManager) -> None:
    # A runner that wrote its .exit file but died before updating the store loses nothing.
    exp = manager.run([sys.executable, "-c", "print('ok')"])
    exp.wait(timeout=20)
    runner = exp.record.runner_pid
    wait_for(lambda: not _proc.is_alive(runner))  # it writes the store, then exits
    store = manager.store
    with store.write() as conn:
        conn.execute(
            "UPDATE experiments SET status = 'running', ended = NULL, exit_code = NULL, "
            "started = ? WHERE id = ?",
            (time.time() - 3600, exp.id),
        )
    assert exp.status is Status.COMPLETED
    assert exp.exit_code == 0
