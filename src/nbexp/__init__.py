"""nbexp: launch and watch long-running experiments from Jupyter, the terminal or Python."""

from __future__ import annotations

from typing import Any

from ._errors import (
    GpuConflict,
    GpuUnavailable,
    InvalidTransition,
    NbexpError,
    NotFound,
    SpawnFailed,
    StoreError,
    UsageError,
    WaitTimeout,
)
from ._manager import Experiment, ExperimentManager
from .states import Status

__version__ = "0.1.0"

__all__ = [
    "Dashboard",
    "Experiment",
    "ExperimentManager",
    "GpuConflict",
    "GpuUnavailable",
    "InvalidTransition",
    "NbexpError",
    "NotFound",
    "SpawnFailed",
    "Status",
    "StoreError",
    "UsageError",
    "WaitTimeout",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The widget pulls in ipywidgets; runners and the CLI never pay for it.
    if name == "Dashboard":
        from ._dashboard import Dashboard

        return Dashboard
    raise AttributeError(f"module 'nbexp' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    from ._magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from ._magics import unload_ipython_extension as unload

    unload(ipython)
