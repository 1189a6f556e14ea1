"""GPU readings (public): NVIDIA GPUs through NVML as plain, typed snapshots, and simulated GPUs
for machines without any. It never raises because a driver is missing: it reports no GPUs and
says why. Who holds which GPU is the service's business (`ExperimentManager.gpu_holders()`).
"""

from ._io.gpus import (
    SIMULATED_GPUS_ENV,
    GpuBackend,
    GpuMonitor,
    GpuProcess,
    GpuReport,
    GpuSample,
    GpuSnapshot,
    NvmlBackend,
    NvmlSession,
    SimulatedBackend,
    default_backend,
    probe,
)

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
