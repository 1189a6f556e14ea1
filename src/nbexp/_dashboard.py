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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ._errors import NbexpError, UsageError
from ._monitor import DEFAULT_INTERVAL_S, Monitor, Snapshot, diff_rows, shared_monitor
from .states import USER_ACTIONS, allowed_actions

if TYPE_CHECKING:
    from ._manager import ExperimentManager

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
# Names of the actions the browser may ask for, mapped to what the manager calls them.
ACTIONS = tuple(a.value for a in USER_ACTIONS)


def static_asset(name: str) -> Path:
    """A front-end file: from the installed package (wheel) or the repository's js/ folder
    (editable installs, where the wheel's force-include does not apply)."""
    packaged = importlib.resources.files("nbexp").joinpath("static", name)
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "js" / name


def json_size(message: Any) -> int:
    """Bytes a message takes on the wire (the kernel packs comm messages with json.dumps)."""
    return len(json.dumps(message, ensure_ascii=False).encode())


# -- reading a log -----------------------------------------------------------------------------


class LogView:
    """The selected experiment's log as the browser needs it: changed line numbers per poll,
    and any range of lines, styled where the renderer still holds them (`nbexp._follow`
    re-renders older ones from checkpoints, so memory stays bounded however long the log)."""

    def __init__(self, path: str) -> None:
        from ._follow import LogFollower

        self.path = path
        self._follower = LogFollower(path)

    @property
    def line_count(self) -> int:
        return int(self._follower.line_count)

    def poll(self, budget_polls: int = 1) -> set[int]:
        """Read what was appended; the numbers of the lines that changed (0-based). A poll
        reads at most the follower's byte budget; `budget_polls` allows more (opening)."""
        changed: set[int] = set()
        for _ in range(budget_polls):
            update = self._follower.poll()
            changed.update(update.changed)
            if update.caught_up:
                break
        total = self.line_count
        return {n for n in changed if n < total}

    def lines(self, start: int, end: int) -> list[Any]:
        start, end = max(0, start), min(end, self.line_count)
        if start >= end:
            return []
        held = max(start, self._follower.screen.first_line)
        out: list[Any] = list(self._follower.lines(start, held)) if held > start else []
        out.extend(line_json(self._follower.styled(n)) for n in range(held, end))
        return out


def line_json(line: Any) -> Any:
    """A log line on the wire: plain text, or [text, [[start, end, style], ...]] with colours."""
    if isinstance(line, str):
        return line
    text = getattr(line, "text", None)
    spans = getattr(line, "spans", None)
    if isinstance(text, str):
        if not spans:
            return text
        out = []
        for span in spans:
            start, end, style = _span_parts(span)
            if style:
                out.append([start, end, style])
        return [text, out] if out else text
    if isinstance(line, tuple) and len(line) == 2 and isinstance(line[0], str):
        text, spans = line
        styled = [[a, b, c] for a, b, c in (_span_parts(x) for x in spans) if c]
        return [text, styled] if styled else text
    return str(line)


def _span_parts(span: Any) -> tuple[int, int, str]:
    if isinstance(span, (list, tuple)):
        start, end, style = span[0], span[1], span[2] if len(span) > 2 else ""
    else:
        start, end, style = span.start, span.end, getattr(span, "style", "")
    if not isinstance(style, str):
        css = getattr(style, "css", None)
        style = css() if callable(css) else (css if isinstance(css, str) else "")
    return int(start), int(end), style


def open_log(path: str) -> LogView:
    """Follow a log file, read up to its current end."""
    view = LogView(path)
    view.poll(budget_polls=OPEN_POLLS)
    return view


# -- actions -----------------------------------------------------------------------------------


def check_action(manager: ExperimentManager, content: Any) -> tuple[int, str]:
    """The (experiment id, action) a browser message asks for, or a UsageError saying why not."""
    if not isinstance(content, dict):
        raise UsageError("an action message must be an object")
    experiment_id = content.get("id")
    action = content.get("action")
    if isinstance(experiment_id, bool) or not isinstance(experiment_id, int):
        raise UsageError(f"an action needs an integer experiment id, not {experiment_id!r}")
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    record = manager.store.get(experiment_id)  # NotFound names the id
    allowed = allowed_actions(record.status)
    if action not in allowed:
        now = ", ".join(allowed) if allowed else "nothing"
        raise UsageError(
            f"cannot {action} experiment {experiment_id}: it is {record.status.value} "
            f"(allowed now: {now})"
        )
    return experiment_id, action


def run_action(manager: ExperimentManager, experiment_id: int, action: str) -> str:
    """Do a checked action; what happened, in words. Stop does not wait for the grace period:
    this runs on the kernel's comm thread, which must stay free for other messages."""
    if action == "start":
        manager.start(experiment_id)
    elif action == "force start":
        manager.start(experiment_id, force=True)
    elif action == "stop":
        manager.stop(experiment_id, wait=False)
    elif action == "restart":
        manager.restart(experiment_id)
    elif action == "remove":
        manager.remove(experiment_id)
    return f"{action}: experiment {experiment_id}"


def handle_action(
    manager: ExperimentManager, content: Any, row_of: Callable[[int], dict[str, Any] | None]
) -> dict[str, Any]:
    """The reply to an action message: the fresh row on success, an error message otherwise."""
    req = content.get("req") if isinstance(content, dict) else None
    try:
        experiment_id, action = check_action(manager, content)
        message = run_action(manager, experiment_id, action)
    except NbexpError as e:
        return {"type": "error", "req": req, "message": str(e)}
    except Exception as e:  # never a traceback in the page; the message still says what failed
        return {"type": "error", "req": req, "message": f"{type(e).__name__}: {e}"}
    return {
        "type": "action_done",
        "req": req,
        "id": experiment_id,
        "action": action,
        "message": message,
        "row": row_of(experiment_id),
    }


def current_row(manager: ExperimentManager, experiment_id: int) -> dict[str, Any] | None:
    """One experiment's row as the table shows it, read afresh (None once removed)."""
    from ._errors import NotFound
    from ._monitor import row_json

    try:
        record = manager._fresh_record(experiment_id)
    except NotFound:
        return None
    return row_json(record, None)


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

    def __init__(
        self,
        manager: ExperimentManager | None = None,
        home: str | None = None,
        interval: float = DEFAULT_INTERVAL_S,
        *,
        live: bool = True,
        **kwargs: Any,
    ) -> None:
        _check_kwargs(kwargs, ("selected", "status_filter", "search"))
        if manager is not None and home is not None:
            raise UsageError("pass either manager= or home=, not both")
        if not interval > 0:
            raise UsageError(f"interval must be > 0 seconds, not {interval!r}")
        if manager is None:
            from ._manager import ExperimentManager

            manager = ExperimentManager(home)
        self.manager = manager
        self._lock = threading.RLock()  # the monitor thread and the comm thread both push
        self._sent_rows: dict[int, dict[str, Any]] = {}
        self._sent_gpu_info: Any = None
        self._sent_gpu_readings: Any = None
        self._sent_gpu_foreign: Any = None
        self._log: LogView | None = None
        self._log_key: tuple[int, int] | None = None  # (experiment id, attempt) being followed
        self._last_push = 0.0
        self._views = 0  # views drawn in browsers (hello minus bye); no pushes while none
        self.bytes_sent = 0
        self.messages_sent = 0
        self.last_message_bytes = 0
        super().__init__(interval=float(interval), home=str(manager.home), **kwargs)
        self._monitor: Monitor = shared_monitor(manager, float(interval))
        self.on_msg(self._on_message)
        self.observe(self._on_selected, names=["selected"])
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

    def _push(self, message: dict[str, Any]) -> None:
        size = json_size(message)
        self.bytes_sent += size
        self.messages_sent += 1
        self.last_message_bytes = size
        self.send(message)

    def _on_snapshot(self, snap: Snapshot) -> None:
        with self._lock:
            if self._views == 0:
                return  # nobody is looking; a view that appears says hello and gets it all
            message = self._delta(snap)
            if message is not None:
                self._push(message)
            self._last_push = time.monotonic()

    def _delta(self, snap: Snapshot) -> dict[str, Any] | None:
        """Everything that changed since the last push, or None when nothing did."""
        message: dict[str, Any] = {"type": "tick", "now": round(snap.at, 3)}
        changed, removed = diff_rows(self._sent_rows, snap.rows)
        if changed:
            message["rows"] = changed
        if removed:
            message["removed"] = removed
        self._sent_rows = snap.rows
        message.update(self._gpu_delta(snap))
        log = self._log_delta(snap)
        if log is not None:
            message["log"] = log
        if snap.errors:
            message["problems"] = snap.errors
        return message if len(message) > 2 else None

    def _gpu_delta(self, snap: Snapshot) -> dict[str, Any]:
        info, readings = _gpu_parts(snap.gpus)
        out: dict[str, Any] = {}
        if info != self._sent_gpu_info:
            out["gpu_info"] = info
            self._sent_gpu_info = info
        if readings and readings != self._sent_gpu_readings:
            out["gpu"] = readings
            self._sent_gpu_readings = readings
        # Someone else's processes come and go (and change memory) at their own pace: sent on
        # their own, only when they change, so neither they nor the readings resend the other.
        foreign = _gpu_foreign(snap.gpus)
        if foreign != self._sent_gpu_foreign:
            out["gpu_foreign"] = foreign
            self._sent_gpu_foreign = foreign
        return out

    def _log_delta(self, snap: Snapshot) -> dict[str, Any] | None:
        if self.selected is None:
            return None
        row = snap.rows.get(self.selected)
        if row is None:
            return None
        if self._log_key != (row["id"], row["attempt"]):
            return {"reset": True, **self._open_log(row["id"], row["attempt"])}
        if self._log is None:
            return None
        before = self._log.line_count
        changed = self._log.poll()
        total = self._log.line_count
        if not changed and total == before:
            return None
        return self._changed_lines(changed, total, before)

    def _changed_lines(self, changed: set[int], total: int, before: int) -> dict[str, Any]:
        assert self._log is not None and self._log_key is not None
        window = max(0, total - TAIL_WINDOW)
        recent = sorted(n for n in changed if n >= window)
        lines: dict[str, Any] = {}
        if recent:
            first = recent[0]
            fetched = self._log.lines(first, recent[-1] + 1)
            lines = {str(n): fetched[n - first] for n in recent if n - first < len(fetched)}
        out: dict[str, Any] = {
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

    def _open_log(self, experiment_id: int, attempt: int) -> dict[str, Any]:
        """Start following an experiment's current log; its tail for the browser."""
        self._log_key = (experiment_id, attempt)
        self._log = None
        base = {"id": experiment_id, "attempt": attempt}
        if attempt < 1:
            return {**base, "total": 0, "start": 0, "lines": [], "note": "not started yet: no log"}
        try:
            path = self.manager.log_path(experiment_id)
        except NbexpError as e:
            return {**base, "total": 0, "start": 0, "lines": [], "note": str(e)}
        self._log = open_log(path)
        total = self._log.line_count
        start = max(0, total - INITIAL_TAIL)
        return {**base, "total": total, "start": start, "lines": self._log.lines(start, total)}

    def _on_selected(self, change: dict[str, Any]) -> None:
        # Opening a long log reads and renders all of it: do it off the comm thread.
        threading.Thread(target=self._push_selected_log, name="nbexp-log-open", daemon=True).start()

    def _push_selected_log(self) -> None:
        with self._lock:
            selected = self.selected
            if selected is None:
                self._log, self._log_key = None, None
                return
            row = current_row(self.manager, selected)
            if row is None:
                self._push({"type": "error", "message": f"experiment {selected} no longer exists"})
                return
            if self._log_key == (selected, row["attempt"]):
                return  # a tick opened it meanwhile
            log = self._open_log(selected, row["attempt"])
            now = round(time.time(), 3)
            self._push({"type": "tick", "now": now, "log": {"reset": True, **log}})

    # -- messages from the browser -----------------------------------------------------------

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        try:
            reply = self._reply(content)
        except Exception as e:  # the page shows this inline; the comm thread must not die
            req = content.get("req") if isinstance(content, dict) else None
            reply = {"type": "error", "req": req, "message": f"{type(e).__name__}: {e}"}
        if reply is not None:
            with self._lock:
                self._push(reply)

    def _reply(self, content: Any) -> dict[str, Any] | None:
        if not isinstance(content, dict):
            return {"type": "error", "req": None, "message": "a message must be an object"}
        kind = content.get("type")
        if kind == "hello":
            self._views += 1
            return self._full_state()
        if kind == "bye":  # a view was removed (cell cleared, output closed)
            self._views = max(0, self._views - 1)
            return None
        if kind == "action":
            # The reply carries the acted-on row; the rest (queue, GPUs) follows at the next
            # tick, so pushes stay at one per interval however fast someone clicks.
            return handle_action(self.manager, content, self._fresh_row)
        if kind == "log_range":
            return self._log_range(content)
        return {
            "type": "error",
            "req": content.get("req"),
            "message": f"unknown message type {kind!r}",
        }

    def _fresh_row(self, experiment_id: int) -> dict[str, Any] | None:
        """The row read now, keeping the progress last pushed (the next tick refreshes it)."""
        row = current_row(self.manager, experiment_id)
        if row is not None:
            row["progress"] = self._sent_rows.get(experiment_id, {}).get("progress")
        return row

    def _full_state(self) -> dict[str, Any]:
        """Everything a freshly drawn view needs (a new cell output, a reloaded page)."""
        with self._lock:
            latest = self._monitor.latest
            fresh = latest is not None and time.time() - latest.at < 2 * self._monitor.interval
            snap = latest if fresh and latest is not None else self._monitor.snapshot()
            self._sent_rows = snap.rows
            message: dict[str, Any] = {
                "type": "snapshot",
                "now": round(snap.at, 3),
                "rows": list(snap.rows.values()),
            }
            info, readings = _gpu_parts(snap.gpus)
            self._sent_gpu_info, self._sent_gpu_readings = info, readings
            self._sent_gpu_foreign = _gpu_foreign(snap.gpus)
            message["gpu_info"] = info
            message["gpu"] = readings
            message["gpu_foreign"] = self._sent_gpu_foreign
            indices = [g["index"] for g in info["gpus"]]
            message["gpu_history"] = self._monitor.gpu_source.history(indices, GPU_HISTORY)
            if self.selected is not None and self.selected in snap.rows:
                row = snap.rows[self.selected]
                message["log"] = {"reset": True, **self._open_log(row["id"], row["attempt"])}
            return message

    def _log_range(self, content: dict[str, Any]) -> dict[str, Any]:
        req = content.get("req")
        start, end = content.get("start"), content.get("end")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            raise UsageError("a log range needs integer start and end")
        assert isinstance(start, int) and isinstance(end, int)
        with self._lock:
            key = (content.get("id"), content.get("attempt"))
            if self._log is None or self._log_key != key:
                return {
                    "type": "error",
                    "req": req,
                    "message": "that log is no longer selected; pick the experiment again",
                }
            total = self._log.line_count
            start = max(0, min(start, total))
            end = max(start, min(end, total, start + MAX_RANGE))
            return {
                "type": "log_lines",
                "req": req,
                "id": key[0],
                "attempt": key[1],
                "start": start,
                "total": total,
                "lines": self._log.lines(start, end),
            }


def _gpu_parts(gpus: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    """What rarely changes about the GPUs (names, totals, holders) and the readings that do."""
    info = {k: v for k, v in gpus.items() if k != "gpus"}
    info["gpus"] = [
        {
            k: g.get(k)
            for k in ("index", "uuid", "name", "mem_total", "power_limit", "pids", "problem")
        }
        for g in gpus.get("gpus", [])
    ]
    readings = [
        [g.get("mem_used"), g.get("util"), g.get("temp"), g.get("power")]
        for g in gpus.get("gpus", [])
    ]
    return info, readings


def _gpu_foreign(gpus: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """GPU index (a string: JSON keys are) -> someone else's processes on it, as
    {"pid", "user", "mem" (MiB)}. Only GPUs that have any: usually this is {}."""
    return {str(g.get("index")): g["foreign"] for g in gpus.get("gpus", []) if g.get("foreign")}


def _check_kwargs(kwargs: dict[str, Any], known: tuple[str, ...]) -> None:
    """Unknown keyword arguments are a TypeError that suggests the closest right name."""
    for name in kwargs:
        if name not in known and not name.startswith(("layout", "_")):
            options = (*known, "manager", "home", "interval", "live")
            close = difflib.get_close_matches(name, options, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"Dashboard() got an unexpected keyword argument {name!r}{hint}")
