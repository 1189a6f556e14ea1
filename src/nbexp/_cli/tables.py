"""Text for the terminal: the `nbexp gpus` table (memory and utilisation bars, who holds each
GPU), the cells and JSON of `nbexp ls` / `show` (which survive a corrupt row's odd fields), and
logs with their colours as ANSI codes (`nbexp logs --color`)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any, TextIO

from .._core.records import ExperimentRecord
from .._core.states import Status
from .._io.gpus import SIMULATED_GPUS_ENV, GpuReport, GpuSnapshot
from .._io.logs import render_file, rendered_batches
from ..terminal import Screen, Span, sgr

COLOR_CHOICES = ("auto", "always", "never")


def wants_color(choice: str, out: TextIO) -> bool:
    """The usual rule: colour on a terminal, none in a pipe or when NO_COLOR is set;
    `always` / `never` override both."""
    if choice in ("always", "never"):
        return choice == "always"
    if os.environ.get("NO_COLOR"):  # https://no-color.org: set and not empty
        return False
    return isatty(out)


def isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def cell(make: Callable[[], str], fallback: str = "?") -> str:
    """One table cell; a corrupt row's odd field shows as `fallback`, never as a traceback."""
    try:
        return make()
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError):
        return fallback


def clip(text: str, width: int) -> str:
    """`text` in at most `width` characters, ending in "…" when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def status_text(record: ExperimentRecord) -> str:
    status = record.status
    return status.value if isinstance(status, Status) else str(status)


_GIB = 1024**3


def format_runtime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_gpus(record: ExperimentRecord) -> str:
    gpus = record.assigned_gpus if record.assigned_gpus is not None else record.gpus
    if gpus is None:
        return "-"
    if isinstance(gpus, int):
        return f"any {gpus}"
    return ",".join(str(g) for g in gpus)


def pid_column(record: ExperimentRecord) -> str:
    if record.executor == "slurm":
        return f"slurm:{record.job_id}" if record.job_id else "slurm"
    return str(record.pid or "-") if record.status in (Status.RUNNING, Status.PAUSED) else "-"


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


_BAR_WIDTH = 10
_EIGHTHS = " ▏▎▍▌▋▊▉"
_RESET, _DIM, _BOLD = "\x1b[0m", "\x1b[2m", "\x1b[1m"
_GREEN, _YELLOW, _RED = "\x1b[32m", "\x1b[33m", "\x1b[31m"


def _bar(fraction: float | None, width: int = _BAR_WIDTH) -> str:
    """`[████▌     ]` filled to `fraction` in eighths of a cell; blank when unknown."""
    if fraction is None:
        return "[" + " " * width + "]"
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    cells = "█" * full + (_EIGHTHS[rest] if rest else "")
    return "[" + cells.ljust(width) + "]"


def _level_color(fraction: float | None) -> str:
    if fraction is None:
        return _DIM
    return _RED if fraction >= 0.9 else _YELLOW if fraction >= 0.6 else _GREEN


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _percent(fraction: float | None) -> str:
    return "N/A" if fraction is None else f"{round(fraction * 100)}%"


def _gib(value: int | None) -> str:
    return "N/A" if value is None else f"{value / _GIB:.1f}"


def _memory_cell(gpu: GpuSnapshot, color: bool) -> str:
    fraction = gpu.memory_fraction
    bar = _paint(_bar(fraction), _level_color(fraction), color)
    amount = f"{_gib(gpu.memory_used)}/{_gib(gpu.memory_total)} GiB"
    return f"{bar} {_percent(fraction):>4} {amount:>17}"


def _util_cell(gpu: GpuSnapshot, color: bool) -> str:
    util = gpu.utilization_gpu
    fraction = None if util is None else util / 100
    return f"{_paint(_bar(fraction), _level_color(fraction), color)} {_percent(fraction):>4}"


def _power_cell(gpu: GpuSnapshot) -> str:
    draw = "N/A" if gpu.power_draw is None else f"{gpu.power_draw:.0f}"
    limit = "N/A" if gpu.power_limit is None else f"{gpu.power_limit:.0f}"
    return f"{draw}/{limit} W"


def _default_holders(gpu: GpuSnapshot) -> list[str]:
    if gpu.processes is None:
        return ["? (processes unreadable)"]
    return [f"pid {p.pid}" for p in gpu.processes]


def _gpu_row(gpu: GpuSnapshot, holders: list[str], name_width: int, color: bool) -> str:
    name = (gpu.name or "N/A").ljust(name_width)
    if gpu.problem:
        return f"{gpu.index:>3}  {name}  " + _paint(f"⚠ {gpu.problem}", _RED, color)
    temp = "N/A" if gpu.temperature is None else f"{gpu.temperature}°C"
    fan = "" if gpu.fan_speed is None else f" fan {gpu.fan_speed}%"
    held = ", ".join(holders) if holders else _paint("free", _DIM, color)
    return (
        f"{gpu.index:>3}  {name}  {_memory_cell(gpu, color)}  {_util_cell(gpu, color)}  "
        f"{temp:>5}{fan}  {_power_cell(gpu):>11}  {held}"
    )


def format_gpu_table(
    report: GpuReport, holders: Mapping[int, list[str]] | None = None, *, color: bool = False
) -> str:
    """The `nbexp gpus` table: memory and utilisation bars, temperature, power, holders.

    `holders` maps a GPU index to who holds it ("#3 train", "pid 1234 (alice)"); without it the
    pids NVML reports are shown.
    """
    lines: list[str] = []
    if report.simulated:
        label = f"SIMULATED GPUs ({SIMULATED_GPUS_ENV} is set): not real hardware"
        lines.append(_paint(label, _BOLD + _YELLOW, color))
    if not report.gpus:
        lines.append(_paint(f"No GPUs: {report.reason or 'none found'}", _YELLOW, color))
        return "\n".join(lines)
    name_width = max(4, *(len(g.name or "N/A") for g in report.gpus))
    header = (
        f"GPU  {'NAME'.ljust(name_width)}  {'MEMORY'.ljust(_BAR_WIDTH + 25)}  "
        f"{'UTIL'.ljust(_BAR_WIDTH + 7)}  {'TEMP':>5}  {'POWER':>11}  HELD BY"
    )
    lines.append(_paint(header, _BOLD, color))
    for gpu in report.gpus:
        held = holders.get(gpu.index, []) if holders is not None else _default_holders(gpu)
        lines.append(_gpu_row(gpu, held, name_width, color))
    if report.driver_version and not report.simulated:
        lines.append(_paint(f"NVIDIA driver {report.driver_version}", _DIM, color))
    return "\n".join(lines)


# -- a rendered line's colours, re-emitted for the user's terminal ------------------------------


def ansi_line(text: str, spans: list[Span]) -> str:
    """A rendered line (`nbexp.terminal.Screen.styled_line`) with its colours as SGR codes."""
    if not spans:
        return text
    parts, position = [], 0
    for start, end, style in spans:
        code = sgr(style)
        parts.append(text[position:start])
        parts.append(code + text[start:end] + "\x1b[0m" if code else text[start:end])
        position = end
    parts.append(text[position:])
    return "".join(parts)


# -- records as JSON, logs as coloured text --------------------------------------------------


def record_json(record: ExperimentRecord) -> dict[str, Any]:
    try:
        return record.to_json()
    except (TypeError, ValueError, AttributeError):
        # A corrupt row's fields may have any type: show what there is.
        data = {f.name: getattr(record, f.name, None) for f in dataclasses.fields(record)}
        data["status"] = status_text(record)
        return data


def json_text(value: Any) -> str:
    """JSON of records, whatever odd values a corrupt row holds."""

    def fallback(odd: Any) -> Any:
        return odd.decode("utf-8", "replace") if isinstance(odd, bytes) else str(odd)

    return json.dumps(value, indent=2, default=fallback)


_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def write_plain_log(
    path: str | os.PathLike[str], out: TextIO, *, tail: int | None, rows: int
) -> bool:
    """A log's rendered lines (the last `tail`) without colours, streamed as they become final:
    memory holds a window of lines whatever the log's size. True when a line had text."""
    if tail is None:
        batches = rendered_batches(path, rows=rows)
    else:
        batches = iter([render_file(path, tail=tail, rows=rows)])
    had_text = False
    for batch in batches:
        if batch:
            out.write("\n".join(batch))
            out.write("\n")
            had_text = had_text or any(map(str.strip, batch))
    return had_text


def write_styled_log(
    path: str | os.PathLike[str], out: TextIO, *, tail: int | None, rows: int
) -> None:
    """A log's rendered lines (the last `tail`) with their colours, streamed: memory holds at
    most a screenful plus one chunk's lines (and `tail` lines)."""
    kept: deque[str] = deque(maxlen=tail)
    emit = kept.append if tail is not None else (lambda text: out.write(text + "\n"))
    chunk_size = 16 << 10
    next_line = 0  # the first line not yet emitted

    def left_memory(first: int, texts: list[str]) -> None:
        # Cannot happen with the sizes below (a chunk adds fewer lines than are kept); if it
        # did, the lines would still come out, uncoloured.
        nonlocal next_line
        for number, text in enumerate(texts, start=first):
            if number >= next_line:
                emit(text)
        next_line = max(next_line, first + len(texts))

    def emit_upto(upto: int) -> None:
        nonlocal next_line
        for number in range(max(next_line, screen.first_line), upto):
            emit(ansi_line(*screen.styled_line(number)))
        next_line = max(next_line, upto)

    screen = Screen(rows, max_lines=rows + chunk_size + 1024, on_final=left_memory)
    with suppress(FileNotFoundError), open(path, "rb") as log:
        while chunk := log.read(chunk_size):
            screen.feed(chunk)
            emit_upto(screen.final_count)
    emit_upto(screen.line_count)
    out.write("".join(text + "\n" for text in kept))
