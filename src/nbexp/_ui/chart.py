"""The dashboard's chart panel, kernel side: which runs and which metric the browser plots, each
run's history once (on a `chart` request), then at each tick only what is new — the points
stored since, and the few at the end that are still moving (the unfinished bucket, the latest
point). A run whose history was thinned meanwhile, or that started a new attempt, is sent whole
again.
"""

from __future__ import annotations

import math
from typing import Any

from .._core.errors import UsageError
from .._core.metric_series import Stored, main_metric
from .._service.metrics import Metrics
from .protocol import ChartDataMessage, ChartPart, ChartPoints, RowJson, reply_to

MAX_RUNS = 50  # runs one chart overlays


class ChartFeed:
    """What one dashboard's chart shows, and what it has sent of it."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.ids: list[int] = []
        self.metric: str | None = None
        # experiment id -> (attempt, bucket size, stored points sent, summary time) as sent
        self._sent: dict[int, tuple[int, int, int, float]] = {}

    def request(self, content: dict[str, Any], rows: dict[int, RowJson]) -> ChartDataMessage:
        """A `chart` request: plot `metric` (None: the runs' main metric) of runs `ids`."""
        ids, metric = content.get("ids"), content.get("metric")
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise UsageError("a chart request needs ids: a list of experiment ids")
        if len(ids) > MAX_RUNS:
            raise UsageError(f"a chart overlays at most {MAX_RUNS} runs, not {len(ids)}")
        if metric is not None and not isinstance(metric, str):
            raise UsageError(f"a chart's metric is a metric's name, not {metric!r}")
        shown = [i for i in dict.fromkeys(ids) if i in rows]
        names = sorted({name for i in shown for name in self._names(rows[i])})
        self.ids = shown
        self.metric = metric if metric in names else main_metric(names)
        self._sent = {}
        series = {str(i): points for i in shown if (points := self._points(rows[i])) is not None}
        return {
            "type": "chart_data",
            "req": reply_to(content.get("req")),
            "metric": self.metric,
            "metrics": names,
            "series": series,
        }

    def delta(self, rows: dict[int, RowJson]) -> ChartPart | None:
        """New points of the plotted runs since the last push (None when nothing moved)."""
        if self.metric is None:
            return None
        series = {
            str(i): points
            for i in self.ids
            if i in rows and (points := self._points(rows[i])) is not None
        }
        return {"metric": self.metric, "series": series} if series else None

    def _names(self, row: RowJson) -> list[str]:
        found = self.metrics.summaries(row["id"], row["attempt"]) if row["attempt"] else {}
        return list(found)

    def _points(self, row: RowJson) -> ChartPoints | None:
        """[start, steps, values]: the browser keeps its points before `start` and replaces the
        rest with these. None when nothing changed since the last push."""
        assert self.metric is not None
        experiment_id, attempt = row["id"], row["attempt"]
        summary = self.metrics.latest_summary(experiment_id, attempt, self.metric)
        sent = self._sent.get(experiment_id)
        updated = summary.updated if summary is not None else -1.0
        if sent is not None and sent[0] == attempt and sent[3] == updated:
            return None  # no new point since the last push
        start = sent[2] if sent is not None and sent[0] == attempt else 0
        found = self.metrics.series_since(experiment_id, attempt, self.metric, start)
        if found is None:
            self._sent[experiment_id] = (attempt, 1, 0, updated)
            return None if sent is not None and sent[0] == attempt else [0, [], []]
        bucket, stored, points = found
        if sent is not None and sent[0] == attempt and (sent[1] != bucket or stored < start):
            # Thinned since (the browser's copy is at another resolution), or started again
            # (a replaced log is read from its start): send it whole.
            bucket, stored, points = self.metrics.series_since(
                experiment_id, attempt, self.metric, 0
            ) or (bucket, stored, points)
            start = 0
        self._sent[experiment_id] = (attempt, bucket, stored, updated)
        return [start, [_wire(p[0]) for p in points], [_wire(p[1]) for p in points]]


def _wire(value: float) -> float | int | None:
    """A number for the chart: integral steps as ints, values to 6 significant digits, no NaN
    (JSON has none: null, drawn as a gap)."""
    if not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return float(f"{value:.6g}")


__all__ = ["MAX_RUNS", "ChartFeed", "Stored"]
