"""Metric points from a log's raw bytes, incrementally: every frame of a progress bar (tqdm's
postfix, keras' `loss: 0.34`, numbers named in rich columns), lines with `key=value` or
`key: value` pairs, and JSON lines. Pure: `MetricExtractor.feed(data)` reads only the bytes it
is given, keeps what it needs between calls in `state` (plain JSON), and says how many bytes it
consumed (an unfinished frame at the end is fed again next time; handling a frame twice adds
nothing).

Steps (docs/metrics.md): a bar's metrics are at the bar's `n`; a bar that starts again (the
inner bar of a new epoch) continues where the last one ended, so an inner batch bar's steps
count batches over the whole run and an outer epoch bar's count epochs. A line's step is its
`step` / `iter` / `epoch` key (a `[k/N]` step that starts again continues likewise), else the
number of metric lines before it.

Speed: a tqdm bar redrawn with an unchanged postfix is skipped without a Python step (a regex
finds the next frame that does not end in a known postfix), so a log of bars is read at close
to the renderer's speed; a bar whose postfix changes at every frame, and Keras 2's bar, are read
in blocks of frames of one shape (`bar_frames.FrameTemplate`, `keras_frames.KerasTemplate`: one
regex pass and a few column operations a block);
lines with metrics cost a regex pass each, or one per block of lines of one shape.
"""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import compress
from typing import Any

from ..progress import Progress, parse_progress
from .bar_frames import (
    BAR_HINT,
    FAST_TQDM,
    HEAVY_BAR,
    BarBlock,
    FrameTemplate,
    FrameTemplates,
    bar_key,
    bar_label,
    find_heavy_bar,
    metrics_text,
    postfix_metrics,
    redraw_tail,
    skip_pattern,
    strip_escapes,
    unfinished_frame,
)
from .json_template import JsonTemplate
from .keras_frames import KerasTemplate, KerasTemplates
from .metric_lines import (
    CANDIDATE,
    MAX_NAME,
    JsonColumns,
    LineStep,
    LineTemplate,
    json_columns,
    json_objects,
    line_metrics,
    might_name_metrics,
    object_metrics,
)

__all__ = ["Columns", "MetricExtractor"]

MAX_METRICS = 64  # names kept per attempt; more are ignored (a log printing ids, not metrics)
MAX_BARS = 16  # bars remembered (their postfix, last n and step offset)
MAX_TEMPLATES = 4  # shapes of metrics lines remembered (a train line and a val line, say)
MAX_SEGMENT = 64 * 1024  # a "frame" longer than this is not a bar or a metrics line
# Numbers that bars show by name but that measure nothing: PyTorch Lightning's progress bar
# shows its logger's version in every postfix ("v_num=3, train_loss=0.5").
NOT_METRICS = frozenset({"v_num"})
CHURN_FRAMES = 8  # frames in a row with a new postfix after which a bar's tail is not skipped
BLOCK_BYTES = 64 * 1024  # a churning or Keras bar's frames read as columns at a time (~600)

# A series' new points as three columns: steps, values, and the offsets of their bytes in the
# data fed (for their wall time). Columns, not a tuple per point: millions may come at once, and
# a block of same-shaped lines fills them in a few calls into C.
Columns = tuple[list[float], list[float], list[int]]

# Where a tqdm frame ends: the bracket after its rate and postfix.
_TQDM_FRAME_END = re.compile(rb"(?:/s|s/[A-Za-z]+)(?:,[^\]]*)?\][ ]*")
# Bytes after which a line must go through the frame path (redraws, escapes, rich/keras bars).
_SPECIALS = (b"\r", b"\b", b"\x1b", HEAVY_BAR)


def _spaced(first: int, length: int, count: int, indices: range) -> list[int]:
    """first + index × spacing, `count` lines or frames sharing `length` bytes equally, in whole
    bytes (one `range`): offsets only give wall times, where a few bytes off change nothing."""
    spacing = max(1, length // count)
    return list(range(first + indices.start * spacing, first + indices.stop * spacing, spacing))


def _last_separator(data: bytes, lo: int, hi: int) -> int:
    """The start of the segment that contains position hi - 1 (after a CR, BS or LF)."""
    found = max(data.rfind(b"\r", lo, hi), data.rfind(b"\b", lo, hi), data.rfind(b"\n", lo, hi))
    return lo if found < 0 else found + 1


class MetricExtractor:
    """Metric points from a log, fed its bytes in order. `state` (JSON) carries everything a
    later `MetricExtractor(state)` needs to go on where this one stopped."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        state = state or {}
        self.bars: dict[str, dict[str, Any]] = dict(state.get("bars", {}))
        self.owners: dict[str, str] = dict(state.get("names", {}))  # series name -> source
        self.metric_lines = int(state.get("lines", 0))
        self.line_step: dict[str, Any] = dict(state.get("line_step", {}))
        self._latest_json: dict[str, Any] | None = state.get("latest")  # the last bar frame
        self._latest: tuple[bytes, float] | None = None  # the last frame, parsed when asked
        self.points: dict[str, Columns] = {}
        self._skip_rx: re.Pattern[bytes] | None = None  # rebuilt when a bar's tail changes
        self._suffixes: tuple[bytes, ...] = ()
        # Shapes of metrics lines, most recent first, with their series names resolved.
        self._templates: list[tuple[LineTemplate, list[str | None]]] = []
        # Shapes of churning bars' frames (see `_frame_block`), by description, total, names.
        self._frame_templates = FrameTemplates()
        # Set by `_frame` when the frame it read was of a bar whose postfix changes at every
        # frame: (the bar's key and label, its description, total and postfix as printed).
        self._churning: tuple[str, str, bytes | None, bytes, bytes] | None = None
        # Set by `_frame` when the frame it read was a Keras bar's: (its key, the frame).
        self._keras: tuple[str, bytes] | None = None
        self._keras_templates = KerasTemplates()
        self._json_template: JsonTemplate | None = None  # the last JSON lines' shape
        self._blocks_from = 0  # where a block may start (past one that did not read)
        for line in reversed(state.get("templates", [])):
            self._learn(line.encode("latin-1"))

    @property
    def state(self) -> dict[str, Any]:
        return {
            "bars": self.bars,
            "names": self.owners,
            "lines": self.metric_lines,
            "line_step": self.line_step,
            "latest": self.latest,
            # The lines the shapes were learnt from (a new extractor learns them again).
            "templates": [t.source.decode("latin-1") for t, _ in self._templates],
        }

    @property
    def latest(self) -> dict[str, Any] | None:
        """The last bar frame read, as Progress JSON with its step."""
        if self._latest is not None:
            raw, step = self._latest
            self._latest = None
            progress = parse_progress(strip_escapes(raw).decode("utf-8", "replace").strip())
            if progress is not None:
                self._latest_json = {**progress.to_json(), "step": step}
        return self._latest_json

    # -- feeding ---------------------------------------------------------------------------

    def feed(self, data: bytes, *, final: bool = False) -> tuple[dict[str, Columns], int]:
        """The points in `data` and how many of its bytes were consumed: the rest (an
        unfinished frame or line) must be fed again, with what follows. With `final`, the end
        of `data` ends the last line too (the log is complete)."""
        self.points = {}
        self._blocks_from = 0
        size = len(data)
        specials = dict.fromkeys(_SPECIALS, -1)
        pos = 0
        while pos < size:
            plain_until = self._plain_until(data, pos, specials)
            last_newline = data.rfind(b"\n", pos, plain_until) if plain_until > pos else -1
            if last_newline >= 0:
                self._plain_lines(data, pos, last_newline)  # whole lines with no redraws
                pos = last_newline + 1
                continue
            newline = data.find(b"\n", pos)
            end = size if newline < 0 else newline
            self._frames(data, pos, end, complete=newline >= 0 or final)
            if newline < 0:
                break
            line_end = newline
            while line_end > pos and data[line_end - 1] == 13:
                line_end -= 1  # "text\r\n" (a terminal's line end) leaves "text" on screen
            start = _last_separator(data, pos, line_end)
            if line_end - start <= MAX_SEGMENT:
                self._line(data[start:line_end], newline)
            pos = newline + 1
        if final:
            if pos < size:
                self._line(data[_last_separator(data, pos, size) : size], size)
            consumed = size
        else:
            # A CR at the end may start a line's "\r\n": what it ends is read again with it.
            # A frame is read again with the CR or BS before it, as a frame (not as a line).
            consumed = _last_separator(data, 0, len(data.rstrip(b"\r")) or size)
            if consumed > 0 and data[consumed - 1] in (8, 13):
                consumed -= 1
            if size - consumed > MAX_SEGMENT:
                consumed = size  # no frame or line is this long: drop it
        points, self.points = self.points, {}
        return points, consumed

    @staticmethod
    def _plain_until(data: bytes, pos: int, specials: dict[bytes, int]) -> int:
        """Where the next byte that needs the frame path is (CR, BS, ESC, a heavy bar)."""
        nearest = end = len(data)
        for needle, at in specials.items():
            if at < pos and at != end:
                heavy = needle == HEAVY_BAR  # three bytes: see find_heavy_bar
                at = find_heavy_bar(data, pos, end) if heavy else data.find(needle, pos)
                specials[needle] = at = end if at < 0 else at
            nearest = min(nearest, at)
        return nearest

    def _plain_lines(self, data: bytes, pos: int, last_newline: int) -> None:
        """Whole lines without redraws: all of one known shape at once, else only the lines
        that may hold a metric (found by one scan), one by one."""
        if self._templates and self._block(data[pos:last_newline], pos):
            return
        json_lines = data[pos : pos + 1] == b"{" and data[last_newline - 1 : last_newline] == b"}"
        if json_lines and self._json_lines(data[pos:last_newline], pos):
            return
        done = pos  # lines before this are read
        for candidate in CANDIDATE.finditer(data, pos, last_newline):
            if candidate.start() < done:
                continue  # another candidate in a line already read
            start = data.rfind(b"\n", pos, candidate.start()) + 1 or pos
            end = data.find(b"\n", candidate.start(), last_newline)
            end = last_newline if end < 0 else end
            shape = self._templates[0][0] if self._templates else None
            self._line(data[max(start, pos) : end], end)
            done = end + 1
            learnt = self._templates and self._templates[0][0] is not shape
            if learnt and done < last_newline and self._block(data[done:last_newline], done):
                return  # a shape was just learnt and the rest of the lines have it

    def _block(self, block: bytes, pos: int) -> bool:
        """Lines that all have the shape of the last metrics line (the usual case: a script
        printing one line per step), read in one regex pass and a few column operations.
        False (nothing read) unless every line fits."""
        template, series = self._templates[0]
        if template.has_epoch_or_total():
            return False
        step_group = template.step_group()
        wanted = [name is not None or group == step_group for group, name in enumerate(series, 1)]
        found = template.read_block(block, wanted)
        if found is None:
            return False
        lines, columns = found
        if step_group is None:
            steps = [float(n) for n in range(self.metric_lines, self.metric_lines + lines)]
        else:
            steps = columns[step_group - 1] or []
        self.metric_lines += lines
        # The lines' ends, as if all of the same length (they are used for wall times only).
        offsets = _spaced(pos - 1, len(block) + 1, lines, range(1, lines + 1))
        for name, column in zip(series, columns, strict=True):
            if name is not None and column is not None:
                self._extend(name, steps, column, offsets)
        return True

    def _json_lines(self, block: bytes, pos: int) -> bool:
        """A block of JSON lines; False when one line is not an object. Objects of one shape
        are read as columns: by their text when all have the last shape or the first line's
        (`JsonTemplate`), else parsed in one `json.loads`."""
        template = self._json_template
        found = template.read_block(block) if template is not None else None
        if found is None:
            template = JsonTemplate.learn(block.partition(b"\n")[0])  # one line: ~10 µs
            found = template.read_block(block) if template is not None else None
        if template is not None and found is not None:
            self._json_template = template
            self._json_columns(template.columns(found[1]), found[0], block, pos)
            return True
        objects = json_objects(block)
        if objects is None:
            return False
        count, columns = len(objects), json_columns(objects)
        if columns is not None:
            self._json_columns(columns, count, block, pos)
            return True
        offsets = _spaced(pos - 1, len(block) + 1, count, range(1, count + 1))  # the lines' ends
        for value, offset in zip(objects, offsets, strict=True):
            metrics, step = object_metrics(value)
            if metrics:
                self._line_point(metrics, step, offset)
        return True

    def _json_columns(self, columns: JsonColumns, count: int, block: bytes, pos: int) -> None:
        if not columns.metrics:
            return
        offsets = _spaced(pos - 1, len(block) + 1, count, range(1, count + 1))
        first = self.metric_lines  # a line without a step key is numbered, as one by one
        steps = columns.steps or [float(n) for n in range(first, first + count)]
        self.metric_lines += count
        for name, values in columns.metrics.items():
            series = self._series("log", name)
            if series is not None:
                self._extend(series, steps, values, offsets)

    def _columns(self, series: str) -> Columns:
        found = self.points.get(series)
        if found is None:
            found = self.points[series] = ([], [], [])
        return found

    def _extend(
        self, series: str, steps: list[float], values: list[float], offsets: list[int]
    ) -> None:
        found = self._columns(series)
        found[0].extend(steps)
        found[1].extend(values)
        found[2].extend(offsets)

    def _point(self, series: str, step: float, value: float, pos: int) -> None:
        steps, values, offsets = self._columns(series)
        steps.append(step)
        values.append(value)
        offsets.append(pos)

    def _frames(self, data: bytes, pos: int, end: int, *, complete: bool) -> None:
        """Bar frames in data[pos:end) (one line's worth of CR-separated redraws)."""
        heavy = find_heavy_bar(data, pos, end)
        backspace = data.find(b"\b", pos, end)  # kept, not searched for again at each frame
        while pos < end:
            found = self._skip().search(data, pos, end)
            bracket = found.start() if found is not None else -1
            if 0 <= heavy < pos:
                heavy = find_heavy_bar(data, pos, end)
            candidates = [p for p in (bracket, heavy) if p >= 0]
            if not candidates:
                return
            at = min(candidates)
            start = _last_separator(data, pos, at)
            stop = data.find(b"\r", at, end)
            stop = end if stop < 0 else stop
            if 0 <= backspace < at:
                backspace = data.find(b"\b", at, end)
            if 0 <= backspace < stop:
                stop = backspace
            if stop == end and not complete and unfinished_frame(data, start, at, stop):
                return  # fed again next time
            if stop - start <= MAX_SEGMENT:
                self._frame(data[start:stop], start)
                blocks = self._churning is not None or self._keras is not None
                if blocks and stop >= self._blocks_from and stop < end:
                    stop = self._frame_block(data, stop, end, heavy)
            pos = max(stop, at + 1)

    def _frame_block(self, data: bytes, pos: int, end: int, heavy: int) -> int:
        """The next BLOCK_BYTES of frames of the bar whose frame was just read (a churning or
        a Keras bar), read as columns. Returns where the frame-by-frame reading goes on: the
        block's last CR, or `pos` when the block is not only that bar's frames as the
        frame-by-frame reading would read them (then blocks are tried past its end). `heavy`:
        where `_frames` found the next heavy bar (-1: none up to `end`)."""
        churning, keras = self._churning, self._keras
        self._churning = self._keras = None
        block_end = data.rfind(b"\r", pos + 1, min(end, pos + BLOCK_BYTES))
        if block_end < 0 or data[pos] != (13 if keras is None else 8):
            return pos
        self._blocks_from = block_end
        self._skip()  # brings the known tails up to date
        if (
            data.find(b"\x1b", pos, block_end) >= 0
            or (0 <= heavy < block_end and find_heavy_bar(data, pos, block_end) >= 0)
            or (self._suffixes and self._skipped(data, pos, block_end))
        ):
            return pos  # what the frame-by-frame reading treats otherwise (a known tail: skipped)
        template: FrameTemplate | KerasTemplate | None
        if churning is not None:
            key, source, description, total, postfix = churning
            template = self._frame_templates.get(description, total, postfix)
        elif keras is not None:
            (key, frame), source = keras, bar_label("keras", None)
            template = self._keras_templates.get(frame)
        else:
            return pos
        found = template.read(data, pos, block_end) if template is not None else None
        if template is None or found is None or not template.continues(found, self.bars[key]):
            return pos
        self._take_block(self.bars[key], source, template.names, found, data, (pos, block_end))
        return block_end

    def _take_block(
        self,
        bar: dict[str, Any],
        source: str,
        names: list[str],
        block: BarBlock,
        data: bytes,
        span: tuple[int, int],
    ) -> None:
        """The points of a block of a bar's frames, data[span] (a frame whose metrics are the
        one's before adds none), and the bar as its last frame leaves it."""
        counts, values = block.counts, block.values
        pos, block_end = span
        offset = float(bar["o"])
        steps = list(map(offset.__add__, counts)) if offset else counts  # counts stay unchanged
        first = data.find(b"\r", pos, block_end) + 1
        # The frames' starts, as if of equal length.
        offsets = _spaced(first, block_end - first, len(counts), range(len(counts)))
        kept = len(counts)  # the frames at the end whose metrics changed
        changed = block.changes(bar["m"])
        if not all(changed):
            steps, offsets = list(compress(steps, changed)), list(compress(offsets, changed))
            values = [list(compress(column, changed)) for column in values]
            kept = changed[::-1].index(False)
        for name, column in zip(names, values, strict=True) if steps else ():
            series = self._series(source, name)
            if series is not None:
                self._extend(series, steps, column, offsets)
        # (A churning tqdm bar's tail stays out of the skip pattern: its "c" only grows.)
        bar["c"] = bar["c"] + kept if kept == len(counts) else kept
        bar["m"], bar["n"] = block.last, counts[-1]
        bar["done"] = bar["t"] is not None and counts[-1] >= bar["t"]
        last = data.rfind(b"\r", pos, block_end) + 1  # the last frame, up to its backspaces
        self._latest = (data[last:block_end].partition(b"\b")[0], offset + counts[-1])

    def _skipped(self, data: bytes, pos: int, end: int) -> bool:
        """Whether a `]` in data[pos:end) ends a known tail (its frame is skipped unread)."""
        return len(self._skip().findall(data, pos, end)) != data.count(b"]", pos, end)

    def _skip(self) -> re.Pattern[bytes]:
        if self._skip_rx is None:
            self._suffixes = tuple(
                sorted(bar["s"].encode("latin-1") for bar in self.bars.values() if bar.get("s"))
            )
            self._skip_rx = skip_pattern(self._suffixes)
        return self._skip_rx

    # -- one frame, one line ---------------------------------------------------------------

    def _frame(self, raw: bytes, pos: int) -> bool:
        """A bar's frame; whether it was one (its known postfix may have changed)."""
        self._churning = self._keras = None
        if BAR_HINT.search(raw) is None:
            return False
        fast = FAST_TQDM.match(raw) if b"\x1b" not in raw else None
        if fast is not None:
            # tqdm's default format with plain counts: what the full parse would find, from
            # one regex over the bytes (a bar whose postfix changes at every frame is read
            # frame by frame, so this is its whole cost).
            description = fast["desc"].decode("utf-8", "replace").strip() if fast["desc"] else None
            progress = Progress(
                kind="tqdm",
                description=description or None,
                n=float(fast["n"]),
                total=float(fast["total"]),
                metrics=postfix_metrics(fast["post"]),
            )
            key = self._bar(progress, raw, pos)
            if self.bars[key]["c"] >= CHURN_FRAMES:
                label = bar_label(progress.kind, progress.description)
                self._churning = key, label, fast["desc"], fast["total"], fast["post"] or b""
            return True
        stripped = strip_escapes(raw)
        text = stripped.decode("utf-8", "replace").strip()
        found = parse_progress(text) if text else None
        if found is None:
            return False
        progress = found
        if progress.kind == "rich" and not progress.metrics:
            # Numbers rich shows in columns of their own, when named: "loss=0.23", "acc: 0.9".
            progress = replace(progress, metrics=line_metrics(stripped)[0])
        key = self._bar(progress, raw, pos)
        if progress.kind == "keras":
            self._keras = key, raw  # the frames after it may be read in blocks
        return True

    def _line(self, raw: bytes, pos: int) -> None:
        """A finished line: a bar's last frame, or a line of output that may name metrics."""
        for template, series in self._templates:
            numbers = template.read(raw)
            if numbers is not None and self._template_point(template, series, numbers, pos):
                return
        if self._known_frame(raw) or self._frame(raw, pos):
            # A line printed while a bar was drawn lands after the bar's frame.
            found = _TQDM_FRAME_END.search(raw)
            raw = raw[found.end() :] if found is not None else b""
            if not raw.strip():
                return
        text = strip_escapes(raw)
        if not might_name_metrics(text):
            return
        metrics, step = line_metrics(text)
        if metrics:
            self._line_point(metrics, step, pos)
            if text is raw and b"{" not in raw:
                self._learn(raw)

    def _known_frame(self, raw: bytes) -> bool:
        """A redraw of a bar whose postfix is known (ends in a known tail): nothing new."""
        self._skip()
        tail = raw[: raw.rfind(b"]") + 1]
        return bool(tail) and tail.endswith(self._suffixes)

    def _learn(self, line: bytes) -> None:
        template = LineTemplate(line)
        series = [self._series("log", name) if name else None for name in template.names]
        self._templates.insert(0, (template, series))
        del self._templates[MAX_TEMPLATES:]

    def _template_point(
        self,
        template: LineTemplate,
        series: list[str | None],
        numbers: tuple[bytes | None, ...],
        pos: int,
    ) -> bool:
        """A line read by a template as points; False when its numbers do not parse."""
        try:
            values = [
                float(n) if name is not None and n is not None else 0.0
                for name, n in zip(series, numbers, strict=True)
            ]
            found = template.step(numbers)
        except ValueError:
            return False  # not numbers after all ("1.2.3"): the full parse decides
        step = self._next_line_step(found)
        for name, value in zip(series, values, strict=True):
            if name is not None:
                self._point(name, step, value, pos)
        return True

    # -- bars and lines to points ----------------------------------------------------------

    def _bar(self, progress: Progress, raw: bytes, pos: int) -> str:
        """A bar's frame: its metrics at the bar's step when they changed (compared as
        `metrics_text`, whichever way the frame was read). Returns the bar's key."""
        key = bar_key(progress.kind, progress.description, progress.total)
        bar = self.bars.pop(key, None)
        if bar is None:
            bar = {"s": "", "m": "", "n": None, "o": 0.0, "t": None, "done": False}
            if len(self.bars) >= MAX_BARS:
                del self.bars[next(iter(self.bars))]  # the least recently drawn
        self.bars[key] = bar  # most recent last
        n = progress.n if progress.n is not None else (progress.percent or 0.0)
        text = metrics_text(progress.metrics)
        last = bar["n"]
        if last is not None and (
            n < last or (progress.kind == "keras" and bar["done"] and text != bar["m"])
        ):
            # Started again (a new epoch's bar): its steps go on from where the last one ended.
            bar["o"] += bar["t"] or last
        step = bar["o"] + n
        if progress.metrics and text != bar["m"]:
            source = bar_label(progress.kind, progress.description)
            for name, value in progress.metrics.items():
                series = self._series(source, name)
                if series is not None:
                    self._point(series, step, value, pos)
        # A postfix that changes at every frame makes every frame worth reading: its tail
        # is then left out of the skip pattern (recompiling it at every frame costs more).
        bar["c"] = bar.get("c", 0) + 1 if text != bar["m"] else 0
        bar["m"], bar["n"], bar["t"] = text, n, progress.total
        bar["done"] = progress.total is not None and n >= progress.total
        suffix = redraw_tail(progress.kind, raw) if bar["c"] < CHURN_FRAMES else ""
        if suffix != bar["s"]:
            bar["s"] = suffix
            self._skip_rx = None
        self._latest = (raw, step)
        return key

    def _next_line_step(self, found: LineStep | None) -> float:
        """A metrics line's step: its step key, else the number of metrics lines before it. A
        `Step [k/N]` key is made global: with `Epoch [e/E]` beside it, (e - 1) × N + k; alone,
        it counts on from where it was when it starts again (the next epoch)."""
        self.metric_lines += 1
        if found is None:
            return float(self.metric_lines - 1)
        if found.total is None:
            return found.value
        if found.epoch is not None and found.epoch_total is not None:
            return (found.epoch - 1) * found.total + found.value
        counter = self.line_step.setdefault(f"{found.key}/{found.total:g}", [None, 0.0])
        last, offset = counter
        if last is not None and found.value < last:
            offset += found.total
        counter[:] = [found.value, offset]
        return offset + found.value

    def _line_point(self, metrics: dict[str, float], found: LineStep | None, pos: int) -> None:
        step = self._next_line_step(found)
        for name, value in metrics.items():
            series = self._series("log", name)
            if series is not None:
                self._point(series, step, value, pos)

    def _series(self, source: str, name: str) -> str | None:
        """The series a source's metric goes to: its name, unless another source printed that
        name first (a bar's postfix and a printed line): then "source/name". None once
        MAX_METRICS names are taken, and for names that are never metrics."""
        if name in NOT_METRICS:
            return None
        owner = self.owners.get(name)
        if owner == source:
            return name
        if owner is not None:
            name = f"{source}/{name}"[:MAX_NAME]
            owner = self.owners.get(name)
            if owner is not None:
                return name if owner == source else None
        if len(self.owners) >= MAX_METRICS:
            return None
        self.owners[name] = source
        return name
