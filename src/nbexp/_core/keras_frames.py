"""Keras 2's progress bar on a terminal, read a block of frames at a time. Pure.

While an epoch runs, Keras 2 redraws one line per batch: it backspaces over the last frame,
returns the carriage and writes `12/1000 [>.....] - ETA: 3s - loss: 0.2345 - accuracy:
0.9012`. The frames of one epoch differ only in their numbers, so once a frame has been read
in full (`nbexp.progress`), a regex made for its shape reads the next block of frames in one
pass and a `float` map per column, where the full parse costs ~50 µs a frame. `read` says None
whenever a block is not exactly frames of that shape; the caller then reads it frame by frame,
which stays the reference: a test compares the two on every frame.
"""

from __future__ import annotations

import re
from typing import Any

from .bar_frames import BarBlock, rising

__all__ = ["KerasTemplate", "KerasTemplates"]

MAX_TEMPLATES = 16

# Parts as `nbexp.progress` reads them (there as text, here as bytes), bounded so that a frame
# that fits is always shorter than the 4,096 characters `parse_progress` reads at most.
_DURATION = r"\d{1,9}(?:\.\d{1,9})?(?:s|ms|us|µs)|\d{1,9}:\d{2}(?::\d{2})?".encode()
_VALUE = rb"([-+]?(?:\d{1,40}\.?\d{0,40}|\.\d{1,40})(?:[eE][-+]?\d{1,5})?|nan|inf)"
# A running epoch's frame: count, total, the bar, the ETA and "name: value" pairs.
_RUNNING = re.compile(
    rb"[ ]{0,9}\d{1,20}/(\d{1,20}) \[[=>.]{0,200}\] - ETA: (?:" + _DURATION + rb")"
    rb"((?: - [!-~]{1,64}: " + _VALUE + rb"){1,20})[ ]{0,1000}\Z"
)
_PAIR_NAME = re.compile(rb" - ([!-~]{1,64}): ")


class KerasTemplate:
    """The shape of a running epoch's frame: its total and its metrics' names."""

    def __init__(self, total: bytes, names: list[bytes]) -> None:
        self.names = [name.decode("ascii") for name in names]
        pairs = b"".join(rb" - " + re.escape(name) + rb": " + _VALUE for name in names)
        # A frame starts after its backspaces and CR and ends before the next backspace (or
        # the block's end), as the frame-by-frame reading cuts them; Keras pads a frame
        # shorter than the last one with spaces.
        self.pattern = re.compile(
            rb"\x08*\r[ ]{0,9}(\d{1,20})/" + re.escape(total) + rb" \[[=>.]{0,200}\] - ETA: (?:"
            + _DURATION + rb")" + pairs + rb"[ ]{0,1000}(?=\x08|\Z)"
        )  # fmt: skip

    @staticmethod
    def shape(frame: bytes) -> tuple[bytes, tuple[bytes, ...]] | None:
        """A running epoch's frame's total and metric names; None for any other frame."""
        found = _RUNNING.match(frame)
        return None if found is None else (found[1], tuple(_PAIR_NAME.findall(found[2])))

    @classmethod
    def learn(cls, total: bytes, names: tuple[bytes, ...]) -> KerasTemplate | None:
        """The template of frames of this shape, or None when the frame-by-frame reading could
        read such frames otherwise: a name given twice, or one with a byte that means
        something else to a bar's parser (`%`, `|`, `[`, `]`, `:`)."""
        if len(set(names)) != len(names) or any(re.search(rb"[%|\[\]:]", n) for n in names):
            return None
        return cls(total, list(names))

    def read(self, data: bytes, pos: int, endpos: int) -> BarBlock | None:
        """The frames that fill data[pos:endpos) exactly, the last one followed by backspaces
        only; None unless every frame there has this shape."""
        # split, not findall: one flat list [gap, n, value, ..., gap, n, ...], no tuple a frame.
        parts = self.pattern.split(data[pos:endpos])
        width = len(self.names) + 2
        frames = len(parts) // width
        if frames == 0 or any(parts[0 : frames * width : width]):
            return None  # text between frames, or a frame of another shape
        if parts[-1].strip(b"\x08"):
            return None  # the block ends in the middle of something else
        values = [list(map(float, parts[k::width])) for k in range(2, width)]
        return BarBlock.of(list(map(float, parts[1::width])), self.names, values)

    @staticmethod
    def continues(block: BarBlock, bar: dict[str, Any]) -> bool:
        """Whether the frame-by-frame reading would read `block` as `bar` (its state) going
        on: the count never going back, and no frame after one that finished the epoch (the
        next frame with new metrics would start the bar again)."""
        return (
            rising(block.counts, bar["n"])
            and not bar["done"]
            and max(block.counts[:-1], default=0) < bar["t"]
        )


class KerasTemplates:
    """The templates of the frame shapes seen (None for a shape that has none), a bounded few."""

    def __init__(self) -> None:
        self._known: dict[tuple[bytes, tuple[bytes, ...]], KerasTemplate | None] = {}

    def get(self, frame: bytes) -> KerasTemplate | None:
        """The template for frames of `frame`'s shape (see `KerasTemplate.shape`)."""
        shape = KerasTemplate.shape(frame)
        if shape is None:
            return None
        if shape not in self._known:
            if len(self._known) >= MAX_TEMPLATES:
                self._known.clear()
            self._known[shape] = KerasTemplate.learn(*shape)
        return self._known[shape]
