"""The progress an ended run's log shows last, for its row once it has ended. Pure."""

from __future__ import annotations

import re
from typing import Any

from ..progress import nested_progress, parse_progress
from ..terminal import render
from .bar_frames import BAR_HINT, strip_escapes

__all__ = ["final_progress"]


def final_progress(tail: bytes, state: dict[str, Any] | None) -> dict[str, Any] | None:
    """An ended log's last progress, as JSON: the bars its last screen shows (nested ones
    as one reading), else the last frame drawn in its tail (a bar cleared when it closed), else
    the last one extraction saw."""
    lines = render(tail)
    found = nested_progress(lines[-40:]) if lines else None
    if found is None:
        for segment in reversed(re.split(rb"[\r\n\b]", tail)):
            text = strip_escapes(segment).decode("utf-8", "replace").strip()
            if text and BAR_HINT.search(segment) is not None:
                found = parse_progress(text)
                if found is not None:
                    break
    if found is not None:
        return found.to_json()
    latest = (state or {}).get("latest")
    return latest if isinstance(latest, dict) else None
