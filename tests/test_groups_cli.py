"""Sweeps and groups from the real `nbexp` command and `%exp`: sweep, group ls / pause / resume /
set / wait, tag and note, ls at scale (newest 50, --all, --limit, --sort, --group, clipped
cells), stop / restart / rm of a group, cleanup by status and age, and du."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status

from .conftest import cli

PY = sys.executable
ECHO = [PY, "-c", "import sys; print(*sys.argv[1:])"]


def many(manager: ExperimentManager, count: int, **values: object) -> None:
    """`count` ended experiments written straight into the store (fast)."""
    for i in range(count):
        manager.store.insert(
            name=f"run {i}",
            command=["true"],
            cwd="/",
            env={},
            gpus=None,
            status="completed",
            ended=time.time(),
            **values,
        )


def test_sweep_prints_the_group_and_ids_and_runs(home: Path) -> None:
    result = cli(home, "sweep", "--name", "lr", "-p", "lr=1e-3,3e-4", "-p", "bs=8,16",
                 "--max-parallel", "2", "--", *ECHO, "--lr={lr}", "{bs}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    name, ids = result.stdout.splitlines()
    assert name == "lr" and ids == "1 2 3 4"
    assert cli(home, "group", "wait", "lr", "--timeout", "60").returncode == 0
    manager = ExperimentManager(home=home)
    assert [manager.logs(i) for i in (1, 4)] == [["--lr=1e-3 8"], ["--lr=3e-4 16"]]
    # The command keeps the text as typed; the store keeps the numbers it reads as.
    assert manager.get(4).params == {"lr": 3e-4, "bs": 16}
    as_json = cli(home, "sweep", "--json", "--zip", "-p", "a=1,2", "-p", "b=x,y", "--", "true",
                  "{a}", "{b}")  # fmt: skip
    assert json.loads(as_json.stdout) == {"group": "sweep-1", "ids": [5, 6]}
    assert [manager.get(i).command for i in (5, 6)] == [["true", "1", "x"], ["true", "2", "y"]]


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["-p", "lr=1", "--", "true", "{bs}"], "the command uses {bs}, but params has no 'bs'"),
        (["-p", "lr=1", "-p", "bs=2", "--", "true", "{lr}"], "params gives 'bs'"),
        (["-p", "lr", "--", "true", "{lr}"], "bad --param 'lr': use KEY=V1,V2"),
        (["--", "true"], "a sweep needs --param KEY=V1,V2"),
        (["-p", "a=1", "-p", "a=2", "--", "true", "{a}"], "--param a is given twice"),
        (["-p", "a=1,2", "--samples", "5", "--", "true", "{a}"], "samples=5 but params give"),
        (["-p", "a=1", "--max-parallel", "0", "--", "true", "{a}"], "max_parallel must be"),
        (["-p", "a=1", "--gpus", "x", "--", "true", "{a}"], "bad --gpus value"),
    ],
)
def test_a_bad_sweep_is_one_line_and_creates_nothing(
    home: Path, words: list[str], message: str
) -> None:
    result = cli(home, "sweep", *words)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert ExperimentManager(home=home).records() == []


def test_group_verbs(home: Path) -> None:
    cli(home, "sweep", "--name", "g", "-p", "t=30,30,30", "--max-parallel", "1", "--",
        PY, "-c", "import sys, time; time.sleep(float(sys.argv[1]))", "{t}")  # fmt: skip
    table = cli(home, "group", "ls").stdout.splitlines()
    assert table[0].split() == ["GROUP", "RUNS", "RUNNING", "QUEUED", "COMPLETED", "FAILED",
                                "OTHER", "LIMIT"]  # fmt: skip
    assert table[1].split() == ["g", "3", "1", "2", "0", "0", "0", "1"]
    assert "paused" in cli(home, "group", "pause", "g").stdout
    assert json.loads(cli(home, "group", "ls", "--json").stdout)[0]["paused"] is True
    assert cli(home, "group", "resume", "g").returncode == 0
    assert cli(home, "group", "set", "g", "--max-parallel", "2").stdout == "g: max_parallel 2\n"
    manager = ExperimentManager(home=home)
    assert manager.group("g").counts == {"running": 2, "queued": 1}
    result = cli(home, "group", "wait", "g", "--timeout", "0.2")
    assert result.returncode == 124 and "still has 3 queued or running" in result.stderr
    stopped = cli(home, "stop", "--group", "g", "--grace", "1")
    assert stopped.stdout == "g: stopped 3 (1 2 3)\n"
    assert manager.group("g").counts == {"interrupted": 2, "pending": 1}
    bad = cli(home, "stop", "1", "--group", "g")
    assert bad.returncode == 2 and "not both" in bad.stderr
    assert "no group named 'h' (groups: g)" in cli(home, "group", "pause", "h").stderr


def test_restart_failed_and_rm_of_a_group(home: Path) -> None:
    cli(home, "sweep", "--name", "codes", "-p", "code=0,3,0", "--", PY, "-c",
        "import sys; sys.exit(int(sys.argv[1]))", "{code}")  # fmt: skip
    assert cli(home, "group", "wait", "codes", "--timeout", "60").returncode == 1
    restarted = cli(home, "restart", "--group", "codes", "--failed")
    assert restarted.stdout == "codes: restarted 1 failed (2)\n"
    assert cli(home, "group", "wait", "codes", "--timeout", "60").returncode == 1
    manager = ExperimentManager(home=home)
    assert [r.attempt for r in manager.group("codes").records()] == [1, 2, 1]
    assert cli(home, "restart", "2", "--failed").returncode == 2
    assert (
        cli(home, "rm", "--group", "codes").stdout == "codes: removed 3 experiments and the group\n"
    )
    assert manager.records() == [] and manager.groups() == []


def test_ls_shows_the_newest_50_and_says_what_it_left_out(manager: ExperimentManager) -> None:
    many(manager, 120)
    manager.create(["true"], name="x" * 80, group="long")
    result = cli(manager.home, "ls")
    lines = result.stdout.splitlines()
    assert len(lines) == 51  # the header and 50 rows
    assert [line.split()[0] for line in lines[1:3]] == ["72", "73"]  # oldest of them first
    assert lines[-1].startswith("121  " + "x" * 29 + "…  pending")  # long names end with …
    assert "(50 of 121 shown: the newest; nbexp ls --all" in result.stderr
    assert len(cli(manager.home, "ls", "--all").stdout.splitlines()) == 122
    assert len(cli(manager.home, "ls", "-n", "3").stdout.splitlines()) == 4
    assert [r["id"] for r in json.loads(cli(manager.home, "ls", "--json", "-n", "2").stdout)] == [
        120,
        121,
    ]
    by_name = cli(manager.home, "ls", "--sort", "name", "-n", "2", "--reverse").stdout
    assert [line.split()[0] for line in by_name.splitlines()[1:]] == [
        "121",
        "100",
    ]  # x…, then "run 99"
    only = cli(manager.home, "ls", "--group", "long").stdout.splitlines()
    assert len(only) == 2 and only[1].startswith("121")
    assert "give --all or --limit N, not both" in cli(manager.home, "ls", "-a", "-n", "2").stderr
    assert "no group named 'nope'" in cli(manager.home, "ls", "--group", "nope").stderr


def test_tag_and_note(manager: ExperimentManager) -> None:
    exp = manager.create(["true"], tags=["old"])
    home = manager.home
    assert cli(home, "tag", str(exp.id), "+best", "-old", "v2").stdout == "1: best v2\n"
    assert cli(home, "note", str(exp.id), "the", "baseline").stdout == "1: the baseline\n"
    assert manager.get(exp.id).note == "the baseline"
    assert cli(home, "note", str(exp.id), "--clear").stdout == "1: (no note)\n"
    manager.create(["true"], tags=["best_50%"])
    manager.create(["true"], tags=["v2"])
    listed = json.loads(cli(home, "ls", "--json", "--tag", "v2").stdout)
    assert [row["id"] for row in listed] == [1, 3]
    assert [r["id"] for r in json.loads(cli(home, "ls", "--json", "-t", "best_50%").stdout)] == [2]
    assert json.loads(cli(home, "ls", "--json", "--tag", "old").stdout) == []  # removed
    bad = cli(home, "tag", str(exp.id), "+a,b")
    assert bad.returncode == 2 and "a tag must be a word" in bad.stderr


def test_cleanup_by_status_and_age_removes_rows_logs_and_scripts(
    manager: ExperimentManager,
) -> None:
    home = manager.home
    old = time.time() - 10 * 86400
    many(manager, 3)  # ended now: kept
    for i in range(4):
        manager.store.insert(name=f"old {i}", command=["true"], cwd="/", env={}, gpus=None,
                             status="error" if i % 2 else "completed", ended=old)  # fmt: skip
    done = manager.run([PY, "-c", "print('x' * 1000)"], name="has a log")
    done.wait(timeout=30)
    manager.store.update(done.id, ended=old)
    folder = Path(done.log_path or "").parent
    script = home / "scripts" / "cell-20260101-000000-1-1.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("print(1)\n")
    cell = manager.create([PY, str(script)], name="cell")
    manager.store.transition(cell.id, {Status.PENDING}, Status.ERROR, "t", ended=old)
    dry = cli(home, "rm", "--status", "error", "--older-than", "7d", "--dry-run")
    assert dry.stdout.splitlines() == ["would remove 3 experiments (0 B of logs, 1 scripts)",
                                       "5 7 9"]  # fmt: skip
    assert len(manager.records()) == 9
    gone = cli(home, "rm", "--older-than", "7d")
    assert gone.returncode == 0
    assert gone.stdout.startswith("removed 6 experiments (1.")  # the log, .pid and .exit files
    assert gone.stdout.endswith(" KiB of logs, 1 %%exp scripts)\n")
    assert [r.name for r in manager.records()] == ["run 0", "run 1", "run 2"]
    assert not folder.exists() and not script.exists()
    assert "bad --older-than '7'" in cli(home, "rm", "--older-than", "7").stderr
    assert "say what to remove" in cli(home, "rm").stderr


def test_du_says_what_takes_room(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", "print('y' * 5000)"], name="talker")
    exp.wait(timeout=30)
    data = json.loads(cli(manager.home, "du", "--json").stdout)
    assert data["experiments"] == 1 and data["store_bytes"] > 4096
    assert data["log_bytes"] >= 5000 and data["largest"][0]["id"] == exp.id
    text = cli(manager.home, "du").stdout
    assert "largest logs: #1 talker" in text


def test_exp_sweep_magic_returns_the_group(home: Path) -> None:
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    assert shell is not None
    shell.run_line_magic("load_ext", "nbexp")
    shell.user_ns["lr"] = 99  # never filled into the command: the line is not expanded
    group = shell.run_line_magic("exp", "sweep -p lr=1e-3,3e-4 --wait -- echo {lr} $HOME")
    assert group.counts == {"completed": 2}
    assert [r.command for r in group.records()] == [["echo", "1e-3", "$HOME"],
                                                   ["echo", "3e-4", "$HOME"]]  # fmt: skip
