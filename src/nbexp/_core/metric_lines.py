"""Metrics named in lines of output: `key=value` and `key: value` pairs, a `step` / `iter` /
`epoch` key for the step, and JSON objects. Pure.

A training script prints the same line over and over with new numbers, so a line's shape is
learnt once (`LineTemplate`: its names in order and its count of `=` and `:`) and the lines that
follow are read with one anchored regex each, rather than by searching every pair again.
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any, NamedTuple

from nbexp._compiled import native

__all__ = [
    "CANDIDATE",
    "STEP_KEYS",
    "STEP_RANK",
    "LineStep",
    "LineTemplate",
    "json_columns",
    "json_objects",
    "line_metrics",
    "might_name_metrics",
    "python_dict_as_json",
]

MAX_NAME = 64
STEP_KEYS = ("global_step", "_step", "step", "steps", "iteration", "iter", "epoch")
STEP_RANK = {key: rank for rank, key in enumerate(STEP_KEYS)}


class LineStep(NamedTuple):
    """A line's step key: `step 1200` → ("step", 1200, None); `Step [100/600]` → ("step", 100,
    600), with the line's `Epoch [2/5]` as epoch 2 of 5 when it has one."""

    key: str
    value: float
    total: float | None = None
    epoch: float | None = None
    epoch_total: float | None = None


_NUMBER = rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|NaN|inf|Inf)"
_NAME_BYTE = rb"[\w./\-]"
_NOT_AFTER_NAME = rb"(?<!" + _NAME_BYTE + rb")"
_NUMBER_END = rb"(?![\w]|\.\d)"
# `loss=0.23`, `val_acc: 0.91`, `lr = 3e-4`, `acc=91%`: a name starts with a letter and is not
# the tail of a longer word or path (`host:8080` in `http://host:8080` is not a metric).
_PAIR = re.compile(
    _NOT_AFTER_NAME + rb"([A-Za-z_][\w./\-]*)[ \t]?[=:][ \t]?(" + _NUMBER + rb")" + _NUMBER_END
)
# `step 1200`, `Step [100/600]`, `epoch=3`, `iter: 40/500`
_STEP = re.compile(
    _NOT_AFTER_NAME + rb"(global_step|_step|steps?|iteration|iter|epoch)\b[ \t]*[=:]?[ \t]*"
    rb"\[?[ \t]*(\d+)(?:[ \t]*/[ \t]*(\d+))?",
    re.IGNORECASE,
)
# Where a metric may be: a name's last byte (or a JSON key's quote), `=` or `:`, a number's
# first byte. Lines without one are skipped by a scan in C (a clock's "21:35" is not one); the
# pattern starts with `[=:]` so that the scan jumps from one of those bytes to the next.
CANDIDATE = re.compile(
    rb'[=:](?:(?<=[A-Za-z_"\'][=:])|(?<=[A-Za-z_"\'][ \t][=:]))[ \t]?[-+.\dnNiI]'
)
# A Python dict printed as it is (Hugging Face's Trainer logs `{'loss': 0.69, 'grad_norm': nan,
# 'learning_rate': 5e-05, 'epoch': 0.1}`) is JSON but for its quotes and Python's words for
# NaN, infinity, booleans and None: its tokens are a Python string ('...' or "...", with
# escapes) or one of those words.
_PYTHON_TOKENS = re.compile(
    rb"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|(?<![\w.])(?:-?inf|nan|True|False|None)(?![\w.])"""
)
_AS_JSON = {
    **{b"nan": b"NaN", b"inf": b"Infinity", b"-inf": b"-Infinity"},
    **{b"True": b"true", b"False": b"false", b"None": b"null"},
}


def might_name_metrics(line: bytes) -> bool:
    """A cheap first look: could this line hold a metric at all?"""
    return CANDIDATE.search(line) is not None


def line_metrics(line: bytes) -> tuple[dict[str, float], LineStep | None]:
    """The named numbers of one line, and its step key, if any. A JSON object gives its
    numeric fields (a nested object's as `outer/inner`)."""
    stripped = line.strip()
    if stripped[:1] == b"{" and stripped[-1:] == b"}":
        found = _json_metrics(stripped)
        if found is None:
            converted = python_dict_as_json(stripped)
            found = _json_metrics(converted) if converted is not None else None
        if found is not None:
            return found
    metrics: dict[str, float] = {}
    for raw_name, raw_value in _PAIR.findall(line):
        name = raw_name.decode("ascii", "replace")[:MAX_NAME]
        if name.lower() not in STEP_RANK:
            metrics[name] = float(raw_value)
    if not metrics:
        return metrics, None
    return metrics, _line_step(line)


def python_dict_as_json(text: bytes) -> bytes | None:
    """A printed Python dict (`{'loss': 0.5, 'ok': True}`) as JSON, for `json.loads`; None when
    it does not start like one. Its strings are requoted and Python's words for NaN, infinity,
    booleans and None become JSON's, one token at a time (such lines are few: a trainer
    prints one every N steps)."""
    if text[:2] != b"{'":
        return None
    return _PYTHON_TOKENS.sub(_json_token, text)


def _json_token(token: re.Match[bytes]) -> bytes:
    text = token[0]
    quote = text[:1]
    if quote not in (b"'", b'"'):
        return _AS_JSON[text]
    if b"\\" not in text:
        # No escapes: `repr` quoted it with " only if it holds a ' (then it is JSON as it is);
        # in ', it may hold a ".
        if quote == b'"':
            return text
        if b'"' not in text:
            return b'"' + text[1:-1] + b'"'
    try:
        return json.dumps(ast.literal_eval(text.decode("utf-8", "replace"))).encode()
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return b'"?"'  # not a string Python would print: never a metric or its name anyway


def _line_step(line: bytes) -> LineStep | None:
    found = [
        (key.decode().lower(), float(value), float(total) if total else None)
        for key, value, total in _STEP.findall(line)
    ]
    return _best_step(found)


def _best_step(found: list[tuple[str, float, float | None]]) -> LineStep | None:
    """The best-ranked step key, with the epoch beside it when it is another key."""
    if not found:
        return None
    key, value, total = min(found, key=lambda f: STEP_RANK[f[0]])
    epoch = next((f for f in found if f[0] == "epoch"), None)
    if key != "epoch" and epoch is not None:
        return LineStep(key, value, total, epoch[1], epoch[2])
    return LineStep(key, value, total)


def _json_metrics(text: bytes) -> tuple[dict[str, float], LineStep | None] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return object_metrics(value) if isinstance(value, dict) else None


def json_objects(block: bytes) -> list[dict[str, Any]] | None:
    """Lines that are all JSON objects, parsed in one call (a block joined into one array);
    None when one of them is not (they are then read line by line)."""
    try:
        values = json.loads(b"[" + block.replace(b"\n", b",") + b"]")
    except (ValueError, RecursionError):
        return None
    if set(map(type, values)) - {dict}:
        return None  # a line that is not an object (the types in one C-level pass)
    return values


class JsonColumns(NamedTuple):
    """JSON objects of one shape, read as columns: what `object_metrics` gives for each object,
    with one list per field instead of one dict per object."""

    steps: list[float] | None  # the best-ranked step key's values; None: the objects have none
    metrics: dict[str, list[float]]  # name -> one value per object, in the objects' key order


_NUMBERS = {int, float}  # exactly: a bool is an int to isinstance, never a metric here
_NOT_FLAT = {int, float, dict}  # in a column that is not all numbers: read object by object


def json_columns(objects: list[dict[str, Any]]) -> JsonColumns | None:
    """The objects as columns (a few C-level calls per field, not a Python step per value) when
    they all have the same keys and each field is a number in every object or in none, with no
    nested object; None otherwise (then `object_metrics` reads them one by one)."""
    if not objects:
        return JsonColumns(None, {})
    keys = tuple(objects[0])
    if list(map(tuple, objects)).count(keys) != len(objects):
        return None
    metrics: dict[str, list[float]] = {}
    steps: list[tuple[str, list[float]]] = []
    columns = zip(*map(dict.values, objects), strict=True)  # same keys: same lengths
    for key, column in zip(keys, columns, strict=True):
        types = set(map(type, column))
        if not types <= _NUMBERS:
            if types & _NOT_FLAT:
                return None
            continue  # text, null, a list, a bool: never a metric
        name = str(key)
        if not name or len(name) > MAX_NAME:
            continue
        try:
            values = list(map(float, column))
        except OverflowError:
            return None  # an integer too big for a float: object by object (it becomes inf)
        if name.lower() in STEP_RANK:
            steps.append((name.lower(), values))
        else:
            metrics[name] = values
    if not metrics:
        return JsonColumns(None, {})
    step = min(steps, key=lambda s: STEP_RANK[s[0]])[1] if steps else None
    return JsonColumns(step, metrics)


def object_metrics(value: dict[str, Any]) -> tuple[dict[str, float], LineStep | None]:
    """A JSON object's numeric fields (a nested object's as `outer/inner`) and its step key."""
    metrics: dict[str, float] = {}
    steps: list[tuple[str, float, float | None]] = []
    for key, item in value.items():
        pairs = item.items() if isinstance(item, dict) else [("", item)]
        for sub, number in pairs:
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                continue
            name = f"{key}/{sub}" if sub else str(key)
            if not name or len(name) > MAX_NAME:
                continue
            lowered = name.lower()
            if lowered in STEP_RANK:
                steps.append((lowered, _as_float(number), None))
            else:
                metrics[name] = _as_float(number)
    return metrics, (_best_step(steps) if metrics else None)


def _as_float(number: float) -> float:
    """JSON allows integers no float can hold: they read as infinite, as in `key=value` text."""
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


class LineTemplate:
    """The shape of one metrics line: a regex that reads its numbers in one anchored match.

    A line fits when it has the same count of `=` and `:` as the line the template was made
    from and the regex matches: then it names exactly the same metrics (any other pair would
    bring another `=` or `:`), so reading it this way gives what `line_metrics` would.
    """

    def __init__(self, line: bytes) -> None:
        self.source = line
        # (start, end, prefix, value pattern, kind, name, has total), in line order
        tokens: list[tuple[int, int, bytes, bytes, str, str, bool]] = []
        for found in _PAIR.finditer(line):
            name = found[1].decode("ascii", "replace")[:MAX_NAME]
            kind = "step" if name.lower() in STEP_RANK else "metric"
            prefix = line[found.start() : found.start(2)]
            value = b"(" + _NUMBER + b")"
            tokens.append((found.start(), found.end(), prefix, value, kind, name, False))
        for found in _STEP.finditer(line):
            if any(t[0] < found.end() and found.start() < t[1] for t in tokens):
                continue  # `step=5` is a pair as well
            value = rb"(\d+)"
            if found[3] is not None:
                value += re.escape(line[found.end(2) : found.start(3)]) + rb"(\d+)"
            prefix = line[found.start() : found.start(2)]
            key = found[1].decode()
            tokens.append((found.start(), found.end(), prefix, value, "step", key, bool(found[3])))
        tokens.sort()
        self.names: list[str] = []  # per regex group: the metric's name, "" for a step
        self.steps: list[tuple[str, int, int | None]] = []  # (key, group, total's group)
        ends = [t[1] for t in tokens]
        gaps = [line[end : nxt[0]] for end, nxt in zip(ends, tokens[1:], strict=False)]
        gaps.append(line[ends[-1] :] if tokens else b"")  # the rest of the line
        parts: list[bytes] = []
        for index, (_start, _end, prefix, value, kind, name, has_total) in enumerate(tokens):
            literal = re.escape(prefix)
            if index == 0:
                # The first name: found by its bytes (fast), not preceded by a name's byte.
                parts.append(literal + b"(?<!" + _NAME_BYTE + literal + b")")
            else:
                parts.append(_gap(gaps[index - 1]) + literal)
            if value.startswith(b"(" + _NUMBER):
                # A number is whatever runs up to the text that follows it (float() checks it
                # later): a class of bytes is much faster to match than the number's grammar.
                value = b"([^\\s" + re.escape(gaps[index][:1]) + b"]+)"
            parts.append(value)
            self.names.append(name if kind == "metric" else "")
            group = len(self.names)
            if kind == "step":
                if has_total:
                    self.names.append("")
                self.steps.append((name.lower(), group, group + 1 if has_total else None))
        parts.append(_gap(gaps[-1]) + b"$")
        self._native = _native_spec(tokens, gaps)
        # Which groups give the step (and the epoch beside it), ranked as `_best_step` ranks.
        self._best = min(self.steps, key=lambda f: STEP_RANK[f[0]]) if self.steps else None
        epochs = [(group, total) for key, group, total in self.steps if key == "epoch"]
        has_epoch = self._best is not None and self._best[0] != "epoch" and bool(epochs)
        self._epoch = epochs[0] if has_epoch else None
        self.pattern = re.compile(b"".join(parts), re.MULTILINE)
        self.equals = line.count(b"=")
        self.colons = line.count(b":")

    def read(self, line: bytes) -> tuple[bytes | None, ...] | None:
        """The numbers of a line of this shape, one per group (None when it is another)."""
        if line.count(b"=") != self.equals or line.count(b":") != self.colons:
            return None
        found = self.pattern.search(line)
        return None if found is None else found.groups()

    def read_block(
        self, block: bytes, wanted: list[bool]
    ) -> tuple[int, list[list[float] | None]] | None:
        """Lines that all have this shape (`block`: lines without their last newline): their
        count and, for each regex group, its numbers as floats where `wanted`, else None.
        None when a line has another shape or a wanted number does not parse (then they are
        read line by line). In C where it is built (same results, ~5x faster)."""
        if native is not None and self._native is not None:
            first, steps, final = self._native
            spec = tuple((*step, want) for step, want in zip(steps, wanted, strict=True))
            return native.read_block(block, first, spec, final, self.equals, self.colons)
        return self.read_block_in_python(block, wanted)

    def read_block_in_python(
        self, block: bytes, wanted: list[bool]
    ) -> tuple[int, list[list[float] | None]] | None:
        """`read_block` without the compiled module."""
        lines = block.count(b"\n") + 1
        equals, colons = block.count(b"="), block.count(b":")
        if (equals, colons) != (lines * self.equals, lines * self.colons):
            return None  # a line of another shape (or a blank one) is in there
        # split, not findall: one flat list of bytes [text, group 1, ..., group k, text, ...]
        # whose columns are strided slices, where findall makes a tuple per line (thousands a
        # second for the garbage collector to count, in a kernel full of objects).
        parts = self.pattern.split(block)
        width = self.pattern.groups + 1
        if len(parts) // width != lines or None in parts:
            return None
        try:
            columns = [
                list(map(float, parts[group::width])) if want else None
                for group, want in enumerate(wanted, 1)
            ]
        except ValueError:
            return None  # something that is not a number where one was
        return lines, columns

    def step_group(self) -> int | None:
        """The regex group that holds the step (None: the line has no step key)."""
        return None if self._best is None else self._best[1]

    def has_epoch_or_total(self) -> bool:
        """Whether the step depends on more than its own number (`Step [k/N]`, an epoch)."""
        return self._epoch is not None or (self._best is not None and self._best[2] is not None)

    def step(self, numbers: tuple[bytes | None, ...]) -> LineStep | None:
        """The step key of a line this template read (as `line_metrics` would find it)."""
        if self._best is None:
            return None
        key, group, total = self._best
        value, total_value = float(numbers[group - 1] or 0), _group_number(numbers, total)
        if self._epoch is None:
            return LineStep(key, value, total_value)
        epoch = float(numbers[self._epoch[0] - 1] or 0)
        return LineStep(key, value, total_value, epoch, _group_number(numbers, self._epoch[1]))


def _native_spec(
    tokens: list[tuple[int, int, bytes, bytes, str, str, bool]], gaps: list[bytes]
) -> tuple[bytes, list[tuple[bool, int, bytes]], bytes] | None:
    """The template as `nbexp._native.read_block` reads it: the first name's text, then per
    value (a number up to a stop byte, or a step's digits) the text that must follow it, and
    the text that ends the line. None for the shapes only the regex reads: a gap with digits
    (matched lazily), a step with a total (two groups), or a number straight before the next
    name (the regex could end it early: backtracking). Where it is given, the match is
    deterministic: a value's run stops at the first byte its text can start with."""
    if not tokens or any(has_total for *_, has_total in tokens):
        return None
    if any(re.search(rb"\d", gap) for gap in gaps):
        return None
    steps: list[tuple[bool, int, bytes]] = []
    for index, (_start, _end, _prefix, value, _kind, _name, _total) in enumerate(tokens):
        digits = value == rb"(\d+)"
        gap = gaps[index]
        last = index == len(tokens) - 1
        literal = b"" if last else gap + tokens[index + 1][2]
        if not digits and not gap and not last:
            return None
        steps.append((digits, gap[0] if gap else -1, literal))
    return tokens[0][2], steps, gaps[-1]


def _gap(text: bytes) -> bytes:
    """Text between two numbers (or after the last): usually fixed (" ", ", ", " ok"), matched
    as it is; with digits in it, it may vary: then any text without a name's tail."""
    if re.search(rb"\d", text) is None:
        return re.escape(text)
    return rb"[^\n]*?" + _NOT_AFTER_NAME


def _group_number(numbers: tuple[bytes | None, ...], group: int | None) -> float | None:
    value = numbers[group - 1] if group else None
    return None if value is None else float(value)
