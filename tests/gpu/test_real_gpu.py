"""The GPU probe on a real NVIDIA GPU: readings match nvidia-smi, and an experiment that holds
GPU memory is seen holding it. Skipped, with the reason, on machines without one."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager, NbexpError, Status, gpu
from nbexp._cli.tables import format_gpu_table
from nbexp._io import proc as _proc
from nbexp._service.gpus import experiment_pids

pytestmark = pytest.mark.gpu

MIB = 1024**2
SMI_FIELDS = (
    "index,uuid,name,memory.used,memory.total,utilization.gpu,temperature.gpu,power.draw,"
    "power.limit"
)

# Allocates 1 GiB on the first visible GPU through the CUDA driver API (no torch needed), says
# so, then holds it until killed.
ALLOCATE_1_GIB = r"""
import ctypes, sys, time
cuda = ctypes.CDLL("libcuda.so.1")
def check(result, what):
    if result != 0:
        print(f"{what} failed with CUDA error {result}", flush=True)
        sys.exit(1)
device, context, pointer = ctypes.c_int(), ctypes.c_void_p(), ctypes.c_uint64()
check(cuda.cuInit(0), "cuInit")
check(cuda.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
check(cuda.cuDevicePrimaryCtxRetain(ctypes.byref(context), device), "cuDevicePrimaryCtxRetain")
check(cuda.cuCtxSetCurrent(context), "cuCtxSetCurrent")
check(cuda.cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(1 << 30)), "cuMemAlloc")
print("allocated 1 GiB", flush=True)
time.sleep(300)
"""


def _nvidia_gpu_or_skip() -> gpu.GpuReport:
    if shutil.which("nvidia-smi") is None:
        pytest.skip("no NVIDIA GPU: nvidia-smi is not installed")
    report = gpu.NvmlBackend().read()
    if not report.gpus:
        pytest.skip(f"no NVIDIA GPU usable: {report.reason}")
    return report


def _nvidia_smi() -> dict[int, list[str]]:
    output = subprocess.run(
        ["nvidia-smi", f"--query-gpu={SMI_FIELDS}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    rows = [[cell.strip() for cell in line.split(",")] for line in output.strip().splitlines()]
    return {int(row[0]): row for row in rows}


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def _close(ours: float | None, theirs: str, tolerance: float) -> bool:
    reference = _number(theirs)
    return reference is None or ours is None or abs(ours - reference) <= tolerance


def test_readings_match_nvidia_smi() -> None:
    _nvidia_gpu_or_skip()
    smi = _nvidia_smi()
    report = gpu.NvmlBackend().read()

    assert report.reason is None and not report.simulated and report.driver_version
    assert sorted(smi) == [g.index for g in report.gpus]
    for snapshot in report.gpus:
        row = smi[snapshot.index]
        assert snapshot.problem is None, snapshot.problem
        assert (snapshot.uuid, snapshot.name) == (row[1], row[2])
        assert snapshot.memory_total is not None
        assert round(snapshot.memory_total / MIB) == int(row[4])
        # Moving values, read a moment apart: allow what another job could change meanwhile.
        used_mib = (snapshot.memory_used or 0) / MIB
        assert _close(used_mib, row[3], 512), (used_mib, row[3])
        assert _close(snapshot.utilization_gpu, row[5], 40), (snapshot.utilization_gpu, row[5])
        assert _close(snapshot.temperature, row[6], 5), (snapshot.temperature, row[6])
        draw_reference = _number(row[7]) or 0
        assert _close(snapshot.power_draw, row[7], max(40.0, 0.25 * draw_reference))
        assert _close(snapshot.power_limit, row[8], 1.0), (snapshot.power_limit, row[8])
    assert "NVIDIA driver" in format_gpu_table(report)


def test_monitor_samples_real_gpus_into_history() -> None:
    _nvidia_gpu_or_skip()
    monitor = gpu.GpuMonitor(backend=gpu.NvmlBackend())
    for _ in range(3):
        monitor.sample()
    history = monitor.history(0)
    assert len(history) == 3 and all(s.memory_used is not None for s in history)


def _wait_for_line(manager: ExperimentManager, experiment_id: int, text: str) -> None:
    deadline = time.monotonic() + 90  # cuInit on a big GPU can take a while
    while time.monotonic() < deadline:
        lines = manager.logs(experiment_id)
        if any(text in line for line in lines):
            return
        if manager.get(experiment_id).status is not Status.RUNNING:
            pytest.fail(f"the allocating script ended early: {lines}")
        time.sleep(0.2)
    pytest.fail(f"no {text!r} within 90 s: {manager.logs(experiment_id)}")


def test_an_experiment_on_gpu_0_is_seen_holding_it(tmp_path: Path) -> None:
    before = _nvidia_gpu_or_skip().gpus[0]
    manager = ExperimentManager(home=tmp_path / "home")
    experiment = manager.run([sys.executable, "-c", ALLOCATE_1_GIB], name="alloc", gpus=[0])
    try:
        _wait_for_line(manager, experiment.id, "allocated 1 GiB")
        records = manager.records([Status.RUNNING])
        ours = experiment_pids(records)
        report = gpu.NvmlBackend().read()
        gpu0 = report.gpus[0]
        assert experiment.pid in ours

        grown = (gpu0.memory_used or 0) - (before.memory_used or 0)
        assert grown >= 900 * MIB, f"GPU 0 memory grew by only {grown / MIB:.0f} MiB"
        holders = manager.gpu_holders(report)
        assert f"#{experiment.id} alloc" in holders[0]

        seen = [p for p in gpu0.processes or () if p.pid in ours]
        if not seen and not any(_proc.is_alive(p.pid) for p in gpu0.processes or ()):
            pytest.skip(
                "NVML reports pids from another pid namespace (a container without the host's "
                f"pid namespace): {gpu0.processes}; the memory check above passed"
            )
        assert seen, f"none of our pids {sorted(ours)} among GPU 0's {gpu0.processes}"
        assert (seen[0].used_memory or 0) >= 1024 * MIB
        # Known as ours, so not listed a second time as a stranger's pid.
        assert not any(h.startswith(f"pid {seen[0].pid}") for h in holders[0]), holders
        # And attributed to the experiment through the public API.
        assert experiment.gpu_memory.get(0, 0) >= 1024 * MIB, experiment.gpu_memory
    finally:
        pid = experiment.pid
        with contextlib.suppress(NbexpError):
            manager.stop(experiment.id, grace=5)
        if pid and _proc.is_alive(pid):
            os.kill(pid, signal.SIGKILL)
