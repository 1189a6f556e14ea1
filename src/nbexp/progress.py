"""Structured progress from rendered log lines: tqdm-, rich- and keras-style bars.

Pure functions over text (use `nbexp.terminal` first): `parse_progress(line)` reads one line,
`latest_progress(lines)` finds the current bar of a log, `nested_progress(lines)` the run's
progress when bars are nested (an epoch bar over a batch bar), `MetricHistory` keeps sparklines.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["MetricHistory", "Progress", "latest_progress", "nested_progress", "parse_progress"]


@dataclass(frozen=True)
class Progress:
    """One reading of a progress bar. Times are seconds; `rate` is `unit`s per second."""

    kind: str  # "tqdm", "rich" or "keras"
    description: str | None = None
    n: float | None = None
    total: float | None = None
    percent: float | None = None
    elapsed: float | None = None
    remaining: float | None = None  # the ETA
    rate: float | None = None
    unit: str | None = None
    metrics: dict[str, float] = field(default_factory=dict, hash=False)
    # The counts as the bar printed them, when it printed them scaled or with a unit (for
    # "4.5/10.0 MB", n is 4.5e6 and these are "4.5", "10.0" and "MB"); None for plain counts.
    n_text: str | None = None
    total_text: str | None = None
    count_unit: str | None = None
    # With nested bars, this reading is the outer bar's (epoch 2/3; `remaining` then covers the
    # whole run) and `inner` is the bar beneath it (batch 57/100).
    inner: Progress | None = field(default=None, compare=False)

    @property
    def fraction(self) -> float | None:
        return None if self.percent is None else self.percent / 100.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only; absent readings are null."""
        return {
            "kind": self.kind,
            "description": self.description,
            "n": _json_number(self.n),
            "total": _json_number(self.total),
            "percent": self.percent,
            "elapsed": self.elapsed,
            "remaining": self.remaining,
            "rate": self.rate,
            "unit": self.unit,
            "metrics": dict(self.metrics),
            "n_text": self.n_text,
            "total_text": self.total_text,
            "count_unit": self.count_unit,
            "inner": None if self.inner is None else self.inner.to_json(),
        }

    def short(self) -> str:
        """A compact summary for tables: "57% 120/210 ETA 0:03 loss=0.23"; with nested bars the
        outer count first: "epochs 1/3 · 57% 23/40 ETA 1:20 loss=0.23" (the run's ETA)."""
        parts = []
        if self.inner is not None:
            label = f"{self.description} " if self.description else ""
            count = (
                f"{self.n_text or _count_text(self.n)}/{self.total_text or _count_text(self.total)}"
            )
            parts.append(f"{label}{count} ·")
            inner = replace(self.inner, remaining=self.remaining, metrics=self.metrics)
            return " ".join([*parts, inner.short()])
        if self.percent is not None:
            parts.append(f"{self.percent:.0f}%")
        if self.n_text is not None:
            count = f"{self.n_text}/{self.total_text}" if self.total_text else self.n_text
            parts.append(f"{count} {self.count_unit}" if self.count_unit else count)
        elif self.n is not None:
            count = _count_text(self.n)
            parts.append(f"{count}/{_count_text(self.total)}" if self.total else count)
        if self.remaining is not None:
            parts.append("ETA " + _duration_text(self.remaining))
        parts.extend(f"{name}={value:.4g}" for name, value in list(self.metrics.items())[:2])
        return " ".join(parts) or self.kind


# What every bar below shows somewhere: tqdm's "%|" or its "[elapsed, rate]", keras' "[==>..]",
# "━━━" or "/Unknown", rich's box-drawing bar. A line without any of them is not tried against
# the parsers' regexes (a table row looks at a log's last lines every second).
_MAYBE_BAR = re.compile(r"[\[━╸╺╾╼─]|%\||/Unknown")


def parse_progress(line: str) -> Progress | None:
    """The progress shown by one rendered line, or None if it is not a progress bar."""
    if len(line) > 4096 or _MAYBE_BAR.search(line) is None:
        return None  # not a bar (and a bounded cost for the regexes below)
    for parser in (_parse_tqdm, _parse_keras, _parse_rich):
        found = parser(line)
        if found is not None:
            return found
    return None


def latest_progress(lines: Sequence[str], *, max_scan: int = 200) -> Progress | None:
    """The most recent bar among a log's last rendered lines (scanned from the end)."""
    for line in reversed(lines[-max_scan:]):
        if line.strip():
            found = parse_progress(line)
            if found is not None:
                return found
    return None


def nested_progress(lines: Sequence[str], *, max_scan: int = 200) -> Progress | None:
    """The run's progress from a log's last rendered lines: its current bar, or, when an
    unfinished outer bar is drawn right above it (tqdm's nested bars; keras' "Epoch 2/10"
    line), the outer bar with the current one as `inner`, a percentage of the whole run and an
    ETA that covers the rest of the run, not just the current epoch."""
    scanned = lines[-max_scan:]
    for index in range(len(scanned) - 1, -1, -1):
        if not scanned[index].strip():
            continue
        inner = parse_progress(scanned[index])
        if inner is None:
            continue
        outer = _outer_bar(scanned[index - 1], inner) if index > 0 else None
        return inner if outer is None else _nest(outer, inner)
    return None


_KERAS_EPOCH = re.compile(r"^\s*Epoch (\d+)/(\d+)\s*$")


def _outer_bar(line: str, inner: Progress) -> Progress | None:
    if inner.kind == "keras":
        match = _KERAS_EPOCH.match(line)
        if match is None:
            return None
        # "Epoch 2/10" is printed as epoch 2 starts: one epoch done.
        done, total = float(match[1]) - 1, float(match[2])
        return Progress(
            kind="keras",
            description="Epoch",
            n=done,
            total=total,
            n_text=match[1],
            total_text=match[2],
        )
    outer = parse_progress(line) if line.strip() else None
    if outer is None or outer.total is None or outer.n is None or outer.n >= outer.total:
        return None  # only an unfinished bar with a total can be the run's outer bar
    if (outer.description, outer.total) == (inner.description, inner.total):
        return None
    return outer


def _nest(outer: Progress, inner: Progress) -> Progress:
    assert outer.total is not None and outer.n is not None
    fraction = inner.fraction if inner.fraction is not None else 0.0
    per_outer = _seconds_per_outer_step(outer, inner, fraction)
    remaining = None
    if per_outer is not None:
        inner_left = inner.remaining if inner.remaining is not None else (1 - fraction) * per_outer
        remaining = inner_left + max(0.0, outer.total - outer.n - 1) * per_outer
    return replace(
        outer,
        percent=max(0.0, min(100.0, 100.0 * (outer.n + fraction) / outer.total)),
        remaining=remaining,
        metrics={**outer.metrics, **inner.metrics},
        inner=inner,
    )


def _seconds_per_outer_step(outer: Progress, inner: Progress, fraction: float) -> float | None:
    """How long one outer step (an epoch) takes: from the inner bar's total and rate, else its
    elapsed + remaining, else the outer bar's own pace."""
    if inner.total and inner.rate:
        return inner.total / inner.rate
    if inner.elapsed is not None and inner.remaining is not None:
        return inner.elapsed + inner.remaining
    done = (outer.n or 0.0) + fraction
    if outer.elapsed and done > 0:
        return outer.elapsed / done
    return None


class MetricHistory:
    """Bounded history of postfix metrics (for sparklines): `maxlen` values per metric, at
    most `max_metrics` metric names; the same reading added twice in a row counts once."""

    def __init__(self, maxlen: int = 200, max_metrics: int = 32) -> None:
        self.maxlen = maxlen
        self.max_metrics = max_metrics
        self._series: dict[str, deque[float]] = {}
        self._last: tuple[Any, ...] | None = None

    def add(self, progress: Progress | None) -> None:
        if progress is None or not progress.metrics:
            return
        key = (progress.n, progress.elapsed, tuple(progress.metrics.items()))
        if key == self._last:
            return  # a poll that saw the same bar again
        self._last = key
        for name, value in progress.metrics.items():
            series = self._series.get(name)
            if series is None:
                if len(self._series) >= self.max_metrics:
                    continue
                series = self._series[name] = deque(maxlen=self.maxlen)
            series.append(value)

    def names(self) -> list[str]:
        return list(self._series)

    def series(self, name: str) -> list[float]:
        return list(self._series.get(name, ()))

    def to_json(self) -> dict[str, list[float]]:
        return {name: list(values) for name, values in self._series.items()}


# ---------------------------------------------------------------------------- tqdm

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SCALED = rf"{_NUMBER}[kMGTPEZY]?"
_INTERVAL = r"(?:\d+d,? )?\d+:\d{2}(?::\d{2})?"
# tqdm's default: "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}"
#                 " [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
_TQDM_KNOWN = re.compile(
    rf"(?P<pct>\d{{1,3}}(?:\.\d+)?)%\|[^|]*\|\s*(?P<n>{_SCALED})/(?P<total>{_SCALED})"
    rf"(?:\s*\[(?P<elapsed>{_INTERVAL})<(?P<remaining>{_INTERVAL}|\?)"
    r"(?:,\s*(?P<rate>[^,\]]*))?(?P<postfix>,[^\]]*)?\])?"
)
# Unknown total: "{desc}: {n_fmt}{unit} [{elapsed}, {rate_fmt}{postfix}]". The unit holds no
# colon, so a number in the description ("epoch 1: 17it [...]") is not taken for the count;
# text after the "]" (a line printed while the bar is drawn) does not hide the frame.
_TQDM_UNKNOWN = re.compile(
    rf"(?:^|:\s|\s)(?P<n>{_SCALED})(?P<unit>[^\s\[\]\d:][^\[\]:]*?)?\s\[(?P<elapsed>{_INTERVAL}),"
    r"\s*(?P<rate>[^,\]]*)(?P<postfix>,[^\]]*)?\]"
)
_RATE = re.compile(rf"^\s*(?P<num>{_NUMBER}|\?)\s*(?P<scale>[kMGTPEZY]?)(?P<rest>\S*)\s*$")
_SCALES = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21}
_SCALES["Y"] = 1e24


def _parse_tqdm(line: str) -> Progress | None:
    match = _TQDM_KNOWN.search(line)
    if match is not None:
        n, total = _scaled(match["n"]), _scaled(match["total"])
        rate, unit = _tqdm_rate(match["rate"])
        # unit_scale: "1.20k/10.0k"; the unit is only printed with the rate ("it/s").
        printed = _has_scale(match["n"]) or _has_scale(match["total"])
        return Progress(
            kind="tqdm",
            description=_description(line[: match.start()]),
            n=n,
            total=total,
            percent=_percent(n, total, float(match["pct"])),
            elapsed=_interval(match["elapsed"]),
            remaining=_interval(match["remaining"]),
            rate=rate,
            unit=unit,
            metrics=_postfix_metrics(match["postfix"]),
            n_text=match["n"] if printed else None,
            total_text=match["total"] if printed else None,
            count_unit=unit if printed else None,
        )
    match = _TQDM_UNKNOWN.search(line)
    if match is None:
        return None
    rate, unit = _tqdm_rate(match["rate"])
    unit = unit or (match["unit"] or "").strip() or None
    printed = _has_scale(match["n"])
    return Progress(
        kind="tqdm",
        description=_description(line[: match.start("n")]),
        n=_scaled(match["n"]),
        elapsed=_interval(match["elapsed"]),
        rate=rate,
        unit=unit,
        metrics=_postfix_metrics(match["postfix"]),
        n_text=match["n"] if printed else None,
        count_unit=unit if printed else None,
    )


def _tqdm_rate(text: str | None) -> tuple[float | None, str | None]:
    """ "123.45it/s" -> (123.45, "it"); "2.50s/it" -> (0.4, "it"); "?it/s" -> (None, "it")."""
    if not text:
        return None, None
    match = _RATE.match(text)
    if match is None:
        return None, None
    rest = match["rest"]
    if rest.startswith("s/"):  # seconds per unit: tqdm inverts slow rates
        unit = rest[2:] or None
        value = _float(match["num"])
        seconds = value * _SCALES.get(match["scale"], 1.0) if value is not None else None
        return (1.0 / seconds if seconds else None), unit
    if rest.endswith("/s"):
        unit = rest[:-2] or None
        value = _float(match["num"])
        return (value * _SCALES.get(match["scale"], 1.0) if value is not None else None), unit
    return None, None


def _postfix_metrics(postfix: str | None) -> dict[str, float]:
    """ ", loss=0.23, acc=0.91" -> {"loss": 0.23, "acc": 0.91}; non-numbers are skipped."""
    metrics: dict[str, float] = {}
    if not postfix:
        return metrics
    for item in postfix.split(","):
        name, sep, value = item.partition("=")
        if sep:
            number = _float(value.strip())
            if number is not None and name.strip():
                metrics[name.strip()] = number
    return metrics


# --------------------------------------------------------------------------- keras

_DURATION = r"\d+(?:\.\d+)?(?:s|ms|us|µs)|\d+:\d{2}(?::\d{2})?"
# Keras 2: "12/100 [==>.....] - ETA: 3s - loss: 0.2345" or "100/100 [====] - 5s 50ms/step - ..."
# Keras 3: "12/100 ━━━━━━━━━━━━ 3s 40ms/step - accuracy: 0.91 - loss: 0.23"
# Either, with an unknown total: "12/Unknown - 3s 40ms/step - loss: 0.2"
_KERAS = re.compile(
    rf"^\s*(?P<n>\d+)/(?P<total>\d+|Unknown)(?:\s+\[(?P<bar>[=>.]*)\]|\s+(?P<bar3>[━─]+)"
    r"|(?<=Unknown))"  # an unknown total has no bar: "12/Unknown - 3s 40ms/step - loss: 0.2"
    rf"(?:\s+-)?(?:\s+ETA:\s*(?P<eta>{_DURATION})|\s+(?P<time>{_DURATION})"
    rf"(?:\s+(?P<step>{_DURATION})/(?P<unit>step|sample))?)?"
    r"(?P<metrics>(?:\s+-\s+[^:\s]+:\s*\S+)*)\s*$"
)
_KERAS_METRIC = re.compile(rf"([^\s:]+):\s*({_NUMBER}|nan|inf)")


def _parse_keras(line: str) -> Progress | None:
    match = _KERAS.match(line)
    if match is None:
        return None
    n = float(match["n"])
    total = None if match["total"] == "Unknown" else float(match["total"])
    finished = total is not None and n >= total
    time_value = _duration(match["time"])
    # Keras 2 writes "ETA:" while running; Keras 3 writes a bare time that is the ETA while
    # running and the elapsed time once the epoch is done (or when there is no total).
    remaining = _duration(match["eta"])
    elapsed = None
    if time_value is not None:
        if finished or total is None or match["bar"] is not None:
            elapsed = time_value
        else:
            remaining = time_value
    step = _duration(match["step"])
    metrics = {name: float(value) for name, value in _KERAS_METRIC.findall(match["metrics"])}
    return Progress(
        kind="keras",
        n=n,
        total=total,
        percent=_percent(n, total, None),
        elapsed=elapsed,
        remaining=0.0 if finished and remaining is None else remaining,
        rate=(1.0 / step) if step else None,
        unit=match["unit"] or "step",
        metrics=metrics,
    )


# ---------------------------------------------------------------------------- rich

# Description, a bar of heavy box-drawing lines, then columns such as "57%", "12/100",
# "1.2 MB/s", "0:00:03" (elapsed and/or remaining, "-:--:--" when unknown).
_RICH = re.compile(r"^(?P<desc>.*?)\s*(?P<bar>[━╸╺╾╼─]{3,})\s+(?P<columns>.*)$")
_RICH_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)%")
# "12/100", "4.5/10.0 MB" (DownloadColumn), "4.3/9.5 MiB" (binary units), "1.2k/10k it".
_RICH_COUNT = re.compile(
    rf"(?<![\d.])(?P<n>{_SCALED})/(?P<total>{_SCALED})(?:\s*(?P<unit>[A-Za-z]+))?(?![\d./])"
)
_RICH_TIME = re.compile(r"(?<![\d:])(-:--:--|\d+:\d{2}:\d{2})(?![\d:])")
_RICH_RATE = re.compile(rf"({_NUMBER})\s*([A-Za-z]*)/s\b")


def _parse_rich(line: str) -> Progress | None:
    match = _RICH.match(line)
    if match is None:
        return None
    columns = match["columns"]
    percent_match = _RICH_PERCENT.search(columns)
    count = _RICH_COUNT.search(columns)
    if percent_match is None and count is None:
        return None
    n = total = None
    unit = n_text = total_text = count_unit = None
    if count is not None:
        # "1.2/2.7 GB" (rich's DownloadColumn): both counts are in the unit's scale.
        count_unit = count["unit"]
        scale, unit = _unit_scale(count_unit)
        n, total = _scaled(count["n"]), _scaled(count["total"])
        n = None if n is None else n * scale
        total = None if total is None else total * scale
        if count_unit or _has_scale(count["n"]) or _has_scale(count["total"]):
            n_text, total_text = count["n"], count["total"]
    times = [None if t == "-:--:--" else _interval(t) for t in _RICH_TIME.findall(columns)]
    # The default columns end with time remaining; an elapsed column usually comes first.
    remaining = times[-1] if times else None
    elapsed = times[0] if len(times) > 1 else None
    rate = None
    rate_match = _RICH_RATE.search(columns)
    if rate_match is not None:
        scale, rate_unit = _unit_scale(rate_match[2])
        value = _float(rate_match[1])
        if value is not None:
            rate = value * scale
        unit = rate_unit or unit
    shown = float(percent_match[1]) if percent_match is not None else None
    return Progress(
        kind="rich",
        description=match["desc"].strip() or None,
        n=n,
        total=total,
        percent=_percent(n, total, shown),
        elapsed=elapsed,
        remaining=remaining,
        rate=rate,
        unit=unit,
        n_text=n_text,
        total_text=total_text,
        count_unit=count_unit,
    )


# ------------------------------------------------------------------------- helpers


def _description(prefix: str) -> str | None:
    text = prefix.strip()
    if text.endswith(":"):
        text = text[:-1].rstrip()
    return text or None


def _percent(n: float | None, total: float | None, shown: float | None) -> float | None:
    """Prefer the exact ratio; the printed percentage is rounded."""
    if n is not None and total:
        return max(0.0, min(100.0, 100.0 * n / total))
    return shown


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if not math.isinf(value) or text.strip().lower() in ("inf", "-inf") else None


def _scaled(text: str) -> float | None:
    """ "1.23k" -> 1230.0 (tqdm's unit_scale)."""
    scale = _SCALES.get(text[-1]) if text and text[-1].isalpha() else None
    if scale is not None:
        value = _float(text[:-1])
        return None if value is None else value * scale
    return _float(text)


def _has_scale(text: str) -> bool:
    return bool(text) and text[-1] in _SCALES


# Byte units as rich and tqdm print them: "kB", "MB", ... and "KiB", "MiB", ...
_BYTE_UNITS = {
    **{f"{prefix}B": factor for prefix, factor in _SCALES.items() if prefix},
    **{f"{prefix}iB": 1024.0**power for power, prefix in enumerate("KMGTPEZY", start=1)},
}


def _unit_scale(unit: str | None) -> tuple[float, str | None]:
    """ "MB" -> (1e6, "B"); "MiB" -> (2**20, "B"); "it" -> (1, "it"); only byte units scale."""
    if not unit:
        return 1.0, None
    factor = _BYTE_UNITS.get(unit)
    return (factor, "B") if factor is not None else (1.0, unit)


def _interval(text: str | None) -> float | None:
    """ "01:02" -> 62; "1:02:03" -> 3723; "2d, 01:00:00" -> 176400; "?" -> None."""
    if not text or "?" in text or "-" in text:
        return None
    days = 0
    if "d" in text:
        day_text, _, text = text.partition("d")
        days = int(day_text)
        text = text.lstrip(", ")
    seconds = 0
    for part in text.split(":"):
        seconds = seconds * 60 + int(part)
    return float(days * 86400 + seconds)


def _duration(text: str | None) -> float | None:
    """Keras times: "3s", "40ms", "12us", "1:02", "1:02:03"."""
    if not text:
        return None
    if ":" in text:
        return _interval(text)
    for suffix, factor in (("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("s", 1.0)):
        if text.endswith(suffix):
            value = _float(text[: -len(suffix)])
            return None if value is None else value * factor
    return None


def _json_number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value.is_integer() else value


def _count_text(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if value.is_integer() else f"{value:.4g}"


def _duration_text(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
