"""Retries with real processes: a script that fails twice then succeeds, retry_on leaving a kind
out, a stop that is never retried, the delay, and retries that go on after the kill -9 of the
controller, of the queue watcher or of the runner waiting out the delay. Progress is read from
the store directly (no reconcile, no scheduling step), so nothing in this process moves it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nbexp import ExperimentManager, Status, UsageError
from nbexp._core.records import ExperimentRecord
from nbexp._io import proc as _proc

from .conftest import cli, processes_of_home, wait_for

PY = sys.executable
# Fails (as CUDA OOM) until its counter file says it ran `fails` times, then succeeds.
FLAKY = """
import os, sys
path, fails = sys.argv[1], int(sys.argv[2])
n = int(open(path).read()) if os.path.exists(path) else 0
open(path, "w").write(str(n + 1))
print(f"run {n + 1}", flush=True)
if n < fails:
    print("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", flush=True)
    sys.exit(1)
print("trained")
"""


def flaky(tmp_path: Path, fails: int = 2) -> list[str]:
    script = tmp_path / "flaky.py"
    script.write_text(FLAKY)
    return [PY, str(script), str(tmp_path / "counter"), str(fails)]


def stored(manager: ExperimentManager, experiment_id: int) -> ExperimentRecord:
    """The row as stored: no reconcile and no scheduling step from this process."""
    return manager.store.get(experiment_id)


def wait_stored(manager: ExperimentManager, experiment_id: int, timeout: float) -> ExperimentRecord:
    return wait_for(
        lambda: (r := stored(manager, experiment_id)).status.is_terminal and r,
        timeout=timeout,
        interval=0.05,
        describe=lambda: stored(manager, experiment_id),
    )


def test_fails_twice_then_completes_at_attempt_three(
    manager: ExperimentManager, home: Path, tmp_path: Path
) -> None:
    exp = manager.run(flaky(tmp_path), retries=2, name="flaky")
    record = wait_stored(manager, exp.id, timeout=60)
    assert record.status is Status.COMPLETED and record.attempt == 3, record
    assert (tmp_path / "counter").read_text() == "3"
    attempts = manager.store.attempts(exp.id)
    assert [a.status for a in attempts] == [Status.ERROR, Status.ERROR, Status.COMPLETED]
    logs = [Path(a.log_path) for a in attempts]
    assert len(set(logs)) == 3 and all(log.exists() for log in logs)
    assert [exp.logs(attempt=n)[0] for n in (1, 2, 3)] == ["run 1", "run 2", "run 3"]
    reasons = [h.reason for h in exp.history()]
    assert "retry 1/2 after cuda-oom" in reasons and "retry 2/2 after cuda-oom" in reasons
    assert record.attempt_text == "attempt 3/3"
    assert "attempt 3/3" in cli(home, "ls").stdout
    shown = json.loads(cli(home, "show", "--json", str(exp.id)).stdout)
    assert (shown["retries"], shown["retried"], shown["failure"]) == (2, 2, None)


def test_retries_run_out(manager: ExperimentManager, tmp_path: Path) -> None:
    exp = manager.run(flaky(tmp_path, fails=5), retries=1)
    record = wait_stored(manager, exp.id, timeout=60)
    assert (record.status, record.attempt, record.retried) == (Status.ERROR, 2, 1)
    assert record.failure_kind == "cuda-oom"
    assert record.attempt_text == "attempt 2/2"


def test_retry_on_leaving_the_kind_out_means_no_retry(
    manager: ExperimentManager, tmp_path: Path
) -> None:
    bug = manager.run([PY, "-c", "raise ValueError('a bug')"], retries=3)  # default: not bugs
    oom = manager.run(flaky(tmp_path), retries=3, retry_on=["exit:3", "nccl"])
    for exp in (bug, oom):
        record = wait_stored(manager, exp.id, timeout=60)
        assert (record.status, record.attempt, record.retried) == (Status.ERROR, 1, 0), record
    assert not any("retry" in (h.reason or "") for h in oom.history())
    # The same failure, named: retried.
    (tmp_path / "counter").unlink()
    named = manager.run(flaky(tmp_path, fails=1), retries=3, retry_on=["regex:CUDA out of mem"])
    assert wait_stored(manager, named.id, timeout=60).attempt == 2


def test_a_stopped_run_is_never_retried(manager: ExperimentManager) -> None:
    exp = manager.run(["sleep", "60"], retries=3, retry_on=["signal", "exit", "exception"])
    wait_for(lambda: exp.pid)
    manager.stop(exp.id, grace=5)
    time.sleep(0.5)
    record = stored(manager, exp.id)
    assert (record.status, record.attempt, record.retried) == (Status.INTERRUPTED, 1, 0)


def test_the_delay_holds_the_retry_back(manager: ExperimentManager, tmp_path: Path) -> None:
    exp = manager.run(flaky(tmp_path, fails=1), retries=1, retry_delay="2s")
    record = wait_for(lambda: (r := stored(manager, exp.id)).status is Status.QUEUED and r)
    assert record.not_before is not None and record.waiting_for is not None
    assert record.waiting_for.startswith("retry 1/1 after cuda-oom")
    done = wait_stored(manager, exp.id, timeout=60)
    first, second = manager.store.attempts(exp.id)
    assert done.status is Status.COMPLETED
    assert first.ended is not None and second.started is not None
    assert second.started - first.ended >= 2.0


def _controller(home: Path, tmp_path: Path, code: str) -> subprocess.Popen[str]:
    """A notebook stand-in: its own ExperimentManager runs `code`, prints ids, then waits."""
    env = dict(os.environ, NBEXP_HOME=str(home))
    script = tmp_path / "controller.py"
    script.write_text(
        "import sys, time\nfrom nbexp import ExperimentManager\n"
        f"mgr = ExperimentManager(home={str(home)!r})\n{code}\n"
        "time.sleep(600)\n"
    )
    return subprocess.Popen(
        [PY, str(script)], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )


def test_retries_go_on_after_kill_9_of_the_controller(
    manager: ExperimentManager, home: Path, tmp_path: Path
) -> None:
    command = flaky(tmp_path)
    controller = _controller(
        home,
        tmp_path,
        f"exp = mgr.run({command!r}, retries=2, retry_delay='1s')\nprint(exp.id, flush=True)\n"
        "mgr.dashboard  # a notebook's manager: its monitor would tick if a view were open",
    )
    try:
        assert controller.stdout is not None
        experiment_id = int(controller.stdout.readline())
        # Between attempts: the first failed, its retry waits out the delay.
        wait_for(lambda: stored(manager, experiment_id).retried == 1, timeout=30)
        os.kill(controller.pid, signal.SIGKILL)
        controller.wait(timeout=10)
        record = wait_stored(manager, experiment_id, timeout=60)
        assert (record.status, record.attempt) == (Status.COMPLETED, 3), record
    finally:
        if controller.poll() is None:
            os.kill(controller.pid, signal.SIGKILL)
            controller.wait()
        controller.stdout.close()  # type: ignore[union-attr]


def _queue_watchers(home: Path) -> set[int]:
    found = set()
    for pid in processes_of_home(home):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"queue_watcher" in a for a in argv) and b"--watch" in argv:
            found.add(pid)
    return found


def test_retries_go_on_after_kill_9_of_the_queue_watcher(
    manager: ExperimentManager, home: Path, tmp_path: Path
) -> None:
    exp = manager.run(flaky(tmp_path, fails=1), retries=1, retry_delay="3s")
    wait_for(lambda: stored(manager, exp.id).status is Status.QUEUED, timeout=30)
    watchers = wait_for(lambda: _queue_watchers(home), timeout=20)
    _proc.signal_all(watchers, signal.SIGKILL)
    # The runner of attempt 1 stays for the delay and starts the step itself.
    record = wait_stored(manager, exp.id, timeout=60)
    assert (record.status, record.attempt) == (Status.COMPLETED, 2), record


def test_retries_go_on_after_kill_9_of_the_waiting_runner(
    manager: ExperimentManager, home: Path, tmp_path: Path
) -> None:
    exp = manager.run(flaky(tmp_path, fails=1), retries=1, retry_delay="3s")
    record = wait_for(lambda: (r := stored(manager, exp.id)).status is Status.QUEUED and r)
    runner = record.runner_pid
    assert runner is not None and _proc.is_alive(runner, record.runner_start)
    os.kill(runner, signal.SIGKILL)  # the runner waiting out the delay
    # The queue watcher the end step started still launches it.
    done = wait_stored(manager, exp.id, timeout=60)
    assert (done.status, done.attempt) == (Status.COMPLETED, 2), done


def test_bad_retry_options_are_one_line_errors(manager: ExperimentManager, home: Path) -> None:
    for options, word in (
        ({"retries": -1}, "retries"),
        ({"retries": "2"}, "retries"),
        ({"retry_on": ["oom"]}, "retry_on"),
        ({"retry_on": ["regex:("]}, "retry_on"),
        ({"retry_delay": "soon"}, "retry_delay"),
    ):
        try:
            manager.run(["true"], **options)  # type: ignore[arg-type]
        except UsageError as e:
            assert word in str(e)
        else:
            raise AssertionError(f"{options} was accepted")
    out = cli(home, "run", "--retries", "2", "--retry-on", "cuda-oom,bogus", "--", "true")
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "retry_on (--retry-on): unknown failure kind 'bogus'" in out.stderr
    assert manager.records() == []  # nothing created
