"""The `nbexp` command, run as a real subprocess: output, exit statuses, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from nbexp import ExperimentManager, Status
from nbexp._core.records import ExperimentRecord
from nbexp._io import listing

from .conftest import NBEXP_CLI, cli, wait_for

SHOW_KEYS = {
    "id",
    "name",
    "command",
    "status",
    "pid",
    "exit_code",
    "error",
    "attempt",
    "gpus",
    "created",
    "started",
    "ended",
    "log_path",
}


def test_run_prints_the_id_and_wait_returns_the_exit_code(home: Path) -> None:
    result = cli(
        home,
        "run",
        "--name",
        "seven",
        "--wait",
        "--",
        sys.executable,
        "-c",
        "print('x'); raise SystemExit(7)",
    )
    assert result.returncode == 7
    assert result.stdout.strip() == "1"
    shown = json.loads(cli(home, "show", "1", "--json").stdout)
    assert set(shown) >= SHOW_KEYS
    assert shown["name"] == "seven" and shown["status"] == "error" and shown["exit_code"] == 7
    assert shown["error"] == "exit code 7" and shown["attempt"] == 1
    assert [h["to"] for h in shown["history"]] == ["pending", "running", "error"]
    logs = cli(home, "logs", "1")
    assert logs.returncode == 0 and logs.stdout == "x\n"


def test_create_start_list_stop_restart_rm(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "2")
    created = cli(
        home, "create", "-n", "sleeper", "--env", "A=1", "--gpus", "0,1", "--", "sleep", "30"
    )
    assert created.returncode == 0 and created.stdout.strip() == "1"
    assert json.loads(cli(home, "show", "1", "--json").stdout)["status"] == "pending"
    assert cli(home, "start", "1").returncode == 0
    listing = cli(home, "list")
    header, row = listing.stdout.splitlines()
    columns = ["ID", "NAME", "STATUS", "PID", "RUNTIME", "PROGRESS", "REASON", "METRICS", "GPUS"]
    assert header.split() == columns
    assert row.split()[:3] == ["1", "sleeper", "running"] and row.split()[-1] == "0,1"
    as_json = json.loads(cli(home, "ls", "--json", "--status", "running").stdout)
    assert [e["id"] for e in as_json] == [1] and as_json[0]["env"] == {"A": "1"}
    stopped = cli(home, "stop", "1", "--grace", "2")
    assert stopped.returncode == 0 and stopped.stdout.strip() == "1 interrupted"
    restarted = cli(home, "restart", "1")
    assert restarted.stdout.strip() == "1 running (attempt 2)"
    assert cli(home, "stop", "1", "--grace", "1").returncode == 0
    assert cli(home, "rm", "1").returncode == 0
    assert json.loads(cli(home, "list", "--json").stdout) == []


def test_wait_command(home: Path) -> None:
    exp = ExperimentManager(home=home).run(["sh", "-c", "sleep 0.3; exit 3"])
    assert cli(home, "wait", str(exp.id)).returncode == 3
    long = ExperimentManager(home=home).run(["sleep", "30"])
    timed_out = cli(home, "wait", str(long.id), "--timeout", "0.2")
    assert timed_out.returncode == 124 and "still running" in timed_out.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "42"], 1, "no experiment with id 42"),
        (["stop", "42"], 1, "no experiment with id 42"),
        (["run"], 2, "no command given"),
        (["run", "--"], 2, "no command given"),
        (["run", "--env", "NOEQUALS", "--", "true"], 2, "bad --env 'NOEQUALS'"),
        (["run", "--cwd", "/no/such/dir", "--", "true"], 2, "working directory does not exist"),
        (["run", "--", "no-such-program-xyz"], 1, "command not found: no-such-program-xyz"),
        (["list", "--status", "bogus"], 2, "unknown status 'bogus'"),
        (["frobnicate"], 2, "invalid choice"),
        (["show", "abc"], 2, "invalid int value"),
        (["run", "--min-gpu-memory", "-1", "--", "true"], 2, "(--min-gpu-memory) must be MB >= 0"),
        (["logs", "1", "-n", "-5"], 2, "needs a number of lines >= 0, not '-5'"),
        (["show", "99999999999999999999999"], 1, "no experiment with id 99999999999999999999999"),
        (["run", "--priority", "99999999999999999999999", "--", "true"], 2, "below 2**63"),
        # Non-ASCII digits pass str.isdigit() but not int(): once a traceback (#9).
        (["run", "--gpus", "²", "--", "true"], 2, "bad --gpus value '²'"),
        (["run", "--queue", "--gpus", "²", "--", "true"], 2, "bad --gpus value '²'"),
        (["create", "--gpus", "²", "--", "true"], 2, "bad --gpus value '²'"),
        (["run", "--tty", "²x2", "--", "true"], 2, "bad --tty size '²x2'"),
        (["create", "--tty", "2x²", "--", "true"], 2, "bad --tty size '2x²'"),
        (["run", "--time", "1:00", "--", "true"], 2, "time only applies to Slurm"),
    ],
)
def test_bad_input_is_one_line(home: Path, args: list[str], code: int, message: str) -> None:
    result = cli(home, *args)
    assert result.returncode == code
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_refused_transitions(home: Path) -> None:
    cli(home, "run", "--wait", "--", "true")
    stop = cli(home, "stop", "1")
    assert stop.returncode == 1
    assert stop.stderr == (
        "nbexp: cannot stop experiment 1: it is completed; allowed now: restart, remove\n"
    )
    cli(home, "run", "--", "sleep", "30")
    rm = cli(home, "rm", "2")
    assert rm.returncode == 1 and "it is running; allowed now: pause, stop" in rm.stderr
    assert cli(home, "stop", "2", "--grace", "1").returncode == 0
    status = ExperimentManager(home=home).get(2).status
    assert status is Status.INTERRUPTED


def test_logs_tail_and_attempts(home: Path) -> None:
    cli(home, "run", "--wait", "--", sys.executable, "-c", "for i in range(5): print(i)")
    assert cli(home, "logs", "1", "--tail", "2").stdout == "3\n4\n"
    cli(home, "restart", "1")
    ExperimentManager(home=home).wait(1, timeout=20)
    assert cli(home, "logs", "1", "--attempt", "1").stdout == "0\n1\n2\n3\n4\n"
    bad = cli(home, "logs", "1", "--attempt", "9")
    assert bad.returncode == 2 and "has attempts 1..2, not 9" in bad.stderr


def test_logs_of_pending_experiment_is_a_clear_refusal(home: Path) -> None:
    cli(home, "create", "--", "true")
    result = cli(home, "logs", "1")
    assert result.returncode == 2 and "has not run yet" in result.stderr


def test_list_when_empty(home: Path) -> None:
    result = cli(home, "list")
    assert result.returncode == 0 and "no experiments yet" in result.stdout
    cli(home, "create", "--", "true")
    filtered = cli(home, "list", "-s", "running", "-s", "queued")
    assert filtered.returncode == 0 and filtered.stdout == "no running or queued experiments\n"


def test_logs_whose_file_was_deleted_say_so(home: Path) -> None:
    cli(home, "run", "--wait", "--", "echo", "hello")
    Path(ExperimentManager(home=home).get(1).log_path).unlink()
    for args in (["logs", "1"], ["logs", "-f", "1"]):
        result = cli(home, *args, timeout=20)
        assert result.returncode == 1, result
        assert result.stderr.count("\n") == 1 and "log" in result.stderr
        assert "is gone (deleted or moved)" in result.stderr


def test_ctrl_c_during_run_wait_says_the_experiment_keeps_running(home: Path) -> None:
    waiting = subprocess.Popen(
        [*NBEXP_CLI, "run", "--wait", "--", "sleep", "30"],
        env=dict(os.environ, NBEXP_HOME=str(home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        manager = ExperimentManager(home=home)
        wait_for(lambda: manager.records() and manager.get(1).status is Status.RUNNING)
        time.sleep(0.3)  # let it reach the wait loop
        waiting.send_signal(signal.SIGINT)
        out, err = waiting.communicate(timeout=20)
    finally:
        waiting.kill()
        waiting.wait()
    assert waiting.returncode == 130
    assert out == "1\n"
    assert err == "nbexp: stopped waiting; experiment 1 keeps running (nbexp stop 1 ends it)\n"
    assert manager.get(1).status is Status.RUNNING


def test_logs_of_a_running_experiment_whose_log_was_deleted(home: Path) -> None:
    code = "import time\nfor i in range(300):\n    print('line', i, flush=True); time.sleep(0.1)"
    exp = ExperimentManager(home=home).run([sys.executable, "-c", code])
    from .conftest import wait_for

    wait_for(lambda: len(exp.logs()) >= 3)
    Path(exp.log_path).unlink()
    # The bytes are still on disk, held open by the command: nbexp reads them through /proc.
    assert exp.logs()[:3] == ["line 0", "line 1", "line 2"]
    result = cli(home, "logs", "--tail", "1", str(exp.id), timeout=20)
    assert result.returncode == 0 and result.stdout.startswith("line ")
    assert "was deleted; reading it through the running process" in result.stderr
    ExperimentManager(home=home).stop(exp.id, grace=1)
    gone = cli(home, "logs", str(exp.id))
    assert gone.returncode == 1 and "is gone (deleted or moved)" in gone.stderr


def _odd_record(experiment_id: int, status: object) -> ExperimentRecord:
    """A record as a corrupt row may come back: fields of the wrong type or missing."""
    return ExperimentRecord(
        id=experiment_id,
        name=None,  # type: ignore[arg-type]
        command=None,  # type: ignore[arg-type]
        shell=False,
        cwd=None,  # type: ignore[arg-type]
        env=None,  # type: ignore[arg-type]
        gpus={"odd": 1},
        status=status,  # type: ignore[arg-type]
        created="garbage",  # type: ignore[arg-type]
        started="x",  # type: ignore[arg-type]
        ended=b"\xff",  # type: ignore[arg-type]
        pid="?",  # type: ignore[arg-type]
        exit_code="??",  # type: ignore[arg-type]
        signal=None,
        error=f"corrupt row {experiment_id}",
        attempt=None,  # type: ignore[arg-type]
        log_path=None,
        options=None,  # type: ignore[arg-type]
        after=None,  # type: ignore[arg-type]
        assigned_gpus="zz",  # type: ignore[arg-type]
        executor=None,  # type: ignore[arg-type]
    )


def test_list_and_show_survive_records_with_odd_fields(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbexp import _cli

    odd = [_odd_record(3, Status.ERROR), _odd_record(4, Status.RUNNING), _odd_record(5, "bogus")]
    by_id = {r.id: r for r in odd}
    monkeypatch.setattr(ExperimentManager, "records", lambda self, status=None: odd)
    # ls reads a page in SQL (newest first), show reads by id
    monkeypatch.setattr(listing, "page", lambda store, **kw: listing.Page(odd[::-1], 3, 3))
    monkeypatch.setattr(
        ExperimentManager, "get", lambda self, i: SimpleNamespace(id=i, record=by_id[i])
    )
    monkeypatch.setattr(ExperimentManager, "history", lambda self, i: [])
    assert _cli.main(["ls"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["3", "4", "5"]
    assert "corrupt row 3" in rows[0]
    assert _cli.main(["ls", "--json"]) == 0
    assert [e["id"] for e in json.loads(capsys.readouterr().out)] == [3, 4, 5]
    for experiment_id in (3, 4, 5):
        assert _cli.main(["show", str(experiment_id)]) == 0
        shown = capsys.readouterr()
        assert f"corrupt row {experiment_id}" in shown.out and shown.err == ""
        assert _cli.main(["show", str(experiment_id), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["id"] == experiment_id
