"""Placeholder: replaced by the terminal renderer."""

from __future__ import annotations


def render(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines
