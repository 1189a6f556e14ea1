"""Durations as people write them ("2h", "90m", "1h30m", "30s", 45) and signals sent ahead of a
time limit ("USR1@60"), parsed and formatted. Pure.

The runner imports this module to read an experiment's early signal: only `signal` at run time
(no `re`, no typing), so it costs the runner nothing measurable.
"""

from __future__ import annotations

import signal

from .errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Units a duration may use, largest first (formatting walks them in this order).
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_UNIT_SECONDS = dict(_UNITS)
_EXAMPLES = "e.g. 2h, 90m, 1h30m, 45s or a number of seconds"


def parse_duration(value: Any, what: str) -> float:
    """Seconds (> 0) from a number of seconds or text such as "2h", "90m", "1h30m", "30s",
    "1d", "45" or Slurm's "H:MM:SS". UsageError naming `what` otherwise."""
    if isinstance(value, bool):
        raise UsageError(f"{what} must be a duration ({_EXAMPLES}), not {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value.strip().lower(), what, value)
    else:
        raise UsageError(f"{what} must be a duration ({_EXAMPLES}), not {value!r}")
    if not 0 < seconds < float("inf"):  # written so that NaN is refused too
        raise UsageError(f"{what} must be a duration above 0 ({_EXAMPLES}), not {value!r}")
    return seconds


def _parse_text(text: str, what: str, original: str) -> float:
    bad = UsageError(f"{what} must be a duration ({_EXAMPLES}), not {original!r}")
    if not text:
        raise bad
    if ":" in text:
        return _parse_clock(text, bad)
    if _is_number(text):
        return float(text)
    total, number = 0.0, ""
    seen: list[str] = []
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        elif char in _UNIT_SECONDS and number and _is_number(number) and char not in seen:
            total += float(number) * _UNIT_SECONDS[char]
            seen.append(char)
            number = ""
        elif char != " ":
            raise bad
    if number or not seen:
        raise bad  # "1h30": a number without its unit
    return total


def _parse_clock(text: str, bad: UsageError) -> float:
    """Slurm's "[D-]H:MM:SS" or "MM:SS"."""
    days, _, clock = text.rpartition("-") if "-" in text else ("0", "", text)
    parts = clock.split(":")
    if not (1 < len(parts) <= 3 and all(p.isdigit() for p in parts) and days.isdigit()):
        raise bad
    numbers = [int(p) for p in parts]
    while len(numbers) < 3:
        numbers.insert(0, 0)
    hours, minutes, seconds = numbers
    return int(days) * 86400 + hours * 3600 + minutes * 60 + seconds


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.replace(".", "", 1).isdigit()


def format_duration(seconds: float) -> str:
    """Short and exact enough for a reason: 5400 → "1h30m", 90 → "1m30s", 2 → "2s",
    0.5 → "0.5s"."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:.3g}s"
    rest = round(seconds)
    parts = []
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def slurm_time(seconds: float) -> str:
    """Slurm's `--time` for a limit of `seconds` (rounded up to whole minutes, its unit)."""
    minutes = max(1, -(-int(seconds) // 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    return f"{days}-{hours:02d}:{minutes:02d}:00" if days else f"{hours}:{minutes:02d}:00"


def parse_timeout_signal(value: Any, what: str = "timeout_signal") -> tuple[int, float]:
    """("USR1@60" or "SIGUSR1@5m") → (signal number, seconds before the limit)."""
    if not isinstance(value, str) or "@" not in value:
        raise UsageError(
            f"{what} must be SIGNAL@DURATION, e.g. USR1@60 (SIGUSR1 60 s before the time "
            f"limit), not {value!r}"
        )
    name, _, lead = value.strip().partition("@")
    name = name.strip().upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    number = getattr(signal, name, None)
    if not isinstance(number, signal.Signals) or name.startswith("SIG_"):
        raise UsageError(f"{what}: unknown signal {value.partition('@')[0]!r} (e.g. USR1, TERM)")
    if number in (signal.SIGKILL, signal.SIGSTOP):
        raise UsageError(f"{what}: {name} cannot be caught, so it could not warn the program")
    return int(number), parse_duration(lead, what)


class TimeLimit:
    """An attempt's time limit and the signal sent ahead of it, on a clock that stops while
    the attempt is paused. Times are the caller's monotonic seconds."""

    def __init__(self, seconds: float, early: tuple[int, float] | None = None) -> None:
        self.seconds = seconds
        self.early = early  # (signal, seconds before the limit)
        self.early_sent = False
        self.limit_at: float | None = None
        self.paused_since: float | None = None

    def start(self, now: float) -> None:
        self.limit_at = now + self.seconds

    def pause(self, now: float) -> None:
        if self.paused_since is None:
            self.paused_since = now

    def resume(self, now: float) -> None:
        if self.paused_since is not None and self.limit_at is not None:
            self.limit_at += now - self.paused_since
        self.paused_since = None

    def _next_at(self) -> float | None:
        if self.limit_at is None or self.paused_since is not None:
            return None
        if self.early is not None and not self.early_sent:
            return min(self.limit_at, self.limit_at - self.early[1])
        return self.limit_at

    def wait(self, now: float) -> float | None:
        """Seconds until something is due (None: nothing while paused or not started)."""
        next_at = self._next_at()
        return None if next_at is None else max(0.0, next_at - now)

    def due(self, now: float) -> str | None:
        """ "early" (send the signal now, once), "limit" (the time is up) or None."""
        next_at = self._next_at()
        if next_at is None or now < next_at:
            return None
        if self.early is not None and not self.early_sent:
            self.early_sent = True
            return "early"
        return "limit"

    def reason(self) -> str:
        """The outcome of an attempt this limit ended."""
        return f"timed out after {format_duration(self.seconds)}"

    def early_note(self, signal_text: str) -> str:
        """What the log says when the early signal (named `signal_text`) was sent."""
        lead = self.early[1] if self.early is not None else 0.0
        return f"sent {signal_text} {format_duration(lead)} before the time limit"
