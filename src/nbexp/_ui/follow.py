"""`nbexp logs -f`: a log printed as it grows. On a terminal, lines that may still change
(progress bars) are redrawn in place; in a pipe only settled lines are printed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TextIO

from .._io.logs import LogFollower
from ..progress import parse_progress
from ..terminal import Screen, Span, sgr

__all__ = ["follow_to_terminal"]


def follow_to_terminal(
    path: str | os.PathLike[str],
    out: TextIO,
    *,
    is_finished: Callable[[], bool],
    poll_interval: float = 0.2,
    tail: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    color: bool | None = None,
) -> None:
    """Print a log as it grows. On a terminal, lines that may still change (progress bars)
    are redrawn in place; elsewhere only settled lines are printed, then the final state.

    `tail` starts with the last `tail` lines instead of the whole log. `color`: re-emit the
    log's colours (default: on a terminal only). Returns once `is_finished()` is true and
    everything written before that was printed.
    """
    # A small read budget per poll and a deep line window let settled lines be printed
    # before they leave memory (older ones would have to be re-rendered from the file).
    follower = LogFollower(path, chunk_size=256 << 10, poll_budget=256 << 10, max_lines=50_000)
    on_terminal = _isatty(out)
    ansi = on_terminal if color is None else color
    view: _View = _TerminalView(out, ansi) if on_terminal else _PlainView(out, ansi)
    try:
        if tail is not None:
            while not follower.poll().caught_up:
                pass
            view.next_line = max(follower.screen.first_line, follower.line_count - tail, 0)
        while True:
            finished = is_finished()  # ask first, so output written before it is not missed
            while not follower.poll().caught_up:
                view.show(follower, final=False)
            view.show(follower, final=finished)
            if finished:
                return
            sleep(poll_interval)
    finally:
        view.close()


class _View:
    def __init__(self, out: TextIO, ansi: bool) -> None:
        self.out = out
        self.ansi = ansi  # re-emit colours (and links) as escape sequences
        self.next_line = 0  # first line not yet printed for good

    def show(self, follower: LogFollower, final: bool) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _settled(self, follower: LogFollower, upto: int, ansi: bool) -> list[str]:
        """Lines [next_line, upto), fetched from the file if they already left memory."""
        screen = follower.screen
        start, held = self.next_line, screen.first_line
        texts = follower.lines(start, min(upto, held)) if start < held else []
        for number in range(max(start, held), upto):
            texts.append(_to_ansi(*screen.styled_line(number)) if ansi else screen.line(number))
        self.next_line = max(self.next_line, upto)
        return texts


class _PlainView(_View):
    """Not a terminal: each line is printed once, when it has settled (or at the end)."""

    def show(self, follower: LogFollower, final: bool) -> None:
        screen = follower.screen
        upto = screen.line_count if final else _settled_upto(screen, self.next_line)
        if upto > self.next_line:
            lines = self._settled(follower, upto, self.ansi)
            self.out.write("".join(text + "\n" for text in lines))
            self.out.flush()


class _TerminalView(_View):
    """A terminal: settled lines are printed once; the live ones below are redrawn in place."""

    def __init__(self, out: TextIO, ansi: bool) -> None:
        super().__init__(out, ansi)
        self.drawn: list[str] = []  # what the live region shows now, one row each

    def show(self, follower: LogFollower, final: bool) -> None:
        screen = follower.screen
        total = screen.line_count
        width, height = _terminal_size(self.out)
        # The live region never outgrows the screen, or cursor-up could not reach its top.
        live_rows = max(1, min(screen.rows, height - 1))
        settled = total if final else max(_settled_upto(screen, self.next_line), total - live_rows)
        live = [
            _clip(
                _to_ansi(*screen.styled_line(n)) if self.ansi else screen.line(n),
                screen.line(n),
                width,
            )
            for n in range(max(settled, self.next_line), total)
        ]
        if settled <= self.next_line and live == self.drawn:
            return  # nothing to redraw: never write a line per poll
        parts: list[str] = []
        if self.drawn:
            # Back to the first live row drawn last time (the cursor sits on the last one).
            if len(self.drawn) > 1:
                parts.append(f"\x1b[{len(self.drawn) - 1}A")
            parts.append("\r")
        if settled > self.next_line:
            settled_lines = self._settled(follower, settled, self.ansi)
            parts.extend(text + "\x1b[K\n" for text in settled_lines)
        parts.append("\x1b[K\n".join(live))
        parts.append("\x1b[K\x1b[J" if live else "\x1b[J")
        self.out.write("".join(parts))
        self.out.flush()
        self.drawn = live

    def close(self) -> None:
        if self.drawn:
            self.out.write("\n")  # leave the cursor below the live lines
            self.out.flush()
            self.drawn = []


# Only lines holding one of these are worth asking the progress parser about.
_BAR_HINTS = ("%", "━", "/s", "/step", "ETA")


def _settled_upto(screen: Screen, start: int) -> int:
    """Lines [start, result) can be printed for good.

    `settled_count` learns how far back the stream moves the cursor only once it does; a
    live display that has not redrawn yet (rich before its first refresh) would be printed
    too early. So a line that looks like a progress bar is held back, with everything after
    it, until it leaves the screen for good.
    """
    upto = min(screen.settled_count, screen.line_count)
    for number in range(max(start, screen.final_count), upto):
        line = screen.line(number)
        if any(hint in line for hint in _BAR_HINTS) and parse_progress(line) is not None:
            return number
    return upto


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_size(out: TextIO) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(out.fileno())
    except (AttributeError, ValueError, OSError):
        return 80, 24
    return size.columns or 80, size.lines or 24


def _clip(ansi: str, plain: str, width: int) -> str:
    """A live row must not wrap, or cursor-up counts go wrong: cut it to the width."""
    if len(plain) < width:
        return ansi
    return plain[: max(1, width - 2)] + "…"


def _to_ansi(text: str, spans: list[Span]) -> str:
    """Re-apply colours and hyperlinks (OSC 8) for the user's terminal."""
    if not spans:
        return text
    parts, position = [], 0
    link: str | None = None  # the hyperlink open at `position`
    for start, end, style in spans:
        if link is not None and (start > position or style.link != link):
            parts.append(_LINK_END)  # the text between spans, or the next span, is not in it
            link = None
        parts.append(text[position:start])
        if style.link is not None and style.link != link:
            link = style.link
            parts.append(_LINK_START.format(link))
        code = sgr(style)
        parts.append(code + text[start:end] + "\x1b[0m" if code else text[start:end])
        position = end
    if link is not None:
        parts.append(_LINK_END)
    parts.append(text[position:])
    return "".join(parts)


# OSC 8 around the text of a link, terminated with ST (ESC \).
_LINK_START = "\x1b]8;;{}\x1b\\"
_LINK_END = "\x1b]8;;\x1b\\"
