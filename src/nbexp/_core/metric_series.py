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
import operator
import struct
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from .errors import UsageError

__all__ = [
    "MAX_POINTS",
    "MetricPoint",
    "SeriesState",
    "WallTimes",
    "check_directions",
    "decode_points",
    "direction",
    "encode_points",
    "main_metric",
    "metric_summary",
    "raw_points",
    "thin",
]

MAX_POINTS = 10_000
CHUNK_POINTS = 512  # points per stored chunk (the last chunk grows until it has this many)
SPARK_POINTS = 32  # values in a row's sparkline

_MAGIC = b"nbexp-points-2\n"  # the encoding's version, first in every compressed chunk
_RAW_MAGIC = b"nbexp-raw-2\n"  # first in the chunk being filled (records, not compressed)

# (step, value, wall time in milliseconds since the epoch): what the store keeps of one point.
Stored = tuple[float, float, int]


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


class WallTimes(Sequence[int]):
    """Points' wall times in ms, `start + scale * offset` for each point's byte offset, worked
    out only for the points that are read: once a history is bucketed, a pass keeps two points
    of each bucket, and the others' times are never needed. Slices are views; series read from
    the same lines share one object, so the times all of them need are worked out once."""

    __slots__ = ("_all", "high", "low", "offsets", "scale", "start")

    def __init__(
        self,
        offsets: Sequence[int],
        start: float,
        scale: float,
        low: int = 0,
        high: int | None = None,
        shared: list[list[int] | None] | None = None,
    ) -> None:
        self.offsets, self.start, self.scale = offsets, start, scale
        self.low, self.high = low, len(offsets) if high is None else high
        # Every time, once computed (one holder for the object and all its slices).
        self._all: list[list[int] | None] = shared if shared is not None else [None]

    def __len__(self) -> int:
        return self.high - self.low

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            low, high, stride = index.indices(len(self))
            if stride != 1:
                return list(self)[index]
            return WallTimes(
                self.offsets, self.start, self.scale, self.low + low, self.low + high, self._all
            )
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("wall time index out of range")
        everything = self._all[0]
        if everything is not None:
            return everything[self.low + index]
        return round(self.start + self.scale * float(self.offsets[self.low + index]))

    def __iter__(self) -> Iterator[int]:
        everything = self._all[0]
        if everything is None:
            start, scale = self.start, self.scale
            every = map(round, map(start.__add__, map(scale.__mul__, map(float, self.offsets))))
            everything = self._all[0] = list(every)
        if self.low == 0 and self.high == len(everything):
            return iter(everything)
        return iter(everything[self.low : self.high])


def thin(points: Sequence[Stored], group: int = 4) -> list[Stored]:
    """About 2/group of the points, keeping the shape: of each run of `group`, the lowest and
    the highest (in their order); NaNs only where a run has nothing else."""
    if not points:
        return []
    steps, values, times = (list(column) for column in zip(*points, strict=True))
    whole = len(points) // group * group
    out = _whole_buckets(steps, values, times, 0, whole, group)  # min and max in C
    if whole < len(points):
        out.extend(_low_high(points[whole:]))
    return out


def _segment_low_high(
    steps: Sequence[float], values: Sequence[float], times: Sequence[int], start: int, end: int
) -> list[Stored]:
    """The lowest and highest point of values[start:end], in order (min and max run in C)."""
    segment = values[start:end]
    if _has_nan(segment):
        return _low_high(list(zip(steps[start:end], segment, times[start:end], strict=True)))
    low, high = start + segment.index(min(segment)), start + segment.index(max(segment))
    picked = sorted({low, high})
    return [(steps[i], values[i], times[i]) for i in picked]


def _whole_buckets(
    steps: Sequence[float],
    values: Sequence[float],
    times: Sequence[int],
    start: int,
    end: int,
    size: int,
) -> list[Stored]:
    """The low and high of each bucket of `size` points in [start, end): one pass of min and
    max over the slices (in C), then one short step per bucket."""
    bounds = range(start, end, size)
    segments = [values[i : i + size] for i in bounds]
    if _has_nan(values[start:end]):
        return [p for i in bounds for p in _segment_low_high(steps, values, times, i, i + size)]
    out: list[Stored] = []
    for first, segment, low, high in zip(
        bounds, segments, map(min, segments), map(max, segments), strict=True
    ):
        a, b = first + segment.index(low), first + segment.index(high)
        if a > b:
            a, b = b, a
        out.append((steps[a], values[a], times[a]))
        if a != b:
            out.append((steps[b], values[b], times[b]))
    return out


def _has_nan(values: Sequence[float]) -> bool:
    """Whether a value is NaN. A sum (C's fast loop over floats, 4x faster than testing each)
    is NaN only when one is or when infinities of both signs meet; only then are they tested."""
    return math.isnan(sum(values)) and any(map(math.isnan, values))


def _point(values: Sequence[float]) -> Stored:
    """A point kept in JSON ([step, value, ms]) as the store's tuple."""
    return (values[0], values[1], int(values[2]))


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

    def add(
        self, steps: Sequence[float], values: Sequence[float], times: Sequence[int]
    ) -> list[Stored]:
        """Take new raw points (as columns); the ones to store, in order. Whole columns go
        through min / max / slicing: a pass's thousands of points cost a few calls into C."""
        count = len(values)
        if not count:
            return []
        self.count += count
        self.last = [steps[-1], values[-1], times[-1]]
        self._extremes(steps, values)
        self._spark(values)
        if self.bucket == 1:
            out = list(zip(steps, values, times, strict=True))
        else:
            out = self._buckets(steps, values, times)
        self.stored += len(out)
        return out

    def _buckets(
        self, steps: Sequence[float], values: Sequence[float], times: Sequence[int]
    ) -> list[Stored]:
        """Each finished bucket's lowest and highest points; the unfinished one's so far are
        kept in `pending` (two points at most)."""
        out: list[Stored] = []
        start = 0
        if self.in_bucket:  # finish the bucket a former pass began
            end = min(len(values), self.bucket - self.in_bucket)
            start = self._fill(steps, values, times, 0, end, out)
        whole = (len(values) - start) // self.bucket * self.bucket
        if whole:
            out.extend(_whole_buckets(steps, values, times, start, start + whole, self.bucket))
            start += whole
        if start < len(values):
            self._fill(steps, values, times, start, len(values), out)
        return out

    def _fill(
        self,
        steps: Sequence[float],
        values: Sequence[float],
        times: Sequence[int],
        start: int,
        end: int,
        out: list[Stored],
    ) -> int:
        """Points [start, end) into the unfinished bucket; its low and high to `out` once full."""
        pending = [_point(p) for p in self.pending]
        kept = _low_high(pending + _segment_low_high(steps, values, times, start, end))
        self.in_bucket += end - start
        if self.in_bucket >= self.bucket:
            out.extend(kept)
            self.pending, self.in_bucket = [], 0
        else:
            self.pending = [list(p) for p in kept]
        return end

    def _extremes(self, steps: Sequence[float], values: Sequence[float]) -> None:
        numbers = [v for v in values if v == v] if _has_nan(values) else values
        if not numbers:
            return
        low, high = min(numbers), max(numbers)
        if self.low is None or low < self.low[1]:
            self.low = [steps[values.index(low)], low]
        if self.high is None or high > self.high[1]:
            self.high = [steps[values.index(high)], high]

    def _spark(self, values: Sequence[float]) -> None:
        """A fixed-size overview: the last value of each of up to 2×SPARK_POINTS equal spans,
        halved (every other kept) when full."""
        start = 0
        while start < len(values):
            take = min(self.spark_width - self.spark_fill, len(values) - start)
            value = values[start + take - 1]
            if self.spark_fill == 0:
                self.spark.append(value)
            else:
                self.spark[-1] = value
            self.spark_fill = (self.spark_fill + take) % self.spark_width
            start += take
            if self.spark_fill == 0 and len(self.spark) >= 2 * SPARK_POINTS:
                self.spark = self.spark[1::2]
                self.spark_width *= 2

    def needs_thinning(self) -> bool:
        return self.stored > MAX_POINTS

    def thinned(self, points: Sequence[Stored]) -> list[Stored]:
        """Thin the stored points to a quarter of the bound (twice halved: a thinning costs a
        read and a rewrite of the history, so it is done half as often) and coarsen the
        buckets to match."""
        halvings = 0
        while len(points) >> halvings > MAX_POINTS // 4:
            halvings += 1
        if halvings:
            # One pass: each group of 2^(k+1) points keeps its low and high (k halvings).
            points = thin(points, group=2 ** (halvings + 1))
            for _ in range(halvings):
                self.bucket = 4 if self.bucket == 1 else self.bucket * 2
        self.stored = len(points)
        return list(points)

    def tail(self) -> list[Stored]:
        """Points not in the chunks yet: the unfinished bucket's lowest and highest, then the
        last point when it is not one of them (so a curve always ends at its latest value)."""
        out = _low_high([_point(p) for p in self.pending]) if self.pending else []
        if self.last is not None:
            last = _point(self.last)
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
    """Points as compressed binary columns: steps and values as float64 (exact), times as
    millisecond differences (int64). Built with zip, array and map: a few calls into C however
    many points; zlib leaves ~10 bytes a point (the values' 8, mostly)."""
    if not points:
        return zlib.compress(_MAGIC)
    steps, values, millis = zip(*points, strict=True)
    deltas = array("q", [millis[0], *map(operator.sub, millis[1:], millis)])
    data = b"".join(
        [
            _MAGIC,
            struct.pack("<I", len(points)),
            array("d", steps).tobytes(),
            array("d", values).tobytes(),
            deltas.tobytes(),
        ]
    )
    return zlib.compress(data, 1)  # level 1: most of the gain, a fraction of the time


def raw_points(points: Sequence[Stored], blob: bytes = b"") -> bytes:
    """The chunk still being filled: uncompressed float64 triples (step, value, ms), so that a
    pass appends its points to it without decoding what is there (`blob`: the chunk so far)."""
    return (blob or _RAW_MAGIC) + array("d", itertools.chain.from_iterable(points)).tobytes()


def decode_points(blob: bytes) -> list[Stored]:
    if blob.startswith(_RAW_MAGIC):
        flat = array("d")
        flat.frombytes(blob[len(_RAW_MAGIC) :])
        numbers = flat.tolist()
        return list(zip(numbers[0::3], numbers[1::3], map(int, numbers[2::3]), strict=True))
    data = zlib.decompress(blob)
    if not data.startswith(_MAGIC):
        raise ValueError("not a chunk of metric points")
    if len(data) == len(_MAGIC):
        return []
    (count,) = struct.unpack_from("<I", data, len(_MAGIC))
    at, width = len(_MAGIC) + 4, 8 * count
    steps, values, deltas = array("d"), array("d"), array("q")
    steps.frombytes(data[at : at + width])
    values.frombytes(data[at + width : at + 2 * width])
    deltas.frombytes(data[at + 2 * width : at + 3 * width])
    return list(zip(steps.tolist(), values.tolist(), itertools.accumulate(deltas), strict=True))


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
