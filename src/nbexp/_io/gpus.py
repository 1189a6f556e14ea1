"""GPU readings: NVIDIA GPUs read through NVML (nvidia-ml-py) as plain, typed snapshots.

It never raises because a driver or library is missing: it reports no GPUs and says why. A
simulated backend (NBEXP_SIMULATED_GPUS) stands in on machines without GPUs, always labelled.
"""

from __future__ import annotations

import collections
import importlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    from .._core.records import ExperimentRecord

__all__ = [
    "SIMULATED_GPUS_ENV",
    "GpuBackend",
    "GpuMonitor",
    "GpuProcess",
    "GpuReport",
    "GpuSample",
    "GpuSnapshot",
    "NvmlBackend",
    "NvmlSession",
    "SimulatedBackend",
    "default_backend",
    "probe",
]

SIMULATED_GPUS_ENV = "NBEXP_SIMULATED_GPUS"
HISTORY_LENGTH = 600  # samples per GPU: 10 minutes at one sample a second
_GIB = 1024**3
_T = TypeVar("_T")


# -- readings ---------------------------------------------------------------------------------


class GpuProcess(NamedTuple):
    """A compute process that holds a context on a GPU."""

    pid: int  # as NVML sees it: the host's pid namespace (differs inside most containers)
    used_memory: int | None  # bytes; None when the driver does not say (WDDM, some MIG setups)


@dataclass(frozen=True)
class GpuSnapshot:
    """One GPU at one moment. Any reading NVML could not give is None (shown as N/A)."""

    index: int  # NVML / nvidia-smi index, i.e. PCI bus order (CUDA_DEVICE_ORDER=PCI_BUS_ID)
    uuid: str | None  # "GPU-…"; stable across reboots and renumbering
    name: str | None  # e.g. "NVIDIA H200"
    memory_used: int | None  # bytes
    memory_total: int | None  # bytes
    utilization_gpu: int | None  # %: share of the last sample period in which a kernel ran
    utilization_memory: int | None  # %: share of that period in which memory was read/written
    temperature: int | None  # °C, GPU die
    power_draw: float | None  # W
    power_limit: float | None  # W, the enforced limit
    fan_speed: int | None  # % of maximum; None on passively cooled (data-centre) GPUs
    processes: tuple[GpuProcess, ...] | None = ()  # None: the process list could not be read
    problem: str | None = None  # why this GPU could not be read (lost, no permission…)
    simulated: bool = False

    @property
    def memory_fraction(self) -> float | None:
        """Used memory as a fraction of the total (0..1), or None when unknown."""
        if self.memory_used is None or not self.memory_total:
            return None
        return self.memory_used / self.memory_total

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "uuid": self.uuid,
            "name": self.name,
            "memory_used": self.memory_used,
            "memory_total": self.memory_total,
            "utilization_gpu": self.utilization_gpu,
            "utilization_memory": self.utilization_memory,
            "temperature": self.temperature,
            "power_draw": self.power_draw,
            "power_limit": self.power_limit,
            "fan_speed": self.fan_speed,
            "processes": None
            if self.processes is None
            else [{"pid": p.pid, "used_memory": p.used_memory} for p in self.processes],
            "problem": self.problem,
            "simulated": self.simulated,
        }


@dataclass(frozen=True)
class GpuReport:
    """Every GPU of this machine at one moment, or none and the reason why."""

    gpus: tuple[GpuSnapshot, ...]
    reason: str | None = None  # why `gpus` is empty, in words a person can act on
    simulated: bool = False
    driver_version: str | None = None
    taken_at: float = field(default_factory=time.time)  # seconds since the epoch

    def get(self, index: int) -> GpuSnapshot | None:
        return next((g for g in self.gpus if g.index == index), None)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form used by `nbexp gpus --json` and the dashboard."""
        return {
            "gpus": [g.to_json() for g in self.gpus],
            "reason": self.reason,
            "simulated": self.simulated,
            "driver_version": self.driver_version,
            "taken_at": self.taken_at,
        }


class GpuSample(NamedTuple):
    """One point of a GPU's history, for meters and sparklines."""

    time: float  # seconds since the epoch
    memory_used: int | None  # bytes
    utilization_gpu: int | None  # %
    temperature: int | None  # °C
    power_draw: float | None  # W


class GpuBackend(Protocol):
    """Something that can read every GPU once."""

    def read(self) -> GpuReport: ...


# -- NVML -----------------------------------------------------------------------------------

# NVML's error codes are part of its C ABI (nvml.h) and never change; naming them here lets the
# reasons below be chosen without the library being importable.
_ERR_NO_PERMISSION = 4
_ERR_DRIVER_NOT_LOADED = 9
_ERR_LIBRARY_NOT_FOUND = 12
_ERR_GPU_IS_LOST = 15
_ERR_RESET_REQUIRED = 16
_ERR_LIB_RM_VERSION_MISMATCH = 18

_SIMULATE_HINT = f"(set {SIMULATED_GPUS_ENV}=2 to try nbexp with simulated GPUs)"
_INIT_REASONS = {
    _ERR_LIBRARY_NOT_FOUND: "NVIDIA driver not found: libnvidia-ml.so.1 is missing; install the "
    "NVIDIA driver (nvidia-smi should then list your GPUs) " + _SIMULATE_HINT,
    _ERR_DRIVER_NOT_LOADED: "the NVIDIA driver is installed but not loaded (nvidia-smi fails "
    "too); load it with `sudo modprobe nvidia` or reboot",
    _ERR_LIB_RM_VERSION_MISMATCH: "NVIDIA driver/library version mismatch: libnvidia-ml.so "
    "and the loaded kernel module differ, usually after a driver upgrade without a reboot; "
    "reboot the machine (or reload the nvidia kernel modules)",
    _ERR_NO_PERMISSION: "no permission to use the NVIDIA devices (/dev/nvidia*); ask an "
    "administrator to add you to the group that owns them (often `video`)",
}
_NO_GPU_REASON = (
    "no NVIDIA GPU found: the driver is loaded but reports 0 GPUs (in a container, start it "
    "with `--gpus all`; check `nvidia-smi`)"
)
_RETRY_INIT_AFTER_S = 30.0  # a failed init is retried, but not on every one-second tick


class _GpuLost(Exception):
    """Internal: an NVML call said the GPU fell off the bus; ends reading that GPU."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _error_code(error: BaseException) -> int | None:
    value = getattr(error, "value", None)
    return value if isinstance(value, int) else None


def _query(func: Callable[..., _T], *args: Any, default: _T | None = None) -> _T | None:
    """Call one NVML function; any failure becomes `default` so one field never spoils a reading.

    Only "the GPU is gone" escapes (as _GpuLost): every further call on it would fail too.
    """
    try:
        return func(*args)
    except Exception as error:  # NVMLError, NVMLLibraryMismatchError, ctypes errors alike
        code = _error_code(error)
        if code in (_ERR_GPU_IS_LOST, _ERR_RESET_REQUIRED):
            raise _GpuLost(code) from None
        return default


def _text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):  # very old bindings return bytes
        return value.decode("utf-8", "replace")
    return value


def _init_reason(error: BaseException) -> str:
    if isinstance(error, ImportError):
        return (
            "nvidia-ml-py is not installed (pip install nvidia-ml-py), so nbexp cannot read "
            "NVIDIA GPUs"
        )
    code = _error_code(error)
    if code in _INIT_REASONS:
        return _INIT_REASONS[code]
    return f"NVML could not start: {error} (does `nvidia-smi` work?)"


def _lost_reason(code: int) -> str:
    if code == _ERR_RESET_REQUIRED:
        return "the GPU needs a reset (`nvidia-smi -r -i N` as root, or reboot)"
    return "the GPU is lost (fell off the bus); check `dmesg` for Xid errors and reboot"


class NvmlSession:
    """The process's one NVML initialisation, shared by every reader and thread.

    NVML is initialised lazily on the first read, never at import, and retried later when it
    failed (a driver may be installed meanwhile) or after a GPU was lost (handles go stale).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._nvml: ModuleType | None = None
        self._failure: str | None = None
        self._retry_at = 0.0  # clock time before which a failed init is not retried
        self._reinit_at: float | None = None  # set while a GPU is lost: re-init then
        self._driver_version: str | None = None
        self.init_count = 0  # how many times nvmlInit succeeded (tests check "once")

    def read(self) -> GpuReport:
        with self._lock:  # one reader at a time: a re-init must not pull handles from under one
            if self._reinit_at is not None and self._clock() >= self._reinit_at:
                self._shutdown()  # a GPU was lost: after a reset it needs fresh handles
            nvml = self._ensure_initialised()
            if nvml is None:
                return GpuReport((), reason=self._failure)
            return self._read_all(nvml)

    def _ensure_initialised(self) -> ModuleType | None:
        if self._nvml is not None or self._clock() < self._retry_at:
            return self._nvml
        try:
            nvml = importlib.import_module("pynvml")  # lazily: importing nbexp never needs NVML
            nvml.nvmlInit()
        except Exception as error:  # ImportError, NVMLError: both leave us without GPUs
            self._failure = _init_reason(error)
            self._retry_at = self._clock() + _RETRY_INIT_AFTER_S
            return None
        self.init_count += 1
        self._nvml, self._failure = nvml, None
        self._driver_version = _text(_query(nvml.nvmlSystemGetDriverVersion))
        return nvml

    def _read_all(self, nvml: ModuleType) -> GpuReport:
        try:
            count = nvml.nvmlDeviceGetCount()
        except Exception as error:
            self._shutdown()
            self._failure = _init_reason(error)
            self._retry_at = self._clock() + _RETRY_INIT_AFTER_S
            return GpuReport((), reason=self._failure, driver_version=self._driver_version)
        gpus = tuple(_read_gpu(nvml, index) for index in range(count))
        if any(g.problem for g in gpus) and self._reinit_at is None:
            # Keep serving the healthy GPUs meanwhile; re-initialising on every tick would be slow.
            self._reinit_at = self._clock() + _RETRY_INIT_AFTER_S
        reason = None if gpus else _NO_GPU_REASON
        return GpuReport(gpus, reason=reason, driver_version=self._driver_version)

    def _shutdown(self) -> None:
        if self._nvml is not None:
            _query(self._nvml.nvmlShutdown)
        self._nvml, self._reinit_at = None, None


def _read_gpu(nvml: ModuleType, index: int) -> GpuSnapshot:
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        return _read_handle(nvml, index, handle)
    except _GpuLost as lost:
        return _unreadable(index, _lost_reason(lost.code))
    except Exception as error:  # the handle itself failed: nothing else can be read
        code = _error_code(error)
        why = _lost_reason(code) if code in (_ERR_GPU_IS_LOST, _ERR_RESET_REQUIRED) else None
        return _unreadable(index, why or f"cannot open GPU {index}: {error}")


def _unreadable(index: int, problem: str) -> GpuSnapshot:
    return GpuSnapshot(
        index, None, None, None, None, None, None, None, None, None, None, None, problem
    )


def _read_handle(nvml: ModuleType, index: int, handle: Any) -> GpuSnapshot:
    memory = _read_memory(nvml, handle)
    rates = _query(nvml.nvmlDeviceGetUtilizationRates, handle)
    power = _query(nvml.nvmlDeviceGetPowerUsage, handle)  # mW
    limit = _query(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)  # mW
    return GpuSnapshot(
        index=index,
        uuid=_text(_query(nvml.nvmlDeviceGetUUID, handle)),
        name=_text(_query(nvml.nvmlDeviceGetName, handle)),
        memory_used=int(memory.used) if memory is not None else None,
        memory_total=int(memory.total) if memory is not None else None,
        utilization_gpu=int(rates.gpu) if rates is not None else None,
        utilization_memory=int(rates.memory) if rates is not None else None,
        temperature=_read_temperature(nvml, handle),
        power_draw=power / 1000 if power is not None else None,
        power_limit=limit / 1000 if limit is not None else None,
        fan_speed=_query(nvml.nvmlDeviceGetFanSpeed, handle),
        processes=_read_processes(nvml, handle),
    )


def _read_temperature(nvml: ModuleType, handle: Any) -> int | None:
    # The classic call works on every driver; NVML marks it deprecated for CUDA 14, whose
    # drivers will only have the versioned one.
    celsius = _query(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
    if celsius is None and hasattr(nvml, "nvmlDeviceGetTemperatureV"):
        celsius = _query(nvml.nvmlDeviceGetTemperatureV, handle, nvml.NVML_TEMPERATURE_GPU)
    return int(celsius) if celsius is not None else None


def _read_memory(nvml: ModuleType, handle: Any) -> Any:
    # v2 leaves driver-reserved memory out of "used", as nvidia-smi does; v1 (older drivers)
    # counts it, so an idle GPU would look a few hundred MiB busy.
    version = getattr(nvml, "nvmlMemory_v2", None)
    memory = _query(nvml.nvmlDeviceGetMemoryInfo, handle, version) if version else None
    return memory if memory is not None else _query(nvml.nvmlDeviceGetMemoryInfo, handle)


def _read_processes(nvml: ModuleType, handle: Any) -> tuple[GpuProcess, ...] | None:
    # The unversioned call is v3; drivers older than ~510 only have v2.
    found = _query(nvml.nvmlDeviceGetComputeRunningProcesses, handle)
    if found is None and hasattr(nvml, "nvmlDeviceGetComputeRunningProcesses_v2"):
        found = _query(nvml.nvmlDeviceGetComputeRunningProcesses_v2, handle)
    if found is None:
        return None
    memory_by_pid: dict[int, int | None] = {}
    for process in found:  # a pid appears once per MIG instance it uses: add them up
        pid, used = int(process.pid), process.usedGpuMemory
        if pid in memory_by_pid and memory_by_pid[pid] is not None and used is not None:
            memory_by_pid[pid] = (memory_by_pid[pid] or 0) + int(used)
        elif pid not in memory_by_pid:
            memory_by_pid[pid] = int(used) if used is not None else None
    return tuple(GpuProcess(pid, used) for pid, used in memory_by_pid.items())


_SESSION = NvmlSession()


class NvmlBackend:
    """Real GPUs, through the process-wide NVML session."""

    def __init__(self, session: NvmlSession | None = None) -> None:
        self.session = session or _SESSION

    def read(self) -> GpuReport:
        return self.session.read()


# -- simulated GPUs -------------------------------------------------------------------------


@dataclass(frozen=True)
class _SimulatedSpec:
    name: str
    memory_total: int  # bytes
    power_limit: float  # W
    has_fan: bool


_DEFAULT_SPEC = _SimulatedSpec("A100 80GB", 80 * _GIB, 400.0, False)  # shown "(simulated)"


def _simulated_name(name: str) -> str:
    return name if "(simulated)" in name else f"{name} (simulated)"


def _parse_simulated_env(value: str) -> list[_SimulatedSpec]:
    """GPU specs from NBEXP_SIMULATED_GPUS: a count, or a JSON file with a list of GPUs."""
    value = value.strip()
    if value.isdigit():
        count = int(value)
        if count > 64:
            raise ValueError(f"{count} is more GPUs than any machine has (at most 64)")
        return [_DEFAULT_SPEC] * count
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError(f"{value!r} is neither a number of GPUs nor an existing JSON file")
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f'{path} must hold a JSON list of objects like {{"name": "A100"}}')
    return [_spec_from_json(entry) for entry in entries]


def _spec_from_json(entry: Mapping[str, Any]) -> _SimulatedSpec:
    try:
        return _SimulatedSpec(
            name=str(entry.get("name", _DEFAULT_SPEC.name)),
            memory_total=int(float(entry.get("memory_total_gb", 80)) * _GIB),
            power_limit=float(entry.get("power_limit_w", _DEFAULT_SPEC.power_limit)),
            has_fan=bool(entry.get("fan", False)),
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"bad simulated GPU {dict(entry)!r}: {error}") from None


def _wave(t: float, seed: float) -> float:
    """Smooth, deterministic pseudo-noise in [0, 1]: the same time gives the same reading."""
    slow = math.sin(t / 23.0 + seed * 1.3)
    medium = math.sin(t / 6.1 + seed * 2.7)
    fast = math.sin(t * 1.37 + seed * 4.1)
    return 0.5 + 0.25 * slow + 0.15 * medium + 0.1 * fast


class SimulatedBackend:
    """Plausible GPUs for machines without any; experiments nbexp assigned to them show up."""

    def __init__(
        self,
        specs: Sequence[_SimulatedSpec] | int = 2,
        home: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        problem: str | None = None,
    ) -> None:
        self.specs = [_DEFAULT_SPEC] * specs if isinstance(specs, int) else list(specs)
        self.home = home
        self._clock = clock
        self._problem = problem  # a bad NBEXP_SIMULATED_GPUS value, reported instead of GPUs
        self._store: Any = None
        # Who holds which simulated GPU: GPU index -> [(experiment id, pid)]. None: the home's
        # running experiments (a Slurm job's telemetry sidecar names its own job instead).
        self.holders: Callable[[], dict[int, list[tuple[int, int | None]]]] | None = None

    @classmethod
    def from_env(cls, value: str, home: Path | None = None) -> SimulatedBackend:
        try:
            return cls(_parse_simulated_env(value), home)
        except ValueError as error:
            return cls([], home, problem=f"{SIMULATED_GPUS_ENV}={value}: {error}")

    def read(self) -> GpuReport:
        if self._problem:
            return GpuReport((), reason=self._problem, simulated=True)
        now = self._clock()
        holders = self._running_holders()
        gpus = tuple(
            self._snapshot(i, spec, now, holders.get(i, [])) for i, spec in enumerate(self.specs)
        )
        reason = None if gpus else f"{SIMULATED_GPUS_ENV}=0: no simulated GPUs"
        return GpuReport(
            gpus, reason=reason, simulated=True, driver_version="simulated", taken_at=now
        )

    def _running_holders(self) -> dict[int, list[tuple[int, int | None]]]:
        """GPU index → (experiment id, pid) of running experiments nbexp assigned to it."""
        if self.holders is not None:
            return self.holders()
        records = self._running_records()
        holders: dict[int, list[tuple[int, int | None]]] = {}
        for record in records:
            for index in record.assigned_gpus or []:
                if isinstance(index, int):
                    holders.setdefault(index, []).append((record.id, record.pid))
        return holders

    def _running_records(self) -> list[ExperimentRecord]:
        if self.home is None:
            return []
        from .._core.errors import StoreError
        from .._core.states import HOLDING
        from .paths import database_path
        from .store import Store

        if self._store is None:
            if not database_path(self.home).exists():
                return []  # never create a database just to show GPUs
            self._store = Store(self.home)
        try:
            return list(self._store.list(list(HOLDING)))  # paused ones keep their GPUs
        except StoreError:
            return []  # a busy database must not blank the meters
        finally:
            # Read from whichever thread samples (a monitor that ends): close as we go.
            self._store.close_thread()

    def _snapshot(
        self, index: int, spec: _SimulatedSpec, now: float, holders: list[tuple[int, int | None]]
    ) -> GpuSnapshot:
        processes = tuple(
            GpuProcess(pid, self._experiment_memory(spec, experiment_id, len(holders), now))
            for experiment_id, pid in holders
            if pid is not None
        )
        busy = bool(holders)
        idle_memory = int((0.4 + 0.1 * _wave(now, index)) * _GIB)
        used = idle_memory + sum(p.used_memory or 0 for p in processes)
        load = _wave(now, index + 0.5)
        util = 70 + 29 * load if busy else 3 * load
        return GpuSnapshot(
            index=index,
            uuid=f"GPU-00000000-0000-4000-8000-{index:012d}",
            name=_simulated_name(spec.name),
            memory_used=min(used, spec.memory_total),
            memory_total=spec.memory_total,
            utilization_gpu=round(util),
            utilization_memory=round(util * (0.35 + 0.3 * _wave(now, index + 7))),
            temperature=round((62 if busy else 33) + 14 * load),
            power_draw=round(spec.power_limit * ((0.55 if busy else 0.12) + 0.35 * load), 1),
            power_limit=spec.power_limit,
            fan_speed=round((55 if busy else 30) + 20 * load) if spec.has_fan else None,
            processes=processes,
            simulated=True,
        )

    def _experiment_memory(
        self, spec: _SimulatedSpec, experiment_id: int, sharing: int, now: float
    ) -> int:
        # Each experiment settles at its own share (by id) and breathes a little over time.
        share = 0.35 + 0.4 * _wave(experiment_id * 97.0, experiment_id)
        share += 0.03 * _wave(now, experiment_id + 0.25)
        return int(spec.memory_total * min(share, 0.95) / max(sharing, 1))


def default_backend(home: Path | None = None) -> GpuBackend:
    """Simulated GPUs when NBEXP_SIMULATED_GPUS is set (and not 0), otherwise real ones."""
    value = os.environ.get(SIMULATED_GPUS_ENV, "").strip()
    if value and value != "0":
        return SimulatedBackend.from_env(value, home)
    return NvmlBackend()


def probe(home: Path | None = None) -> GpuReport:
    """Read every GPU once. `home` lets simulated GPUs show nbexp's running experiments."""
    return default_backend(home).read()


# -- history --------------------------------------------------------------------------------


class GpuMonitor:
    """Samples the GPUs on demand and keeps a ring of recent readings per GPU."""

    def __init__(
        self,
        home: Path | None = None,
        *,
        backend: GpuBackend | None = None,
        history_length: int = HISTORY_LENGTH,
    ) -> None:
        self.backend = backend or default_backend(home)
        self.history_length = history_length
        self._rings: dict[int, collections.deque[GpuSample]] = {}
        self._lock = threading.Lock()  # the monitor thread appends while a widget reads
        self.last: GpuReport | None = None

    def sample(self) -> GpuReport:
        """Read every GPU now and append the readings to their history."""
        report = self.backend.read()
        with self._lock:
            for gpu in report.gpus:
                ring = self._rings.get(gpu.index)
                if ring is None:
                    ring = self._rings[gpu.index] = collections.deque(maxlen=self.history_length)
                ring.append(
                    GpuSample(
                        report.taken_at,
                        gpu.memory_used,
                        gpu.utilization_gpu,
                        gpu.temperature,
                        gpu.power_draw,
                    )
                )
            self.last = report
        return report

    def history(self, index: int) -> list[GpuSample]:
        """The GPU's readings, oldest first (empty for a GPU never seen)."""
        with self._lock:
            return list(self._rings.get(index, ()))
