"""tqdm's frames: the default format read with one regex, a postfix's numbers, a bar's name and
key; and the frames of a bar whose postfix changes at every frame (`bar.set_postfix(loss=...)`
in a training loop), read as columns. Pure.

Such a bar's frames differ only in their numbers, so after one frame has been parsed its shape
is known: the same description, total and postfix names. A block of the frames that follow is
then read with one `findall` of a regex made for that shape and a `float` map per column, in
place of a regex match, a postfix split and a dict per frame (~20 µs a frame) — or in one C
pass where `nbexp._native` is built (`read_frames`; tests/test_native.py compares the two).
`read` says None whenever the block is not exactly frames of that shape; the caller then reads
it frame by frame, which stays the reference: a test compares the two on every frame.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from itertools import chain
from typing import Any, NamedTuple

from nbexp._compiled import native

__all__ = [
    "BAR_HINT",
    "FAST_TQDM",
    "HEAVY_BAR",
    "BarBlock",
    "FrameTemplate",
    "FrameTemplates",
    "bar_key",
    "bar_label",
    "changes",
    "find_heavy_bar",
    "metric_texts",
    "metrics_text",
    "postfix_metrics",
    "redraw_tail",
    "rising",
    "skip_pattern",
    "strip_escapes",
    "unfinished_frame",
]

MAX_FRAME_TEMPLATES = 64

# tqdm's default frame with plain counts: "desc:  57%|█████▋    | 57/100 [00:01<00:01,
# 45.0it/s, loss=0.23]" (the full parse handles scaled counts, unknown totals and the rest).
FAST_TQDM = re.compile(
    rb"(?:(?P<desc>[^\r\n]*?): )?\s*\d{1,3}%\|[^|\r\n]*\|\s*(?P<n>\d+)/(?P<total>\d+) "
    rb"\[[^\],]*, [^\],]*?(?P<post>(?:,[^\]]*)?)\]"
)

# What a bar's frame has and a plain line rarely does: "57%|", "12/100", "it/s]", "━".
BAR_HINT = re.compile(rb"%\||\d/\d|/s[,\] ]|s/[A-Za-z]+[,\]]|\xe2\x94\x81")
_ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[()][0-9A-Za-z]|.)")

# A postfix's values ("=0.23" up to the next comma): a frame template is known by the rest.
_VALUES = re.compile(rb"=[^,]*")


#: "━": rich's and Keras 3's bars.
HEAVY_BAR = b"\xe2\x94\x81"


def find_heavy_bar(data: bytes, pos: int, end: int) -> int:
    """`data.find(HEAVY_BAR, pos, end)`, ~50x faster where there is none: a one-byte `find`
    runs at memchr's speed, a longer one does not. The bar's middle byte is looked for first
    (0x94 is in none of tqdm's blocks, where 0xE2 is in all); only a 0x94 that is not the
    bar's leaves the rest to the full search."""
    hit = data.find(b"\x94", pos + 1, end - 1) if end - pos >= 3 else -1
    if hit < 0 or data[hit - 1 : hit + 2] == HEAVY_BAR:
        return hit - 1 if hit >= 0 else -1
    return data.find(HEAVY_BAR, hit, end)  # (not at hit - 1: that was no bar)


def strip_escapes(segment: bytes) -> bytes:
    """A frame or line without its escape sequences (colours, cursor moves)."""
    return _ANSI.sub(b"", segment) if b"\x1b" in segment else segment


def postfix_metrics(postfix: bytes | None) -> dict[str, float]:
    """ ", loss=0.23, acc=0.91" -> {"loss": 0.23, "acc": 0.91} (as nbexp.progress reads it)."""
    metrics: dict[str, float] = {}
    for item in (postfix or b"").split(b","):
        name, sep, value = item.partition(b"=")
        if not sep or not name.strip():
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        if math.isinf(number) and value.strip().lower() not in (b"inf", b"-inf"):
            continue  # "1e999" is no reading
        metrics[name.strip().decode("utf-8", "replace")] = number
    return metrics


@functools.lru_cache(maxsize=256)
def bar_label(kind: str, description: str | None) -> str:
    """A bar's name for qualifying its metrics: its description's first word, digits dropped."""
    words = re.sub(r"[\d/:#\[\]()]+", " ", description or "").split()
    return words[0] if words else kind


@functools.lru_cache(maxsize=256)
def bar_key(kind: str, description: str | None, total: float | None) -> str:
    """Which bar a frame belongs to: its kind and description (digits dropped, so "epoch 3" and
    "epoch 4" are one bar started again), or its total for a bar without a description."""
    if description:
        return f"{kind}|{re.sub(r'[0-9]+', '#', description)}"
    return f"{kind}||{'?' if total is None else f'{total:g}'}"


def metrics_text(metrics: dict[str, float]) -> str:
    return ",".join(f"{name}={value!r}" for name, value in metrics.items())


def metric_texts(names: list[str], columns: list[list[float]]) -> list[str]:
    """`metrics_text` of each frame of a block, from its values per name, in C-level calls."""
    named = [
        list(map(f"{name}=".__add__, map(repr, column)))
        for name, column in zip(names, columns, strict=True)
    ]
    return list(map(",".join, zip(*named, strict=True)))


class BarBlock(NamedTuple):
    """The frames of one block of a bar: each frame's `n`, per metric name its values, the
    metrics of the first and the last frame as the frame-by-frame reading compares them
    (`metrics_text`), and for each frame after the first whether its metrics differ from the
    frame's before it."""

    counts: list[float]
    values: list[list[float]]
    first: str
    last: str
    new: list[bool]

    @classmethod
    def of(cls, counts: list[float], names: list[str], values: list[list[float]]) -> BarBlock:
        texts = metric_texts(names, values)
        return cls(counts, values, texts[0], texts[-1], changes(texts[1:], texts[0]))

    def changes(self, previous: str) -> list[bool]:
        """For each frame, whether its metrics differ from the frame's before it (`previous`:
        the metrics of the frame before the block)."""
        return [self.first != previous, *self.new]


class FrameTemplate:
    """The shape of a tqdm frame in its default format (as `FAST_TQDM` reads it) with a
    postfix of numbers only: `desc:  57%|█▋  | 57/100 [00:01<00:01, 45.0it/s, loss=0.23,
    acc=0.91]`."""

    def __init__(self, description: bytes | None, total: bytes, names: list[bytes]) -> None:
        self.names = [name.strip().decode("utf-8", "replace") for name in names]
        self.has_description = description is not None
        # For `nbexp._native.read_frames`: the literal texts around the numbers.
        self._native = (
            b"" if description is None else description + b": ",
            total,
            tuple(b"," + name + b"=" for name in names),
        )
        prefix = re.escape(description) + rb": " if description is not None else b""
        postfix = b"".join(b"," + re.escape(name) + rb"=([^,\]]*)" for name in names)
        # Each frame starts at its CR and ends at the next CR (or the block's end), as the
        # frame-by-frame reading cuts them; tqdm pads a shorter frame with spaces. The rate
        # ("45.0it/s") is matched greedily where `FAST_TQDM` is lazy: it holds no comma and
        # the postfix starts at one, so both end it at the same byte (greedy is ~2x faster).
        self.pattern = re.compile(
            rb"\r" + prefix + rb"\s*\d{1,3}%\|[^|\r\n]*\|\s*(\d+)/" + re.escape(total)
            + rb" \[[^\],]*, [^\],]*(" + postfix + rb")\][ ]*(?=\r|\Z)"
        )  # fmt: skip

    @classmethod
    def learn(cls, description: bytes | None, total: bytes, postfix: bytes) -> FrameTemplate | None:
        """The template of a frame with these parts (as `FAST_TQDM` found them), or None when
        the frame-by-frame reading could read such frames differently from a template: a
        description that holds ": " (it could end earlier), a postfix item that is not
        `name=number`, a name given twice."""
        if description is not None and b": " in description:
            return None
        items = postfix.split(b",")
        if len(items) < 2 or items[0]:
            return None  # no postfix, or not one that starts at a comma
        names = []
        for item in items[1:]:
            name, sep, value = item.partition(b"=")
            if not sep or not name.strip() or not _finite(value):
                return None
            names.append(name)
        if len({name.strip() for name in names}) != len(names):
            return None
        return cls(description, total, names)

    def read(self, data: bytes, pos: int, endpos: int) -> BarBlock | None:
        """The frames that fill data[pos:endpos) exactly, each starting at a CR; None unless
        every frame there has this shape and numbers that read as finite floats."""
        if data.find(b"\b", pos, endpos) >= 0:
            return None
        if not self.has_description and data.find(b": ", pos, endpos) >= 0:
            return None  # the frame-by-frame reading might take text before it as one
        if native is None:
            return self.read_in_python(data, pos, endpos)
        found = native.read_frames(data, pos, endpos, *self._native)
        if found is None:
            return None
        counts, values, new = found
        first, last = metric_texts(self.names, [[column[0], column[-1]] for column in values])
        return BarBlock(counts, values, first, last, new)

    def read_in_python(self, data: bytes, pos: int, endpos: int) -> BarBlock | None:
        """What the compiled `read_frames` gives, in Python (the reference of test_native)."""
        frames = data.count(b"\r", pos, endpos)
        rows = self.pattern.findall(data, pos, endpos)
        if frames == 0 or len(rows) != frames:
            return None  # a frame of another shape (or text between frames) is in there
        columns = list(zip(*rows, strict=True))
        try:
            values = [list(map(float, column)) for column in columns[2:]]
        except ValueError:
            return None
        if any(math.inf in column or -math.inf in column for column in values):
            return None  # "1e999" is no reading, "inf" is: the frame-by-frame reading decides
        return BarBlock.of(list(map(float, columns[0])), self.names, values)

    @staticmethod
    def continues(block: BarBlock, bar: dict[str, Any]) -> bool:
        """Whether the frame-by-frame reading would read `block` as `bar` (its state) going
        on: the count never going back, and new metrics at every frame (an unchanged postfix
        makes its tail skipped, which only the frame-by-frame reading does)."""
        return rising(block.counts, bar["n"]) and all(block.changes(bar["m"]))


def _finite(value: bytes) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def rising(counts: list[float], last: float | None) -> bool:
    """Whether the bar never starts again within `counts` (no count below the one before)."""
    if last is not None and counts and counts[0] < last:
        return False
    return all(map(operator.le, counts, counts[1:]))


def changes(texts: list[str], previous: str) -> list[bool]:
    """For each frame, whether its metrics differ from the frame's before it (`previous`: the
    metrics of the frame before the first)."""
    return list(map(operator.ne, texts, chain((previous,), texts)))


class FrameTemplates:
    """The templates of the frame shapes seen (None for a shape that has none), a bounded few."""

    def __init__(self) -> None:
        self._known: dict[tuple[bytes | None, bytes, bytes], FrameTemplate | None] = {}

    def get(self, description: bytes | None, total: bytes, postfix: bytes) -> FrameTemplate | None:
        key = (description, total, _VALUES.sub(b"=", postfix))
        if key not in self._known:
            if len(self._known) >= MAX_FRAME_TEMPLATES:
                self._known.clear()
            self._known[key] = FrameTemplate.learn(description, total, postfix)
        return self._known[key]


_SKIP_CACHE: dict[tuple[bytes, ...], re.Pattern[bytes]] = {}


def skip_pattern(suffixes: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """A `]` that does not close a frame ending in one of `suffixes` (a redrawn bar whose
    postfix did not change). Negative lookbehinds keep `]` a literal prefix: the regex engine
    then jumps from `]` to `]` without a Python step."""
    pattern = _SKIP_CACHE.get(suffixes)
    if pattern is None:
        if len(_SKIP_CACHE) > 256:
            _SKIP_CACHE.clear()
        looks = b"".join(b"(?<!" + re.escape(s) + b")" for s in suffixes)
        pattern = _SKIP_CACHE[suffixes] = re.compile(rb"\]" + looks)
    return pattern


# A Keras frame's count and bar: "5/20 [=====>.....]".
_KERAS_BAR = re.compile(rb"\d/\d+ \[[=>.]*\]")


def unfinished_frame(data: bytes, start: int, bracket: int, stop: int) -> bool:
    """Whether the frame data[start:stop], cut short by the end of a read, may go on. A tqdm
    frame is whole once it ends in "]" (`bracket` on); a Keras frame only when the next one's
    backspaces or a line end follow (it goes on after its bar, " - ETA: 3s - loss: ...", and a
    line printed meanwhile lands after it)."""
    tqdm_whole = data[bracket:stop].rstrip(b" ").endswith(b"]")
    return not tqdm_whole or _KERAS_BAR.search(data, start, stop) is not None


# The end of a tqdm frame from its rate on: "it/s, loss=0.23]" ("s/it" for slow bars). Frames
# that end in the same bytes carry the same postfix and are skipped.
_TQDM_TAIL = re.compile(rb"[\d?]([^\d\s.,\[\]?][^,\[\]]*/s|s/[^,\[\]]*)((?:,[^\]]*)?\])[ ]*\Z")


def redraw_tail(kind: str, raw: bytes) -> str:
    """The bytes a redraw of this tqdm frame ends with while its postfix stays the same ("" for
    other kinds of bars)."""
    if kind != "tqdm":
        return ""
    tail = raw[: raw.rfind(b"]") + 1]
    found = _TQDM_TAIL.search(tail)
    return "" if found is None else tail[found.start(1) :].decode("latin-1")
