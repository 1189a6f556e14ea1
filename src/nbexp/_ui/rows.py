"""The runs table at scale, as pure functions over the monitor's rows: filter (status chips, a
group, words over name / params / tags, hide ended), sort (any column, a param or a metric;
newest first by default), group rows under their sweep's line (collapsible, with a summary),
and cut the window a view shows. The kernel sends a window and counts, never every row.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from .protocol import CountsJson, GroupLineJson, RowJson, WindowJson

ENDED = frozenset({"completed", "error", "interrupted"})
STATUSES = ("running", "paused", "queued", "pending", "completed", "interrupted", "error")
FIXED_SORTS = ("id", "name", "status", "runtime", "gpus", "group", "started", "progress", "reason")
MAX_WINDOW = 500  # rows one window may hold (a tall screen shows ~60)
MAX_GROUP_NAMES = 200  # the group filter's choices, newest first
MAX_COLUMN_NAMES = 40  # params and metrics offered as columns
# Metrics whose best value is the lowest; any other is best when highest.
_LOWER_IS_BETTER = ("loss", "err", "perplexity", "ppl", "mse", "mae", "rmse", "wer", "cer")
_STATUS_RANK = {status: rank for rank, status in enumerate(STATUSES)}


@dataclass(frozen=True)
class Query:
    """What the table shows: filters, order, grouping. Shared by every view of a dashboard
    (they are its traits); only the scroll position is each view's own."""

    statuses: frozenset[str] = frozenset()  # empty: every status
    group: str | None = None
    text: str = ""
    hide_ended: bool = False
    sort: str = "id"  # a column, "param:NAME" or "metric:NAME"
    descending: bool = True  # newest first
    grouped: bool = False  # rows under their group's line
    collapsed: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Table:
    """The rows a query picks, in order, as the items a view scrolls through: an experiment id,
    or a group's name for its summary line (grouped mode)."""

    items: list[int | str]
    counts: CountsJson
    groups: dict[str, GroupLineJson]


def check_sort(sort: Any) -> str:
    if isinstance(sort, str) and (
        sort in FIXED_SORTS or (sort.startswith(("param:", "metric:")) and len(sort) > 6)
    ):
        return sort
    return "id"  # an unknown column (an old page, a typo in Python): the default order


def haystack(row: RowJson) -> str:
    """The words a search looks through: id, name, group, params (as k=v) and tags."""
    params = row.get("params") or {}
    words = [
        f"#{row['id']}",
        row["name"],
        row.get("group") or "",
        *(f"{k}={v}" for k, v in params.items()),
        *(row.get("tags") or []),
    ]
    return " ".join(words).lower()


def matches_text(row: RowJson, words: Sequence[str], cache: dict[int, tuple[Any, str]]) -> bool:
    if not words:
        return True
    cached = cache.get(row["id"])
    if cached is None or cached[0] is not row:
        cached = (row, haystack(row))
        cache[row["id"]] = cached
    text = cached[1]
    return all(word in text for word in words)


def select(
    rows: Mapping[int, RowJson],
    query: Query,
    now: float,
    text_cache: dict[int, tuple[Any, str]] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    key_cache: dict[str, dict[int, tuple[Any, Any]]] | None = None,
    names: tuple[list[str], list[str], list[str]] | None = None,
) -> Table:
    """The table for `query` over every row (10,000 in a few ms). `names`: row_names(rows),
    when the caller keeps it (it depends on the rows only)."""
    cache = text_cache if text_cache is not None else {}
    words = query.text.lower().split()
    base = list(rows.values())
    if query.group is not None:
        base = [row for row in base if row.get("group") == query.group]
    if query.hide_ended:
        base = [row for row in base if row["status"] not in ENDED]
    if words:
        base = [row for row in base if matches_text(row, words, cache)]
    statuses = dict(Counter(row["status"] for row in base))
    picked = [row for row in base if row["status"] in query.statuses] if query.statuses else base
    keys = key_cache.setdefault(query.sort, {}) if key_cache is not None else None
    ordered = sort_rows(picked, query.sort, query.descending, now, keys)
    items, groups = _arrange(ordered, query, settings or {})
    group_list, params, metrics = names if names is not None else row_names(rows)
    counts: CountsJson = {
        "total": len(rows),
        "matching": len(base),
        "shown": len(picked),
        "statuses": statuses,
        "groups": group_list,
        "params": params,
        "metrics": metrics,
    }
    return Table(items, counts, groups)


def sort_rows(
    rows: list[RowJson],
    sort: str,
    descending: bool,
    now: float,
    keys: dict[int, tuple[Any, Any]] | None = None,
) -> list[RowJson]:
    """Rows by `sort`; rows without a value last either way, then by id (newest first).
    `keys` keeps each row's value by id while the row is the same object (a runtime changes
    with the clock, so it is never kept)."""
    if sort == "id":
        return sorted(rows, key=itemgetter("id"), reverse=descending)
    keep = keys is not None and sort != "runtime"
    present: list[tuple[Any, RowJson]] = []
    missing: list[tuple[Any, RowJson]] = []
    for row in rows:
        cached = keys.get(row["id"]) if keep and keys is not None else None
        if cached is not None and cached[0] is row:
            value = cached[1]
        else:
            value = sort_value(row, sort, now)
            if keep and keys is not None:
                keys[row["id"]] = (row, value)
        (missing if value is None else present).append((value, row))
    present.sort(key=lambda pair: (pair[0], pair[1]["id"]), reverse=descending)
    missing.sort(key=lambda pair: pair[1]["id"], reverse=True)
    return [row for _, row in present] + [row for _, row in missing]


def sort_value(row: RowJson, sort: str, now: float) -> Any:
    """A comparable value (numbers before text, so mixed params still sort), or None."""
    if sort == "id":
        return row["id"]
    if sort == "name":
        return row["name"].lower()
    if sort == "status":
        return _STATUS_RANK.get(row["status"], len(STATUSES))
    if sort == "runtime":
        return _runtime(row, now)
    if sort == "started":
        return row["started"]
    if sort == "group":
        return (row.get("group") or "").lower() or None
    if sort == "gpus":
        gpus = row["gpus"]
        return len(gpus) if isinstance(gpus, list) else gpus
    if sort == "progress":
        progress = row.get("progress")
        return progress.get("percent") if progress else None
    if sort == "reason":
        return (row["reason"] or "").lower() or None
    kind, _, name = sort.partition(":")
    source = row.get("params") if kind == "param" else row.get("metrics")
    return _comparable((source or {}).get(name))


def _comparable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, int, float)):
        return (0, float(value), "")
    return (1, 0.0, str(value).lower())


def _runtime(row: RowJson, now: float) -> float | None:
    started = row["started"]
    if started is None:
        return None
    end = row["ended"] if row["ended"] is not None else now
    return max(0.0, end - started - (row.get("paused_seconds") or 0.0))


def _arrange(
    ordered: list[RowJson], query: Query, settings: Mapping[str, Mapping[str, Any]]
) -> tuple[list[int | str], dict[str, GroupLineJson]]:
    """Flat: the ids in order. Grouped: each group's line where its first member comes, then
    its members (unless collapsed); rows without a group stay where they are."""
    if not query.grouped:
        return [row["id"] for row in ordered], {}
    members: dict[str, list[RowJson]] = {}
    for row in ordered:
        group = row.get("group")
        if group is not None:
            members.setdefault(group, []).append(row)
    items: list[int | str] = []
    placed: set[str] = set()
    for row in ordered:
        group = row.get("group")
        if group is None:
            items.append(row["id"])
        elif group not in placed:
            placed.add(group)
            items.append(group)
            if group not in query.collapsed:
                items.extend(member["id"] for member in members[group])
    lines = {
        name: group_line(name, rows, name in query.collapsed, settings.get(name, {}))
        for name, rows in members.items()
    }
    return items, lines


def group_line(
    name: str, rows: Sequence[RowJson], collapsed: bool, settings: Mapping[str, Any]
) -> GroupLineJson:
    """A group's summary: how many run, wait and failed, and its best run by its main metric."""
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return {
        "name": name,
        "total": len(rows),
        "statuses": statuses,
        "collapsed": collapsed,
        "best": best_of(rows),
        "max_parallel": settings.get("max_parallel"),
        "paused": bool(settings.get("paused")),
    }


def best_of(rows: Sequence[RowJson]) -> dict[str, Any] | None:
    """{metric, value, id, lower_is_better}: the best latest value of the main metric most
    of the rows have (a loss: the lowest; anything else: the highest)."""
    counted: dict[str, int] = {}
    for row in rows:
        main = row.get("main_metric")
        if main:
            counted[main] = counted.get(main, 0) + 1
    if not counted:
        return None
    metric = max(counted, key=lambda name: (counted[name], name))
    lower = any(word in metric.lower() for word in _LOWER_IS_BETTER)
    candidates = [
        (float(value), row["id"])
        for row in rows
        if isinstance(value := (row.get("metrics") or {}).get(metric), (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    ]
    if not candidates:
        return None
    value, best_id = min(candidates, key=lambda c: (c[0] if lower else -c[0], c[1]))
    return {"metric": metric, "value": value, "id": best_id, "lower_is_better": lower}


def window(table: Table, offset: int, limit: int, view: str) -> WindowJson:
    """The part of the table a view shows (its scroll position), and the lines of the groups
    in it."""
    offset = max(0, min(offset, max(0, len(table.items) - 1)))
    limit = max(1, min(limit, MAX_WINDOW))
    items = table.items[offset : offset + limit]
    return {
        "view": view,
        "offset": offset,
        "total": len(table.items),
        "items": items,
        "groups": {name: table.groups[name] for name in items if isinstance(name, str)},
    }


def row_names(rows: Mapping[int, RowJson]) -> tuple[list[str], list[str], list[str]]:
    """The group names (the newest first), param names and metric names the rows use: the
    group filter's and the column chooser's choices."""
    every = rows.values()
    return (
        group_names(every),
        _names(row.get("params") for row in every),
        _names(row.get("metrics") for row in every),
    )


def group_names(rows: Iterable[RowJson]) -> list[str]:
    """Group names, the one with the newest member first (bounded)."""
    newest: dict[str, int] = {}
    for row in rows:
        group = row.get("group")
        if group is not None and row["id"] > newest.get(group, -1):
            newest[group] = row["id"]
    return sorted(newest, key=lambda name: -newest[name])[:MAX_GROUP_NAMES]


def _names(sources: Iterable[Mapping[str, Any] | None]) -> list[str]:
    """The names the mappings use (params, metrics), sorted (bounded)."""
    seen: set[str] = set().union(*[source for source in sources if source])
    return sorted(seen)[:MAX_COLUMN_NAMES]


def window_ids(window_json: WindowJson) -> list[int]:
    return [item for item in window_json["items"] if isinstance(item, int)]
