"""Pause and resume of a Slurm job on the real single-node cluster: `scontrol suspend` stops
every process of the job (state T in /proc), the experiment is `paused` and Slurm says
SUSPENDED; `scontrol resume` lets it run on; a stop of a paused job still ends it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status

from ..conftest import wait_for
from .cluster import SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.xdist_group("slurm")]

# Writes its pid, then counts; the count stops moving while the job is suspended.
COUNTER = (
    "import os, sys, time\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "n = 0\n"
    "while True:\n"
    "    n += 1\n"
    "    open(sys.argv[2], 'w').write(str(n))\n"
    "    time.sleep(0.05)\n"
)


def state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2]


def test_pause_and_resume_a_slurm_job(
    home: Path, tmp_path: Path, slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in slurm_cluster.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NBEXP_SLURM_POLL_INTERVAL", "0.2")
    manager = ExperimentManager(home=home, executor="slurm")
    pid_file, count_file = tmp_path / "pid", tmp_path / "count"
    exp = manager.run([sys.executable, "-c", COUNTER, str(pid_file), str(count_file)])
    wait_for(lambda: exp.status is Status.RUNNING and count_file.exists(), timeout=60)
    pid = int(pid_file.read_text())

    manager.pause(exp.id)
    assert exp.status is Status.PAUSED
    info = manager.slurm.query_one(str(exp.record.job_id))
    assert info.state == "SUSPENDED", info
    wait_for(lambda: state(pid) == "T", timeout=10)
    frozen = count_file.read_text()
    time.sleep(1.0)
    assert count_file.read_text() == frozen  # it does not run while paused

    manager.resume(exp.id)
    assert exp.status is Status.RUNNING
    wait_for(lambda: count_file.read_text() != frozen, timeout=10)
    assert state(pid) != "T"

    manager.pause(exp.id)
    stopped = manager.stop(exp.id, grace=2)
    assert stopped.status is Status.INTERRUPTED, stopped.record
