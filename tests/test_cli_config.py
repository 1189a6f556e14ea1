"""`nbexp config [KEY [VALUE]]`: the home's scheduling settings from the command line (#21)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbexp import ExperimentManager

from .conftest import cli


def test_config_lists_every_setting_with_its_value_and_default(home: Path) -> None:
    listing = cli(home, "config")
    assert listing.returncode == 0, listing.stderr
    header, *rows = listing.stdout.splitlines()
    assert header.split()[:3] == ["KEY", "VALUE", "DEFAULT"]
    by_key = {row.split()[0]: row.split() for row in rows}
    assert set(by_key) == {"max_parallel_cpu", "gpu_busy_memory_mb", "on_end", "on_end_timeout"}
    assert by_key["max_parallel_cpu"][1:3] == ["none", "none"]
    assert by_key["on_end"][1:3] == ["none", "none"]
    assert by_key["on_end_timeout"][1:3] == ["60", "60"]
    assert by_key["gpu_busy_memory_mb"][1:3] == ["1024", "1024"]
    as_json = json.loads(cli(home, "config", "--json").stdout)
    assert as_json["gpu_busy_memory_mb"] == {"value": 1024, "default": 1024, "set": False}


def test_config_sets_prints_and_resets(home: Path) -> None:
    assert cli(home, "config", "max_parallel_cpu").stdout == "none\n"
    assert cli(home, "config", "gpu_busy_memory_mb").stdout == "1024\n"
    set_ = cli(home, "config", "max_parallel_cpu", "4")
    assert set_.returncode == 0 and set_.stdout == "max_parallel_cpu 4\n"
    assert cli(home, "config", "max_parallel_cpu").stdout == "4\n"
    assert ExperimentManager(home=home).configure() == {"max_parallel_cpu": "4"}
    row = next(r for r in cli(home, "config").stdout.splitlines() if r.startswith("max_par"))
    assert row.split()[1:3] == ["4", "none"]
    assert cli(home, "config", "max_parallel_cpu", "--unset").stdout == "max_parallel_cpu none\n"
    assert cli(home, "config", "max_parallel_cpu").stdout == "none\n"
    cli(home, "config", "gpu_busy_memory_mb", "2048")
    assert cli(home, "config", "gpu_busy_memory_mb", "None").returncode == 0
    assert ExperimentManager(home=home).configure() == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bogus"], "unknown setting 'bogus': use one of max_parallel_cpu, gpu_busy_memory_mb"),
        (["max_paralel_cpu", "2"], "did you mean 'max_parallel_cpu'?"),
        (["max_parallel_cpu", "-1"], "max_parallel_cpu must be a whole number >= 0 or none"),
        (["max_parallel_cpu", "two"], "not 'two'"),
        (["max_parallel_cpu", "²"], "not '²'"),
        (["max_parallel_cpu", "2", "--unset"], "give a VALUE or --unset, not both"),
        (["--unset"], "--unset needs a KEY"),
    ],
)
def test_bad_config_is_one_line(home: Path, args: list[str], message: str) -> None:
    result = cli(home, "config", *args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert ExperimentManager(home=home).configure() == {}


def test_every_setting_is_described() -> None:
    from nbexp._cli import SETTINGS
    from nbexp._core.settings import SETTING_HELP, Settings

    assert set(SETTING_HELP) == set(SETTINGS) == set(Settings.__dataclass_fields__)
