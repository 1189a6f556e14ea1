"""A compact live card for one experiment, shown as the result of a cell.

It shares the dashboard's front-end module (drawn with kind="card") and the manager's monitor
thread; it stops listening once the experiment has ended and its last state is shown.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ._dashboard import current_row, handle_action, static_asset
from ._monitor import DEFAULT_INTERVAL_S, Monitor, Snapshot, shared_monitor

if TYPE_CHECKING:
    from ._manager import Experiment, ExperimentManager

TAIL_LINES = 4  # lines of output under the card
TAIL_BYTES = 4096  # read from the end of the log for them


class ExperimentCard(anywidget.AnyWidget):
    """Status badge, runtime, progress bar, last lines of output and the allowed actions."""

    _esm = static_asset("widget.js")
    _css = static_asset("widget.css")

    kind = traitlets.Unicode("card").tag(sync=True)
    """Which view the shared front-end module draws."""
    row = traitlets.Dict().tag(sync=True)
    """The experiment's row, as in the dashboard's table ({} once removed)."""
    tail = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """The last few lines of output, plain text."""
    now = traitlets.Float(0.0).tag(sync=True)
    """The kernel's clock at the last update (the browser ticks the runtime from it)."""

    def __init__(
        self,
        manager: ExperimentManager,
        experiment_id: int,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        live: bool = True,
    ) -> None:
        import time

        self.manager = manager
        self.experiment_id = int(experiment_id)
        self._lock = threading.Lock()
        row = current_row(manager, self.experiment_id) or {}
        super().__init__(row=row, tail=_tail(self._log_path()), now=time.time())
        self.on_msg(self._on_message)
        self._monitor: Monitor = shared_monitor(manager, interval)
        if not _finished(row):
            self._monitor.subscribe(self._on_snapshot, start=live)

    def _on_snapshot(self, snap: Snapshot) -> None:
        with self._lock:
            row = snap.rows.get(self.experiment_id, {})
            tail = _tail(snap.log_paths.get(self.experiment_id))
            if row != self.row or tail != self.tail:
                with self.hold_sync():  # one message for the three traits
                    self.now = snap.at
                    self.row = row
                    self.tail = tail
            if _finished(row):
                self._monitor.unsubscribe(self._on_snapshot)  # nothing more will happen

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "action":
            req = content.get("req") if isinstance(content, dict) else None
            self.send({"type": "error", "req": req, "message": "a card only takes actions"})
            return
        reply = handle_action(self.manager, content, lambda i: current_row(self.manager, i))
        self.send(reply)
        if reply.get("type") != "error":
            row = reply.get("row") or {}
            with self._lock:
                self.row = row
            if not _finished(row):
                self._monitor.subscribe(self._on_snapshot)

    def _log_path(self) -> str | None:
        from ._errors import NbexpError

        try:
            return self.manager.store.get(self.experiment_id).log_path
        except NbexpError:
            return None

    def close(self) -> None:
        monitor = getattr(self, "_monitor", None)  # absent when __init__ failed half-way
        if monitor is not None:
            monitor.unsubscribe(self._on_snapshot)
        super().close()


def _finished(row: dict[str, Any]) -> bool:
    """Ended or removed: nothing will change unless someone restarts it (a pending one may
    be started from anywhere, so its card keeps listening)."""
    return not row or row.get("status") in ("completed", "error", "interrupted")


def _tail(path: str | None) -> list[str]:
    """The last lines of the experiment's current log, as a terminal shows them."""
    if not path:
        return []
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            f.seek(max(0, size - TAIL_BYTES))
            data = f.read()
    except OSError:
        return []
    from .terminal import render

    lines = [line[:200] for line in render(data) if line.strip()]
    return lines[-TAIL_LINES:]


def experiment_card(experiment: Experiment, *, live: bool = True) -> ExperimentCard:
    """The live card for an experiment (what `Experiment` shows as a cell result)."""
    return ExperimentCard(experiment._manager, experiment.id, live=live)
