"""Sweeps: the pure plan (placeholders per argument, grid / zip / explicit dicts / seeded draws,
every mistake one line before anything exists) and `ExperimentManager.sweep` creating the runs
in one transaction."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager, GpuConflict, Group, Status, StoreError, UsageError
from nbexp._core.sweeps import MAX_RUNS, plan_sweep

from .conftest import cli

PY = sys.executable


def commands(template: Any, params: Any, **options: Any) -> list[list[str]]:
    return [run.command for run in plan_sweep(template, params, **options).runs]


# -- the plan (pure) ----------------------------------------------------------------------------


def test_a_grid_fills_each_argument_and_the_first_key_varies_slowest() -> None:
    plan = plan_sweep("python train.py --lr {lr} --bs={bs}", {"lr": [1e-3, 3e-4], "bs": [16, 32]})
    assert [r.command for r in plan.runs] == [
        ["python", "train.py", "--lr", "0.001", "--bs=16"],
        ["python", "train.py", "--lr", "0.001", "--bs=32"],
        ["python", "train.py", "--lr", "0.0003", "--bs=16"],
        ["python", "train.py", "--lr", "0.0003", "--bs=32"],
    ]
    assert [r.params for r in plan.runs][1] == {"lr": 1e-3, "bs": 32}
    assert plan.seed is None


def test_values_with_spaces_stay_one_argument_and_reach_no_shell() -> None:
    assert commands(["echo", "{msg}"], {"msg": ["a b; rm -rf /"]}) == [["echo", "a b; rm -rf /"]]
    assert commands("echo {msg}", {"msg": ["$(id)"]}) == [["echo", "$(id)"]]
    # With shell=True the command is one shell line and each value is quoted in it.
    assert commands("echo {msg} > out", {"msg": ["a b; id"]}, shell=True) == [
        ["echo 'a b; id' > out"]
    ]


def test_format_specs_and_literal_braces() -> None:
    assert commands("x --lr={lr:.0e} {{a}}", {"lr": [0.0003]}) == [["x", "--lr=3e-04", "{a}"]]


def test_zip_pairs_lists_and_explicit_dicts_are_runs() -> None:
    assert commands("x {a} {b}", {"a": [1, 2], "b": ["p", "q"]}, mode="zip") == [
        ["x", "1", "p"],
        ["x", "2", "q"],
    ]
    assert commands("x {a} {b}", [{"a": 1, "b": 2}, {"b": 4, "a": 3}]) == [
        ["x", "1", "2"],
        ["x", "3", "4"],
    ]
    assert commands("x {epochs} {a}", {"epochs": 10, "a": [1, 2]}) == [
        ["x", "10", "1"],
        ["x", "10", "2"],
    ]


def test_samples_are_seeded_and_never_build_a_huge_grid() -> None:
    params = {k: list(range(100)) for k in "abcde"}  # 10^10 combinations
    first = plan_sweep("x {a} {b} {c} {d} {e}", params, samples=5, seed=7)
    again = plan_sweep("x {a} {b} {c} {d} {e}", params, samples=5, seed=7)
    other = plan_sweep("x {a} {b} {c} {d} {e}", params, samples=5, seed=8)
    assert [r.command for r in first.runs] == [r.command for r in again.runs]
    assert [r.command for r in first.runs] != [r.command for r in other.runs]
    assert len({tuple(r.command) for r in first.runs}) == 5  # without repeats
    drawn = plan_sweep("x {a}", {"a": [1, 2, 3]}, samples=2)
    assert isinstance(drawn.seed, int)  # a seed was drawn, and is told, for reproducing it


def test_placeholders_in_env_count_as_used() -> None:
    plan = plan_sweep("train", {"lr": [1, 2]}, env={"LR": "{lr}", "FIXED": "x"})
    assert [r.env for r in plan.runs] == [{"LR": "1", "FIXED": "x"}, {"LR": "2", "FIXED": "x"}]


@pytest.mark.parametrize(
    ("template", "params", "options", "words"),
    [
        ("x {bs}", {"lr": [1]}, {}, "the command uses {bs}, but params has no 'bs'"),
        ("x {lr}", {"lr": [1], "wd": [0]}, {}, "params gives 'wd', but the command uses {lr}"),
        ("x {lr", {"lr": [1]}, {}, "bad placeholder"),
        ("x {a.b}", {"a": [1]}, {}, "bad placeholder {a.b}"),
        ("x {lr}", {"lr": []}, {}, "params['lr'] has no values"),
        ("x {lr}", {}, {}, "params is empty"),
        ("x {lr}", {"lr": [object()]}, {}, "use strings, numbers"),
        ("x {lr}", {"lr": [float("nan")]}, {}, "use strings, numbers"),
        ("x {a} {b}", {"a": [1, 2], "b": [1]}, {"mode": "zip"}, "lists of one length"),
        ("x {a}", {"a": [1]}, {"mode": "random"}, "unknown sweep mode 'random'"),
        ("x {a}", {"a": [1, 2]}, {"samples": 3}, "samples=3 but params give only 2"),
        ("x {a}", {"a": [1, 2]}, {"samples": 0}, "samples must be a whole number >= 1"),
        ("x {a}", {"a": [1, 2]}, {"seed": 3}, "seed only applies with samples=N"),
        ("x {a}", [{"a": 1}, {"b": 2}], {}, "params[1] has keys ['b']"),
        ("x {a}", [{"a": 1}], {"mode": "zip"}, "mode='zip' pairs up lists"),
        ("x {a}", "a=1", {}, "params must be {name: [values]}"),
        ("", {"a": [1]}, {}, "no command given"),
        ("x '{a}", {"a": [1]}, {}, "cannot parse the command"),
        ("x {a}", {"a b": [1]}, {}, "a parameter name must be a word"),
        ("x {a}", {"a": list(range(MAX_RUNS + 1))}, {}, "draw some with samples=N"),
    ],
)
def test_every_mistake_is_one_line(template: str, params: Any, options: Any, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        plan_sweep(template, params, **options)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message


# -- ExperimentManager.sweep ------------------------------------------------------------------


def test_sweep_records_params_and_group_and_runs_every_combination(
    manager: ExperimentManager, tmp_path: Path
) -> None:
    script = "import sys; print(' '.join(sys.argv[1:]))"
    group = manager.sweep(
        [PY, "-c", script, "{lr}", "{bs}"],
        {"lr": [0.1, 0.2], "bs": [8, 16]},
        name="grid",
        env={"TAG": "{bs}"},
    )
    assert isinstance(group, Group) and group.name == "grid"
    group.wait(timeout=60)
    records = group.records()
    assert [r.params for r in records] == [
        {"lr": 0.1, "bs": 8},
        {"lr": 0.1, "bs": 16},
        {"lr": 0.2, "bs": 8},
        {"lr": 0.2, "bs": 16},
    ]
    assert {r.status for r in records} == {Status.COMPLETED}
    assert [manager.logs(r.id) for r in records] == [
        ["0.1 8"],
        ["0.1 16"],
        ["0.2 8"],
        ["0.2 16"],
    ]
    assert [r.env for r in records][1] == {"TAG": "16"}
    assert records[0].name == "grid lr=0.1 bs=8"
    assert {r.group_name for r in records} == {"grid"}
    shown = json.loads(cli(manager.home, "show", str(records[3].id), "--json").stdout)
    assert shown["group"] == "grid" and shown["params"] == {"lr": 0.2, "bs": 16}
    listed = json.loads(cli(manager.home, "ls", "--json").stdout)
    assert {row["group"] for row in listed} == {"grid"}
    assert all(row["params"] is not None for row in listed)


def test_names_are_unique_and_a_named_sweep_can_grow(manager: ExperimentManager) -> None:
    first = manager.sweep("true {i}", {"i": [1]})
    second = manager.sweep("true {i}", {"i": [1]})
    assert (first.name, second.name) == ("sweep-1", "sweep-2")
    manager.sweep("true {i}", {"i": [1]}, name="grow")
    manager.sweep("true {i}", {"i": [2, 3]}, name="grow")
    assert len(manager.group("grow")) == 3


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"gpus": "two"}, "gpus must be a list"),
        ({"cwd": "/no/such/folder"}, "working directory does not exist"),
        ({"after": [999]}, "no experiment with id 999"),
        ({"group": "g"}, "pass the sweep's name= instead of group="),
        ({"max_parallel": 0}, "max_parallel must be a whole number >= 1"),
        ({"name": "a\nb"}, "the sweep's name must be a name"),
        ({"tags": ["-old"]}, "a tag must be a word"),
        ({"lr": 3}, "unexpected keyword argument 'lr'"),
    ],
)
def test_nothing_is_created_when_an_option_is_wrong(
    manager: ExperimentManager, options: dict[str, Any], words: str
) -> None:
    with pytest.raises((UsageError, TypeError, LookupError)) as caught:
        manager.sweep("true {i}", {"i": [1, 2, 3]}, **options)
    assert words in str(caught.value)
    assert manager.records() == []
    assert manager.groups() == []


def test_queue_false_refuses_unless_every_run_can_start_now(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "2")
    manager = ExperimentManager(home=home)
    with pytest.raises(GpuConflict, match="cannot start all 3 runs of the sweep now: run 3"):
        manager.sweep("sleep {t}", {"t": [5, 6, 7]}, gpus=1, queue=False)
    assert manager.records() == []
    group = manager.sweep(
        [PY, "-c", "import time; time.sleep(30)", "{t}"], {"t": [5, 6]}, gpus=1, queue=False
    )
    assert group.counts == {"running": 2}
    assert sorted(r.assigned_gpus[0] for r in group.records()) == [0, 1]  # type: ignore[index]
    group.stop(grace=1)


def test_a_locked_store_creates_nothing(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBEXP_BUSY_TIMEOUT", "0.3")
    manager = ExperimentManager(home=home)
    manager.create(["true"])  # the database exists
    blocker = sqlite3.connect(home / "nbexp.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="stayed locked"):
            manager.sweep("true {i}", {"i": list(range(50))})
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert len(manager.records()) == 1
    assert len(manager.sweep("true {i}", {"i": list(range(50))}, max_parallel=1)) == 50


SWEEPER = """
import sys
from nbexp import ExperimentManager
manager = ExperimentManager(sys.argv[1], watch_queue=False)
print("ready", flush=True)
sys.stdin.readline()
manager.sweep("true {i}", {"i": list(range(400))}, name=sys.argv[2], max_parallel=1)
"""


def test_a_sweep_killed_half_way_leaves_all_its_runs_or_none(home: Path) -> None:
    """kill -9 at random moments while a sweep is being created: never part of it."""
    manager = ExperimentManager(home=home)
    manager.create(["true"])
    for number, delay in enumerate((0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)):
        process = subprocess.Popen(
            [PY, "-c", SWEEPER, str(home), f"killed-{number}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdout.readline()
        process.stdin.write("go\n")
        process.stdin.flush()
        time.sleep(delay)
        process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()
        count = sum(1 for r in manager.records() if r.group_name == f"killed-{number}")
        assert count in (0, 400), f"a sweep killed after {delay} s left {count} of its 400 runs"
