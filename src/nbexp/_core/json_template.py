"""The shape of a JSON metrics line, learnt once so that the lines after it are read as columns
without `json.loads`. Pure.

A script that logs JSON prints the same object over and over with new numbers
(`{"step": 10, "loss": 0.5}`): the text around the numbers stays the same. A block of lines
that all have that text, with a JSON number in each place, are objects with the same keys and
numbers only, which is exactly what `metric_lines.json_columns` would read as columns; reading
them by their text gives the same columns (in C where it is built, see `nbexp._native`).
"""

from __future__ import annotations

import json
import re
from itertools import pairwise

from nbexp._compiled import native
from nbexp._core.metric_lines import MAX_NAME, STEP_RANK, JsonColumns

__all__ = ["JsonTemplate"]

_NUMBER = rb"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|NaN|-?Infinity"
_IS_NUMBER = re.compile(_NUMBER)
# A field whose value is a number: its key (a JSON string, escapes and all), the colon, the
# number. A line is a template's when these fields, commas and braces make up all of it.
_FIELD = re.compile(rb'"(?:[^"\\]|\\.)*"[ \t]*:[ \t]*(' + _NUMBER + rb")")
_OPEN, _COMMA, _CLOSE = (re.compile(p) for p in (rb"\{[ \t]*", rb"[ \t]*,[ \t]*", rb"[ \t]*\}"))


class JsonTemplate:
    """A JSON object line whose fields are all numbers, as the text around its numbers."""

    def __init__(
        self, line: bytes, fields: list[re.Match[bytes]], names: list[str], step: int | None
    ) -> None:
        self.source = line
        self.names = names  # per field (in line order): its key
        self.step = step  # which field is the step (the best-ranked step key), or None
        self.metrics = [i for i, name in enumerate(names) if _is_metric(name)]
        self.first = line[: fields[0].start(1)]
        ends = [field.end(1) for field in fields]
        starts = [field.start(1) for field in fields[1:]]
        self.texts = [line[end:start] for end, start in zip(ends, starts, strict=False)]
        self.final = line[ends[-1] :]
        # For `nbexp._native.read_block`: each number runs up to the text after it, which is
        # fixed, and its first byte ends the number.
        self.steps = tuple((False, text[0], text, True) for text in self.texts)
        self.steps += ((False, self.final[0], b"", True),)
        pieces = [re.escape(self.first)]
        for text in [*self.texts, self.final]:
            pieces += [rb"([^\s" + re.escape(text[:1]) + rb"]+)", re.escape(text)]
        self.pattern = re.compile(b"^" + b"".join(pieces) + b"$", re.MULTILINE)

    @classmethod
    def learn(cls, line: bytes) -> JsonTemplate | None:
        """The template of `line` when it is a JSON object of numbers only (no bool, no nested
        object), with at least one field that is a metric; else None."""
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(value, dict) or not value:
            return None
        if any(type(v) not in (int, float) for v in value.values()):
            return None
        fields = list(_FIELD.finditer(line))
        if len(fields) != len(value) or not _whole(line, fields):
            return None  # a key given twice, or text the fields do not explain
        names = [str(key) for key in value]
        if not any(map(_is_metric, names)):
            return None  # no metric: nothing to read
        steps = [(STEP_RANK[n.lower()], i) for i, n in enumerate(names) if n.lower() in STEP_RANK]
        return cls(line, fields, names, min(steps)[1] if steps else None)

    def columns(self, values: list[list[float]]) -> JsonColumns:
        """What `json_columns` gives for the objects whose fields read as `values`."""
        steps = values[self.step] if self.step is not None else None
        return JsonColumns(steps, {self.names[i]: values[i] for i in self.metrics})

    def read_block(self, block: bytes) -> tuple[int, list[list[float]]] | None:
        """Lines that all have this shape (`block`: lines without their last newline): their
        count and each field's numbers, as `json.loads` and `float` read them. None when a line
        has another shape or a number that is not a JSON number (or an integer no float
        holds), or without the compiled module: then the objects are read by `json.loads`."""
        if native is None:
            return None  # in Python one `json.loads` of the block is faster than this reading
        # (No count of "=" and ":" to check: a line that matches holds the template's.)
        found = native.read_block(block, self.first, self.steps, self.final, -1, -1, True)
        return None if found is None else (found[0], [c or [] for c in found[1]])

    def read_block_in_python(self, block: bytes) -> tuple[int, list[list[float]]] | None:
        """What the compiled `read_block` gives, in Python: the reference tests/test_native.py
        holds it to (not used without the module: slower than `json.loads`)."""
        lines = block.count(b"\n") + 1
        parts = self.pattern.split(block)
        width = self.pattern.groups + 1
        if parts[0::width] != [b"", *[b"\n"] * (lines - 1), b""]:
            return None  # a line that is not a match
        try:
            columns = [list(map(_json_number, parts[g::width])) for g in range(1, width)]
        except (ValueError, OverflowError):
            return None
        return lines, columns


def _is_metric(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME and name.lower() not in STEP_RANK


def _whole(line: bytes, fields: list[re.Match[bytes]]) -> bool:
    """Whether `{`, the fields with commas between them and `}` make up the whole line."""
    gaps = [line[a.end() : b.start()] for a, b in pairwise(fields)]
    return (
        _OPEN.fullmatch(line, 0, fields[0].start()) is not None
        and all(_COMMA.fullmatch(gap) for gap in gaps)
        and _CLOSE.fullmatch(line, fields[-1].end()) is not None
    )


def _json_number(token: bytes) -> float:
    if _IS_NUMBER.fullmatch(token) is None:
        raise ValueError(token)
    return float(json.loads(token))  # OverflowError: an integer too big for a float
