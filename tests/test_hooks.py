"""on_end hooks with real processes: the environment as documented, the output in the attempt's
.hook.log, a failing hook and a hanging one (recorded in the history, never changing the
outcome), the home's default, and a hook that runs with no notebook or CLI alive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from nbexp import ExperimentManager, Status
from nbexp._io import proc as _proc

from .conftest import cli, processes_of_home, wait_for

PY = sys.executable
NBEXP_VARIABLES = (
    "NBEXP_ID", "NBEXP_NAME", "NBEXP_STATUS", "NBEXP_EXIT_CODE", "NBEXP_FAILURE_KIND",
    "NBEXP_SUMMARY", "NBEXP_LOG", "NBEXP_ATTEMPT",
)  # fmt: skip


def dump_env_hook(out: Path) -> str:
    """A hook that appends its NBEXP_* variables to `out`, one JSON object a line."""
    code = (
        "import json, os, sys; "
        "print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('NBEXP_')}), "
        "file=open(sys.argv[1], 'a'))"
    )
    return f'{PY} -c "{code}" {out}'


def calls(out: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def hook_log(exp_log: str) -> Path:
    return Path(exp_log[: -len(".log")] + ".hook.log")


def test_the_environment_as_listed(manager: ExperimentManager, tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    bug = "raise ValueError(\"batch 0 has NaN in column 'loss'\")"
    exp = manager.run([PY, "-c", bug], name="nan", on_end=dump_env_hook(out))
    record = exp.wait(timeout=30).record
    env = wait_for(lambda: calls(out), timeout=20)[0]
    assert set(NBEXP_VARIABLES) <= set(env)
    assert env["NBEXP_ID"] == str(exp.id) and env["NBEXP_NAME"] == "nan"
    assert (env["NBEXP_STATUS"], env["NBEXP_EXIT_CODE"]) == ("error", "1")
    assert env["NBEXP_FAILURE_KIND"] == "exception"
    assert env["NBEXP_SUMMARY"] == "ValueError: batch 0 has NaN in column 'loss'"
    assert env["NBEXP_LOG"] == record.log_path and Path(env["NBEXP_LOG"]).exists()
    assert env["NBEXP_ATTEMPT"] == "1" and env["NBEXP_RETRY"] == ""
    assert "NBEXP_EXPERIMENT_ID" not in env  # the hook is not part of the experiment


def test_output_goes_beside_the_attempt_log(manager: ExperimentManager) -> None:
    exp = manager.run(["true"], on_end='echo "hook says $NBEXP_STATUS"; echo oops >&2')
    record = exp.wait(timeout=30).record
    path = hook_log(record.log_path or "")
    text = wait_for(lambda: path.exists() and "oops" in path.read_text() and path.read_text())
    assert text.splitlines() == ["hook says completed", "oops"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_failing_hook_is_in_the_history_and_changes_nothing(
    manager: ExperimentManager,
) -> None:
    exp = manager.run(["true"], on_end="echo failing; exit 3")
    exp.wait(timeout=30)

    def noted() -> str | None:
        return next((h.reason for h in exp.history() if "on_end hook" in (h.reason or "")), None)

    reason = wait_for(noted, timeout=20)
    assert reason is not None and reason.startswith("on_end hook exit code 3")
    assert ".hook.log" in reason
    record = exp.record
    assert (record.status, record.exit_code, record.error) == (Status.COMPLETED, 0, None)


def test_a_hanging_hook_is_stopped_at_its_limit(
    manager: ExperimentManager, home: Path, tmp_path: Path
) -> None:
    manager.configure(on_end_timeout=1)
    pids = tmp_path / "hook.pid"
    # It also leaves a background child behind: that one is ended too.
    exp = manager.run(["true"], on_end=f"sleep 300 & echo $$ $! > {pids}; sleep 300")
    began = time.monotonic()
    exp.wait(timeout=30)
    reason = wait_for(
        lambda: next((h.reason for h in exp.history() if "on_end hook" in (h.reason or "")), None),
        timeout=20,
    )
    assert reason.startswith("on_end hook timed out after 1 s and was stopped"), reason
    assert time.monotonic() - began < 1 + 5 + 5  # its limit, the SIGTERM grace, a margin
    hook_pids = {int(p) for p in pids.read_text().split()}
    assert not any(_proc.is_alive(p) for p in hook_pids)
    assert exp.status is Status.COMPLETED
    wait_for(lambda: not processes_of_home(home), timeout=10)


def test_the_home_default_and_turning_it_off(manager: ExperimentManager, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    manager.configure(on_end=f"echo $NBEXP_ID >> {marker}")
    first = manager.run(["true"])
    second = manager.run(["true"], on_end="")  # "" turns the default off for this one
    third = manager.run(["false"], on_end=f"echo own >> {marker}")
    for exp in (first, second, third):
        exp.wait(timeout=30)
    wait_for(lambda: marker.exists() and len(marker.read_text().split()) == 2, timeout=20)
    time.sleep(0.5)
    assert sorted(marker.read_text().split()) == sorted([str(first.id), "own"])
    assert not hook_log(second.record.log_path or "").exists()


def test_config_on_end_from_the_cli(manager: ExperimentManager, home: Path) -> None:
    out = cli(home, "config", "on_end", "notify-send 'nbexp: $NBEXP_NAME $NBEXP_STATUS'")
    assert out.returncode == 0, out.stderr
    assert manager.service.settings().on_end == "notify-send 'nbexp: $NBEXP_NAME $NBEXP_STATUS'"
    assert "on_end" in cli(home, "config").stdout
    assert cli(home, "config", "on_end", "--unset").returncode == 0
    assert manager.service.settings().on_end is None


def test_a_hook_runs_with_no_notebook_and_no_cli_alive(home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "told"
    env = dict(os.environ, NBEXP_HOME=str(home))
    # The CLI returns at once; the run ends two seconds later with nobody watching.
    launched = subprocess.run(
        [PY, "-m", "nbexp", "run", "--on-end", f"echo $NBEXP_STATUS > {marker}", "--",
         "sh", "-c", "sleep 2; exit 4"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    assert wait_for(lambda: marker.exists() and marker.read_text(), timeout=30) == "error\n"


def test_a_retried_failure_tells_the_hook(manager: ExperimentManager, tmp_path: Path) -> None:
    out = tmp_path / "env.jsonl"
    exp = manager.run(["sh", "-c", "exit 3"], retries=1, on_end=dump_env_hook(out))
    assert exp.wait(timeout=30).record.attempt == 2
    told = wait_for(lambda: len(calls(out)) == 2 and calls(out), timeout=30)
    # Each attempt's hook is a detached process of its own: they may finish in either order.
    first, last = sorted(told, key=lambda call: int(call["NBEXP_ATTEMPT"]))
    assert (first["NBEXP_ATTEMPT"], first["NBEXP_STATUS"], first["NBEXP_RETRY"]) == (
        "1", "error", "1/1",
    )  # fmt: skip
    assert (last["NBEXP_ATTEMPT"], last["NBEXP_RETRY"]) == ("2", "")  # none left


def test_a_hook_never_outlives_the_removal_of_its_experiment(
    manager: ExperimentManager, home: Path
) -> None:
    exp = manager.run(["true"], on_end="sleep 1; exit 9")
    exp.wait(timeout=30)
    manager.remove(exp.id)  # the hook's note finds no experiment: it just ends
    time.sleep(2.5)
    assert not processes_of_home(home)


def test_stopping_a_paused_run_with_a_hook(manager: ExperimentManager, tmp_path: Path) -> None:
    marker = tmp_path / "status"
    exp = manager.run(["sleep", "60"], on_end=f"echo $NBEXP_STATUS > {marker}")
    wait_for(lambda: exp.pid)
    manager.pause(exp.id)
    began = time.monotonic()
    manager.stop(exp.id, grace=20)
    assert time.monotonic() - began < 5  # resumed first, so SIGTERM ended it at once
    assert wait_for(lambda: marker.exists() and marker.read_text(), 20) == "interrupted\n"
