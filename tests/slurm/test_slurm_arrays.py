"""Sweeps on a real single-node Slurm: ONE `sbatch --array=0-(N-1)%K`, each task its own nbexp
experiment (`ARRAY_i`) with its own log, states, stop and restart."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from nbexp import ExperimentManager, Status, UsageError

from ..conftest import wait_for
from .cluster import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.xdist_group("slurm")]

# Each run prints its parameter and attempt, then works a little: long enough for squeue to see
# the %2 limit hold, short enough for six of them.
TASK = (
    "import os, sys, time; "
    "print('lr', sys.argv[1], 'attempt', os.environ['NBEXP_ATTEMPT'], flush=True); "
    "time.sleep(float(sys.argv[2]))"
)


class RunningTasks:
    """Polls squeue for an array's running tasks, keeping the most seen at once."""

    def __init__(self, cluster: SlurmCluster, array_id: str) -> None:
        self.cluster, self.array_id = cluster, array_id
        self.most = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            result = subprocess.run(
                ["squeue", "-h", "-r", "-t", "RUNNING", "-j", self.array_id, "-o", "%i"],
                capture_output=True,
                text=True,
                env=self.cluster.client_env(),
                check=False,
            )
            if result.returncode == 0:
                self.most = max(self.most, len(result.stdout.split()))
                self.samples += 1
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_a_sweep_is_one_job_array_with_its_parallel_limit(
    slurm_manager: ExperimentManager, slurm_cluster: SlurmCluster
) -> None:
    client = slurm_manager.service.slurm.client
    calls = client.calls
    group = slurm_manager.sweep(
        [sys.executable, "-c", TASK, "{lr}", "{sleep}"],
        {"lr": ["1e-3", "3e-3", "1e-2", "3e-2", "1e-1", "3e-1"], "sleep": ["3"]},
        mode="grid",
        max_parallel=2,
        name="lr-sweep",
    )
    assert client.calls - calls == 1  # one Slurm command, sbatch, for six runs
    members = sorted(group.experiments, key=lambda e: e.id)
    assert len(members) == 6
    array_id = members[0].record.array_job
    assert array_id and all(m.record.array_job == array_id for m in members)
    assert [m.record.job_id for m in members] == [f"{array_id}_{i}" for i in range(6)]
    watcher = RunningTasks(slurm_cluster, array_id)
    try:
        # Stop one task while it waits (its turn has not come: %2), restart another later.
        stopped = members[5]
        assert slurm_manager.stop(stopped.id, grace=1).status is Status.INTERRUPTED
        for member in members[:5]:
            assert member.wait(timeout=90).status is Status.COMPLETED
    finally:
        watcher.stop()
    assert watcher.samples > 10 and 1 <= watcher.most <= 2  # never more than two at once
    for index, member in enumerate(members[:5]):
        lr = member.record.params["lr"]
        assert member.logs() == [f"lr {lr} attempt 1"], index
    assert stopped.logs() == [] and stopped.error == "stopped by user"
    # A member's restart is a new single job, outside the array, with its own log.
    slurm_manager.restart(stopped.id)
    record = slurm_manager.wait(stopped.id, timeout=60).record
    assert record.status is Status.COMPLETED and record.attempt == 2
    assert record.array_job is None and "_" not in (record.job_id or "_")
    assert slurm_manager.logs(stopped.id) == ["lr 3e-1 attempt 2"]


def test_stopping_a_running_task_leaves_the_others_running(
    slurm_manager: ExperimentManager,
) -> None:
    group = slurm_manager.sweep(
        [sys.executable, "-c", TASK, "{lr}", "{sleep}"],
        {"lr": ["a", "b", "c"], "sleep": ["60"]},
        name="stop-one",
    )
    members = sorted(group.experiments, key=lambda e: e.id)
    for member in members:
        wait_for(lambda m=member: m.status is Status.RUNNING, timeout=30)
    stopped = slurm_manager.stop(members[1].id, grace=1)
    assert stopped.status is Status.INTERRUPTED
    time.sleep(1.0)
    assert [m.status for m in (members[0], members[2])] == [Status.RUNNING] * 2
    group.stop(grace=1)
    assert {m.status for m in members} == {Status.INTERRUPTED}


def test_an_array_needs_one_set_of_slurm_options(slurm_manager: ExperimentManager) -> None:
    with pytest.raises(UsageError, match="max_parallel must be"):
        slurm_manager.sweep(["true", "{x}"], {"x": ["1", "2"]}, max_parallel=0)
    assert slurm_manager.records() == []  # nothing was created
