"""Checks of what users pass to the manager: each bad value becomes one UsageError (or
NotFound) that says what to use instead. Pure functions, no I/O."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._errors import NotFound, UsageError
from .states import Status


def default_name(argv: list[str]) -> str:
    """A short readable name: the script for `python x.py`, else the program."""
    if len(argv) >= 2 and argv[1] in ("-c", "-m"):
        return " ".join(argv[:3])[:60] if argv[1] == "-m" else f"{os.path.basename(argv[0])} -c"
    words = [os.path.basename(a) for a in argv if not a.startswith("-")]
    if len(words) >= 2 and words[0].startswith(("python", "uv", "sh", "bash")):
        return words[1][:60]
    return (words[0] if words else argv[0])[:60]


def check_executor(executor: str) -> str:
    if executor not in ("local", "slurm"):
        raise UsageError(f"unknown executor {executor!r}: use 'local' or 'slurm'")
    return executor


def tty_options(tty: bool | tuple[int, int]) -> dict[str, Any]:
    if tty is False or tty is None:
        return {}
    size = (120, 40) if tty is True else tty
    # The kernel keeps a terminal's size in unsigned shorts: a bigger one would crash the runner.
    if not (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 65535 for n in size)
    ):
        raise UsageError(f"tty size must be (columns, rows) of ints from 1 to 65535, not {tty!r}")
    columns, rows = size
    return {"tty": {"columns": columns, "rows": rows}}


def parse_experiment_id(value: Any) -> int:
    """An id as an int; anything that is not one is simply not found."""
    if isinstance(value, bool):
        raise NotFound(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(value) from None


def check_ids(values: Any, what: str) -> list[int]:
    """Experiment ids given as a list (a lone int is accepted too)."""
    if values is None:
        return []
    if isinstance(values, int) and not isinstance(values, bool):
        values = [values]
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, set)):
        raise UsageError(f"{what} must be a list of experiment ids, e.g. [3, 4], not {values!r}")
    ids = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{what} must be a list of experiment ids, not {values!r}")
        ids.append(value)
    return ids


def check_env(env: Mapping[str, str] | None) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for key, value in (env or {}).items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise UsageError(f"invalid environment variable name {key!r}")
        # Numbers and paths read naturally as text; None or b"..." would become "None", "b'...'".
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or "\0" in value:
            raise UsageError(f"environment variable {key} must be a string, not {value!r}")
        overrides[key] = value
    return overrides


def check_gpu_request(gpus: int | Sequence[int | str] | None) -> Any:
    """None (CPU only), an int (any N free GPUs), or a list of indices / UUIDs."""
    if gpus is None:
        return None
    if isinstance(gpus, bool):
        raise UsageError("gpus must be a count (gpus=2) or a list (gpus=[0, 1]), not a bool")
    if isinstance(gpus, int):
        if gpus < 0:
            raise UsageError(f"gpus must be >= 0, not {gpus}")
        return gpus if gpus > 0 else None
    if isinstance(gpus, str):
        raise UsageError(f"gpus must be a list such as [0, 1] (got the string {gpus!r})")
    if not isinstance(gpus, Iterable):  # gpus=1.5: a TypeError from deep inside otherwise
        raise UsageError(f"gpus must be a count (gpus=2) or a list (gpus=[0, 1]), not {gpus!r}")
    request: list[int | str] = []
    for g in gpus:
        if isinstance(g, bool):
            raise UsageError(f"not a GPU index or UUID: {g!r}")
        if isinstance(g, int) or (isinstance(g, str) and g.isdigit()):
            request.append(int(g))
        elif isinstance(g, str) and g.startswith(("GPU-", "MIG-")):
            request.append(g)
        else:
            raise UsageError(f"not a GPU index or UUID: {g!r} (use 0, 1, … or GPU-xxxxxxxx…)")
    if len(set(map(str, request))) != len(request):
        raise UsageError(f"a GPU is listed twice in {list(gpus)!r}")
    return request


def parse_status(value: Status | str) -> Status:
    if isinstance(value, Status):
        return value
    try:
        return Status(value.lower())
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise UsageError(f"unknown status {value!r}: use one of {names}") from None
