"""Settings shared by every process of a home (stored as text in the store's settings table),
checked on the way in and on the way out: a bad stored value (an older nbexp wrote it, someone
edited the database) is reported and ignored, never a crash of every later command. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError

MAX_PARALLEL_CPU = "max_parallel_cpu"
GPU_BUSY_MEMORY_MB = "gpu_busy_memory_mb"
DEFAULT_GPU_BUSY_MEMORY_MB = 1024

# name -> what it means (for errors and `nbexp config`)
SETTING_HELP = {
    MAX_PARALLEL_CPU: "how many CPU-only experiments may run at once (default: no limit)",
    GPU_BUSY_MEMORY_MB: "a GPU not held by nbexp counts as busy above this much used memory, "
    f"in MB (default {DEFAULT_GPU_BUSY_MEMORY_MB})",
}


@dataclass(frozen=True)
class Settings:
    max_parallel_cpu: int | None = None
    gpu_busy_memory_mb: int = DEFAULT_GPU_BUSY_MEMORY_MB


def check_setting(key: object, value: object) -> str | None:
    """The text to store for `value` (None: reset to the default); UsageError when bad."""
    if key not in SETTING_HELP:
        raise UsageError(f"unknown setting {key!r}: use one of {', '.join(SETTING_HELP)}")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{key} must be a whole number >= 0 or None, not {value!r}")
    return str(value)


def parse_settings(stored: dict[str, str]) -> tuple[Settings, list[str]]:
    """Typed settings from the stored text, and a sentence per stored value that was ignored."""
    values: dict[str, int] = {}
    problems = []
    for key, text in stored.items():
        if key not in SETTING_HELP:
            continue  # a newer nbexp's setting: not ours to judge
        if not (isinstance(text, str) and text.isascii() and text.isdigit()):
            problems.append(
                f"ignoring the stored setting {key}={text!r}: not a whole number >= 0 "
                f"(fix it with `nbexp config {key} VALUE` or reset it with `nbexp config {key} "
                "--unset`)"
            )
            continue
        values[key] = int(text)
    return Settings(
        max_parallel_cpu=values.get(MAX_PARALLEL_CPU),
        gpu_busy_memory_mb=values.get(GPU_BUSY_MEMORY_MB, DEFAULT_GPU_BUSY_MEMORY_MB),
    ), problems
