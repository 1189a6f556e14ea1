"""`nbexp metrics` (one run's metric histories) and `nbexp compare` (runs side by side), and the
metric cells of `nbexp ls` / `show`. Every verb reads the logs' newest bytes into the store
first: the CLI is one of the processes that keep histories up to date."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from typing import Any

from .._core.errors import NbexpError, UsageError
from .._core.metric_series import main_metric
from .._core.records import ExperimentRecord
from .._manager import ExperimentManager
from .base import Handler
from .tables import cell, format_runtime, json_text, table

SHOWN_IN_LISTS = 3  # metrics in an `ls` row and in `show`
COMPARE_COLUMNS = 4  # metrics `compare` shows unless --metric names them
_SPARK = "▁▂▃▄▅▆▇█"


def add_verbs(sub: Any, name: str) -> None:
    p = sub.add_parser("metrics", help="an experiment's metric histories (steps, values, times)")
    p.add_argument("id", type=int)
    p.add_argument("--attempt", type=int, help="an earlier attempt (default: the latest)")
    _add_format(p)
    p = sub.add_parser("compare", help="experiments side by side: last / min / max / best step")
    p.add_argument("ids", type=int, nargs="*", metavar="ID", help="these (default: all)")
    p.add_argument("-g", "--group", help="only this group's experiments")
    p.add_argument("-s", "--status", action="append", help="only this status (repeatable)")
    p.add_argument("-m", "--metric", action="append", help="columns for this metric (repeatable)")
    p.add_argument(
        "--max",
        action="append",
        default=[],
        metavar="METRIC",
        help="higher is better for METRIC (names say it for acc, f1, auc, bleu…)",
    )
    p.add_argument(
        "--min", action="append", default=[], metavar="METRIC", help="lower is better for METRIC"
    )
    _add_format(p)


def _add_format(p: argparse.ArgumentParser) -> None:
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="machine-readable output")
    shape.add_argument("--csv", action="store_true", help="comma-separated values")


# -- nbexp metrics ------------------------------------------------------------------------------


def _metrics(manager: ExperimentManager, args: argparse.Namespace) -> int:
    series = manager.metrics(args.id, attempt=args.attempt)
    if args.json:
        out = {
            "id": args.id,
            "metrics": {
                name: [[_json_step(p.step), _json_number(p.value), p.time] for p in points]
                for name, points in series.items()
            },
        }
        print(json.dumps(out, separators=(",", ":")))  # one line: histories are long
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["metric", "step", "value", "time"])
        for name, points in series.items():
            writer.writerows([name, _step_text(p.step), repr(p.value), p.time] for p in points)
    elif not series:
        print(f"experiment {args.id} printed no metrics (yet): see docs/metrics.md for the forms")
    else:
        summaries = manager.service.metrics.summaries(args.id, _attempt(manager, args))
        rows = []
        for name, points in series.items():
            found = summaries.get(name)
            rows.append(
                [
                    name,
                    str(found.count if found else len(points)),
                    _at(found.last, found.last_step) if found else "-",
                    _at(found.min, found.min_step) if found else "-",
                    _at(found.max, found.max_step) if found else "-",
                    sparkline([p.value for p in points]),
                ]
            )
        print(table(rows, ["METRIC", "POINTS", "LAST (@STEP)", "MIN", "MAX", "HISTORY"]))
    return 0


def _attempt(manager: ExperimentManager, args: argparse.Namespace) -> int:
    return int(args.attempt or manager.get(args.id).record.attempt)


def sparkline(values: list[float], width: int = 24) -> str:
    """The shape of a history in block characters (NaN as a space)."""
    if not values:
        return ""
    picked = [values[min(len(values) - 1, (i * len(values)) // width)] for i in range(width)]
    picked = picked if len(values) >= width else values
    finite = [v for v in picked if math.isfinite(v)]
    if not finite:
        return " " * len(picked)
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    return "".join(
        _SPARK[min(7, int((v - low) / span * 8))] if math.isfinite(v) else " " for v in picked
    )


# -- nbexp compare ------------------------------------------------------------------------------


def _directions(args: argparse.Namespace) -> dict[str, str]:
    both = set(args.max) & set(args.min)
    if both:
        raise UsageError(f"--max and --min both name {sorted(both)[0]!r}: pick one")
    return {**dict.fromkeys(args.min, "min"), **dict.fromkeys(args.max, "max")}


def _compare(manager: ExperimentManager, args: argparse.Namespace) -> int:
    rows = manager.compare(
        args.ids or None, group=args.group, status=args.status, directions=_directions(args)
    )
    names = _compare_metrics(rows, args.metric)
    if args.json:
        print(json_text([_json_row(row) for row in rows]))
        return 0
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        stats = ("last", "min", "max", "best", "best_step")
        writer.writerow(
            ["id", "name", "status", "runtime", "attempt"]
            + [f"{name}.{stat}" for name in names for stat in stats]
        )
        for row in rows:
            found = row["metrics"]
            writer.writerow(
                [row["id"], row["name"], row["status"], row["runtime"], row["attempt"]]
                + [found.get(name, {}).get(stat) for name in names for stat in stats]
            )
        return 0
    if not rows:
        print("no experiments to compare")
        return 0
    headers = ["ID", "NAME", "STATUS", "RUNTIME"]
    for name in names:
        goal = next((r["metrics"][name]["direction"] for r in rows if name in r["metrics"]), "min")
        headers += [f"{name} LAST", f"{name} BEST ({goal}) @STEP"]
    print(table([_compare_row(row, names) for row in rows], headers))
    return 0


def _compare_metrics(rows: list[dict[str, Any]], chosen: list[str] | None) -> list[str]:
    """The metric columns: those asked for, else the ones most runs have (at most 4)."""
    if chosen:
        return list(dict.fromkeys(chosen))
    counts = Counter(name for row in rows for name in row["metrics"])
    return [name for name, _ in sorted(counts.items(), key=lambda i: (-i[1], i[0]))][
        :COMPARE_COLUMNS
    ]


def _compare_row(row: dict[str, Any], names: list[str]) -> list[str]:
    cells = [
        str(row["id"]),
        cell(lambda: row["name"][:30]),
        row["status"],
        format_runtime(row["runtime"]),
    ]
    for name in names:
        found = row["metrics"].get(name)
        if found is None:
            cells += ["-", "-"]
        else:
            cells += [_number(found["last"]), _at(found["best"], found["best_step"])]
    return cells


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "metrics": {
            name: {key: _json_number(value) for key, value in stats.items()}
            for name, stats in row["metrics"].items()
        },
    }


# -- cells of ls / show ----------------------------------------------------------------------


def list_cells(manager: ExperimentManager, records: list[ExperimentRecord]) -> dict[int, str]:
    """The METRICS cell of `ls` rows: the latest values of up to three metrics, main first.
    Reads what running experiments printed since anyone last looked."""
    service = manager.service.metrics
    try:
        service.tick(records)
        fields = service.row_fields(records)
    except NbexpError as e:  # a locked store: the table still shows, without its metrics
        print(f"{manager.home}: metrics not read now: {e}", file=sys.stderr)
        return {}
    return {
        experiment_id: " ".join(
            f"{name}={_number(value)}"
            for name, value in list(found["metrics"].items())[:SHOWN_IN_LISTS]
        )
        for experiment_id, found in fields.items()
    }


def show_json(manager: ExperimentManager, record: ExperimentRecord) -> dict[str, Any]:
    """`show --json`'s "metrics": per metric last / min / max / best and their steps."""
    if record.problem or not isinstance(record.attempt, int) or record.attempt < 1:
        return {}  # not run yet, or a corrupt row
    rows = manager.service.metrics.compare([record], {})
    return _json_row(rows[0])["metrics"] if rows else {}


def show_line(summary: dict[str, Any]) -> str | None:
    """`show`'s metrics line: up to three latest values, the main metric first."""
    if not summary:
        return None
    main = main_metric(summary) or ""
    names = [main, *sorted(n for n in summary if n != main)][:SHOWN_IN_LISTS]
    return "  ".join(f"{name}={_number(summary[name]['last'])}" for name in names)


# -- numbers ---------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _at(value: float | None, step: float | None) -> str:
    return _number(value) if step is None else f"{_number(value)} @{_step_text(step)}"


def _step_text(step: float) -> str:
    return str(int(step)) if float(step).is_integer() else repr(step)


def _json_step(step: float) -> int | float:
    return int(step) if float(step).is_integer() else step


def _json_number(value: Any) -> Any:
    """JSON has no NaN or infinity: null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


HANDLERS: dict[str, Handler] = {"metrics": _metrics, "compare": _compare}
