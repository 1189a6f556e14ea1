"""An experiment outlives whoever launched it, and its process tree ends completely on stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from nbexp import ExperimentManager, Status
from nbexp._io import proc as _proc

from .conftest import EXAMPLES, NBEXP_CLI, wait_for

# Prints 40 lines over ~2 s, then exits 5: long enough to outlive a killed launcher.
SLOW_JOB = (
    "import time\n"
    "for i in range(40):\n"
    "    print('tick', i, flush=True); time.sleep(0.05)\n"
    "raise SystemExit(5)\n"
)


def _launcher_env(home: Path) -> dict[str, str]:
    return dict(os.environ, NBEXP_HOME=str(home))


def test_cli_wait_killed_experiment_survives(home: Path) -> None:
    launcher = subprocess.Popen(
        [*NBEXP_CLI, "run", "--wait", "--", sys.executable, "-c", SLOW_JOB],
        stdout=subprocess.PIPE,
        env=_launcher_env(home),
        text=True,
    )
    assert launcher.stdout is not None
    experiment_id = int(launcher.stdout.readline())
    manager = ExperimentManager(home=home)
    wait_for(lambda: len(manager.logs(experiment_id)) >= 3)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    launcher.stdout.close()
    assert manager.get(experiment_id).status is Status.RUNNING
    exp = manager.wait(experiment_id, timeout=30)
    assert exp.status is Status.ERROR and exp.exit_code == 5
    assert exp.logs() == [f"tick {i}" for i in range(40)]


def test_python_api_launcher_killed_experiment_survives(home: Path) -> None:
    script = (
        "import sys\n"
        "from nbexp import ExperimentManager\n"
        f"exp = ExperimentManager().run([sys.executable, '-c', {SLOW_JOB!r}])\n"
        "print(exp.id, flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, env=_launcher_env(home), text=True
    )
    assert launcher.stdout is not None
    experiment_id = int(launcher.stdout.readline())
    manager = ExperimentManager(home=home)
    wait_for(lambda: len(manager.logs(experiment_id)) >= 3)
    launcher.kill()
    launcher.wait()
    launcher.stdout.close()
    exp = manager.wait(experiment_id, timeout=30)
    assert exp.status is Status.ERROR and exp.exit_code == 5
    assert len(exp.logs()) == 40


def _pids_from_log(manager: ExperimentManager, experiment_id: int, count: int) -> dict[str, int]:
    """'worker 0 pid 123' lines → {'worker 0': 123}, once `count` of them are there."""

    def parse() -> dict[str, int] | None:
        found = {}
        for line in manager.logs(experiment_id):
            match = re.match(r"(.+) pid (\d+)$", line)
            if match:
                found[match.group(1)] = int(match.group(2))
        return found if len(found) >= count else None

    result: dict[str, int] = wait_for(
        parse,
        timeout=60,
        describe=lambda: (manager.get(experiment_id).record, manager.logs(experiment_id)),
    )
    return result


def test_stop_ends_children_grandchildren_and_stubborn_workers(manager: ExperimentManager) -> None:
    exp = manager.run(
        [
            sys.executable,
            str(EXAMPLES / "workers.py"),
            "--workers",
            "2",
            "--stubborn",
            "--grandchildren",
        ]
    )
    # main + 2 workers + 2 grandchildren in their own sessions
    pids = _pids_from_log(manager, exp.id, 5)
    assert all(_proc.is_alive(pid) for pid in pids.values())
    grandchild = pids["grandchild 0"]
    assert os.getsid(grandchild) == grandchild  # it left the experiment's process group
    started = time.monotonic()
    manager.stop(exp.id, grace=1.0)
    took = time.monotonic() - started
    assert exp.status is Status.INTERRUPTED
    alive = [name for name, pid in pids.items() if _proc.is_alive(pid)]
    assert alive == []
    # The stubborn worker ignored SIGTERM, so SIGKILL came after the grace period.
    assert took >= 1.0


def test_orphans_left_by_a_finished_job_are_ended(manager: ExperimentManager) -> None:
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " start_new_session=True)\n"
        "print('orphan pid', p.pid, flush=True)\n"
    )
    exp = manager.run([sys.executable, "-c", code])
    assert exp.wait(timeout=30).status is Status.COMPLETED
    orphan = int(exp.logs()[0].split()[-1])
    assert not _proc.is_alive(orphan)


def test_stop_without_a_runner_still_ends_the_tree(manager: ExperimentManager) -> None:
    exp = manager.run([sys.executable, str(EXAMPLES / "workers.py"), "--workers", "2"])
    pids = _pids_from_log(manager, exp.id, 3)
    runner = exp.record.runner_pid
    assert runner is not None
    os.kill(runner, signal.SIGKILL)
    wait_for(lambda: not _proc.is_alive(runner))
    # The command still runs, so the experiment still counts as running.
    assert exp.status is Status.RUNNING
    manager.stop(exp.id, grace=1)
    assert exp.status is Status.INTERRUPTED
    assert "runner was gone" in " ".join(h.reason or "" for h in exp.history())
    assert [p for p in pids.values() if _proc.is_alive(p)] == []
