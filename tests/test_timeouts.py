"""Time limits with real processes: `sleep 60` under a 2 s limit ends in about 2 s with nothing
left; a program that ignores SIGTERM is killed after the grace; the early signal comes before
the limit; paused time does not count; durations parse as people write them."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status, UsageError
from nbexp._core.durations import (
    TimeLimit,
    format_duration,
    parse_duration,
    parse_timeout_signal,
    slurm_time,
)
from nbexp._core.validate import check_launch

from .conftest import cli, processes_of_home, wait_for

PY = sys.executable


def test_sleep_60_with_a_2_s_limit(manager: ExperimentManager, home: Path) -> None:
    began = time.monotonic()
    exp = manager.run(["sleep", "60"], timeout=2)
    record = exp.wait(timeout=30).record
    took = time.monotonic() - began
    assert record.status is Status.ERROR and record.error == "timed out after 2s"
    assert exp.failure == {"kind": "timeout", "summary": "timed out after 2s"}
    assert record.runtime is not None and 2.0 <= record.runtime < 2.0 + 1.0, record.runtime
    assert took < 2.0 + 3.0, took  # sleep dies of SIGTERM: no grace needed
    wait_for(lambda: not processes_of_home(home), timeout=5)


def test_a_program_that_ignores_sigterm_is_killed_after_the_grace(
    manager: ExperimentManager, home: Path
) -> None:
    script = "trap '' TERM; sleep 60 & sleep 60 & wait"
    exp = manager.run(["sh", "-c", script], timeout=1)
    manager.store.update(exp.id, stop_grace=1.0)  # the grace a stop would use
    record = exp.wait(timeout=30).record
    assert record.status is Status.ERROR and record.failure_kind == "timeout"
    assert record.signal == signal.SIGKILL
    assert record.runtime is not None and record.runtime < 1.0 + 1.0 + 1.5, record.runtime
    wait_for(lambda: not processes_of_home(home), timeout=5)


EARLY = """
import signal, sys, time
start = time.monotonic()
def checkpoint(*_):
    print(f"USR1 after {time.monotonic() - start:.2f} s", flush=True)
signal.signal(signal.SIGUSR1, checkpoint)
print("training", flush=True)
time.sleep(60)
"""


def test_the_early_signal_arrives_before_the_limit(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", EARLY], timeout=4, timeout_signal="USR1@2")
    record = exp.wait(timeout=30).record
    assert record.failure_kind == "timeout"
    lines = [line for line in exp.logs() if line.startswith("USR1 after")]
    assert len(lines) == 1, exp.logs()
    at = float(lines[0].split()[2])
    assert 1.0 < at < 4.0, at  # ~2 s into a 4 s limit: before it, with time to checkpoint
    assert any("sent SIGUSR1 2s before the time limit" in (h.reason or "") for h in exp.history())


def test_paused_time_does_not_count(manager: ExperimentManager) -> None:
    exp = manager.run(["sleep", "60"], timeout=2)
    wait_for(lambda: exp.pid)
    time.sleep(0.5)
    manager.pause(exp.id)
    time.sleep(2.5)  # beyond the limit in wall time
    assert exp.status is Status.PAUSED
    manager.resume(exp.id)
    record = exp.wait(timeout=30).record
    assert record.failure_kind == "timeout"
    assert record.ended is not None and record.started is not None
    assert record.ended - record.started >= 4.0  # 0.5 + 2.5 paused + the other 1.5 running
    assert record.runtime is not None and record.runtime < 3.0


def test_cli_time_limits(manager: ExperimentManager, home: Path) -> None:
    out = cli(home, "run", "--timeout", "1", "--", "sleep", "60")
    assert out.returncode == 0, out.stderr
    exp = manager.get(int(out.stdout))
    assert exp.record.timeout == 1.0
    assert exp.wait(timeout=30).record.failure_kind == "timeout"
    out = cli(home, "create", "--timeout", "90m", "--timeout-signal", "USR1@60", "--", "true")
    record = manager.get(int(out.stdout)).record
    assert (record.timeout, record.timeout_signal) == (5400.0, "USR1@60")
    assert "timeout    1h30m" in cli(home, "show", str(record.id)).stdout
    for bad, word in (
        (["--timeout", "soon"], "timeout must be a duration"),
        (["--timeout", "0"], "timeout must be a duration above 0"),
        (["--timeout", "10", "--timeout-signal", "KILL@5"], "SIGKILL cannot be caught"),
        (["--timeout", "10", "--timeout-signal", "USR1@20"], "lead must be shorter"),
        (["--timeout-signal", "USR1@5"], "needs a time limit"),
    ):
        out = cli(home, "run", *bad, "--", "true")
        assert out.returncode == 2 and word in out.stderr, (bad, out.stderr)
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


# -- pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2h", 7200), ("90m", 5400), ("30s", 30), ("1h30m", 5400), ("45", 45), (45, 45),
        ("1.5h", 5400), ("1d", 86400), ("2:00:00", 7200), ("1-00:00:00", 86400), (0.5, 0.5),
    ],
)  # fmt: skip
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text, "timeout") == seconds


@pytest.mark.parametrize("bad", ["", "h", "1h30", "2x", "-5", "0", 0, True, None, "nan", [1]])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(UsageError, match="timeout"):
        parse_duration(bad, "timeout")


def test_formats_and_signals() -> None:
    assert [format_duration(s) for s in (5400, 90, 2, 0.5, 86400 + 60)] == [
        "1h30m", "1m30s", "2s", "0.5s", "1d1m",
    ]  # fmt: skip
    assert parse_timeout_signal("USR1@60") == (signal.SIGUSR1, 60.0)
    assert parse_timeout_signal("SIGTERM@5m") == (signal.SIGTERM, 300.0)
    with pytest.raises(UsageError, match="unknown signal"):
        parse_timeout_signal("FOO@5")
    assert slurm_time(5400) == "1:30:00" and slurm_time(30) == "0:01:00"
    assert slurm_time(2 * 86400 + 61) == "2-00:02:00"


def test_time_limit_clock_stops_while_paused() -> None:
    limit = TimeLimit(10.0, (signal.SIGUSR1, 3.0))
    limit.start(100.0)
    assert limit.wait(100.0) == 7.0 and limit.due(106.9) is None
    assert limit.due(107.0) == "early" and limit.due(107.0) is None
    limit.pause(108.0)
    assert limit.wait(200.0) is None and limit.due(500.0) is None
    limit.resume(208.0)  # 100 s paused: the limit moves from 110 to 210
    assert limit.due(209.9) is None and limit.due(210.0) == "limit"
    assert limit.reason() == "timed out after 10s"
    assert limit.early_note("SIGUSR1") == "sent SIGUSR1 3s before the time limit"


def test_on_slurm_the_limit_becomes_time() -> None:
    request = check_launch(["true"], {"executor": "slurm", "timeout": "90m"}, "local")
    assert request.options["slurm"]["time"] == "1:30:00"
    assert request.endings["timeout"] == 5400.0
    with pytest.raises(UsageError, match="once"):
        check_launch(["true"], {"executor": "slurm", "timeout": "1h", "time": "1:00:00"}, "local")
    with pytest.raises(UsageError, match="retries"):
        check_launch(["true"], {"executor": "slurm", "retries": 2}, "local")
