"""The runs table of one dashboard, kernel side: the query its traits set, each view's window
(scroll position), and the rows the page already holds, so that a window or a tick sends only
the rows a view shows that the page lacks or that changed. Bulk actions act on a selection or
on everything the filter shows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .._core.errors import Busy, NbexpError
from .._core.states import HOLDING, Status
from .._service.core import Service
from . import rows as table_rows
from .protocol import (
    BulkDoneMessage,
    CountsJson,
    RefusalJson,
    RowJson,
    RowsMessage,
    WindowJson,
    reply_to,
)
from .rows import Query, Table

DEFAULT_LIMIT = 60  # rows in a view's first window (it asks for its real size at once)
MAX_HELD = 3000  # rows the page may hold; beyond that, rows no view shows are forgotten
MAX_BULK = 10_000
BULK_ACTIONS = ("stop", "restart", "remove", "start")


class TableView:
    """Windows of the table for the views of one dashboard (each has its own scroll position;
    the query is shared, like the traits it comes from)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.query = Query()
        self.windows: dict[str, tuple[int, int]] = {}  # view -> (offset, limit)
        self.held: dict[int, RowJson] = {}  # what the page holds, as sent (by identity)
        self.shown: dict[str, WindowJson] = {}  # each view's window as last sent
        self.counts: CountsJson | None = None
        self._table: Table | None = None
        self._basis: tuple[Any, ...] | None = None  # what _table was computed from
        self._text_cache: dict[int, tuple[Any, str]] = {}
        self._key_cache: dict[str, dict[int, tuple[Any, Any]]] = {}  # sort -> id -> (row, key)
        self._names: tuple[Mapping[int, RowJson], Any] | None = None  # rows -> their names
        self._lock = threading.RLock()

    # -- the table ------------------------------------------------------------------------

    def set_query(self, query: Query) -> None:
        """A new filter or order: the table is computed again (its basis differs), and every
        view starts from the top, as the page scrolls it there (one round trip, not two)."""
        with self._lock:
            if query != self.query:
                self.windows = {view: (0, limit) for view, (_, limit) in self.windows.items()}
            self.query = query

    def table(self, rows: Mapping[int, RowJson], now: float) -> Table:
        """The table for the current query (computed again only when rows, the query or the
        groups' settings changed; a runtime sort also each second)."""
        settings = self._settings()
        clock = int(now) if self.query.sort == "runtime" else 0
        basis = (id(rows), self.query, tuple(sorted(settings.items(), key=str)), clock)
        if self._table is None or basis != self._basis:
            if self._names is None or self._names[0] is not rows:
                self._names = (rows, table_rows.row_names(rows))
            self._table = table_rows.select(
                rows, self.query, now, self._text_cache, settings, self._key_cache, self._names[1]
            )
            self._basis = basis
            for cache in (self._text_cache, *self._key_cache.values()):
                if len(cache) > len(rows):  # some experiments were removed: forget them
                    for stale in [i for i in cache if i not in rows]:
                        del cache[stale]
        return self._table

    def _settings(self) -> dict[str, Any]:
        try:
            return {name: tuple(s.items()) for name, s in self.service.store.groups().items()}
        except NbexpError:
            return {}

    # -- windows --------------------------------------------------------------------------

    def open(
        self, view: str, offset: int, limit: int, rows: Mapping[int, RowJson], now: float
    ) -> tuple[WindowJson, list[RowJson], CountsJson, list[int]]:
        """A view's window (it says hello, scrolls or resizes): the window, the rows of it the
        page lacks, the counts, and rows it may forget."""
        with self._lock:
            self.windows[view] = (max(0, offset), max(1, min(limit, table_rows.MAX_WINDOW)))
            while len(self.windows) > 16:  # views that vanished without a bye
                self.windows.pop(next(iter(self.windows)))
            table = self.table(rows, now)
            shown = self._window(view, table)
            self.counts = table.counts
            return shown, self._unsent(shown, rows), table.counts, self._forget()

    def request(
        self, content: Mapping[str, Any], rows: Mapping[int, RowJson], now: float
    ) -> RowsMessage:
        view, offset, limit = content.get("view"), content.get("offset"), content.get("limit")
        if not isinstance(view, str) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in (offset, limit)
        ):
            raise ValueError("a window request needs a view id and integer offset and limit")
        assert isinstance(offset, int) and isinstance(limit, int)
        shown, sent, counts, forget = self.open(view, offset, limit, rows, now)
        return {
            "type": "rows",
            "req": reply_to(content.get("req")),
            "window": shown,
            "rows": sent,
            "counts": counts,
            "forget": forget,
        }

    def tick(self, rows: Mapping[int, RowJson], now: float) -> dict[str, Any]:
        """What a tick carries for the table: windows that changed, their rows that changed,
        counts when they changed, rows to forget."""
        with self._lock:
            if not self.windows:
                return {}
            table = self.table(rows, now)
            parts: dict[str, Any] = {}
            windows = {}
            for view in self.windows:
                before = self.shown.get(view)
                shown = self._window(view, table)
                if shown != before:
                    windows[view] = shown
            if windows:
                parts["windows"] = windows
            sent = [row for view in self.windows for row in self._unsent(self.shown[view], rows)]
            if sent:
                parts["rows"] = sent
            if table.counts != self.counts:
                parts["counts"] = self.counts = table.counts
            forget = self._forget()
            if forget:
                parts["forget"] = forget
            return parts

    def close(self, view: str | None = None) -> None:
        with self._lock:
            if view is None:
                self.windows.clear()
                self.shown.clear()
                self.held.clear()
            else:
                self.windows.pop(view, None)
                self.shown.pop(view, None)

    def _window(self, view: str, table: Table) -> WindowJson:
        offset, limit = self.windows[view]
        shown = table_rows.window(table, offset, limit, view)
        self.shown[view] = shown
        return shown

    def _unsent(self, shown: WindowJson, rows: Mapping[int, RowJson]) -> list[RowJson]:
        out = []
        for experiment_id in table_rows.window_ids(shown):
            row = rows.get(experiment_id)
            if row is not None and self.held.get(experiment_id) is not row:
                self.held[experiment_id] = row
                out.append(row)
        return out

    def _forget(self) -> list[int]:
        if len(self.held) <= MAX_HELD:
            return []
        keep = {i for shown in self.shown.values() for i in table_rows.window_ids(shown)}
        forget = [i for i in self.held if i not in keep][: len(self.held) - MAX_HELD // 2]
        for experiment_id in forget:
            del self.held[experiment_id]
        return forget

    def removed(self, ids: Iterable[int]) -> None:
        with self._lock:
            for experiment_id in ids:
                self.held.pop(experiment_id, None)

    def forgot(self, experiment_id: int, row: RowJson | None) -> None:
        """The page got this row another way (an action's answer)."""
        with self._lock:
            if row is None:
                self.held.pop(experiment_id, None)
            else:
                self.held[experiment_id] = row

    # -- bulk actions -----------------------------------------------------------------------

    def bulk(
        self,
        content: Mapping[str, Any],
        rows: Mapping[int, RowJson],
        now: float,
        stop_grace: float,
    ) -> BulkDoneMessage:
        """Stop, restart (through the queue), start (queued if busy) or remove each selected
        experiment (or each the filter shows); refusals are listed, never raised."""
        action = content.get("action")
        if action not in BULK_ACTIONS:
            raise ValueError(f"unknown bulk action {action!r}; known: {', '.join(BULK_ACTIONS)}")
        given = content.get("ids")
        if content.get("matching") is True:
            with self._lock:
                ids = [i for i in self.table(rows, now).items if isinstance(i, int)]
        elif isinstance(given, list) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in given
        ):
            ids = given
        else:
            raise ValueError("a bulk action needs a list of experiment ids")
        if len(ids) > MAX_BULK:
            raise ValueError(f"at most {MAX_BULK:,} experiments at once, not {len(ids):,}")
        done, refused = self._act(str(action), ids, stop_grace)
        return {
            "type": "bulk_done",
            "req": reply_to(content.get("req")),
            "action": str(action),
            "done": done,
            "refused": refused,
            "message": f"{action}: {len(done)} of {len(ids)} experiments"
            + (f" ({len(refused)} refused)" if refused else ""),
        }

    def _act(
        self, action: str, ids: list[int], grace: float
    ) -> tuple[list[int], list[RefusalJson]]:
        lifecycle = self.service.lifecycle
        done: list[int] = []
        refused: list[RefusalJson] = []
        # Stopping: queued ones first, so that none starts in a slot a stopped one frees.
        order = sorted(ids, key=lambda i: self._status(i) in HOLDING) if action == "stop" else ids
        for experiment_id in order:
            try:
                if action == "stop":
                    lifecycle.stop(experiment_id, grace)
                elif action == "restart":
                    lifecycle.restart(experiment_id, force=False, queue=True)
                elif action == "start":
                    lifecycle.start(experiment_id, force=False, queue=True)
                else:
                    lifecycle.remove(experiment_id, delete_logs=True)
                done.append(experiment_id)
            except (NbexpError, Busy) as e:
                refused.append({"id": experiment_id, "message": str(e)})
        return done, refused

    def _status(self, experiment_id: int) -> Status | None:
        try:
            return self.service.store.get(experiment_id).status
        except NbexpError:
            return None


def gpu_holders(rows: Iterable[RowJson]) -> dict[str, list[list[Any]]]:
    """GPU index -> [[id, name], …] of our experiments holding it (the GPU panel's "held by"),
    from the running rows (the page no longer has every row)."""
    held: dict[str, list[list[Any]]] = {}
    for row in rows:
        if row["status"] in ("running", "paused") and isinstance(row.get("assigned"), list):
            for index in row["assigned"] or []:
                held.setdefault(str(index), []).append([row["id"], row["name"]])
    return held
