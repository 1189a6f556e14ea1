"""Terminal renderer: turns raw output bytes into the lines a terminal would show.

Pure logic, no I/O. `Screen` is incremental (feed chunks split anywhere, learn which lines
changed); `render` is the one-shot form. Colours are kept as style spans for the widget.
"""

from __future__ import annotations

import codecs
import functools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from nbexp._compiled import native

__all__ = [
    "LINE_CUT_MARKER",
    "NOTE_STYLE",
    "Screen",
    "ScreenState",
    "Span",
    "Style",
    "render",
    "sgr",
]

#: Appended (with the cap) to a line that was cut because it grew past `line_cap` columns.
LINE_CUT_MARKER = " …[nbexp: line cut at {cap} columns]"

# What the tokenizer takes as text: everything but the controls that `Screen._feed_piece`
# leaves in place (\r and \n are text; the others are removed or mapped before).
_SIMPLE_RUN = re.compile(r"[^\x07-\x09\x18\x1a\x1b]+")
# The controls that the tokenizer handles, a run at a time.
_CONTROL_RUN = re.compile(r"[\x07-\x09\x18\x1a]+")
# ESC ESC ...: each ESC but the last is cut short by the next (see `_drop_aborted`).
_ESC_RUN = re.compile("\x1b\x1b+")
# The rest of an over-long CSI (parameters, intermediates) and the end of an over-long OSC.
_CSI_BODY = re.compile(r"[ -?]*")
_OSC_END = re.compile(r"[\x07\x1b]")
# A complete escape sequence. Lengths are bounded so that a malicious or broken stream can
# never make us buffer without limit; an over-long sequence is skipped (see `_skip`).
# (At most 256 parameter bytes, 8 intermediates, 4096 bytes of OSC text.)
_ESCAPE = re.compile(
    r"\x1b(?:\[([0-?]{0,256})([ -/]{0,8})([@-~])"  # CSI params intermediates final
    r"|\]([^\x07\x1b]{0,4096})(?:\x07|\x1b\\)"  # OSC ... BEL or ST
    r"|([ -/]{0,8})([0-Z\\^-~]))"  # two/three-char escapes (not the CSI/OSC introducers)
)
# The most common escape by far: SGR (colours and attributes), handled without the dispatch.
_SGR_SEQUENCE = re.compile(r"\x1b\[([0-9;:]{0,256})m")
# Characters that no hyperlink target may hold (it is printed again by `nbexp logs -f`).
_UNSAFE_IN_LINK = re.compile("[\x00-\x1f\x7f-\x9f]")
# An escape sequence cut off by the end of the data: keep it until the next chunk arrives.
_INCOMPLETE = re.compile(
    r"\x1b(?:\[[0-?]{0,256}[ -/]{0,8}|\][^\x07\x1b]{0,4096}\x1b?|[ -/]{0,8})?\Z"
)
# Characters that take two columns on a terminal (East Asian wide/fullwidth, most emoji).
_WIDE_BMP = (
    "\u1100-\u115f\u231a\u231b\u2329\u232a\u23e9-\u23ec\u23f0\u23f3\u25fd\u25fe"
    "\u2614\u2615\u2648-\u2653\u267f\u2693\u26a1\u26aa\u26ab\u26bd\u26be\u26c4\u26c5"
    "\u26ce\u26d4\u26ea\u26f2\u26f3\u26f5\u26fa\u26fd\u2705\u270a\u270b\u2728\u274c"
    "\u274e\u2753-\u2755\u2757\u2795-\u2797\u27b0\u27bf\u2b1b\u2b1c\u2b50\u2b55"
    "\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f"
    "\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6"
)
_WIDE_ASTRAL = (
    "\U0001f004\U0001f0cf\U0001f18e\U0001f191-\U0001f19a\U0001f200-\U0001f251"
    "\U0001f300-\U0001f64f\U0001f680-\U0001f6ff\U0001f7e0-\U0001f7eb"
    "\U0001f900-\U0001f9ff\U0001fa70-\U0001faff\U00020000-\U0003fffd"
)
_WIDE = re.compile(f"[{_WIDE_BMP}{_WIDE_ASTRAL}]")
# Runs of them; written "[...][...]*", not "[...]+", so that `re` looks for the first one with
# its fast set test instead of trying a match at every position. Characters beyond U+FFFF
# get a pattern of their own whose first test is one range: `re` tests each range of a set
# for every character that is not in it, so one set with both is ~8x slower on most text.
_WIDE_BMP_RUN = re.compile(f"([{_WIDE_BMP}][{_WIDE_BMP}]*)")
_WIDE_ASTRAL_RUN = re.compile(f"([\U0001f004-\U0003fffd](?<=[{_WIDE_ASTRAL}])[{_WIDE_ASTRAL}]*)")
# Where `_wide_table` ends, and the wide characters beyond it.
_TABLE_END = 0x1FB00
_WIDE_BEYOND_TABLE_RUN = re.compile("([\U00020000-\U0003fffd][\U00020000-\U0003fffd]*)")
# Column filler stored after a wide character so that string index == column everywhere.
_FILL = "\x00"
# `Screen._process`'s loop in C (see `Screen._engine`); None without the compiled module.
_screen_run = native.screen_run if native is not None else None


class Style(NamedTuple):
    """Text attributes of a span. Colours are names ("red", "bright_blue") or "#rrggbb"."""

    fg: str | None = None
    bg: str | None = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    inverse: bool = False
    strike: bool = False
    link: str | None = None

    def css(self) -> str:
        """The style as inline CSS, using the xterm palette for named colours."""
        fg, bg = self.fg, self.bg
        if self.inverse:
            fg, bg = bg or "default_bg", fg or "default_fg"
        parts = []
        if fg:
            parts.append(f"color:{_css_colour(fg)}")
        if bg:
            parts.append(f"background-color:{_css_colour(bg)}")
        if self.bold:
            parts.append("font-weight:bold")
        if self.dim:
            parts.append("opacity:0.7")
        if self.italic:
            parts.append("font-style:italic")
        decorations = [
            d for d, on in (("underline", self.underline), ("line-through", self.strike)) if on
        ]
        if decorations:
            parts.append("text-decoration:" + " ".join(decorations))
        return ";".join(parts)


class Span(NamedTuple):
    """Columns [start, end) of a rendered line share `style`."""

    start: int
    end: int
    style: Style


_NAMES = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
_PALETTE = {
    "black": "#000000", "red": "#cd0000", "green": "#00cd00", "yellow": "#cdcd00",
    "blue": "#0000ee", "magenta": "#cd00cd", "cyan": "#00cdcd", "white": "#e5e5e5",
    "bright_black": "#7f7f7f", "bright_red": "#ff0000", "bright_green": "#00ff00",
    "bright_yellow": "#ffff00", "bright_blue": "#5c5cff", "bright_magenta": "#ff00ff",
    "bright_cyan": "#00ffff", "bright_white": "#ffffff",
    "default_fg": "var(--nbexp-bg, #ffffff)", "default_bg": "var(--nbexp-fg, #000000)",
}  # fmt: skip


def _shows_on_blanks(style: Style) -> bool:
    """Whether blanks in this style look different from nothing (so must not be trimmed)."""
    return style.bg is not None or style.inverse or style.underline or style.strike


_SGR_FLAGS = (
    ("bold", "1"), ("dim", "2"), ("italic", "3"), ("underline", "4"), ("inverse", "7"),
    ("strike", "9"),
)  # fmt: skip


def sgr(style: Style) -> str:
    """The SGR sequence (ESC [ ... m) that draws `style` on a terminal ("" for plain): how
    `nbexp logs -f` and a notebook's `%exp logs -f` re-emit a rendered line's colours."""
    codes = [code for flag, code in _SGR_FLAGS if getattr(style, flag)]
    for colour, base in ((style.fg, 30), (style.bg, 40)):
        if colour is None:
            continue
        if colour.startswith("#"):
            r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
            codes.append(f"{base + 8};2;{r};{g};{b}")
        elif colour.startswith("bright_") and colour[7:] in _NAMES:
            codes.append(str(base + 60 + _NAMES.index(colour[7:])))
        elif colour in _NAMES:
            codes.append(str(base + _NAMES.index(colour)))
    return f"\x1b[{';'.join(codes)}m" if codes else ""


def _css_colour(colour: str) -> str:
    return _PALETTE.get(colour, colour)


def _colour_256(index: int) -> str:
    """xterm's 256-colour table: 16 named, a 6x6x6 cube, then 24 greys."""
    if index < 8:
        return _NAMES[index]
    if index < 16:
        return "bright_" + _NAMES[index - 8]
    if index < 232:
        index -= 16
        levels = [0 if v == 0 else 55 + 40 * v for v in (index // 36, index // 6 % 6, index % 6)]
        return "#{:02x}{:02x}{:02x}".format(*levels)
    grey = 8 + 10 * (index - 232)
    return f"#{grey:02x}{grey:02x}{grey:02x}"


def _apply_sgr(style: Style, params: str) -> Style:
    """The style after one SGR (ESC [ ... m) sequence."""
    codes = [p.split(":") for p in params.split(";")] if params else [["0"]]
    i = 0
    while i < len(codes):
        head = codes[i][0]
        code = int(head) if head.isdigit() else 0
        sub = codes[i][1:]
        i += 1
        if code == 0:
            style = Style(link=style.link)
        elif code in (38, 48):
            # Either 38;5;n / 38;2;r;g;b or the colon form 38:5:n / 38:2:[cs]:r:g:b.
            args = sub if sub else [c[0] for c in codes[i : i + 4]]
            colour, used = _extended_colour(args, colon=bool(sub))
            if not sub:
                i += used
            if colour is not None:
                style = style._replace(fg=colour) if code == 38 else style._replace(bg=colour)
        else:
            style = _SIMPLE_SGR.get(code, _keep)(style, code)
    return style


def _extended_colour(args: list[str], colon: bool) -> tuple[str | None, int]:
    """Parse the arguments after 38/48; returns the colour and how many ';' params it used."""
    nums = [int(a) if a.isdigit() else 0 for a in args]
    if nums[:1] == [5] and len(nums) >= 2:
        return _colour_256(min(nums[1], 255)), 2
    if nums[:1] == [2]:
        rgb = nums[2:5] if colon and len(nums) >= 5 else nums[1:4]
        if len(rgb) == 3:
            r, g, b = (min(v, 255) for v in rgb)
            return f"#{r:02x}{g:02x}{b:02x}", 4
    return None, len(nums)


def _keep(style: Style, code: int) -> Style:
    return style


def _set_fg(style: Style, code: int) -> Style:
    if 30 <= code <= 37:
        return style._replace(fg=_NAMES[code - 30])
    if 90 <= code <= 97:
        return style._replace(fg="bright_" + _NAMES[code - 90])
    return style._replace(fg=None)


def _set_bg(style: Style, code: int) -> Style:
    if 40 <= code <= 47:
        return style._replace(bg=_NAMES[code - 40])
    if 100 <= code <= 107:
        return style._replace(bg="bright_" + _NAMES[code - 100])
    return style._replace(bg=None)


def _flag(name: str, value: bool) -> Callable[[Style, int], Style]:
    def apply(style: Style, code: int) -> Style:
        return style._replace(**{name: value})  # type: ignore[arg-type]

    return apply


_SIMPLE_SGR: dict[int, Callable[[Style, int], Style]] = {
    1: _flag("bold", True), 2: _flag("dim", True), 3: _flag("italic", True),
    4: _flag("underline", True), 7: _flag("inverse", True), 9: _flag("strike", True),
    21: _flag("underline", True), 23: _flag("italic", False), 24: _flag("underline", False),
    27: _flag("inverse", False), 29: _flag("strike", False), 39: _set_fg, 49: _set_bg,
    22: lambda s, c: s._replace(bold=False, dim=False),
    **{c: _set_fg for c in (*range(30, 38), *range(90, 98))},
    **{c: _set_bg for c in (*range(40, 48), *range(100, 108))},
}  # fmt: skip

_PLAIN = Style()
_SGR_CACHE: dict[tuple[Style | None, str], Style] = {}
#: Style of the lines nbexp adds itself (see `Screen.note`).
NOTE_STYLE = Style(fg="bright_black", italic=True)


def _overlay(pieces: list[str]) -> str:
    """What is left on a line after writing each piece from column 0 in turn (\\r between).

    Column c shows the last piece longer than c. Progress bars keep a nearly constant width,
    so there are few distinct lengths; the search runs over them with C-level list scans
    instead of a Python loop over every piece.
    """
    result = pieces[-1]
    lengths = list(map(len, pieces))
    longest = max(lengths)
    if longest <= len(result):
        return result  # the common case: the last redraw covers all earlier ones
    distinct = sorted(set(lengths), reverse=True)
    if len(distinct) > 8:
        # Many widths (a line that keeps shrinking): one plain pass, linear in the pieces.
        for piece in reversed(pieces):
            if len(piece) > len(result):
                result += piece[len(result) :]
        return result
    backwards = lengths[::-1]
    while len(result) < longest:
        covered = len(result)
        # The most recent piece longer than what is covered supplies the next columns.
        position = min(backwards.index(n) for n in distinct if n > covered)
        piece = pieces[len(pieces) - 1 - position]
        result += piece[covered:]
    return result


@dataclass
class ScreenState:
    """Everything needed to continue rendering from a point in the stream.

    Lines above `top` can never change again, so a state holds only the live screenful; a
    `Screen` restored from it reproduces every line from `top` on exactly.
    """

    top: int
    lines: list[str]
    spans: list[list[Span] | None]
    cut: set[int]
    row: int
    col: int
    saved: tuple[int, int]
    style: Style | None
    pending: str
    skip: str
    decoder: tuple[bytes, int]
    wide: bool
    reach: int = 0


class Screen:
    """An incremental terminal of unbounded width whose height only matters for cursor moves.

    `feed(chunk)` returns the absolute numbers of lines that changed. Line numbers count from
    the start of the stream and never shift. Only the last `max_lines` lines are kept; lines
    above the last screenful (`rows` lines) are final, and `on_final(first_no, texts)` is called
    with them (plain text) when they leave memory.
    """

    def __init__(
        self,
        rows: int = 40,
        *,
        max_lines: int | None = 10_000,
        line_cap: int = 65_536,
        on_final: Callable[[int, list[str]], None] | None = None,
    ) -> None:
        if rows < 1:
            raise ValueError(f"rows must be at least 1, got {rows}")
        if max_lines is not None and max_lines < rows:
            raise ValueError(f"max_lines ({max_lines}) must be at least rows ({rows})")
        self.rows = rows
        self.max_lines = max_lines
        self.line_cap = line_cap
        self.on_final = on_final
        self._first = 0  # absolute number of self._lines[0]
        self._lines: list[str] = [""]
        self._spans: list[list[Span] | None] = [None]
        self._cut: set[int] = set()
        self._top = 0  # absolute number of the first line of the live screenful
        self._row = 0
        self._col = 0
        self._saved = (0, 0)
        self._style: Style | None = None  # None means plain, which keeps the fast path cheap
        self._pending = ""  # an escape sequence split by the end of the last chunk
        self._skip = ""  # "csi" or "osc" while swallowing an over-long sequence
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._wide = False  # whether any wide character was seen (enables the slow checks)
        self._maybe_wide = False  # whether the current chunk may hold a wide character
        self._maybe_astral = False  # whether it may hold a character beyond U+FFFF
        self._reach = 0  # deepest the cursor went back above the last line (see settled_count)
        self._changed: set[int] = set()
        self._appended_from: int | None = None  # first line appended in bulk by this feed
        # `_process`'s loop in C for text, controls and short escapes (nbexp._native), or
        # None for the same loop in Python: tests set it to compare the two.
        self._engine = _screen_run

    # ----------------------------------------------------------------- public queries

    @property
    def line_count(self) -> int:
        """Number of lines: every row above the cursor, then rows from it on that hold text.

        So a trailing newline does not add a blank line, and lines a progress display erased
        below the cursor disappear, as they look on a terminal.
        """
        lines, first = self._lines, self._first
        idx = len(lines) - 1
        cursor_idx = self._row - first
        while idx >= cursor_idx and not lines[idx].strip(" "):
            idx -= 1
        return first + max(idx + 1, cursor_idx)

    @property
    def first_line(self) -> int:
        """Absolute number of the oldest line still held in memory."""
        return self._first

    @property
    def final_count(self) -> int:
        """Lines numbered below this can never change again (they left the screen)."""
        return self._top

    @property
    def settled_count(self) -> int:
        """Lines numbered below this are unlikely to change: above the cursor, and farther up
        than the stream has ever moved the cursor back (0 lines for plain logs, the bar area
        for progress displays). A follower prints these as done; the rest stay live."""
        extent = self._first + len(self._lines)
        return max(self._top, min(self._row, extent - 1 - self._reach))

    @property
    def cursor(self) -> tuple[int, int]:
        """(absolute line, column) of the cursor."""
        return self._row, self._col

    def line(self, number: int) -> str:
        """Rendered text of line `number` (absolute), without trailing spaces."""
        raw = self._raw(number)
        text = raw.rstrip(" ")
        if _FILL in text:
            text = text.replace(_FILL, "")
        if number in self._cut:
            text += LINE_CUT_MARKER.format(cap=self.line_cap)
        return text

    def styled_line(self, number: int) -> tuple[str, list[Span]]:
        """Rendered text and its style spans; span offsets index the returned text. Trailing
        blanks are kept where a span shows on blanks (a background, inverse, underline)."""
        text = self.line(number)
        spans = self._spans[number - self._first]
        if not spans:
            return text, []
        full = self._raw(number)
        raw = full.rstrip(" ")
        shown = max((end for _, end, style in spans if _shows_on_blanks(style)), default=0)
        if min(shown, len(full)) > len(raw) and number not in self._cut:
            text += " " * (min(shown, len(full)) - len(raw))
            raw = full[: min(shown, len(full))]
        column_to_index = _column_map(raw) if _FILL in raw else None
        result = []
        for start, end, style in spans:
            end = min(end, len(raw))
            if start >= end:
                continue
            if column_to_index is not None:
                start, end = column_to_index[start], column_to_index[end]
            result.append(Span(start, end, style))
        return text, result

    def lines(self, start: int | None = None, stop: int | None = None) -> list[str]:
        """Rendered lines [start, stop) among those held (default: all of them)."""
        start = self._first if start is None else max(start, self._first)
        stop = self.line_count if stop is None else min(stop, self.line_count)
        return self._texts(start, stop) if start < stop else []

    def _texts(self, start: int, stop: int) -> list[str]:
        """`line(n)` for n in [start, stop), held lines only, with C-level calls per line."""
        texts = list(
            map(str.rstrip, self._lines[start - self._first : stop - self._first], _SPACES)
        )
        if self._wide:
            texts = list(map(str.replace, texts, _FILLS, _NOTHINGS))
        for number in self._cut:
            if start <= number < stop:
                texts[number - start] += LINE_CUT_MARKER.format(cap=self.line_cap)
        return texts

    def note(self, text: str) -> set[int]:
        """Append a line of our own (e.g. "[nbexp: log truncated, restarting]") below all
        content and start afresh below it: partial escapes, style and cursor reach are reset,
        and nothing after the note can move above it. Returns the changed lines."""
        changed: set[int] = set()
        self._changed = changed
        row = self.line_count
        self._row, self._col = row, 0
        self._ensure_row(row)
        self._top = max(self._top, row)
        self._style = NOTE_STYLE
        self._write(text.replace("\n", " "))
        self._style = None
        self._linefeed()
        self._top = self._row
        self._pending, self._skip, self._reach = "", "", 0
        self._decoder.reset()
        self._trim()
        return {n for n in changed if n >= self._first}

    # ------------------------------------------------------------------ state transfer

    def state(self) -> ScreenState:
        """A small copy of the live screenful, to resume rendering later (see `restore`)."""
        lo = self._top - self._first
        buffered, flag = self._decoder.getstate()
        return ScreenState(
            top=self._top,
            lines=self._lines[lo:],
            spans=[list(s) if s else None for s in self._spans[lo:]],
            cut={n for n in self._cut if n >= self._top},
            row=self._row,
            col=self._col,
            saved=self._saved,
            style=self._style,
            pending=self._pending,
            skip=self._skip,
            decoder=(buffered, flag),
            wide=self._wide,
            reach=self._reach,
        )

    @classmethod
    def restore(
        cls,
        state: ScreenState,
        rows: int = 40,
        *,
        max_lines: int | None = 10_000,
        line_cap: int = 65_536,
        on_final: Callable[[int, list[str]], None] | None = None,
    ) -> Screen:
        """A screen that continues from `state` (lines before `state.top` are not held)."""
        screen = cls(rows, max_lines=max_lines, line_cap=line_cap, on_final=on_final)
        screen._first = screen._top = state.top
        screen._lines = list(state.lines)
        screen._spans = [list(s) if s else None for s in state.spans]
        screen._cut = set(state.cut)
        screen._row, screen._col = state.row, state.col
        screen._saved = state.saved
        screen._style = state.style
        screen._pending, screen._skip = state.pending, state.skip
        screen._decoder.setstate(state.decoder)
        screen._wide = state.wide
        screen._reach = state.reach
        return screen

    # ------------------------------------------------------------------------ feeding

    def feed(self, data: bytes) -> set[int]:
        """Process a chunk of output; returns the absolute numbers of lines that changed.

        Lines that changed and left memory within this same call are not included (they are
        reported through `on_final`). The set may include the cursor's blank row.
        """
        changed: set[int] = set()
        self._changed = changed
        self._appended_from = None
        first = self._first
        self._feed(data)
        if self._first > first and changed and min(changed) < self._first:
            changed = {n for n in changed if n >= self._first}  # dropped during this call
        if self._appended_from is not None:
            # Lines appended in bulk are reported here (the set above stays small), only
            # those still held.
            start = max(self._appended_from, self._first)
            changed.update(range(start, self._first + len(self._lines)))
        return changed

    def _feed(self, data: bytes) -> None:
        # Big inputs go in pieces, so that the copies made on the way stay bounded in size.
        if len(data) <= _PIECE:
            self._feed_piece(data)
        else:
            for offset in range(0, len(data), _PIECE):
                self._feed_piece(data[offset : offset + _PIECE])
        self._trim()

    def _feed_piece(self, data: bytes) -> None:
        buffered = self._decoder.getstate()[0]
        raw = buffered + data if buffered else data  # a character split by the last chunk
        if raw.isascii():
            # Deleting all but controls writes almost nothing: ~1.5x faster than classifying.
            controls = bool(raw.translate(None, _NOT_CONTROL_BYTES))
            c1 = self._maybe_wide = self._maybe_astral = False
        else:
            classes = raw.translate(_BYTE_CLASSES)
            controls = b"C" in classes
            self._maybe_astral = b"A" in classes
            self._maybe_wide = (
                self._maybe_astral or b"W" in classes or _WIDE_PAIR.search(classes) is not None
            )
            c1 = b"\xc2" in raw and _C1_BYTES.search(raw) is not None
        if not controls and not c1:
            text = self._decoder.decode(data)
            if not (self._pending or self._skip):
                self._run(text)  # no escapes or odd controls anywhere: skip the tokenizer
                return
            if self._maybe_wide and not text.isascii():
                text = self._fill_wide(text)  # here once, not once per run of text
        else:
            text = self._clean(self._decoder.decode(data.translate(_CONTROL_MAP)), c1)
        if self._pending:
            text = self._pending + text
            self._pending = ""
        if "\x1b" in text:
            text = _drop_aborted(text) if self._engine is None else _drop_aborted_in_c(text)
        if text:
            self._process(text)

    def _clean(self, text: str, c1: bool) -> str:
        """Decoded text with controls, less those that show nothing (NUL, see `_CONTROL_MAP`)
        and the C1 controls (`c1`: whether it may hold some), with fillers after its wide
        characters: in one C pass (`nbexp._native.clean_text`) with `Screen._engine`."""
        if self._engine is not None and (
            c1 or "\x00" in text or (self._maybe_wide and not text.isascii())
        ):
            text, filled = _clean_text_in_c(text)
            self._wide = self._wide or filled
            return text
        if "\x00" in text:
            text = text.replace("\x00", "")  # controls that show nothing, all at once
        if c1:
            text = _C1_RUN.sub("", text)
        if self._maybe_wide and not text.isascii():
            text = self._fill_wide(text)  # here once, not once per run of text
        return text

    def _process(self, text: str) -> None:
        """Text with escapes and the few controls left after `_feed_piece`'s clean-up."""
        pos, end = 0, len(text)
        if self._skip:
            pos = self._skip_sequence(text, 0)
        simple = _SIMPLE_RUN.match
        sgr = _SGR_SEQUENCE.match
        engine = self._engine
        while pos < end:
            if engine is not None:
                # Text, controls and short escapes in C, up to a token it leaves to Python
                # (CSI, OSC, ...), which the rest of this iteration handles.
                pos = engine(self, text, pos, Span)
                if pos >= end:
                    break
            match = simple(text, pos)
            if match is not None:
                run = match.group()
                pos = match.end()
                if "\n" in run or "\r" in run:
                    self._text(run)
                else:
                    self._write(run)  # a bit of text between escapes: the common case here
                if pos >= end:
                    break
            if text[pos] == "\x1b":
                match = sgr(text, pos)
                if match is not None:  # colours are most escapes: skip the general dispatch
                    self._set_style(match.group(1))
                    pos = match.end()
                else:
                    pos = self._escape(text, pos)
            else:
                # \t, \b, and BEL, CAN, SUB (which show nothing here): a run at a time.
                controls = _CONTROL_RUN.match(text, pos)
                if controls is None:  # cannot happen: every other character is text
                    break
                pos = controls.end()
                self._controls(controls.group())

    def _controls(self, run: str) -> None:
        """Tabs and backspaces move the cursor; the other controls left show nothing."""
        if "\t" not in run:
            self._col = max(0, self._col - run.count("\b"))
            return
        if "\b" not in run:
            self._col = (self._col // 8 + run.count("\t")) * 8
            return
        col = self._col
        for index, piece in enumerate(run.split("\t")):
            if index:
                col = (col // 8 + 1) * 8  # the tab before this piece
            if "\b" in piece:
                col = max(0, col - piece.count("\b"))
        self._col = col

    # -------------------------------------------------------------- text and newlines

    def _run(self, run: str) -> None:
        """A run of printable text with \\r and \\n only: the hot path."""
        if self._maybe_wide and not run.isascii():
            run = self._fill_wide(run)
        self._text(run)

    def _fill_wide(self, run: str) -> str:
        filled = _fill_wide(run, self._maybe_astral)
        if filled is None:
            return run
        self._wide = True
        return filled

    def _text(self, run: str) -> None:
        """Text whose wide characters are already followed by their filler."""
        if "\n" not in run:
            self._segment(run)
            return
        parts = run.split("\n")
        self._segment(parts[0])
        self._linefeed()
        middle = parts[1:-1]
        if middle and not self._bulk_lines(run, middle):
            for part in middle:
                self._segment(part)
                self._linefeed()
        if parts[-1]:
            self._segment(parts[-1])

    def _bulk_lines(self, run: str, middle: list[str]) -> bool:
        """Append whole new lines in one go when the cursor sits on a fresh last line."""
        idx = self._row - self._first
        lines = self._lines
        if (
            "\r" in run
            or self._style is not None
            or idx != len(lines) - 1
            or lines[idx]
            or self._spans[idx] is not None
            or _has_long_line(run, middle, self.line_cap)
        ):
            return False
        count = len(middle)
        lines[idx] = middle[0]
        lines.extend(middle[1:])
        lines.append("")
        self._spans.extend([None] * count)
        start = self._row
        self._row += count
        self._col = 0
        self._top = max(self._top, self._row - self.rows + 1)
        if self._appended_from is None:
            self._appended_from = start  # every line from here on is new: see `feed`
        if self.max_lines is not None and len(lines) > 2 * self.max_lines:
            self._trim()
        return True

    def _segment(self, segment: str) -> None:
        """Text between newlines; \\r returns to column 0, later pieces overwrite earlier ones."""
        if "\r" not in segment:
            if segment:
                self._write(segment)
            return
        pieces = segment.split("\r")
        if pieces[0]:
            self._write(pieces[0])
        rest = pieces[1:]
        if self._wide and (_FILL in segment or _FILL in self._lines[self._row - self._first]):
            # Overwriting half of a wide character needs the per-write fix-ups, so no shortcut.
            for piece in rest:
                self._col = 0
                if piece:
                    self._write(piece)
            return
        self._col = 0
        overlay = _overlay(rest)
        if overlay:
            self._write(overlay)
        self._col = len(rest[-1])

    def _linefeed(self) -> None:
        """LF as on a tty with onlcr: next line, column 0; scrolls at the bottom of the screen."""
        # `_down(1)` spelled out: output with many short lines comes here once per line.
        self._col = 0
        row = self._row = self._row + 1
        if row >= self._top + self.rows:
            self._top = row - self.rows + 1
        if row - self._first >= len(self._lines):
            self._lines.append("")
            self._spans.append(None)
            self._changed.add(row)

    def _down(self, count: int, scroll: bool = True) -> None:
        row = self._row + count
        bottom = self._top + self.rows - 1
        if row > bottom:
            if scroll:
                self._top = row - self.rows + 1
            else:
                row = bottom
        self._row = row
        self._ensure_row(row)

    def _ensure_row(self, row: int) -> None:
        missing = row - self._first - len(self._lines) + 1
        if missing > 0:
            self._lines.extend([""] * missing)
            self._spans.extend([None] * missing)
            self._changed.update(range(row - missing + 1, row + 1))

    def _write(self, text: str) -> None:
        """Put `text` at the cursor in the current style and move the cursor past it."""
        col = self._col
        end = self._col = col + len(text)
        row = self._row
        self._changed.add(row)
        cap = self.line_cap
        if col >= cap:
            self._cut.add(row)
            return
        idx = row - self._first
        old = self._lines[idx]
        length = len(old)
        line = old[:col] + text + old[end:] if col < length else old + " " * (col - length) + text
        # Every wide character is followed by its filler, so without one there is none to fix.
        if self._wide and (_FILL in old or _FILL in text):
            line = _fix_wide(line, col, end)
        if end > cap:  # held lines are never longer than the cap, so only `end` can pass it
            line = line[:cap]
            self._cut.add(row)
        self._lines[idx] = line
        if self._style is not None or self._spans[idx] is not None:
            self._restyle(idx, col, min(end, cap), self._style)

    def _restyle(self, idx: int, start: int, end: int, style: Style | None) -> None:
        """Give columns [start, end) of line `idx` the style (None: plain)."""
        spans = self._spans[idx]
        if spans and spans[-1].end <= start and style is not None and end > start:
            # Writing past every styled column (colourful output drawn left to right).
            last = spans[-1]
            if last.end == start and last.style == style:
                spans[-1] = Span(last.start, end, style)
            else:
                spans.append(Span(start, end, style))
            return
        if end <= start:
            return
        if not spans:
            if style is not None:
                self._spans[idx] = [Span(start, end, style)]
            return
        # The spans that [start, end) touches form one slice; only it and its neighbours (to
        # merge with) are rebuilt, so a write costs the same on a line with many spans.
        lo = bisect_right(spans, start, key=_span_end)
        hi = bisect_left(spans, end, lo, key=_span_start)
        pieces = []
        if lo < hi and spans[lo].start < start:
            pieces.append(Span(spans[lo].start, start, spans[lo].style))
        if style is not None:
            pieces.append(Span(start, end, style))
        if lo < hi and spans[hi - 1].end > end:
            pieces.append(Span(end, spans[hi - 1].end, spans[hi - 1].style))
        before, after = max(lo - 1, 0), min(hi + 1, len(spans))
        local = spans[before:lo] + pieces + spans[hi:after]
        spans[before:after] = _merge(local) if local else []
        if not spans:
            self._spans[idx] = None

    # ------------------------------------------------------------------------ escapes

    def _escape(self, text: str, pos: int) -> int:
        """Handle the escape sequence at text[pos]; returns where to continue."""
        match = _ESCAPE.match(text, pos)
        if match is None:
            if _INCOMPLETE.match(text, pos) is not None:
                self._pending = text[pos:]
                return len(text)
            return self._malformed(text, pos)
        final = match.group(3)
        if final is not None:
            self._csi(match.group(1), match.group(2), final)
        elif match.group(4) is not None:
            self._osc(match.group(4))
        else:
            self._esc(match.group(5), match.group(6))
        return match.end()

    def _malformed(self, text: str, pos: int) -> int:
        """A broken or over-long sequence: drop its introducer and skip what belongs to it."""
        kind = text[pos + 1] if pos + 1 < len(text) else ""
        if kind == "[":
            self._skip = "csi"
        elif kind == "]":
            self._skip = "osc"
        else:
            return pos + 1  # a lone ESC before something that cannot follow it
        return self._skip_sequence(text, pos + 2)

    def _skip_sequence(self, text: str, pos: int) -> int:
        """Swallow the rest of an over-long CSI or OSC, across chunks if need be."""
        end = len(text)
        if self._skip == "csi":
            pos = _CSI_BODY.match(text, pos).end()  # type: ignore[union-attr]
            if pos < end:
                self._skip = ""
                if "@" <= text[pos] <= "~":
                    pos += 1
            return pos
        found = _OSC_END.search(text, pos)
        if found is None:
            return end
        pos = found.start()
        if text[pos] == "\x07":
            self._skip = ""
            return pos + 1
        if pos + 1 >= end:
            self._pending = "\x1b"  # maybe the start of ST; look again next chunk
            return end
        self._skip = ""
        return pos + 2 if text[pos + 1] == "\\" else pos

    def _csi(self, params: str, intermediates: str, final: str) -> None:
        if intermediates or (params and params[0] in "<=>?"):
            return  # private modes (cursor show/hide, bracketed paste, ...) change nothing shown
        if final == "m":
            self._set_style(params)
            return
        handler = _CSI_HANDLERS.get(final)
        if handler is not None:
            args = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
            handler(self, args)

    def _set_style(self, params: str) -> None:
        key = (self._style, params)
        style = _SGR_CACHE.get(key)
        if style is None:
            # Colourful output repeats a handful of SGR sequences: parse each once.
            if len(_SGR_CACHE) > 4096:
                _SGR_CACHE.clear()
            style = _SGR_CACHE[key] = _apply_sgr(self._style or _PLAIN, params)
        self._style = None if style is _PLAIN or style == _PLAIN else style

    def _osc(self, body: str) -> None:
        # OSC 8 ; params ; URI — a hyperlink around the following text; titles are dropped.
        if body.startswith("8;"):
            uri = body[2:].partition(";")[2].replace(_FILL, "")  # wide characters were filled
            if _UNSAFE_IN_LINK.search(uri) is not None:
                uri = ""  # a target must be printable (OSC 8); controls would be re-emitted
            style = (self._style or _PLAIN)._replace(link=uri or None)
            self._style = None if style == _PLAIN else style

    def _esc(self, intermediates: str, final: str) -> None:
        if intermediates:
            return  # charset designations and the like
        if final == "7":
            self._saved = (self._row - self._top, self._col)
        elif final == "8":
            self._restore_cursor()
        elif final == "D":
            self._down(1)
        elif final == "E":
            self._linefeed()
        elif final == "M":
            if self._row > self._top:
                self._row -= 1
                self._went_up()
            else:
                self._insert_lines(1, keep_col=True)
        elif final == "c":
            self._style = None
            self._clear_screen()

    # ----------------------------------------------------------------- CSI operations

    def _restore_cursor(self) -> None:
        row, col = self._saved
        self._row = self._top + min(row, self.rows - 1)
        self._col = col
        self._ensure_row(self._row)

    def _went_up(self) -> None:
        self._reach = max(self._reach, self._first + len(self._lines) - 1 - self._row)

    def _cursor_up(self, args: list[int]) -> None:
        self._row = max(self._top, self._row - _count(args))
        self._went_up()

    def _cursor_down(self, args: list[int]) -> None:
        self._down(_count(args), scroll=False)

    def _cursor_forward(self, args: list[int]) -> None:
        self._col += _count(args)

    def _cursor_back(self, args: list[int]) -> None:
        self._col = max(0, self._col - _count(args))

    def _next_line(self, args: list[int]) -> None:
        self._cursor_down(args)
        self._col = 0

    def _previous_line(self, args: list[int]) -> None:
        self._cursor_up(args)
        self._col = 0

    def _column(self, args: list[int]) -> None:
        self._col = _count(args) - 1

    def _position(self, args: list[int]) -> None:
        row = _count(args)
        col = _count(args[1:])
        self._move_to_row(row)
        self._col = col - 1

    def _row_absolute(self, args: list[int]) -> None:
        self._move_to_row(_count(args))

    def _move_to_row(self, row: int) -> None:
        """Rows count from 1 at the top of the live screenful."""
        self._row = self._top + min(row, self.rows) - 1
        self._ensure_row(self._row)
        self._went_up()

    def _erase_line(self, args: list[int]) -> None:
        mode = args[0] if args else 0
        idx = self._row - self._first
        line = self._lines[idx]
        col = self._col
        if mode == 0:
            new = line[:col]
            start, end = col, len(line)
        elif mode == 1:
            new = " " * min(col + 1, len(line)) + line[col + 1 :]
            start, end = 0, col + 1
        elif mode == 2:
            new, start, end = "", 0, len(line)
        else:
            return
        if self._wide:
            new = _fix_wide(new, start, min(end, len(new)))
        if mode != 1:
            self._cut.discard(self._row)  # the cut-off end was erased with the rest
        if new != line or self._spans[idx]:
            self._lines[idx] = new
            self._changed.add(self._row)
            if self._spans[idx]:
                self._restyle(idx, start, max(end, len(line)) if mode != 1 else end, None)

    def _erase_display(self, args: list[int]) -> None:
        mode = args[0] if args else 0
        extent = self._first + len(self._lines)
        if mode == 0:
            self._erase_line([0])
            self._blank_rows(self._row + 1, extent)
        elif mode == 1:
            self._erase_line([1])
            self._blank_rows(self._top, self._row)
        elif mode in (2, 3):
            self._clear_screen()

    def _clear_screen(self) -> None:
        """Clear screen, as terminals that keep the old screen in scrollback do.

        A log must not lose text because a program cleared the screen, so the old screen
        stays as history and a fresh, empty screenful starts below it.
        """
        screen_row = self._row - self._top
        extent = self._first + len(self._lines)
        last_used = extent - 1
        while last_used >= self._top and not self._lines[last_used - self._first].strip(" "):
            last_used -= 1
        self._top = last_used + 1
        self._row = self._top + screen_row
        self._ensure_row(self._row)
        self._blank_rows(self._top, self._first + len(self._lines))

    def _blank_rows(self, start: int, stop: int) -> None:
        for row in range(start, stop):
            idx = row - self._first
            if self._lines[idx] or self._spans[idx]:
                self._lines[idx] = ""
                self._spans[idx] = None
                self._cut.discard(row)
                self._changed.add(row)

    def _insert_chars(self, args: list[int]) -> None:
        # Clamped: the count comes from the stream, and the line is cut at line_cap anyway.
        idx, col, count = self._row - self._first, self._col, min(_count(args), self.line_cap)
        line = self._lines[idx]
        if col >= len(line):
            return
        new = (line[:col] + " " * count + line[col:])[: self.line_cap]
        self._lines[idx] = _fix_wide(new, col, col + count) if self._wide else new
        self._changed.add(self._row)
        spans = self._spans[idx]
        if spans:
            self._spans[idx] = _shift_spans(spans, col, count)

    def _delete_chars(self, args: list[int]) -> None:
        idx, col, count = self._row - self._first, self._col, _count(args)
        line = self._lines[idx]
        if col >= len(line):
            return
        new = line[:col] + line[col + count :]
        self._lines[idx] = _fix_wide(new, col, col) if self._wide else new
        self._changed.add(self._row)
        if self._spans[idx]:
            self._restyle(idx, col, col + count, None)
            spans = self._spans[idx]
            if spans:
                self._spans[idx] = _shift_spans(spans, col + count, -count)

    def _erase_chars(self, args: list[int]) -> None:
        idx, col, count = self._row - self._first, self._col, _count(args)
        line = self._lines[idx]
        if col >= len(line):
            return
        new = line[:col] + " " * min(count, len(line) - col) + line[col + count :]
        self._lines[idx] = _fix_wide(new, col, col + count) if self._wide else new
        self._changed.add(self._row)
        if self._spans[idx]:
            self._restyle(idx, col, col + count, None)

    def _insert_lines_csi(self, args: list[int]) -> None:
        self._insert_lines(_count(args), keep_col=False)

    def _insert_lines(self, count: int, keep_col: bool) -> None:
        """Blank lines at the cursor; the screen's lines below move down, the last fall off."""
        bottom = self._top + self.rows  # one past the screen
        idx = self._row - self._first
        count = min(count, bottom - self._row)
        self._lines[idx:idx] = [""] * count
        self._spans[idx:idx] = [None] * count
        self._cut = {n + count if n >= self._row else n for n in self._cut}
        excess = self._first + len(self._lines) - bottom
        if excess > 0:
            del self._lines[-excess:]
            del self._spans[-excess:]
        self._cut = {n for n in self._cut if n < bottom}
        self._changed.update(range(self._row, self._first + len(self._lines)))
        if not keep_col:
            self._col = 0

    def _delete_lines(self, args: list[int]) -> None:
        """Remove lines at the cursor; the screen's lines below move up, blanks fill in."""
        idx = self._row - self._first
        count = min(_count(args), len(self._lines) - idx)
        del self._lines[idx : idx + count]
        del self._spans[idx : idx + count]
        self._lines.extend([""] * count)
        self._spans.extend([None] * count)
        self._cut = {
            n - count if n >= self._row + count else n
            for n in self._cut
            if not self._row <= n < self._row + count
        }
        self._changed.update(range(self._row, self._first + len(self._lines)))
        self._col = 0

    def _save_cursor(self, args: list[int]) -> None:
        self._saved = (self._row - self._top, self._col)

    def _restore_cursor_csi(self, args: list[int]) -> None:
        self._restore_cursor()

    # ------------------------------------------------------------------------ memory

    def _trim(self) -> None:
        """Drop final lines beyond `max_lines`, in batches so that the cost stays amortised."""
        if self.max_lines is None or len(self._lines) <= self.max_lines + self.max_lines // 4:
            return
        count = min(len(self._lines) - self.max_lines, self._top - self._first)
        if count <= 0:
            return
        if self.on_final is not None:
            self.on_final(self._first, self._texts(self._first, self._first + count))
        del self._lines[:count]
        del self._spans[:count]
        self._first += count
        if self._cut:
            self._cut = {n for n in self._cut if n >= self._first}

    def _raw(self, number: int) -> str:
        idx = number - self._first
        if idx < 0 or number >= self._first + len(self._lines):
            last = self._first + len(self._lines) - 1
            raise IndexError(f"line {number} is not held (held: {self._first}..{last})")
        return self._lines[idx]


# Arguments for the C-level per-line calls of `Screen._texts`.
_SPACES, _FILLS, _NOTHINGS = repeat(" "), repeat(_FILL), repeat("")
_AFTER_FIRST = itemgetter(slice(1, None))
# How many lines `render` keeps while it works (those above are final and handed over).
_RENDER_WINDOW = 4096
# The width at which `render` cuts a line (a Screen's default).
_RENDER_LINE_CAP = 65_536
# What plain text is made of: printable ASCII and newlines (`_plain_lines_in_python`).
_PLAIN_BYTES = bytes([0x0A, *range(0x20, 0x7F)])
#: Input is worked on in pieces of at most this many bytes, which bounds the copies made.
_PIECE = 1 << 20
# Bytes of C0 controls other than \n and \r, and DEL: their absence means plain text.
_CONTROL_BYTES = bytes([*range(0x00, 0x0A), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080..U+009F in UTF-8
_C1_RUN = re.compile("[\x80-\x9f][\x80-\x9f]*")  # not "[...]+": see _WIDE_RUN
# Before decoding a chunk that holds controls: VT and FF become LF (they act alike here), and
# every control that shows nothing becomes NUL, which is then removed from the text in one
# call. Replacing an ASCII byte by another never changes how the bytes around it decode.
# (So such a control inside an escape sequence is ignored, as xterm does; BEL, CAN and SUB
# still end or cancel a sequence.) ESC, BEL, BS, TAB, CR, LF, CAN and SUB stay.
_KEPT_CONTROLS = (0x07, 0x08, 0x09, 0x0A, 0x0D, 0x18, 0x1A, 0x1B)
_CONTROL_MAP = bytes(
    0x0A if b in (0x0B, 0x0C)
    else b if b in _KEPT_CONTROLS or 0x20 <= b < 0x7F or b > 0x7F
    else 0x00
    for b in range(256)
)  # fmt: skip
# One byte translation classifies a chunk at C speed: "C" is a control (C0 but \r and \n, or
# DEL), "W" starts a character that may be wide (U+1000..U+FFFF, but not U+2xxx), "A" one
# beyond U+FFFF, "X" is 0xE2 (U+2000..U+2FFF) and "o" a second byte after which an 0xE2
# character may be wide (U+23xx, U+25Fx, U+26xx, U+27xx, U+2Bxx, U+2E8x and up). So b"C"
# means controls, and b"W", b"A" or b"Xo" maybe wide characters. The blocks and lines that
# progress bars draw with are never "o", which keeps the b"Xo" search fast on them.
_WIDE_SECOND = (0x8C, 0x8F, *range(0x97, 0x9F), 0xAC, 0xAD, *range(0xBA, 0xC0))
# (re finds this pair ~3x faster than `in` does, in the blocks of a progress bar.)
_WIDE_PAIR = re.compile(b"Xo")
_BYTE_CLASSES = bytes(
    ord("C") if b in _CONTROL_BYTES else ord("W") if b in (0xE1, *range(0xE3, 0xF0))
    else ord("A") if 0xF0 <= b <= 0xF4 else ord("X") if b == 0xE2
    else ord("o") if b in _WIDE_SECOND else ord(" ")
    for b in range(256)
)  # fmt: skip


def _drop_aborted(text: str) -> str:
    """Drop ESC, ESC [ and ESC ] where the next ESC cuts them short: they show nothing.

    Every ESC starts a sequence (one inside a sequence cuts it short), so what goes never
    showed anything, and runs of bare ESC bytes, a common byte soup, do not cost a step
    each. Each pass of C-level replaces halves a chain of them, so the passes are few.
    """
    if "\x1b\x1b" in text:
        text = _ESC_RUN.sub("\x1b", text)  # after this, no replace below makes ESC ESC
    while "\x1b[\x1b" in text or "\x1b]\x1b" in text:
        text = text.replace("\x1b[\x1b", "\x1b").replace("\x1b]\x1b", "\x1b")
    return text


# `_drop_aborted` in one C pass (used with `Screen._engine`, so that tests compare the two).
_drop_aborted_in_c: Callable[[str], str] = native.drop_aborted if native else _drop_aborted


def _clean_text_in_python(text: str) -> tuple[str, bool]:
    """`nbexp._native.clean_text` in Python (tests hold the C code to it): `text` without NUL
    and C1 controls, with fillers after its wide characters; and whether one was filled."""
    text = _C1_RUN.sub("", text.replace("\x00", ""))
    filled = _fill_wide(text, astral=True)
    return (text, False) if filled is None else (filled, True)


# `Screen._clean` in one C pass (used with `Screen._engine`).
_clean_text_in_c: Callable[[str], tuple[str, bool]] = (
    native.clean_text if native else _clean_text_in_python
)


def _count(args: list[int]) -> int:
    """The first parameter as a count: missing or 0 means 1."""
    return args[0] if args and args[0] > 0 else 1


_CSI_HANDLERS: dict[str, Callable[[Screen, list[int]], None]] = {
    "A": Screen._cursor_up, "B": Screen._cursor_down, "e": Screen._cursor_down,
    "C": Screen._cursor_forward, "a": Screen._cursor_forward, "D": Screen._cursor_back,
    "E": Screen._next_line, "F": Screen._previous_line, "G": Screen._column,
    "`": Screen._column, "H": Screen._position, "f": Screen._position,
    "d": Screen._row_absolute, "K": Screen._erase_line, "J": Screen._erase_display,
    "@": Screen._insert_chars, "P": Screen._delete_chars, "X": Screen._erase_chars,
    "L": Screen._insert_lines_csi, "M": Screen._delete_lines, "s": Screen._save_cursor,
    "u": Screen._restore_cursor_csi,
}  # fmt: skip


def _has_long_line(text: str, lines: list[str], cap: int) -> bool:
    """Whether one of `lines` (`text` split at newlines) is longer than `cap`, exactly.

    Cheap for the usual short lines: when every aligned stretch of cap // 2 characters of
    `text` holds a newline, no line can reach cap, and that takes a few C-level `find`s.
    """
    half = cap // 2
    if half >= 1024 and all(
        text.find("\n", start, start + half) >= 0 for start in range(0, len(text) - half + 1, half)
    ):
        return False
    return max(map(len, lines)) > cap


def _fix_wide(line: str, start: int, end: int) -> str:
    """Blank out halves of wide characters that a change over [start, end) broke apart.

    Every wide character is followed by its filler; a write, erase or shift that separated
    them leaves a lone half, which a terminal shows as a blank.
    """
    if (
        0 < start <= len(line)
        and _WIDE.match(line, start - 1)
        and (start == len(line) or line[start] != _FILL)
    ):
        line = line[: start - 1] + " " + line[start:]
    if 0 <= end < len(line) and line[end] == _FILL and (end == 0 or not _WIDE.match(line, end - 1)):
        line = line[:end] + " " + line[end + 1 :]
    return line


def _fill_wide(text: str, astral: bool) -> str | None:
    """`text` with `_FILL` after each wide character, or None when it holds none.

    `astral`: whether `text` may hold characters beyond U+FFFF.
    """
    # Splitting text at its runs of wide characters costs ~1 µs a run, translating it ~60 ns a
    # character; runs are about as many as the spaces and newlines between them (counted in
    # a sample: the choice changes the speed only, not the result).
    sample = text[:4096]
    if len(sample) >= 16 * (sample.count(" ") + sample.count("\n")):
        filled = _fill_runs(_WIDE_BMP_RUN, text)
        if astral:
            filled = _fill_runs(_WIDE_ASTRAL_RUN, filled or text) or filled
        return filled
    translated = text.translate(_wide_table())
    filled = translated if len(translated) != len(text) else None
    if astral:  # the table ends before U+20000..U+3FFFD, which are all wide
        filled = _fill_runs(_WIDE_BEYOND_TABLE_RUN, filled or text) or filled
    return filled


@functools.cache
def _wide_table() -> list[int | str]:
    """A `str.translate` table up to U+1FAFF (the BMP and the emoji): a wide character and
    its filler for each wide character, the code point itself for every other (an index per
    character). Built on first use (~7 MB)."""
    table: list[int | str] = list(range(_TABLE_END))
    for first, last in _ranges(_WIDE_BMP + _WIDE_ASTRAL):
        if first < _TABLE_END:  # a range at a time, in C-level calls (a few ms in all)
            stop = min(last + 1, _TABLE_END)
            table[first:stop] = map(str.__add__, map(chr, range(first, stop)), _FILLS)
    return table


def _ranges(chars: str) -> Iterator[tuple[int, int]]:
    """The code point ranges of a regex set's text ("a-cx" -> (a, c), (x, x))."""
    index = 0
    while index < len(chars):
        last = index + 2 if chars[index + 1 : index + 2] == "-" else index
        yield ord(chars[index]), ord(chars[last])
        index = last + 1


def _fill_runs(pattern: re.Pattern[str], text: str) -> str | None:
    parts = pattern.split(text)
    if len(parts) == 1:
        return None
    # Narrow, wide, narrow, ... : "中文" becomes FILL "中" FILL "文" FILL, less its first FILL.
    # C-level calls per run of wide characters, none per character.
    parts[1::2] = map(_AFTER_FIRST, map(str.replace, parts[1::2], _NOTHINGS, _FILLS))
    return "".join(parts)


def _column_map(raw: str) -> list[int]:
    """column -> index in the text with wide-character fillers removed (len(raw)+1 entries)."""
    mapping, index = [], 0
    for char in raw:
        mapping.append(index)
        if char != _FILL:
            index += 1
    mapping.append(index)
    return mapping


def _shift_spans(spans: list[Span], at: int, delta: int) -> list[Span] | None:
    shifted = []
    for start, end, style in spans:
        if end <= at:
            shifted.append(Span(start, end, style))
        elif start >= at:
            shifted.append(Span(max(at, start + delta), max(at, end + delta), style))
        else:
            shifted.append(Span(start, max(at, end + delta), style))
    kept = [s for s in shifted if s.end > s.start]
    return _merge(kept) if kept else None


def _span_start(span: Span) -> int:
    return span.start


def _span_end(span: Span) -> int:
    return span.end


def _merge(spans: list[Span]) -> list[Span]:
    merged = [spans[0]]
    for span in spans[1:]:
        last = merged[-1]
        if span.start == last.end and span.style == last.style:
            merged[-1] = Span(last.start, span.end, last.style)
        else:
            merged.append(span)
    return merged


def render(data: bytes) -> list[str]:
    """The lines a terminal of unbounded width would show for `data`, as plain text."""
    if native is not None:
        # Plain text (printable ASCII and newlines: most logs) needs no terminal: its lines,
        # checked, split and stripped in C, come ~2x faster than through a Screen. None when
        # `data` is not plain (or a line is over the cap), and the Screen decides.
        lines: list[str] | None = native.plain_lines(data, _RENDER_LINE_CAP)
        if lines is not None:
            return lines
    return _render_on_screen(data)


def _plain_lines_in_python(data: bytes, line_cap: int) -> list[str] | None:
    """`nbexp._native.plain_lines` in Python, with the same results: what `render` shows for
    plain text (printable ASCII and newlines), or None for any other input or a line longer
    than `line_cap`. The text after the last newline is the cursor's row, a line only when it
    holds more than spaces (`Screen.line_count`). Not used by `render`: in Python it is no
    faster than the Screen (37 vs 37 ms on 10 MB of log lines); tests hold the C code to it."""
    if not data.isascii() or data.translate(None, _PLAIN_BYTES):
        return None
    lines = data.decode("ascii").split("\n")
    if not lines[-1].strip(" "):
        lines.pop()
    if max(map(len, lines), default=0) > line_cap:
        return None
    return list(map(str.rstrip, lines, _SPACES))


def _render_on_screen(data: bytes, line_cap: int = _RENDER_LINE_CAP) -> list[str]:
    """`render` through a Screen: for any input, and without the compiled module."""
    lines: list[str] = []
    # Lines that left the screen can never change: collect their text as they go, so that
    # memory holds the result and a window of lines, not every line twice over.
    screen = Screen(
        max_lines=_RENDER_WINDOW,
        line_cap=line_cap,
        on_final=lambda first, texts: lines.extend(texts),
    )
    for offset in range(0, len(data), _PIECE):
        screen._changed = set()  # nobody asks which lines changed: do not let the set grow
        screen._feed(data[offset : offset + _PIECE])
    lines.extend(screen.lines())
    return lines
