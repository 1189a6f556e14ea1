"""The GPU telemetry sidecar of Slurm jobs, without Slurm: the pure parts (which GPUs are the
job's, the ring, the summary) in-process, and the real sidecar process watching a real command
on simulated GPUs, as it runs inside a batch job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbexp._core.telemetry import (
    TelemetryFile,
    job_gpu_indices,
    job_id_of,
    memory_by_gpu,
    parse_telemetry,
    summary,
    telemetry_path,
)
from nbexp._exec.telemetry import read_telemetry
from nbexp._io.spawn import python_entry

from .conftest import wait_for

GPUS = [{"index": i, "uuid": f"GPU-{i}aaa"} for i in range(4)]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLURM_JOB_GPUS": "1,3", "CUDA_VISIBLE_DEVICES": "0,1"}, [1, 3]),  # renumbered CUDA
        ({"SLURM_JOB_GPUS": "0-2"}, [0, 1, 2]),
        ({"CUDA_VISIBLE_DEVICES": "2"}, [2]),
        ({"CUDA_VISIBLE_DEVICES": "GPU-3,GPU-1"}, [1, 3]),  # UUIDs (prefixes) name them exactly
        ({"SLURM_JOB_GPUS": "7"}, []),  # not on this node's list
        ({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}, []),
        ({}, []),  # no GPU given
    ],
)
def test_the_jobs_gpus_come_from_slurms_variables(env: dict[str, str], expected: list[int]) -> None:
    assert job_gpu_indices(env, GPUS) == expected


def test_job_ids_of_array_tasks_are_as_nbexp_stores_them() -> None:
    assert job_id_of({"SLURM_JOB_ID": "42"}) == "42"
    env = {"SLURM_JOB_ID": "45", "SLURM_ARRAY_JOB_ID": "40", "SLURM_ARRAY_TASK_ID": "5"}
    assert job_id_of(env) == "40_5"
    assert telemetry_path("/h/logs/s/3/attempt-2.log") == "/h/logs/s/3/attempt-2.gpu.json"


def test_the_ring_is_bounded_and_the_file_round_trips() -> None:
    state = TelemetryFile("gpu-07", "40_5", 123, 5.0, 1000.0, ring_length=3)
    gpus = [
        {"index": 2, "uuid": "GPU-2", "name": "H200", "memory_total": 2**30, "power_limit": 700}
    ]
    for n in range(5):
        latest = [
            {
                "memory_used": (n + 1) * 2**20,
                "utilization_gpu": 10 * n,
                "utilization_memory": 1,
                "temperature": 40 + n,
                "power_draw": 100.5,
                "problem": None,
                "processes": [{"pid": 123, "used_memory": 3 * 2**20}],
            }
        ]
        state.add(1000.0 + 5 * n, gpus, latest, simulated=False, reason=None)
    data = parse_telemetry(state.dumps())
    assert data is not None and len(data["samples"]) == 3  # only the last three kept
    assert data["samples"][-1] == [1020.0, [[5, 40, 44, 100.5]]]
    assert memory_by_gpu(data) == {2: 3 * 2**20}
    shown = summary(data, now=1021.0, history=2)
    assert shown["node"] == "gpu-07" and shown["stale"] is False
    (gpu,) = shown["gpus"]
    assert gpu["name"] == "H200" and gpu["temperature"] == 44 and gpu["processes"][0]["pid"] == 123
    assert gpu["history"] == [[1015.0, 4, 30, 43, 100.5], [1020.0, 5, 40, 44, 100.5]]
    assert summary(data, now=1040.0)["stale"] is True  # three intervals without a reading
    for broken in ("", "[]", '{"version": 1}', json.dumps({**data, "version": 99})):
        assert parse_telemetry(broken) is None


def start_sidecar(out: Path, pid: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [sys.executable, *python_entry("nbexp._exec.telemetry")]
    argv += ["--out", str(out), "--interval", "0.3", "--pid", str(pid)]
    return subprocess.Popen(argv, env=env)


def test_the_sidecar_follows_a_command_and_ends_with_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NBEXP_SIMULATED_GPUS": "2",
        "CUDA_VISIBLE_DEVICES": "1",
        "SLURM_JOB_GPUS": "1",
        "SLURM_JOB_ID": "77",
        "SLURMD_NODENAME": "node-a",
        "NBEXP_EXPERIMENT_ID": "5",
    }
    command = subprocess.Popen(["sleep", "60"])
    out = tmp_path / "attempt-1.gpu.json"
    sidecar = start_sidecar(out, command.pid, env)
    try:
        wait_for(lambda: len((read_telemetry(out) or {}).get("samples", ())) >= 3, timeout=15)
        data = read_telemetry(out)
        assert data is not None
        assert (data["node"], data["job_id"], data["simulated"]) == ("node-a", "77", True)
        assert [g["index"] for g in data["gpus"]] == [1]  # only the GPU Slurm gave it
        (latest,) = data["latest"]
        # On simulated GPUs the job's command holds the GPU it was given, like a local run.
        assert [p["pid"] for p in latest["processes"]] == [command.pid]
        assert latest["processes"][0]["used_memory"] > 0
        assert data["done"] is False
    finally:
        command.kill()
        command.wait()
    assert sidecar.wait(timeout=5) == 0  # it ends within a poll of the command
    final = read_telemetry(out)
    assert final is not None and final["done"] is True
    assert not list(tmp_path.glob("*.tmp"))  # written by rename: no half file left


def test_the_sidecar_ends_on_sigterm_as_scancel_sends_it(tmp_path: Path) -> None:
    command = subprocess.Popen(["sleep", "60"])
    out = tmp_path / "attempt-1.gpu.json"
    env = {**os.environ, "NBEXP_SIMULATED_GPUS": "1"}  # and no GPU given to this "job"
    sidecar = start_sidecar(out, command.pid, env)
    try:
        wait_for(lambda: read_telemetry(out) is not None, timeout=15)
        data = read_telemetry(out)
        assert data is not None and data["gpus"] == [] and "no GPU" in (data["reason"] or "")
        sidecar.send_signal(signal.SIGTERM)
        assert sidecar.wait(timeout=5) == 0
        assert (read_telemetry(out) or {}).get("done") is True
        time.sleep(0.1)
        assert command.poll() is None  # the sidecar never touches the command
    finally:
        command.kill()
        command.wait()
        if sidecar.poll() is None:
            sidecar.kill()
            sidecar.wait()
