"""Metric histories and comparisons as pandas DataFrames. pandas stays optional: without it,
these raise one line that says how to get it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._core.errors import NbexpError
from ._core.metric_series import MetricPoint

INSTALL_HINT = (
    "pandas is not installed: `pip install pandas` (or `uv add pandas`) to get DataFrames"
)


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise NbexpError(INSTALL_HINT) from None
    return pandas


def series_frame(series: dict[str, list[MetricPoint]], wide: bool) -> Any:
    """One run's histories: indexed by step with a column per metric (wide), or rows of
    metric, step, value, time (long)."""
    pandas = _pandas()
    long = pandas.DataFrame(
        [(name, p.step, p.value, p.time) for name, points in series.items() for p in points],
        columns=["metric", "step", "value", "time"],
    )
    if not wide:
        return long
    # Two points of one metric at one step (a line printed twice): the later one counts.
    deduped = long.drop_duplicates(["metric", "step"], keep="last")
    frame = deduped.pivot(index="step", columns="metric", values="value")
    frame.columns.name = None
    return frame


def compare_frame(rows: Sequence[dict[str, Any]]) -> Any:
    """compare()'s rows, flat: id, name, status, runtime, attempt, group, a column per param
    ("lr") and per metric statistic ("loss.last", "loss.min", "loss.max", "loss.best_step")."""
    pandas = _pandas()
    flat = []
    for row in rows:
        out = {key: row[key] for key in ("id", "name", "status", "runtime", "attempt", "group")}
        out.update(row.get("params") or {})
        for name, stats in row["metrics"].items():
            for key in ("last", "min", "max", "best", "best_step"):
                out[f"{name}.{key}"] = stats[key]
        flat.append(out)
    return pandas.DataFrame(flat).set_index("id") if flat else pandas.DataFrame(flat)
