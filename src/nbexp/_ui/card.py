"""A compact live card for one experiment, shown as the result of a cell.

It shares the dashboard's front-end module (drawn with kind="card") and the home's monitor
thread; it stops listening once the experiment has ended and its last state is shown.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import anywidget
import traitlets

from .._core.errors import NbexpError
from .._service.core import Service
from . import protocol
from .actions import current_row, handle_action
from .dashboard import static_asset
from .monitor import DEFAULT_INTERVAL_S, Monitor, Snapshot, shared_monitor

TAIL_LINES = 4  # lines of output under the card


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
        service: Service,
        experiment_id: int,
        *,
        stop_grace: float,
        interval: float = DEFAULT_INTERVAL_S,
        live: bool = True,
    ) -> None:
        self.service = service
        self.stop_grace = stop_grace
        self.experiment_id = int(experiment_id)
        self._lock = threading.Lock()
        row: Any = current_row(service, self.experiment_id) or {}
        super().__init__(row=row, tail=self._tail(self._log_path()), now=time.time())
        self.on_msg(self._on_message)
        self._monitor: Monitor = shared_monitor(service, interval)
        if not _finished(row):
            self._monitor.subscribe(self._on_snapshot, start=live)

    def _on_snapshot(self, snap: Snapshot) -> None:
        with self._lock:
            row: Any = snap.rows.get(self.experiment_id, {})
            tail = self._tail(snap.log_paths.get(self.experiment_id))
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
            self.send(protocol.error(req, "a card only takes actions"))
            return
        reply = handle_action(
            self.service, content, self.stop_grace, lambda i: current_row(self.service, i)
        )
        self.send(reply)
        if reply["type"] == "action_done":
            row: Any = reply["row"] or {}
            with self._lock:
                self.row = row
            if not _finished(row):
                self._monitor.subscribe(self._on_snapshot)

    def _log_path(self) -> str | None:
        try:
            return self.service.store.get(self.experiment_id).log_path
        except NbexpError:
            return None

    def _tail(self, path: str | None) -> list[str]:
        """The last lines of the experiment's current log, as a terminal shows them."""
        return self.service.watches.tail(path, TAIL_LINES)

    def close(self) -> None:
        monitor = getattr(self, "_monitor", None)  # absent when __init__ failed half-way
        if monitor is not None:
            monitor.unsubscribe(self._on_snapshot)
        super().close()


def _finished(row: Any) -> bool:
    """Ended or removed: nothing will change unless someone restarts it (a pending one may
    be started from anywhere, so its card keeps listening)."""
    return not row or row.get("status") in ("completed", "error", "interrupted")
