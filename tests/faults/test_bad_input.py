"""Bad input and stale state (hardening items 9–13, 16, 18, 20): a corrupt row, a bad stored
setting, wrong Python arguments, a refused Slurm submission, shell lists, log versions across a
restart, the reason a queued run waits, and uv runs from a virtualenv."""

from __future__ import annotations

import math
import os
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager, NbexpError, NotFound, Status, UsageError

from ..conftest import cli, wait_for

PY = sys.executable


# -- 9. a corrupt row -----------------------------------------------------------------------------


def test_a_corrupt_row_is_shown_as_corrupt_and_the_rest_keeps_working(home: Path) -> None:
    manager = ExperimentManager(home=home)
    good = manager.run(["true"]).wait(timeout=20)
    bad = manager.create(["true"], name="broken")
    with closing(sqlite3.connect(home / "nbexp.db", isolation_level=None)) as conn:
        conn.execute("UPDATE experiments SET command = '[not json' WHERE id = ?", (bad.id,))
    listed = cli(home, "ls")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed
    assert "corrupt" in listed.stdout and str(good.id) in listed.stdout
    shown = cli(home, "show", str(bad.id))
    assert shown.returncode == 0 and "corrupt" in shown.stdout, shown
    assert "Traceback" not in cli(home, "show", "--json", str(bad.id)).stderr
    assert manager.get(good.id).status is Status.COMPLETED
    removed = cli(home, "rm", str(bad.id))
    assert removed.returncode == 0, removed
    with pytest.raises(NotFound):
        manager.get(bad.id)


def test_a_row_with_an_unknown_status_can_be_removed(home: Path) -> None:
    manager = ExperimentManager(home=home)
    exp = manager.create(["true"])
    with closing(sqlite3.connect(home / "nbexp.db", isolation_level=None)) as conn:
        conn.execute("UPDATE experiments SET status = 'zombie' WHERE id = ?", (exp.id,))
    assert manager.get(exp.id).record.problem is not None
    manager.remove(exp.id)
    assert manager.list() == []


def test_a_corrupt_queued_row_does_not_stall_the_queue(home: Path) -> None:
    manager = ExperimentManager(home=home)
    manager.configure(max_parallel_cpu=0)
    bad = manager.run(["true"], queue=True)
    good = manager.run(["true"], queue=True)
    with closing(sqlite3.connect(home / "nbexp.db", isolation_level=None)) as conn:
        conn.execute("UPDATE experiments SET options = '{oops' WHERE id = ?", (bad.id,))
    manager.configure(max_parallel_cpu=None)
    manager.schedule()
    assert manager.get(bad.id).status is Status.ERROR
    assert good.wait(timeout=20).status is Status.COMPLETED


# -- 10. a bad stored setting ---------------------------------------------------------------------


def test_a_bad_stored_setting_is_reported_once_and_ignored(home: Path) -> None:
    manager = ExperimentManager(home=home)
    with pytest.raises(UsageError, match="gpu_busy_memory_mb"):
        manager.configure(gpu_busy_memory_mb=True)
    manager.store.set_setting("gpu_busy_memory_mb", "True")  # what an older nbexp stored
    result = cli(home, "run", "--wait", "--", "true")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result
    assert result.stderr.count("ignoring the stored setting gpu_busy_memory_mb") == 1
    queued = cli(home, "run", "--queue", "--wait", "--", "true")
    assert queued.returncode == 0, queued


# -- 11. every public entry point checks its arguments --------------------------------------------

BAD_CALLS: list[tuple[str, Any]] = [
    ("run(None)", lambda m: m.run(None)),
    ("run(123)", lambda m: m.run(123)),
    ("name=123", lambda m: m.create(["true"], name=123)),
    ("env='A=B'", lambda m: m.create(["true"], env="A=B")),
    ("gpus=['²']", lambda m: m.create(["true"], gpus=["²"])),
    ("uv='yes'", lambda m: m.create(["true"], uv="yes")),
    ("tty='big'", lambda m: m.create(["true"], tty="big")),
    ("cwd=5", lambda m: m.create(["true"], cwd=5)),
    ("after='3'", lambda m: m.create(["true"], after="3")),
    ("priority=1.5", lambda m: m.create(["true"], priority=1.5)),
    ("get(inf)", lambda m: m.get(math.inf)),
    ("get('x')", lambda m: m.get("x")),
    ("get(2.5)", lambda m: m.get(2.5)),
    ("stop(grace='x')", lambda m: m.stop(1, grace="x")),
    ("stop(grace=nan)", lambda m: m.stop(1, grace=math.nan)),
    ("logs(tail='5')", lambda m: m.logs(1, tail="5")),
    ("logs(attempt='1')", lambda m: m.logs(1, attempt="1")),
    ("wait(timeout='x')", lambda m: m.wait(1, timeout="x")),
    ("start(force='yes')", lambda m: m.start(1, force="yes")),
    ("remove(delete_logs=0)", lambda m: m.remove(1, delete_logs=0)),
    ("configure(max_parallel_cpu=-1)", lambda m: m.configure(max_parallel_cpu=-1)),
    ("ExperimentManager(stop_grace='x')", lambda m: ExperimentManager(m.home, stop_grace="x")),
    ("ExperimentManager(executor='k8s')", lambda m: ExperimentManager(m.home, executor="k8s")),
]


@pytest.mark.parametrize(("label", "call"), BAD_CALLS, ids=[label for label, _ in BAD_CALLS])
def test_bad_python_calls_raise_nbexps_own_errors(
    manager: ExperimentManager, label: str, call: Any
) -> None:
    manager.run(["true"]).wait(timeout=20)  # experiment 1 exists
    with pytest.raises(NbexpError) as raised:
        call(manager)
    assert "Traceback" not in str(raised.value) and str(raised.value)


def test_unknown_keywords_suggest_the_right_one(manager: ExperimentManager) -> None:
    with pytest.raises(TypeError, match="did you mean 'gpus'"):
        manager.run(["true"], gpu=1)  # type: ignore[call-arg]


# -- 12. a refused Slurm submission leaves nothing ------------------------------------------------


def test_a_refused_slurm_option_leaves_no_row(home: Path) -> None:
    result = cli(home, "run", "--executor", "slurm", "--time", "\n", "--", "true")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result
    assert "time" in result.stderr
    assert ExperimentManager(home=home).list() == []


# -- 13. shell=True with a list quotes each element -----------------------------------------------


def test_shell_with_a_list_quotes_each_element(manager: ExperimentManager, tmp_path: Path) -> None:
    marker = tmp_path / "never"
    exp = manager.run(["echo", f"a; touch {marker}"], shell=True).wait(timeout=20)
    assert exp.logs() == [f"a; touch {marker}"]
    assert not marker.exists()
    piped = manager.run("echo one two | wc -w", shell=True).wait(timeout=20)
    assert piped.logs() == ["2"]  # a string is shell text, as before


# -- 16. log versions across a restart ------------------------------------------------------------


def test_log_changes_report_a_restarted_attempts_lines(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", "print('first')"]).wait(timeout=20)
    version, lines = exp.log_changes(0)
    assert list(lines.values()) == ["first"]
    manager.restart(exp.id).wait(timeout=20)
    newer, lines = exp.log_changes(version)
    assert (newer > version and "first" in lines.values()) or list(lines.values()) == ["first"]


# -- 18. why a queued experiment waits, now -------------------------------------------------------


def test_the_reason_a_queued_run_waits_stays_current(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "1")
    manager = ExperimentManager(home=home, watch_queue=False)
    a = manager.run([PY, "-c", "import time; time.sleep(1)"], gpus=[0], name="A")
    b = manager.run([PY, "-c", "import time; time.sleep(30)"], gpus=[0], name="B", queue=True)
    c = manager.run(["true"], gpus=[0], name="C", queue=True)
    assert f"#{a.id} A" in (manager.get(c.id).record.waiting_for or "")
    a.wait(timeout=20)
    wait_for(lambda: manager.schedule() or manager.get(b.id).status is Status.RUNNING)
    manager.schedule()
    waiting = manager.get(c.id).record.waiting_for or ""
    assert f"#{b.id} B" in waiting and f"#{a.id} A" not in waiting, waiting
    manager.stop(b.id, grace=1)


# -- 20. uv runs from an activated virtualenv -----------------------------------------------------


def test_a_uv_run_does_not_inherit_the_launchers_virtualenv(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from nbexp._core.launch import child_environment

    venv = str(tmp_path / "kernel-venv")
    base = {"VIRTUAL_ENV": venv, "PATH": f"{venv}/bin:/usr/bin", "HOME": "/root"}
    env = child_environment(
        {}, home="/h", experiment_id=1, attempt=1, gpus=None, base=base, uv=True
    )
    assert "VIRTUAL_ENV" not in env and env["PATH"] == "/usr/bin"
    plain = child_environment({}, home="/h", experiment_id=1, attempt=1, gpus=None, base=base)
    assert plain["VIRTUAL_ENV"] == venv  # without uv the launcher's environment is kept


def test_nbexp_errors_from_cli_are_one_line(home: Path) -> None:
    for args in (["--home", "", "show", "99"], ["logs", "99"], ["stop", "99"]):
        result = cli(home, *args)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, (args, result)
    assert os.path.isdir(home)


# -- 21. the CPU-only limit is not a GPU conflict ------------------------------------------------


def test_the_cpu_only_limit_refuses_as_busy_not_as_a_gpu_conflict(
    manager: ExperimentManager,
) -> None:
    from nbexp import Busy, GpuConflict

    manager.configure(max_parallel_cpu=1)
    first = manager.run(["sleep", "30"])
    with pytest.raises(Busy, match=r"1 CPU-only experiment already runs \(limit 1") as refused:
        manager.run(["true"])
    assert not isinstance(refused.value, GpuConflict)
    manager.stop(first.id, grace=1)
