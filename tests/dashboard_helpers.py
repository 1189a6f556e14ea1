"""A dashboard driven without a browser: it sends into a list, and requests go straight to its
message handler, as the page's would."""

from __future__ import annotations

from typing import Any

from nbexp import ExperimentManager
from nbexp._ui.dashboard import Dashboard


class Sent(list):  # type: ignore[type-arg]
    """Messages a dashboard sent, newest last."""

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self if m.get("type") == kind]


def dashboard(manager: ExperimentManager, **kwargs: Any) -> tuple[Dashboard, Sent]:
    """A dashboard that ticks only when told (live=False) and keeps what it sends."""
    dash = Dashboard(manager=manager, live=False, **kwargs)
    sent = Sent()
    dash.send = sent.append  # type: ignore[method-assign]
    return dash, sent


def ask(dash: Dashboard, sent: Sent, content: Any, *, alone: bool = True) -> dict[str, Any]:
    """Send `content` as the page would; its answer, the last message sent. `alone`: it is the
    only one (False where the request makes the dashboard tick first, as a bulk action on
    what the filter shows does)."""
    count = len(sent)
    dash._on_message(dash, content, [])
    assert len(sent) == count + 1 if alone else len(sent) > count
    reply: dict[str, Any] = sent[-1]
    return reply
