"""nbexp: launch and watch long-running experiments from Jupyter, the terminal or Python."""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs every runner memory

__version__ = "0.1.0"

if TYPE_CHECKING:
    from typing import Any

    from ._core.errors import (
        Busy,
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
    from ._core.states import Status
    from ._group import Group
    from ._manager import Experiment, ExperimentManager
    from ._ui.dashboard import Dashboard

# Public names and the private module each lives in. Imported on first use, so that the runner
# (one per experiment, whose memory counts) and the CLI load only what they need.
_EXPORTS = {
    "Dashboard": "._ui.dashboard",
    "Experiment": "._manager",
    "Group": "._group",
    "ExperimentManager": "._manager",
    "Status": "._core.states",
    "Busy": "._core.errors",
    "GpuConflict": "._core.errors",
    "GpuUnavailable": "._core.errors",
    "InvalidTransition": "._core.errors",
    "NbexpError": "._core.errors",
    "NotFound": "._core.errors",
    "SpawnFailed": "._core.errors",
    "StoreError": "._core.errors",
    "UsageError": "._core.errors",
    "WaitTimeout": "._core.errors",
}

__all__ = [
    "Busy",
    "Dashboard",
    "Experiment",
    "ExperimentManager",
    "GpuConflict",
    "GpuUnavailable",
    "Group",
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
    import importlib  # here, not at the top: every runner imports this package

    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nbexp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    from ._magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from ._magics import unload_ipython_extension as unload

    unload(ipython)
