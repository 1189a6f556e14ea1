"""A stand-in for nvidia-ml-py's `pynvml`: scripted GPUs and failures, no driver needed.

The exception classes and constants are the real pynvml ones, so nbexp's error handling is
tested against what the real library raises. Install with `install(monkeypatch)`.
"""

from __future__ import annotations

import collections
import sys
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml as _real
import pytest

NVMLError = _real.NVMLError
NVMLLibraryMismatchError = _real.NVMLLibraryMismatchError
NVML_TEMPERATURE_GPU = _real.NVML_TEMPERATURE_GPU
nvmlMemory_v2 = _real.nvmlMemory_v2
for _name in dir(_real):  # every NVML_ERROR_* code and NVMLError_* class, as the real module has
    if _name.startswith(("NVML_ERROR_", "NVMLError_")):
        globals()[_name] = getattr(_real, _name)

GIB = 1024**3
RESERVED = 512 * 1024**2  # what v1 memory info counts as used on an idle GPU (and v2 does not)


@dataclass
class FakeGpu:
    """One scripted GPU. `errors` maps an NVML function name to an error code or exception."""

    name: str = "NVIDIA H200"
    uuid: str = "GPU-00000000-aaaa-bbbb-cccc-000000000000"
    memory_total: int = 140 * GIB  # bytes
    memory_used: int = 1 * GIB  # bytes, as v2 reports it
    util_gpu: int = 0  # %
    util_memory: int = 0  # %
    temperature: int = 30  # °C
    power_mw: int = 75_000  # mW
    limit_mw: int = 700_000  # mW
    fan: int | None = None  # %; None: NOT_SUPPORTED, as on data-centre GPUs
    processes: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, bytes)
    errors: dict[str, int | BaseException] = field(default_factory=dict)
    lost: bool = False  # every call on it, the handle included, says GPU_IS_LOST


class _State:
    def __init__(self) -> None:
        self.gpus: list[FakeGpu] = []
        self.init_error: int | None = None
        self.count_error: int | None = None
        self.driver_version = "550.54.15"
        self.init_delay = 0.0  # seconds nvmlInit takes (it is slow on big machines)
        self.initialised = False
        self.calls: collections.Counter[str] = collections.Counter()


state = _State()


def reset(gpus: list[FakeGpu] | None = None) -> _State:
    global state
    state = _State()
    state.gpus = list(gpus or [])
    return state


def install(monkeypatch: pytest.MonkeyPatch, gpus: list[FakeGpu] | None = None) -> _State:
    """Make `import pynvml` return this module (for this test only) with fresh `gpus`."""
    monkeypatch.setitem(sys.modules, "pynvml", sys.modules[__name__])
    return reset(gpus)


def _fail(code_or_error: int | BaseException) -> None:
    if isinstance(code_or_error, BaseException):
        raise code_or_error
    raise NVMLError(code_or_error)


def _gpu(handle: SimpleNamespace, function: str) -> FakeGpu:
    state.calls[function] += 1
    if not state.initialised:
        _fail(_real.NVML_ERROR_UNINITIALIZED)
    gpu = state.gpus[handle.index]
    if gpu.lost:
        _fail(_real.NVML_ERROR_GPU_IS_LOST)
    if function in gpu.errors:
        _fail(gpu.errors[function])
    return gpu


def nvmlInit() -> None:
    state.calls["nvmlInit"] += 1
    time.sleep(state.init_delay)
    if state.init_error is not None:
        _fail(state.init_error)
    state.initialised = True


def nvmlShutdown() -> None:
    state.calls["nvmlShutdown"] += 1
    state.initialised = False


def nvmlSystemGetDriverVersion() -> str:
    return state.driver_version


def nvmlDeviceGetCount() -> int:
    state.calls["nvmlDeviceGetCount"] += 1
    if not state.initialised:
        _fail(_real.NVML_ERROR_UNINITIALIZED)
    if state.count_error is not None:
        _fail(state.count_error)
    return len(state.gpus)


def nvmlDeviceGetHandleByIndex(index: int) -> SimpleNamespace:
    if not 0 <= index < len(state.gpus):
        _fail(_real.NVML_ERROR_INVALID_ARGUMENT)
    handle = SimpleNamespace(index=index)
    _gpu(handle, "nvmlDeviceGetHandleByIndex")
    return handle


def nvmlDeviceGetName(handle: SimpleNamespace) -> str:
    return _gpu(handle, "nvmlDeviceGetName").name


def nvmlDeviceGetUUID(handle: SimpleNamespace) -> str:
    return _gpu(handle, "nvmlDeviceGetUUID").uuid


def nvmlDeviceGetMemoryInfo(handle: SimpleNamespace, version: int | None = None) -> Any:
    gpu = _gpu(handle, "nvmlDeviceGetMemoryInfo" if not version else "nvmlDeviceGetMemoryInfo_v2")
    if version:
        free = gpu.memory_total - RESERVED - gpu.memory_used
        return SimpleNamespace(
            total=gpu.memory_total, reserved=RESERVED, free=free, used=gpu.memory_used
        )
    used = gpu.memory_used + RESERVED
    return SimpleNamespace(total=gpu.memory_total, free=gpu.memory_total - used, used=used)


def nvmlDeviceGetUtilizationRates(handle: SimpleNamespace) -> Any:
    gpu = _gpu(handle, "nvmlDeviceGetUtilizationRates")
    return SimpleNamespace(gpu=gpu.util_gpu, memory=gpu.util_memory)


def nvmlDeviceGetTemperature(handle: SimpleNamespace, sensor: int) -> int:
    assert sensor == NVML_TEMPERATURE_GPU
    return _gpu(handle, "nvmlDeviceGetTemperature").temperature


def nvmlDeviceGetPowerUsage(handle: SimpleNamespace) -> int:
    return _gpu(handle, "nvmlDeviceGetPowerUsage").power_mw


def nvmlDeviceGetEnforcedPowerLimit(handle: SimpleNamespace) -> int:
    return _gpu(handle, "nvmlDeviceGetEnforcedPowerLimit").limit_mw


def nvmlDeviceGetFanSpeed(handle: SimpleNamespace) -> int:
    gpu = _gpu(handle, "nvmlDeviceGetFanSpeed")
    if gpu.fan is None:
        _fail(_real.NVML_ERROR_NOT_SUPPORTED)
    assert gpu.fan is not None
    return gpu.fan


def _processes(gpu: FakeGpu) -> list[SimpleNamespace]:
    return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in gpu.processes]


def nvmlDeviceGetComputeRunningProcesses(handle: SimpleNamespace) -> list[SimpleNamespace]:
    return _processes(_gpu(handle, "nvmlDeviceGetComputeRunningProcesses"))


def nvmlDeviceGetComputeRunningProcesses_v2(handle: SimpleNamespace) -> list[SimpleNamespace]:
    return _processes(_gpu(handle, "nvmlDeviceGetComputeRunningProcesses_v2"))


def eight_gpus() -> list[FakeGpu]:
    """A busy 8-GPU server, as in the benchmark."""
    return [
        FakeGpu(
            uuid=f"GPU-{index:08x}-aaaa-bbbb-cccc-000000000000",
            memory_used=(10 + index) * GIB,
            util_gpu=10 * index,
            temperature=40 + index,
            processes=[(10_000 + index, (9 + index) * GIB), (20_000 + index, GIB)],
        )
        for index in range(8)
    ]
