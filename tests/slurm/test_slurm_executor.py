"""Experiments on a real single-node Slurm through the manager and the CLI: the same states,
logs, stop and restart as local ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from nbexp import ExperimentManager, SpawnFailed, Status, UsageError

from ..conftest import cli, wait_for
from .cluster import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.xdist_group("slurm")]

PROGRESS = (
    "import sys, time\n"
    "for i in range(1, 6):\n"
    "    sys.stdout.write(f'\\rstep {i}/5'); sys.stdout.flush(); time.sleep(0.05)\n"
    "print()\n"
    "print('done')\n"
)


@pytest.fixture
def slurm_env(slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> SlurmCluster:
    for key, value in slurm_cluster.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NBEXP_SLURM_POLL_INTERVAL", "0.2")
    return slurm_cluster


@pytest.fixture
def slurm_manager(home: Path, slurm_env: SlurmCluster) -> ExperimentManager:
    return ExperimentManager(home=home, executor="slurm")


def test_completes_with_log_through_the_renderer(slurm_manager: ExperimentManager) -> None:
    exp = slurm_manager.run([sys.executable, "-c", PROGRESS], name="on-slurm")
    assert exp.status in (Status.QUEUED, Status.RUNNING)
    assert exp.record.job_id
    assert exp.wait(timeout=60).status is Status.COMPLETED
    assert exp.exit_code == 0
    assert exp.logs() == ["step 5/5", "done"]
    raw = Path(exp.log_path).read_bytes()
    assert b"\rstep 2/5\rstep 3/5" in raw  # Slurm keeps \r byte for byte
    assert [h.to_status for h in exp.history()] == [
        Status.PENDING,
        Status.QUEUED,
        Status.RUNNING,
        Status.COMPLETED,
    ]


def test_failure_and_restart(slurm_manager: ExperimentManager) -> None:
    exp = slurm_manager.run(["sh", "-c", "echo attempt $NBEXP_ATTEMPT; exit 3"])
    assert exp.wait(timeout=60).status is Status.ERROR
    assert exp.error == "exit code 3" and exp.exit_code == 3
    slurm_manager.restart(exp.id)
    assert exp.wait(timeout=60).attempt == 2
    assert slurm_manager.logs(exp.id, attempt=1) == ["attempt 1"]
    assert slurm_manager.logs(exp.id, attempt=2) == ["attempt 2"]


def test_stop_running_and_queued_jobs(slurm_manager: ExperimentManager) -> None:
    holder = slurm_manager.run(["sleep", "60"], gpus=1, name="gpu holder")
    wait_for(lambda: holder.status is Status.RUNNING, timeout=30)
    waiting = slurm_manager.run(["true"], gpus=1, name="waits for the gpu")
    wait_for(lambda: waiting.record.job_id is not None, timeout=30)
    assert waiting.status is Status.QUEUED  # Slurm: PENDING (Resources)
    assert slurm_manager.stop(waiting.id, grace=1).status is Status.INTERRUPTED
    stopped = slurm_manager.stop(holder.id, grace=1)
    assert stopped.status is Status.INTERRUPTED and stopped.error == "stopped by user"


def test_a_new_manager_resumes_monitoring(home: Path, slurm_env: SlurmCluster) -> None:
    first = ExperimentManager(home=home, executor="slurm")
    exp = first.run(["sh", "-c", "sleep 1; echo finished"])
    del first  # the kernel restarts: only the store remains
    again = ExperimentManager(home=home)
    assert again.wait(exp.id, timeout=60).status is Status.COMPLETED
    assert again.logs(exp.id) == ["finished"]


def test_refusals_carry_slurm_messages(slurm_manager: ExperimentManager) -> None:
    with pytest.raises(SpawnFailed, match=r"(?i)invalid partition"):
        slurm_manager.run(["true"], partition="nope")
    refused = slurm_manager.records()[-1]
    assert refused.status is Status.ERROR and "partition" in (refused.error or "").lower()
    with pytest.raises(SpawnFailed, match="Requested node configuration is not available"):
        slurm_manager.run(["true"], gpus=5)
    with pytest.raises(UsageError, match="ask for a number of GPUs"):
        slurm_manager.run(["true"], gpus=[0])


def test_missing_slurm_is_a_clear_error(
    home: Path, slurm_env: SlurmCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    manager = ExperimentManager(home=home, executor="slurm")
    with pytest.raises(SpawnFailed, match="sbatch not found"):
        manager.run(["/bin/true"])


def test_cli(home: Path, slurm_env: SlurmCluster) -> None:
    result = cli(
        home,
        "run",
        "--executor",
        "slurm",
        "--partition",
        "debug",
        "--time",
        "5",
        "--wait",
        "--",
        sys.executable,
        "-c",
        "print('via cli')",
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(cli(home, "show", "1", "--json").stdout)
    assert shown["executor"] == "slurm" and shown["job_id"]
    assert shown["options"]["slurm"] == {"partition": "debug", "time": "5"}
    assert cli(home, "logs", "1").stdout == "via cli\n"
    listing = cli(home, "list").stdout.splitlines()[1]
    assert f"slurm:{shown['job_id']}" in listing
    bad = cli(home, "run", "--partition", "debug", "--", "true")
    assert bad.returncode == 2 and "only applies to Slurm experiments" in bad.stderr
    assert "(--executor slurm)" in bad.stderr


def test_dashboard_rows_show_executor_and_job(slurm_manager: ExperimentManager) -> None:
    from nbexp._ui.monitor import Monitor

    exp = slurm_manager.run(["sleep", "30"])
    snapshot = Monitor(slurm_manager.service, 1.0).tick()
    row = snapshot.rows[exp.id]
    assert row["executor"] == "slurm" and row["job_id"] == exp.record.job_id
    slurm_manager.stop(exp.id, grace=1)
