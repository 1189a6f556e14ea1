"""Faults that used to lose an outcome or leave a job running (hardening items 1–5): a locked
store at launch, an unwritable `.exit` file, processes forked during a kill, a killed runner,
and a launcher killed half-way. Real processes, real SQLite, a real tmpfs where one can be made.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status
from nbexp._io import proc as _proc

from ..conftest import NBEXP_CLI, cli, kill_pids, mount_tmpfs, processes_of_home, wait_for

PY = sys.executable


def hold_write_lock(db: Path, seconds: float) -> None:
    """Take the database's write lock in this process for `seconds` (another nbexp user's long
    transaction)."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


def experiment_processes(home: Path) -> set[int]:
    return {p for p in processes_of_home(home) if _proc.is_alive(p)}


# -- 1. store locked at launch ------------------------------------------------------------------


def test_a_store_locked_at_launch_loses_nothing(manager: ExperimentManager, home: Path) -> None:
    exp = manager.run([PY, "-c", "import time; time.sleep(2); raise SystemExit(3)"])
    # The runner boots Python before its first write; this process takes the lock first and
    # holds it well beyond the runner's own wait for the store.
    hold_write_lock(home / "nbexp.db", 3.0)
    shown = cli(home, "show", "--json", str(exp.id))  # a look while the runner catches up
    assert '"lost' not in shown.stdout, shown.stdout
    record = exp.wait(timeout=30).record
    assert (record.status, record.exit_code) == (Status.ERROR, 3), record
    assert record.runner_pid is not None and record.pid is not None  # caught up after the lock
    assert not any("lost" in (h.reason or "") for h in exp.history())


def test_lost_is_never_declared_while_a_process_of_the_experiment_lives(
    manager: ExperimentManager, home: Path
) -> None:
    exp = manager.run(["sh", "-c", "sleep 30 & sleep 1; exit 0"])
    record = wait_for(lambda: (r := manager.get(exp.id).record).pid and r)
    os.kill(record.runner_pid, signal.SIGKILL)  # the runner is gone, the sleep lives on
    wait_for(lambda: not _proc.is_alive(record.runner_pid, record.runner_start))
    wait_for(lambda: not _proc.is_alive(record.pid, record.pid_start), timeout=10)
    final = exp.wait(timeout=15).record  # the next look ends the leftover, then records
    assert final.status is Status.ERROR
    assert experiment_processes(home) == set(), "the orphaned sleep was ended"


# -- 2. an unwritable .exit file ----------------------------------------------------------------


@pytest.fixture
def full_logs(home: Path) -> Path:
    """The home's logs/ on a 1 MiB tmpfs, filled up (root in a container that allows mounts)."""
    ExperimentManager(home=home)  # the store exists before logs/ becomes a mount point
    logs = home / "logs"
    logs.mkdir(mode=0o700, exist_ok=True)
    mount_tmpfs(logs, "1m")
    yield logs
    kill_pids(processes_of_home(home))
    subprocess.run(["umount", "-l", str(logs)], check=False)


@pytest.mark.parametrize("code", [0, 5])
def test_a_full_disk_does_not_cost_the_store_its_outcome(
    home: Path, full_logs: Path, code: int
) -> None:
    manager = ExperimentManager(home=home)
    # The command fills the filesystem holding its log, then prints: neither its output nor
    # the runner's .exit file fits any more, but the store (elsewhere) is healthy.
    fill = f"cat /dev/zero > {full_logs}/filler 2>/dev/null; head -c 100000 /dev/zero; exit {code}"
    exp = manager.run(["sh", "-c", fill])
    record = exp.wait(timeout=30).record
    assert record.exit_code == code and "runner failed" not in (record.error or "")
    assert record.status is (Status.COMPLETED if code == 0 else Status.ERROR)
    assert record.log_problem is not None and "full" in record.log_problem
    shown = cli(home, "logs", str(exp.id))
    assert "full" in shown.stderr, shown


def test_a_log_folder_deleted_while_running_keeps_the_outcome(
    manager: ExperimentManager,
) -> None:
    exp = manager.run([PY, "-c", "import time; time.sleep(1); raise SystemExit(4)"])
    folder = Path(wait_for(lambda: manager.get(exp.id).record.pid and exp.log_path)).parent
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()
    record = exp.wait(timeout=20).record
    assert (record.status, record.exit_code) == (Status.ERROR, 4)
    assert record.log_problem is not None and "deleted" in record.log_problem


# -- 3. processes forked during the kill --------------------------------------------------------

FORK_BOMB_LITE = "trap '' TERM; while :; do sleep 1000 & sleep 0.005; done"


def test_stop_leaves_no_process_forked_during_the_kill(
    manager: ExperimentManager, home: Path
) -> None:
    for _ in range(5):
        exp = manager.run(["sh", "-c", FORK_BOMB_LITE])
        wait_for(lambda e=exp: manager.get(e.id).pid)
        time.sleep(0.3)  # a few dozen sleeps by now
        began = time.monotonic()
        manager.stop(exp.id, grace=1)
        took = time.monotonic() - began
        assert manager.get(exp.id).status is Status.INTERRUPTED
        assert experiment_processes(home) == set()
        assert took < 8, f"stop took {took:.1f} s"


# Forks a child into a session of its own every millisecond (out of the process group that
# the runner signals as one): a walk of the tree always misses the newest.
FAST_SETSID_FORKS = """
import os, time
for _ in range(3000):
    if os.fork() == 0:
        os.setsid()
        time.sleep(1000)
        os._exit(0)
    time.sleep(0.001)
time.sleep(1000)
"""


def test_sigterm_reaches_children_forked_while_the_stop_looks_at_the_tree(
    manager: ExperimentManager, home: Path
) -> None:
    # The tree is stopped (and walked until nothing new appears) before the SIGTERM: every
    # child gets it, so nothing waits for the SIGKILL at the end of the grace period.
    for _ in range(3):
        exp = manager.run([sys.executable, "-c", FAST_SETSID_FORKS])
        wait_for(lambda e=exp: len(experiment_processes(home)) > 100, timeout=20)
        began = time.monotonic()
        manager.stop(exp.id, grace=30)
        took = time.monotonic() - began
        assert manager.get(exp.id).record.signal == signal.SIGTERM
        assert experiment_processes(home) == set()
        assert took < 10, f"stop took {took:.1f} s: a child missed the SIGTERM"


# -- 4. a killed runner -------------------------------------------------------------------------

LEAVES_CHILDREN = (
    "import os, subprocess, sys, time\n"
    "subprocess.Popen(['sleep', '300'])\n"
    "subprocess.Popen(['setsid', 'sleep', '300'])\n"
    "print('children started', flush=True)\n"
    "time.sleep(1.5)\n"
    "sys.exit(7)\n"
)


def test_a_killed_runner_leaves_no_orphans(manager: ExperimentManager, home: Path) -> None:
    exp = manager.run([PY, "-c", LEAVES_CHILDREN])
    wait_for(lambda: "children started" in "".join(manager.logs(exp.id)))
    record = manager.get(exp.id).record
    os.kill(record.runner_pid, signal.SIGKILL)
    assert manager.get(exp.id).status is Status.RUNNING  # its command still runs
    final = exp.wait(timeout=20).record
    assert final.status is Status.ERROR and final.error is not None
    wait_for(lambda: experiment_processes(home) == set(), timeout=10)


def test_stop_on_a_lost_experiment_sweeps_its_processes(
    manager: ExperimentManager, home: Path
) -> None:
    exp = manager.run(["sh", "-c", "setsid sleep 300 & sleep 300"])
    record = wait_for(lambda: (r := manager.get(exp.id).record).pid and r)
    time.sleep(0.3)
    # Runner and command killed from outside: what is left is a setsid'd sleep.
    os.kill(record.runner_pid, signal.SIGKILL)
    os.kill(record.pid, signal.SIGKILL)
    wait_for(lambda: not _proc.is_alive(record.pid, record.pid_start))
    # A store that was told by an older nbexp that the experiment is lost (the leftover kept).
    manager.store.finish(exp.id, record.attempt, Status.ERROR, "lost: (old nbexp)")
    assert experiment_processes(home), "the setsid'd sleep outlived the command"
    stopped = cli(home, "stop", str(exp.id))
    assert stopped.returncode == 0, stopped
    wait_for(lambda: experiment_processes(home) == set())
    assert any("leftover" in (h.reason or "") for h in exp.history())


# -- 5. killed between create and start, or before the runner spawns ------------------------------

KILL_ITSELF_AT = """
import os, signal, sys
from nbexp import ExperimentManager
manager = ExperimentManager()
target = {target}
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
setattr(target, {name!r}, die)
manager.run(["sleep", "30"], name="interrupted")
"""


@pytest.mark.parametrize(
    ("target", "name"),
    [("manager.service.lifecycle", "start"), ("manager.service.local", "launch")],
    ids=["before-start", "before-runner"],
)
def test_an_interrupted_run_is_a_clear_state_at_the_next_look(
    home: Path, target: str, name: str
) -> None:
    code = KILL_ITSELF_AT.format(target=target, name=name)
    died = subprocess.run([PY, "-c", code], env=dict(os.environ, NBEXP_HOME=str(home)))
    assert died.returncode == -signal.SIGKILL
    began = time.monotonic()
    record = ExperimentManager(home=home).get(1).record
    assert time.monotonic() - began < 2
    assert record.status is Status.ERROR, record
    assert record.error is not None and record.error.startswith("launch interrupted"), record


def test_a_cli_killed_at_random_leaves_no_pending_or_phantom_row(home: Path) -> None:
    for delay in (0.05, 0.1, 0.15, 0.2, 0.3):
        launcher = subprocess.Popen(
            [*NBEXP_CLI, "run", "--", "sleep", "30"],
            env=dict(os.environ, NBEXP_HOME=str(home)),
            stdout=subprocess.DEVNULL,
        )
        time.sleep(delay)
        launcher.kill()
        launcher.wait()
    manager = ExperimentManager(home=home)
    for record in manager.records():
        # Within 2 s every row is a clear state: running with a process, or a stated error.
        settled = wait_for(
            lambda r=record: (
                ((now := manager.get(r.id).record).status is Status.ERROR or now.pid) and now
            ),
            timeout=2,
        )
        assert settled.status in (Status.RUNNING, Status.ERROR), settled
        if settled.status is Status.ERROR:
            assert settled.error is not None and settled.error.startswith("launch interrupted")
