"""GPU telemetry from the node: the sidecar the batch script starts beside a GPU job reads the
GPUs Slurm gave the job (simulated GPUs inside the job here: the test cluster's GPU is a
gres.conf entry over /dev/null), and `show --json`, `gpu_memory()` and the dashboard's snapshot
show them with the node's name."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager, Status
from nbexp._core.telemetry import parse_telemetry, telemetry_path
from nbexp._exec.telemetry import read_telemetry

from ..conftest import cli, wait_for
from .cluster import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.xdist_group("slurm")]

PRINT_GPUS = (
    "import os, time; "
    "print('visible', os.environ.get('CUDA_VISIBLE_DEVICES'), "
    "'job gpus', os.environ.get('SLURM_JOB_GPUS'), flush=True); "
    "time.sleep(300)"
)


@pytest.fixture(autouse=True)
def simulated_node_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before `slurm_manager` (autouse fixtures come first): sbatch passes the submitting
    environment on, so the sidecar inside the job reads one simulated GPU (and says so),
    every half second."""
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "1")
    monkeypatch.setenv("NBEXP_SLURM_TELEMETRY_INTERVAL", "0.5")


def test_node_telemetry_in_show_json_gpu_memory_and_the_dashboard(
    slurm_manager: ExperimentManager, slurm_cluster: SlurmCluster, home: Path
) -> None:
    from nbexp._ui.monitor import Monitor

    exp = slurm_manager.run([sys.executable, "-c", PRINT_GPUS], gpus=1, name="on a node")
    wait_for(lambda: exp.status is Status.RUNNING, timeout=30)
    sidecar = telemetry_path(exp.log_path)
    wait_for(lambda: len((read_telemetry(sidecar) or {}).get("samples", ())) >= 3, timeout=30)
    assert exp.logs()[0] == "visible 0 job gpus 0"  # what Slurm gave the job

    shown = json.loads(cli(home, "show", str(exp.id), "--json").stdout)
    assert shown["node"] == slurm_cluster.host
    telemetry = shown["telemetry"]
    assert telemetry["node"] == slurm_cluster.host and telemetry["simulated"] is True
    assert telemetry["job_id"] == exp.record.job_id and telemetry["stale"] is False
    (gpu,) = telemetry["gpus"]
    assert gpu["index"] == 0 and "(simulated)" in gpu["name"]
    assert gpu["memory_total"] > gpu["memory_used"] > 0 and 0 <= gpu["utilization_gpu"] <= 100
    assert gpu["temperature"] > 0 and gpu["power_draw"] > 0
    # The job's own process (the command, which the batch shell became) holds memory on it.
    (process,) = gpu["processes"]
    assert process["used_memory"] > 0
    assert len(gpu["history"]) >= 3 and all(len(point) == 5 for point in gpu["history"])
    assert shown["gpu_memory"] == {"0": process["used_memory"]}

    # gpu_memory() is the job's memory in the latest reading. The sidecar rewrites its file
    # every 0.5 s (a new simulated figure each time), so it is compared with the file as read
    # just before and just after the call, the same both times (else read again).
    def memory_and_reading() -> tuple[dict[int, int], dict[str, Any]] | None:
        before = Path(sidecar).read_text()
        memory = slurm_manager.gpu_memory(exp.id)
        reading = parse_telemetry(before)
        return (memory, reading) if reading and Path(sidecar).read_text() == before else None

    memory, reading = wait_for(memory_and_reading, timeout=10)
    (latest,) = reading["latest"]
    (in_reading,) = latest["processes"]
    assert memory == {0: in_reading["used_memory"]} and in_reading["used_memory"] > 0

    snapshot = Monitor(slurm_manager.service, 1.0).snapshot()
    assert snapshot.rows[exp.id]["node"] == slurm_cluster.host
    (part,) = snapshot.node_gpus
    assert (part["id"], part["node"], part["simulated"]) == (exp.id, slurm_cluster.host, True)
    assert part["gpus"][0]["job_mem"] and len(part["gpus"][0]["history"]) >= 3

    slurm_manager.stop(exp.id, grace=2)
    assert exp.wait(timeout=30).status is Status.INTERRUPTED
    # The sidecar ended with the job, after one last reading marked done.
    wait_for(lambda: (read_telemetry(sidecar) or {}).get("done") is True, timeout=10)
    samples = len(read_telemetry(sidecar)["samples"])  # type: ignore[index]
    time.sleep(1.5)
    assert len(read_telemetry(sidecar)["samples"]) == samples  # type: ignore[index]
    assert Monitor(slurm_manager.service, 1.0).snapshot().node_gpus == []


def test_a_cpu_job_has_no_sidecar_and_a_time_limit_in_its_row(
    slurm_manager: ExperimentManager, slurm_cluster: SlurmCluster
) -> None:
    from nbexp._ui.monitor import Monitor

    exp = slurm_manager.run(["sleep", "30"], time="2:00")  # 2 minutes
    wait_for(lambda: exp.status is Status.RUNNING, timeout=30)
    row = Monitor(slurm_manager.service, 1.0).snapshot().rows[exp.id]
    assert (row["node"], row["time_limit"]) == (slurm_cluster.host, 120.0)
    script = Path(exp.log_path).with_suffix(".sbatch").read_text()
    assert "nbexp._exec.telemetry" not in script
    slurm_manager.stop(exp.id, grace=1)
