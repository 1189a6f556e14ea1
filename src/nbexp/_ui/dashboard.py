"""The dashboard widget: status table, GPU meters and a live, virtualised log view.

Small state travels as traitlets; rows, GPU readings and log lines go as custom messages that hold
only what changed since the last push. Actions from the browser are checked here against the
transition table before anything runs, and refusals come back as messages, never as tracebacks.
"""

from __future__ import annotations

import difflib
import importlib.resources
import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import anywidget
import traitlets

from .._core.errors import NbexpError, UsageError
from .._core.states import Status
from .._service.core import Service
from .._service.watches import WatchedLog
from . import logtools, protocol
from .actions import current_row, handle_action
from .chart import ChartFeed
from .monitor import DEFAULT_INTERVAL_S, Monitor, Snapshot, diff_rows, shared_monitor
from .protocol import LogPart, RowJson
from .rows import Query, check_sort, window_ids
from .table_view import DEFAULT_LIMIT, TableView, gpu_holders

DEFAULT_STOP_GRACE_S = 10.0


class HasService(Protocol):
    """What the dashboard needs of an ExperimentManager (without importing the public face)."""

    service: Service
    stop_grace: float


# Lines pushed per tick are those that changed within this many lines of the end; anything older
# that changed (rare: only cursor-up redraws do it) is marked stale and re-fetched on demand.
TAIL_WINDOW = 100
# The log lines the browser gets when it opens a log: a screenful and some scrollback.
INITIAL_TAIL = 200
# Largest range one log request may ask for; the browser asks for what it shows plus a margin.
MAX_RANGE = 1000
# Polls (64 MiB each) allowed when a log is opened; a longer log is caught up over ticks.
OPEN_POLLS = 32
# GPU readings kept for the sparklines (5 minutes at one per second).
GPU_HISTORY = 300
# With nothing to say for this long, a tick says the kernel is alive (a page that hears nothing
# for three times as long shows "disconnected").
HEARTBEAT_S = 5.0
# The traits that make the table's query (shared by every view of the dashboard).
QUERY_TRAITS = (
    "status_filter",
    "search",
    "sort",
    "descending",
    "group_filter",
    "hide_ended",
    "grouped",
    "collapsed",
)


def static_asset(name: str) -> Path:
    """A front-end file: from the installed package (wheel) or the repository's js/ folder
    (editable installs, where the wheel's force-include does not apply)."""
    packaged = importlib.resources.files("nbexp").joinpath("static", name)
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "js" / name  # REPO/src/nbexp/_ui/


def json_size(message: Any) -> int:
    """Bytes a message takes on the wire (the kernel packs comm messages with json.dumps)."""
    return len(json.dumps(message, ensure_ascii=False).encode())


# -- the widget --------------------------------------------------------------------------------


class Dashboard(anywidget.AnyWidget):
    """Live status table, GPU meters and log view of every experiment in one nbexp home.

    `Dashboard(manager=None, home=None, interval=1.0)`: pass a manager, or a home folder (default
    NBEXP_HOME). `interval` is the seconds between pushes to the browser. `live=False` starts no
    monitor thread (call `refresh()` to push by hand).
    """

    _esm = static_asset("widget.js")
    _css = static_asset("widget.css")

    kind = traitlets.Unicode("dashboard").tag(sync=True)
    """Which view the shared front-end module draws."""
    selected = traitlets.Int(None, allow_none=True).tag(sync=True)
    """The experiment whose log is shown (None: none)."""
    status_filter = traitlets.List(traitlets.Unicode(), default_value=[]).tag(sync=True)
    """Statuses to show in the table (empty: all)."""
    search = traitlets.Unicode("").tag(sync=True)
    """Only rows whose name contains this text (case-insensitive)."""
    interval = traitlets.Float(DEFAULT_INTERVAL_S).tag(sync=True)
    """Seconds between pushes to the browser."""
    home = traitlets.Unicode("").tag(sync=True)
    """The nbexp home shown in the header."""
    sort = traitlets.Unicode("id").tag(sync=True)
    """The table's order: "id" (newest first by default), "name", "status", "runtime", "gpus",
    "group", "started", "progress", "reason", "param:NAME" or "metric:NAME"."""
    descending = traitlets.Bool(True).tag(sync=True)
    """Highest (newest) first."""
    group_filter = traitlets.Unicode("").tag(sync=True)
    """Only this group's experiments ("": every one)."""
    hide_ended = traitlets.Bool(False).tag(sync=True)
    """Hide completed, failed and stopped experiments."""
    grouped = traitlets.Bool(False).tag(sync=True)
    """Rows under their group's summary line (n running / queued / failed, best metric)."""
    collapsed = traitlets.List(traitlets.Unicode(), default_value=[]).tag(sync=True)
    """Groups whose rows are folded under their line (grouped mode)."""
    columns = traitlets.List(traitlets.Unicode(), default_value=[]).tag(sync=True)
    """The table's columns (empty: the default ones); params and metrics as "param:NAME",
    "metric:NAME"."""
    attempt = traitlets.Int(None, allow_none=True).tag(sync=True)
    """The attempt whose log is shown (None: the latest)."""

    def __init__(
        self,
        manager: HasService | None = None,
        home: str | None = None,
        interval: float = DEFAULT_INTERVAL_S,
        *,
        live: bool = True,
        **kwargs: Any,
    ) -> None:
        _check_kwargs(kwargs, (*QUERY_TRAITS, "selected", "columns", "attempt"))
        if manager is not None and home is not None:
            raise UsageError("pass either manager= or home=, not both")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise UsageError(f"interval must be > 0 seconds, not {interval!r}")
        self.service: Service = manager.service if manager is not None else Service(home)
        self.stop_grace = manager.stop_grace if manager is not None else DEFAULT_STOP_GRACE_S
        self._lock = threading.RLock()  # the monitor thread and the comm thread both push
        self._sent_rows: dict[int, RowJson] = {}
        self._sent_gpu_info: Any = None
        self._sent_gpu_readings: Any = None
        self._sent_gpu_foreign: Any = None
        self._sent_node_gpus: Any = None
        self._log: WatchedLog | None = None
        self._log_key: tuple[int, int] | None = None  # (experiment id, attempt) being followed
        self._log_version = 0  # the followed log's version last sent
        self._log_total = 0  # its line count last sent
        self._chart = ChartFeed(self.service.metrics)  # the chart panel's runs and metric
        self._views = 0  # views drawn in browsers (hello minus bye); no pushes while none
        self._table = TableView(self.service)  # each view's window of the runs table
        self._exports = logtools.Exports()
        self._log_end: str | None = None  # the end marker sent for the shown log
        self._sent_holders: Any = None
        self._last_push = time.monotonic()
        self.bytes_sent = 0
        self.messages_sent = 0
        self.last_message_bytes = 0
        self.largest_message_bytes = 0
        self.snapshot_bytes = 0
        super().__init__(interval=float(interval), home=str(self.service.home), **kwargs)
        self._monitor: Monitor = shared_monitor(self.service, float(interval))
        self.on_msg(self._on_message)
        self.observe(self._on_selected, names=["selected", "attempt"])
        self.observe(self._on_query, names=list(QUERY_TRAITS))
        self._table.set_query(self._query())
        self._monitor.subscribe(self._on_snapshot, start=live)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        monitor = getattr(self, "_monitor", None)  # absent when __init__ failed half-way
        if monitor is not None:
            monitor.unsubscribe(self._on_snapshot)
        super().close()

    def refresh(self) -> Snapshot:
        """Tick now and push what changed (also works with live=False)."""
        return self._monitor.tick()

    # -- pushing ---------------------------------------------------------------------------

    def _push(self, message: Any) -> None:
        size = json_size(message)
        self.bytes_sent += size
        self.messages_sent += 1
        self.last_message_bytes = size
        self.largest_message_bytes = max(self.largest_message_bytes, size)
        if message.get("type") == "snapshot":
            self.snapshot_bytes = size  # what a newly drawn view got first
        self._last_push = time.monotonic()
        self.send(message)

    def _on_snapshot(self, snap: Snapshot) -> None:
        with self._lock:
            if self._views == 0:
                return  # nobody is looking; a view that appears says hello and gets it all
            message = self._delta(snap)
            if message is None and time.monotonic() - self._last_push >= HEARTBEAT_S:
                message = {"type": "tick", "now": round(snap.at, 3)}  # "still here"
            if message is not None:
                self._push(message)

    def _delta(self, snap: Snapshot) -> protocol.TickMessage | None:
        """Everything that changed since the last push, or None when nothing did."""
        message: protocol.TickMessage = {"type": "tick", "now": round(snap.at, 3)}
        changed, removed = diff_rows(self._sent_rows, snap.rows)
        if changed:
            message["rows"] = changed
            ended = protocol.ended_rows(self._sent_rows, changed)
            if ended:
                message["ended"] = ended  # the page shows a toast for each
        if removed:
            message["removed"] = removed
            self._table.removed(removed)
        self._sent_rows = snap.rows
        message.update(self._table.tick(snap.rows, snap.at))  # type: ignore[typeddict-item]
        if changed or removed:
            holders = gpu_holders(snap.rows.values())
            if holders != self._sent_holders:
                message["gpu_holders"] = self._sent_holders = holders
        if snap.gpu_info != self._sent_gpu_info:
            message["gpu_info"] = snap.gpu_info
            self._sent_gpu_info = snap.gpu_info
        if snap.gpu and snap.gpu != self._sent_gpu_readings:
            message["gpu"] = snap.gpu
            self._sent_gpu_readings = snap.gpu
        # Someone else's processes come and go (and change memory) at their own pace: sent on
        # their own, only when they change, so neither they nor the readings resend the other.
        if snap.gpu_foreign != self._sent_gpu_foreign:
            message["gpu_foreign"] = snap.gpu_foreign
            self._sent_gpu_foreign = snap.gpu_foreign
        if snap.node_gpus != self._sent_node_gpus:  # changes once per sidecar interval
            message["node_gpus"] = snap.node_gpus
            self._sent_node_gpus = snap.node_gpus
        log = self._log_delta(snap)
        if log is not None:
            message["log"] = log
        chart = self._chart.delta(snap.rows)
        if chart is not None:
            message["chart"] = chart  # the plotted runs' new points only
        if snap.errors:
            message["problems"] = snap.errors
        return message if len(message) > 2 else None

    def _log_delta(self, snap: Snapshot) -> LogPart | None:
        if self.selected is None:
            return None
        row = snap.rows.get(self.selected)
        if row is None:
            return None
        attempt = self._shown_attempt(row)
        if self._log_key != (row["id"], attempt):
            return self._open_log(row["id"], attempt)
        if self._log is None:
            return None
        end = logtools.end_text(Status(row["status"]), row["reason"], row["exit_code"])
        if attempt == row["attempt"] and end != self._log_end:
            self._log_end = end  # it just ended: the view draws the marker
            return {"id": row["id"], "attempt": attempt, "total": self._log.line_count,
                    "lines": {}, "end": end or ""}  # fmt: skip
        self._log.update(max_polls=1)
        before = self._log_total
        version, changed = self._log.changed_since(self._log_version)
        total = self._log.line_count
        if not changed and total == before:
            return None
        self._log_version, self._log_total = version, total
        return self._changed_lines(changed, total, before)

    def _changed_lines(self, changed: list[int], total: int, before: int) -> LogPart:
        assert self._log is not None and self._log_key is not None
        window = max(0, total - TAIL_WINDOW)
        recent = [n for n in changed if n >= window]
        lines: dict[str, Any] = {}
        if recent:
            first = recent[0]
            fetched = self._log.lines(first, recent[-1] + 1)
            lines = {
                str(n): protocol.line_json(fetched[n - first])
                for n in recent
                if n - first < len(fetched)
            }
        out: LogPart = {
            "id": self._log_key[0],
            "attempt": self._log_key[1],
            "total": total,
            "lines": lines,
        }
        # Lines the browser may hold that changed outside the window (a redraw far up): it drops
        # them and asks again if it scrolls there. New lines below the window it never had.
        stale = [n for n in changed if n < min(window, before)]
        if stale:
            out["stale"] = [min(stale), max(stale) + 1]
        return out

    def _open_log(self, experiment_id: int, attempt: int) -> LogPart:
        """Start following an experiment's current log; its tail for the browser."""
        self._log_key = (experiment_id, attempt)
        self._log = None
        base: LogPart = {"reset": True, "id": experiment_id, "attempt": attempt, "start": 0}
        if attempt < 1:
            return {**base, "total": 0, "lines": [], "note": "not started yet: no log"}
        try:
            log = logtools.watch(self.service, experiment_id, attempt)
            record = self.service.fresh_record(experiment_id)
            base["attempts"] = logtools.attempts_json(self.service, record)
            self._log_end = logtools.attempt_end(self.service, record, attempt)
        except NbexpError as e:
            return {**base, "total": 0, "lines": [], "note": str(e)}
        if self._log_end:
            base["end"] = self._log_end
        log.update(max_polls=OPEN_POLLS)
        self._log = log
        total = log.line_count
        self._log_version, self._log_total = log.version, total
        start = max(0, total - INITIAL_TAIL)
        lines = protocol.lines_json(log.lines(start, total))
        return {**base, "total": total, "start": start, "lines": lines}

    def _on_selected(self, change: dict[str, Any]) -> None:
        # Opening a long log reads and renders all of it: do it off the comm thread.
        threading.Thread(target=self._push_selected_log, name="nbexp-log-open", daemon=True).start()

    def _push_selected_log(self) -> None:
        try:
            self._push_selected_log_now()
        finally:
            self.service.store.close_thread()  # this short thread's connection

    def _push_selected_log_now(self) -> None:
        with self._lock:
            selected = self.selected
            if selected is None:
                self._log, self._log_key = None, None
                return
            row = current_row(self.service, selected)
            if row is None:
                self._push(protocol.error(None, f"experiment {selected} no longer exists"))
                return
            attempt = self._shown_attempt(row)
            if self._log_key == (selected, attempt):
                return  # a tick opened it meanwhile
            log = self._open_log(selected, attempt)
            self._push({"type": "tick", "now": round(time.time(), 3), "log": log})

    # -- messages from the browser -----------------------------------------------------------

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        try:
            reply = self._reply(content)
        except Exception as e:  # the page shows this inline; the comm thread must not die
            req = content.get("req") if isinstance(content, dict) else None
            reply = protocol.error(req, f"{type(e).__name__}: {e}")
        if reply is not None:
            with self._lock:
                self._push(reply)

    def _reply(self, content: Any) -> Any:
        if not isinstance(content, dict):
            return protocol.error(None, "a message must be an object")
        kind = content.get("type")
        if kind == "hello":
            self._views += 1
            return self._full_state(content)
        if kind == "bye":  # a view was removed (cell cleared, output closed)
            self._views = max(0, self._views - 1)
            if isinstance(content.get("view"), str):
                self._table.close(content["view"])
            return None
        if kind == "action":
            # The reply carries the acted-on row; the rest (queue, GPUs) follows at the next
            # tick, so pushes stay at one per interval however fast someone clicks.
            return handle_action(self.service, content, self.stop_grace, self._fresh_row)
        if kind == "log_range":
            return self._log_range(content)
        if kind in ("window", "bulk"):
            return self._table_request(kind, content)
        if kind in ("log_search", "log_export"):
            return self._log_tool(kind, content)
        if kind == "chart":
            latest = self._monitor.latest
            rows = latest.rows if latest is not None else self._monitor.snapshot().rows
            with self._lock:  # the monitor thread pushes the chart's deltas
                return self._chart.request(content, rows)
        return protocol.error(content.get("req"), f"unknown message type {kind!r}")

    def _fresh_row(self, experiment_id: int) -> RowJson | None:
        row = current_row(self.service, experiment_id)
        self._table.forgot(experiment_id, row)  # the page takes it from the answer
        return row

    # -- the runs table and the log's tools ----------------------------------------------------

    def _query(self) -> Query:
        return Query(
            statuses=frozenset(self.status_filter),
            group=self.group_filter or None,
            text=self.search,
            hide_ended=self.hide_ended,
            sort=check_sort(self.sort),
            descending=self.descending,
            grouped=self.grouped,
            collapsed=frozenset(self.collapsed),
        )

    def _on_query(self, change: dict[str, Any]) -> None:
        """A filter or the order changed (in the page or from Python): every view's window."""
        with self._lock:
            self._table.set_query(self._query())
            if self._views == 0:
                return  # a view that appears says hello and gets its window then
            rows, _ = self._rows_now()
            parts = self._table.tick(rows, time.time())
            if parts:
                self._push({"type": "tick", "now": round(time.time(), 3), **parts})

    def _rows_now(self) -> tuple[dict[int, RowJson], float]:
        latest = self._monitor.latest
        if latest is None or time.time() - latest.at > 2 * self._monitor.interval + 1:
            latest = self._monitor.tick()  # no thread ticks (live=False, or stopped): now
        return latest.rows, latest.at

    def _table_request(self, kind: str, content: dict[str, Any]) -> Any:
        if kind == "bulk" and content.get("matching") is True:
            self._monitor.tick()  # "every one the filter shows" means now, not a second ago
        rows, at = self._rows_now()
        with self._lock:
            if kind == "window":
                return self._table.request(content, rows, at)
        done = self._table.bulk(content, rows, at, self.stop_grace)
        self._monitor.wake()  # the rows it changed, at once
        return done

    def _log_tool(self, kind: str, content: dict[str, Any]) -> Any:
        record = self.service.fresh_record(content.get("id"))
        if kind == "log_search":
            return logtools.search(self.service, record, content)
        return self._exports.piece(self.service, record, content)

    def _shown_attempt(self, row: RowJson) -> int:
        """The attempt whose log is shown: the one picked, while it exists, else the latest."""
        picked = self.attempt
        return picked if picked is not None and 1 <= picked <= row["attempt"] else row["attempt"]

    def _full_state(self, hello: dict[str, Any]) -> protocol.SnapshotMessage:
        """Everything a freshly drawn view needs (a new cell output, a reloaded page): the GPUs,
        the selected log, and the first window of the table with every row of it."""
        view = str(hello.get("view") or "view")
        limit = hello.get("limit")
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else DEFAULT_LIMIT
        with self._lock:
            latest = self._monitor.latest
            fresh = latest is not None and time.time() - latest.at < 2 * self._monitor.interval
            snap = latest if fresh and latest is not None else self._monitor.snapshot()
            self._sent_rows = snap.rows
            self._sent_gpu_info, self._sent_gpu_readings = snap.gpu_info, snap.gpu
            self._sent_gpu_foreign = snap.gpu_foreign
            self._sent_node_gpus = snap.node_gpus
            indices = [g["index"] for g in snap.gpu_info["gpus"]]
            message: protocol.SnapshotMessage = {
                "type": "snapshot",
                "now": round(snap.at, 3),
                "view": view,
                "gpu_info": snap.gpu_info,
                "gpu": snap.gpu,
                "gpu_foreign": snap.gpu_foreign,
                "gpu_history": self._monitor.gpu_history(indices, GPU_HISTORY),
                "node_gpus": snap.node_gpus,
            }
            if self.selected is not None and self.selected in snap.rows:
                row = snap.rows[self.selected]
                message["log"] = self._open_log(row["id"], self._shown_attempt(row))
            shown, _, counts, _ = self._table.open(view, 0, limit, snap.rows, snap.at)
            message["windows"] = {view: shown}
            message["counts"] = counts
            # A new view has no row yet: all of its window's (the others take them too).
            message["rows"] = [snap.rows[i] for i in window_ids(shown) if i in snap.rows]
            for row in message["rows"]:
                self._table.forgot(row["id"], row)
            message["gpu_holders"] = self._sent_holders = gpu_holders(snap.rows.values())
            return message

    def _log_range(self, content: dict[str, Any]) -> Any:
        req = content.get("req")
        start, end = content.get("start"), content.get("end")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            raise UsageError("a log range needs integer start and end")
        assert isinstance(start, int) and isinstance(end, int)
        with self._lock:
            key = (content.get("id"), content.get("attempt"))
            if self._log is None or self._log_key != key:
                return protocol.error(
                    req, "that log is no longer selected; pick the experiment again"
                )
            total = self._log.line_count
            start = max(0, min(start, total))
            end = max(start, min(end, total, start + MAX_RANGE))
            message: protocol.LogLinesMessage = {
                "type": "log_lines",
                "req": req,
                "id": key[0],
                "attempt": key[1],
                "start": start,
                "total": total,
                "lines": protocol.lines_json(self._log.lines(start, end)),
            }
            return message


def _check_kwargs(kwargs: dict[str, Any], known: tuple[str, ...]) -> None:
    """Unknown keyword arguments are a TypeError that suggests the closest right name."""
    for name in kwargs:
        if name not in known and not name.startswith(("layout", "_")):
            options = (*known, "manager", "home", "interval", "live")
            close = difflib.get_close_matches(name, options, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"Dashboard() got an unexpected keyword argument {name!r}{hint}")
