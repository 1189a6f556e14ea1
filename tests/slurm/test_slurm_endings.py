"""How Slurm jobs end, seen for real on the single-node cluster with accounting: each Slurm
ending becomes nbexp's state, failure kind and one-line summary, and `requeue_on` resubmits the
endings it names as new attempts (after the early signal let the script checkpoint)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status

from ..conftest import cli, wait_for
from .cluster import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.xdist_group("slurm")]

SLEEP = [sys.executable, "-c", "import time; print('working', flush=True); time.sleep(300)"]
# Touches 400 MiB page by page, then waits: over a 100M --mem it is killed.
HOG = (
    "import time\n"
    "block = bytearray(400 * 1024 * 1024)\n"
    "for i in range(0, len(block), 4096):\n"
    "    block[i] = 1\n"
    "print('allocated', flush=True)\n"
    "time.sleep(60)\n"
)
# Trains "forever"; SIGUSR1 (sent by Slurm before the time limit) saves a checkpoint, and an
# attempt that finds one resumes from it and finishes.
CHECKPOINTING = (
    "import os, pathlib, signal, sys, time\n"
    "checkpoint = pathlib.Path(os.environ['CHECKPOINT'])\n"
    "if checkpoint.exists():\n"
    "    print('resumed from', checkpoint.read_text(), 'in attempt', os.environ['NBEXP_ATTEMPT'])\n"
    "    sys.exit(0)\n"
    "def save(*_):\n"
    "    checkpoint.write_text('step 7')\n"
    "    print('USR1: checkpoint saved', flush=True)\n"
    "signal.signal(signal.SIGUSR1, save)\n"
    "print('training', flush=True)\n"
    "while True:\n"
    "    time.sleep(1)\n"
)


def slurm(cluster: SlurmCluster, *argv: str) -> str:
    result = subprocess.run(
        list(argv), capture_output=True, text=True, env=cluster.client_env(), check=True
    )
    return result.stdout


def test_a_job_over_its_memory_is_oom_killed(
    slurm_manager: ExperimentManager, slurm_cluster: SlurmCluster
) -> None:
    exp = slurm_manager.run([sys.executable, "-c", HOG], mem="100M")
    record = exp.wait(timeout=60).record
    assert record.status is Status.ERROR
    assert record.failure_kind == "oom-killed"
    job = str(record.job_id)
    info = slurm_manager.service.slurm.client.query([job])[job]
    if slurm_cluster.memory_enforcement == "cgroup":
        # task/cgroup saw the kernel's OOM kill: Slurm's own verdict, read from sacct. The end
        # reaches accounting a moment after the controller (slower on a loaded machine); until
        # then the client answers from scontrol's record, with the same state.
        deadline = time.monotonic() + 15
        while info.source != "sacct" and time.monotonic() < deadline:
            assert info.state == "OUT_OF_MEMORY"
            time.sleep(0.2)
            info = slurm_manager.service.slurm.client.query([job], max_age=0)[job]
        assert (info.state, info.source) == ("OUT_OF_MEMORY", "sacct")
        assert record.error == "out of memory (Slurm)"
        assert "more memory than the job asked for" in (record.failure_summary or "")
    else:
        # jobacct_gather killed it: Slurm says FAILED, its log says why.
        assert info.state in ("FAILED", "CANCELLED")
        assert "memory limit" in (record.failure_summary or "")


def test_a_cancel_from_outside_nbexp_is_an_error_naming_who(
    slurm_manager: ExperimentManager, slurm_cluster: SlurmCluster
) -> None:
    exp = slurm_manager.run(SLEEP)
    wait_for(lambda: exp.status is Status.RUNNING, timeout=30)
    slurm(slurm_cluster, "scancel", str(exp.record.job_id))  # an administrator, say
    record = exp.wait(timeout=30).record
    assert record.status is Status.ERROR
    assert record.error == "cancelled by Slurm or an administrator (uid 0)"
    assert record.failure_kind == "cancelled"


def test_a_preempted_job_is_an_error_of_kind_preempted(
    slurm_manager: ExperimentManager, slurm_cluster: SlurmCluster
) -> None:
    low = slurm_manager.run(SLEEP, gpus=1, name="low priority")
    wait_for(lambda: low.status is Status.RUNNING, timeout=30)
    urgent = slurm_manager.run(["true"], gpus=1, partition=slurm_cluster.urgent_partition)
    record = low.wait(timeout=30).record
    assert record.status is Status.ERROR and record.failure_kind == "preempted"
    assert record.failure_summary == "preempted by a higher-priority job (Slurm)"
    assert urgent.wait(timeout=60).status is Status.COMPLETED


def test_a_failed_node_ends_its_job_as_node_fail(
    slurm_manager: ExperimentManager, slurm_cluster: SlurmCluster
) -> None:
    exp = slurm_manager.run(SLEEP)
    wait_for(lambda: exp.status is Status.RUNNING, timeout=30)
    node = slurm_cluster.host
    try:
        slurm(slurm_cluster, "scontrol", "update", f"nodename={node}", "state=down", "reason=t")
        record = exp.wait(timeout=30).record
    finally:
        # ReturnToService=2 brings the node back once slurmd registers; make sure of it.
        subprocess.run(
            ["scontrol", "update", f"nodename={node}", "state=resume"],
            env=slurm_cluster.client_env(),
            capture_output=True,
        )
        wait_for(
            lambda: set(slurm(slurm_cluster, "sinfo", "-h", "-o", "%T").split()) == {"idle"},
            timeout=30,
            describe=lambda: slurm(slurm_cluster, "sinfo", "-h", "-o", "%T"),
        )
    assert record.status is Status.ERROR and record.failure_kind == "node-fail"
    assert (
        record.node == node
        and record.failure_summary == f"its node {node} failed (Slurm: NODE_FAIL)"
    )


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_timeout_and_a_requeue_after_the_early_signal(
    slurm_manager: ExperimentManager, home: Path, tmp_path: Path
) -> None:
    """Two jobs with a 1-minute limit side by side (Slurm rounds limits up to minutes and
    checks them about every 30 s, so this takes 60-100 s): one just times out; the other
    gets SIGUSR1 40 s before its limit, checkpoints, times out, and is requeued as a new
    attempt that resumes from the checkpoint and completes."""
    plain = slurm_manager.run(SLEEP, timeout="1m", name="times out")
    checkpoint = tmp_path / "checkpoint"
    requeued = slurm_manager.run(
        [sys.executable, "-c", CHECKPOINTING],
        env={"CHECKPOINT": str(checkpoint)},
        timeout="1m",
        timeout_signal="USR1@40",
        retries=1,
        requeue_on=["timeout", "preempted", "node-fail"],
        name="checkpoints",
    )
    script = Path(requeued.record.log_path or "").with_suffix(".sbatch").read_text()
    assert "#SBATCH --signal=B:USR1@40" in script.splitlines()
    assert "#SBATCH --time=0:01:00" in script.splitlines()

    record = plain.wait(timeout=200).record
    assert record.status is Status.ERROR and record.error == "time limit reached"
    assert record.failure_kind == "timeout"
    assert record.failure_summary == "timed out after 1m (Slurm's time limit)"

    final = requeued.wait(timeout=200).record  # waits through the requeue
    assert final.status is Status.COMPLETED and final.attempt == 2 and final.retried == 1
    first = slurm_manager.logs(requeued.id, attempt=1)
    assert "USR1: checkpoint saved" in first
    assert any("DUE TO TIME LIMIT" in line for line in first)  # Slurm's own words, kept
    assert slurm_manager.logs(requeued.id) == ["resumed from step 7 in attempt 2"]
    attempts = slurm_manager.service.store.attempts(requeued.id)
    assert [(a.status, a.error) for a in attempts] == [
        (Status.ERROR, "time limit reached"),
        (Status.COMPLETED, None),
    ]
    reasons = [h.reason for h in slurm_manager.history(requeued.id)]
    assert "requeued after timeout (1/1)" in reasons
    shown = json.loads(cli(home, "show", str(requeued.id), "--json").stdout)
    assert shown["retried"] == 1 and shown["attempt"] == 2


def test_a_requeue_nobody_submitted_is_submitted_by_the_next_process(
    slurm_manager: ExperimentManager, slurm_cluster: SlurmCluster, home: Path
) -> None:
    """The process that saw the end died before resubmitting: the ended record (preempted,
    a retry left) is itself the trigger, and the next nbexp process (here `nbexp ls`)
    resubmits it, once."""
    exp = slurm_manager.run(SLEEP, gpus=1, requeue_on=["preempted"], retries=1)
    wait_for(lambda: exp.status is Status.RUNNING, timeout=30)
    slurm(slurm_cluster, "sbatch", "-p", slurm_cluster.urgent_partition, "--gpus=1",
          "--output=/dev/null", "--wrap", "sleep 1")  # fmt: skip
    executor, store = slurm_manager.service.slurm, slurm_manager.service.store

    def ended_by_the_executor_alone() -> bool:
        executor.reconcile(store.list([Status.RUNNING, Status.QUEUED]))  # records the end only
        return store.get(exp.id).status is Status.ERROR

    wait_for(ended_by_the_executor_alone, timeout=30)
    ended = store.get(exp.id)
    assert (ended.failure_kind, ended.attempt, ended.retried) == ("preempted", 1, 0)
    for _ in range(2):  # two processes look: one resubmission
        assert cli(home, "ls").returncode == 0
    record = store.get(exp.id)
    assert record.attempt == 2 and record.retried == 1 and record.status.is_active
    assert [h.reason for h in slurm_manager.history(exp.id)].count(
        "requeued after preempted (1/1)"
    ) == 1
    slurm_manager.stop(exp.id, grace=1)
