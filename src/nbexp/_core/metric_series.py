"""Metric histories kept bounded: down-sampling that keeps a curve's shape, exact summaries, a
small overview for sparklines, and the compact encoding of stored points. Pure.

A history holds at most `MAX_POINTS` points per metric and attempt. Points are stored as they
come until then; past it, the stored points are thinned (each run of four keeps its lowest and
highest, in order) and new points arrive in buckets of `bucket` raw points that keep their lowest
and highest too, the bucket doubling at each thinning. Spikes and dips survive at every size;
`last`, `min` and `max` (and their steps) come from every point, never from the thinned ones.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from .errors import UsageError

__all__ = [
    "MAX_POINTS",
    "MetricPoint",
    "SeriesState",
    "check_directions",
    "decode_points",
    "direction",
    "encode_points",
    "main_metric",
    "metric_summary",
    "thin",
]

MAX_POINTS = 10_000
CHUNK_POINTS = 512  # points per stored chunk (the last chunk grows until it has this many)
SPARK_POINTS = 32  # values in a row's sparkline

# (step, value, wall time): what the store keeps of one point.
Stored = tuple[float, float, float]


class MetricPoint(NamedTuple):
    """One value of a metric: at which step, what value, and when (seconds since the epoch;
    estimated from when nbexp read it, see docs/metrics.md)."""

    step: float
    value: float
    time: float


def direction(name: str) -> str:
    """Whether lower ("min") or higher ("max") is better for a metric, guessed from its name:
    loss, error, perplexity, … go down; accuracy, F1, AUC, BLEU, … go up; "min" otherwise."""
    lowered = name.lower()
    if any(word in lowered for word in _HIGHER):
        return "max"
    return "min"


_HIGHER = (
    *("acc", "f1", "auc", "bleu", "rouge", "precision", "recall", "map", "iou", "dice"),
    *("reward", "return", "score", "r2", "psnr", "ssim", "top1", "top5", "throughput"),
)


def thin(points: Sequence[Stored]) -> list[Stored]:
    """About half the points, keeping the shape: of each run of four, the lowest and the highest
    (in their order); NaNs only where a run has nothing else."""
    out: list[Stored] = []
    for start in range(0, len(points), 4):
        out.extend(_low_high(points[start : start + 4]))
    return out


def _low_high(group: Sequence[Stored]) -> list[Stored]:
    numbers = [p for p in group if not math.isnan(p[1])]
    if not numbers:
        return list(group[:1])
    low = min(numbers, key=lambda p: p[1])
    high = max(numbers, key=lambda p: p[1])
    if low is high:
        return [low]
    return [low, high] if group.index(low) < group.index(high) else [high, low]


class SeriesState:
    """One metric's history as it is written: the exact summary, the bucket being filled, the
    chunk being appended to and the sparkline. `to_json()` / `SeriesState(json)` round-trip."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self.count: int = data.get("count", 0)  # raw points seen
        self.stored: int = data.get("stored", 0)  # points in the chunks
        self.bucket: int = data.get("bucket", 1)  # raw points per stored pair
        self.pending: list[list[float]] = data.get("pending", [])  # the bucket being filled
        self.in_bucket: int = data.get("in_bucket", 0)
        self.last: list[float] | None = data.get("last")
        self.low: list[float] | None = data.get("low")  # [step, value] of the minimum
        self.high: list[float] | None = data.get("high")
        self.chunk: int = data.get("chunk", 0)  # the chunk new points go to
        self.in_chunk: int = data.get("in_chunk", 0)
        self.spark: list[float] = data.get("spark", [])
        self.spark_width: int = data.get("spark_width", 1)
        self.spark_fill: int = data.get("spark_fill", 0)

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))

    def add(self, points: Iterable[Stored]) -> list[Stored]:
        """Take new raw points; the ones to store (in order)."""
        out: list[Stored] = []
        for point in points:
            self._summarise(point)
            self._spark(point[1])
            if self.bucket == 1:
                out.append(point)
                continue
            self.pending.append(list(point))
            self.in_bucket += 1
            if self.in_bucket >= self.bucket:
                out.extend(self._flush())
        self.stored += len(out)
        return out

    def _flush(self) -> list[Stored]:
        """The finished bucket's lowest and highest points."""
        kept = _low_high([(p[0], p[1], p[2]) for p in self.pending])
        self.pending, self.in_bucket = [], 0
        return kept

    def _summarise(self, point: Stored) -> None:
        self.count += 1
        self.last = list(point)
        step, value, _ = point
        if math.isnan(value):
            return
        if self.low is None or value < self.low[1]:
            self.low = [step, value]
        if self.high is None or value > self.high[1]:
            self.high = [step, value]

    def _spark(self, value: float) -> None:
        """A fixed-size overview: the last value of each of up to 2×SPARK_POINTS equal spans,
        halved (every other kept) when full."""
        if self.spark_fill == 0:
            self.spark.append(value)
        else:
            self.spark[-1] = value
        self.spark_fill = (self.spark_fill + 1) % self.spark_width
        if self.spark_fill == 0 and len(self.spark) >= 2 * SPARK_POINTS:
            self.spark = self.spark[1::2]
            self.spark_width *= 2

    def needs_thinning(self) -> bool:
        return self.stored > MAX_POINTS

    def thinned(self, points: Sequence[Stored]) -> list[Stored]:
        """Thin the stored points (until under the bound) and coarsen the buckets to match."""
        while len(points) > MAX_POINTS:
            points = thin(points)
            self.bucket = 4 if self.bucket == 1 else self.bucket * 2
        self.stored = len(points)
        return list(points)

    def tail(self) -> list[Stored]:
        """Points not in the chunks yet: the unfinished bucket's lowest and highest, then the
        last point when it is not one of them (so a curve always ends at its latest value)."""
        out = _low_high([(p[0], p[1], p[2]) for p in self.pending]) if self.pending else []
        if self.last is not None:
            last = (self.last[0], self.last[1], self.last[2])
            if not out or out[-1] != last:
                out.append(last)
        return out

    def sparkline(self, size: int = SPARK_POINTS) -> list[float | None]:
        """About `size` values over the whole history, oldest first (NaN as None)."""
        values = self.spark
        if len(values) > size:
            step = len(values) / size
            values = [values[min(len(values) - 1, round((i + 1) * step) - 1)] for i in range(size)]
        return [None if math.isnan(v) or math.isinf(v) else v for v in values]


def encode_points(points: Sequence[Stored]) -> bytes:
    """Points as compressed text columns: steps, values, and times as milliseconds after the
    first (whole-number steps as differences too). ~2–6 bytes a point for real histories."""
    if not points:
        return zlib.compress(b"")
    steps = [p[0] for p in points]
    if all(math.isfinite(s) and s == int(s) for s in steps):
        deltas = [int(steps[0])] + [int(b) - int(a) for a, b in itertools.pairwise(steps)]
        step_text = "i" + ",".join(map(str, deltas))
    else:
        step_text = "f" + ",".join(map(_number_text, steps))
    millis = [round(p[2] * 1000) for p in points]
    time_deltas = [millis[0]] + [b - a for a, b in itertools.pairwise(millis)]
    text = "\n".join(
        [step_text, ",".join(_number_text(p[1]) for p in points), ",".join(map(str, time_deltas))]
    )
    return zlib.compress(text.encode(), 6)


def decode_points(blob: bytes) -> list[Stored]:
    text = zlib.decompress(blob).decode()
    if not text:
        return []
    step_text, value_text, time_text = text.split("\n")
    if step_text[0] == "i":
        steps: list[float] = []
        total = 0
        for delta in step_text[1:].split(","):
            total += int(delta)
            steps.append(float(total))
    else:
        steps = [float(s) for s in step_text[1:].split(",")]
    values = [float(v) for v in value_text.split(",")]
    times: list[float] = []
    millis = 0
    for delta in time_text.split(","):
        millis += int(delta)
        times.append(millis / 1000)
    return list(zip(steps, values, times, strict=True))


def _number_text(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def check_directions(directions: Any) -> dict[str, str]:
    """`directions=` as given to compare(): {metric name: "min" or "max"}."""
    if directions is None:
        return {}
    if not isinstance(directions, dict) or not all(
        isinstance(k, str) and v in ("min", "max") for k, v in directions.items()
    ):
        raise UsageError(
            f"directions must map metric names to 'min' or 'max', e.g. {{'score': 'max'}}, "
            f"not {directions!r}"
        )
    return dict(directions)


def metric_summary(
    name: str,
    summary: Any,
    directions: dict[str, str],
) -> dict[str, Any]:
    """One metric of a compared run: last / min / max, and the best value and its step in the
    metric's direction (guessed from its name unless `directions` says)."""
    goal = directions.get(name) or direction(name)
    best, best_step = (
        (summary.min, summary.min_step) if goal == "min" else (summary.max, summary.max_step)
    )
    return {
        "last": summary.last,
        "last_step": summary.last_step,
        "min": summary.min,
        "max": summary.max,
        "best": best,
        "best_step": best_step,
        "direction": goal,
        "count": summary.count,
    }


def main_metric(names: Iterable[str]) -> str | None:
    """The metric a run is judged by at a glance (its sparkline): `loss`, else a training
    loss, else any loss, else the first name in order."""
    ordered = sorted(names)

    def rank(name: str) -> int:
        lowered = name.lower()
        if lowered == "loss":
            return 0
        if "loss" in lowered and not lowered.startswith(("val", "test", "eval")):
            return 1
        return 2 if "loss" in lowered else 3

    return min(ordered, key=rank) if ordered else None
