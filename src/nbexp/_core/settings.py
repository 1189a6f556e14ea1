"""Settings shared by every process of a home (stored as text in the store's settings table),
checked on the way in and on the way out: a bad stored value (an older nbexp wrote it, someone
edited the database) is reported and ignored, never a crash of every later command. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError

MAX_PARALLEL_CPU = "max_parallel_cpu"
GPU_BUSY_MEMORY_MB = "gpu_busy_memory_mb"
DEFAULT_GPU_BUSY_MEMORY_MB = 1024
ON_END = "on_end"
ON_END_TIMEOUT = "on_end_timeout"
DEFAULT_ON_END_TIMEOUT = 60
TEXT_SETTINGS = frozenset({ON_END})  # stored as given; the others are whole numbers

# name -> what it means (for errors and `nbexp config`)
SETTING_HELP = {
    MAX_PARALLEL_CPU: "how many CPU-only experiments may run at once (default: no limit)",
    GPU_BUSY_MEMORY_MB: "a GPU not held by nbexp counts as busy above this much used memory, "
    f"in MB (default {DEFAULT_GPU_BUSY_MEMORY_MB})",
    ON_END: "a shell command run when any attempt ends, unless it has its own on_end "
    "(docs/endings.md; default: none)",
    ON_END_TIMEOUT: f"seconds an on_end hook may run before it is stopped "
    f"(default {DEFAULT_ON_END_TIMEOUT})",
}


@dataclass(frozen=True)
class Settings:
    max_parallel_cpu: int | None = None
    gpu_busy_memory_mb: int = DEFAULT_GPU_BUSY_MEMORY_MB
    on_end: str | None = None
    on_end_timeout: int = DEFAULT_ON_END_TIMEOUT


def check_setting(key: object, value: object) -> str | None:
    """The text to store for `value` (None: reset to the default); UsageError when bad."""
    if key not in SETTING_HELP:
        raise UsageError(f"unknown setting {key!r}: use one of {', '.join(SETTING_HELP)}")
    if value is None:
        return None
    if key in TEXT_SETTINGS:
        if not isinstance(value, str) or "\0" in value:
            raise UsageError(f"{key} must be a shell command line (text) or None, not {value!r}")
        return value
    if key == ON_END_TIMEOUT and value == 0:
        raise UsageError(f"{key} must be a whole number of seconds above 0, not 0")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{key} must be a whole number >= 0 or None, not {value!r}")
    return str(value)


def parse_settings(stored: dict[str, str]) -> tuple[Settings, list[str]]:
    """Typed settings from the stored text, and a sentence per stored value that was ignored."""
    values: dict[str, int] = {}
    text_values: dict[str, str] = {}
    problems = []
    for key, text in stored.items():
        if key not in SETTING_HELP:
            continue  # a newer nbexp's setting: not ours to judge
        if key in TEXT_SETTINGS:
            text_values[key] = text
            continue
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
        on_end=text_values.get(ON_END),
        on_end_timeout=values.get(ON_END_TIMEOUT) or DEFAULT_ON_END_TIMEOUT,
    ), problems
