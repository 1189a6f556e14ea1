"""Tests for nbexp.terminal: unit cases, differential checks against pyte on real library
output (tqdm, rich, click; captured through a file and through a pty), and properties."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pyte
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbexp import terminal
from nbexp.terminal import LINE_CUT_MARKER, Screen, Style, render, sgr

from .capture_helpers import SCENARIOS, capture_file, capture_pty
from .conftest import traced_peak

PYTE_ROWS = 600  # taller than any capture, so pyte keeps every line on its screen
PYTE_COLUMNS = 400


def _trimmed(lines: list[str]) -> list[str]:
    lines = [line.rstrip(" ") for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _pyte_lines(data: bytes) -> list[str]:
    screen = pyte.Screen(PYTE_COLUMNS, PYTE_ROWS)
    screen.set_mode(pyte.modes.LNM)  # \n acts as on a tty with onlcr
    pyte.ByteStream(screen).feed(data)
    return _trimmed(screen.display)


def _ours(data: bytes) -> list[str]:
    screen = Screen(rows=PYTE_ROWS, max_lines=None)
    screen.feed(data)
    return _trimmed(screen.lines())


# ------------------------------------------------------------------------ unit behaviour


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", []),
        (b"one\ntwo\n", ["one", "two"]),
        (b"one\r\ntwo", ["one", "two"]),
        (b"a\n\nb", ["a", "", "b"]),
        (b"a\n\n", ["a", ""]),
        (b"hello\rHE", ["HEllo"]),
        (b"abc\b\bX", ["aXc"]),
        (b"a\tb\tc", ["a       b       c"]),
        (b"trailing   \n", ["trailing"]),
        (b"abcdef\x1b[3D\x1b[K", ["abc"]),
        (b"abcdef\x1b[3D\x1b[1K", ["    ef"]),
        (b"abcdef\x1b[2K", []),
        (b"abcdef\x1b[3G!", ["ab!def"]),
        (b"abcdef\x1b[2D\x1b[2P", ["abcd"]),
        (b"abcdef\x1b[1G\x1b[2@", ["  abcdef"]),
        (b"abcdef\x1b[1G\x1b[2X", ["  cdef"]),
        (b"1\n2\n3\x1b[2A\rX\x1b[2BY", ["X", "2", "3Y"]),
        (b"1\n2\n3\x1b[1;1HZ", ["Z", "2", "3"]),
        (b"1\n2\n3\x1b[2F\x1b[M", ["2", "3"]),
        (b"1\n2\n3\x1b[2F\x1b[L", ["", "1", "2", "3"]),
        (b"1\n2\n3\x1b[1F\x1b[J", ["1"]),
        (b"\x1b[31mred\x1b[0m \x1b[1;4mbold\x1b[m", ["red bold"]),
        (b"\x1b]0;my title\x07visible", ["visible"]),
        (b"\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\ text", ["link text"]),
        (b"\x1b[?25lhidden cursor\x1b[?25h", ["hidden cursor"]),
        (b"bad \xff\xfe utf8", ["bad \ufffd\ufffd utf8"]),
        (b"bell\x07 null\x00 done", ["bell null done"]),
        ("中文\r a".encode(), [" a文"]),
        ("ab中\x1b[2Dx".encode(), ["abx"]),
        (b"\x1b7saved\x1b8X", ["Xaved"]),
        ("✅ ok\ra".encode(), ["a  ok"]),
        ("⌚x\r\x1b[2C!".encode(), ["⌚!"]),
        ("│█▏━ ok\rX".encode(), ["X█▏━ ok"]),
    ],
)
def test_render(data: bytes, expected: list[str]) -> None:
    assert render(data) == expected


def test_wide_characters_split_across_chunks() -> None:
    data = "ab中文cd\r\x1b[3C|".encode()
    for cut in range(len(data) + 1):
        screen = Screen()
        screen.feed(data[:cut])
        screen.feed(data[cut:])
        assert screen.lines() == ["ab |文cd"], cut


def test_screen_height_bounds_cursor_up() -> None:
    screen = Screen(rows=3)
    screen.feed(b"0\n1\n2\n3\n4\x1b[10A\rX")
    # The cursor cannot leave the last screenful (lines 2..4).
    assert screen.lines() == ["0", "1", "X", "3", "4"]
    assert screen.final_count == 2


def test_changed_lines_are_reported() -> None:
    screen = Screen()
    assert screen.feed(b"a\nb") == {0, 1}
    assert screen.feed(b"c") == {1}
    assert screen.feed(b"\x1b[A\rZ") == {0}
    assert screen.lines() == ["Z", "bc"]


def test_styles_are_spans() -> None:
    screen = Screen()
    screen.feed(b"\x1b[1;31mred\x1b[0m plain \x1b[38;5;208;48;2;1;2;3mx\x1b[0m")
    text, spans = screen.styled_line(0)
    assert text == "red plain x"
    assert [(s.start, s.end) for s in spans] == [(0, 3), (10, 11)]
    assert spans[0].style == Style(fg="red", bold=True)
    assert spans[1].style == Style(fg="#ff8700", bg="#010203")
    assert "color:#cd0000" in spans[0].style.css()


def test_overwrite_splits_spans() -> None:
    screen = Screen()
    screen.feed(b"\x1b[32mgreen!\x1b[0m\x1b[4Dxy")
    text, spans = screen.styled_line(0)
    assert text == "grxyn!"
    assert [(s.start, s.end, s.style.fg) for s in spans] == [(0, 2, "green"), (4, 6, "green")]


def test_hyperlink_keeps_text_and_target() -> None:
    screen = Screen()
    screen.feed(b"see \x1b]8;;https://example.com\x07docs\x1b]8;;\x07.")
    text, spans = screen.styled_line(0)
    assert text == "see docs."
    assert spans == [(4, 8, Style(link="https://example.com"))]


def test_long_line_is_cut_with_marker() -> None:
    screen = Screen(line_cap=100)
    screen.feed(b"x" * 250 + b"\nnext\n")
    assert screen.line(0) == "x" * 100 + LINE_CUT_MARKER.format(cap=100)
    assert screen.line(1) == "next"


def test_window_keeps_line_numbers_absolute_and_reports_final_lines() -> None:
    finals: list[tuple[int, list[str]]] = []
    screen = Screen(
        rows=5, max_lines=20, on_final=lambda first, texts: finals.append((first, texts))
    )
    for i in range(1000):
        screen.feed(f"line {i}\n".encode())
    assert screen.line_count == 1000
    assert screen.line(999) == "line 999"
    assert screen.first_line > 900
    with pytest.raises(IndexError):
        screen.line(0)
    flat = [text for _, texts in finals for text in texts]
    assert flat == [f"line {i}" for i in range(len(flat))]
    assert finals[0][0] == 0
    assert len(flat) == screen.first_line


@pytest.mark.parametrize("widths", [range(3000, 0, -1), [5, 9, 5, 7, 3] * 100, range(1, 3000)])
def test_carriage_return_redraws_of_changing_width(widths: range | list[int]) -> None:
    pieces = [str(i % 10) * width for i, width in enumerate(widths)]
    expected = ""
    for piece in pieces:
        expected = piece + expected[len(piece) :]
    assert render("\r".join(pieces).encode()) == [expected]


def test_huge_counts_in_escape_sequences_stay_bounded() -> None:
    screen = Screen(line_cap=1000)
    screen.feed(b"abc\x1b[1G\x1b[999999999@x\x1b[99999999999C\x1b[999999999B\x1b[9999999999Ly")
    assert len(screen.line(0)) < 1100
    assert screen.line_count <= 40


def test_erasing_a_cut_line_removes_the_marker() -> None:
    screen = Screen(line_cap=10)
    screen.feed(b"x" * 20 + b"\r\x1b[2Kshort")
    assert screen.line(0) == "short"


def test_memory_stays_bounded_for_an_endless_line() -> None:
    screen = Screen(line_cap=1000)
    for _ in range(200):
        screen.feed(b"y" * 10_000)
    assert len(screen.line(0)) < 1100


def test_state_round_trip_reproduces_the_rest() -> None:
    data = b"".join(
        f"\r{i:3d}% [{'#' * (i // 10)}]\n".encode()
        if i % 7 == 0
        else f"\r{i:3d}% [{'#' * (i // 10)}]".encode()
        for i in range(101)
    )
    cut = len(data) // 2
    whole = Screen(rows=4, max_lines=None)
    whole.feed(data)
    first = Screen(rows=4, max_lines=None)
    first.feed(data[:cut])
    state = first.state()
    resumed = Screen.restore(state, rows=4, max_lines=None)
    resumed.feed(data[cut:])
    assert resumed.first_line == state.top
    assert resumed.lines() == whole.lines(state.top)


# --------------------------------------------------------- differential against pyte


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real output of each scenario, through a file and through a pty (captured once)."""
    tmp_path: Path = tmp_path_factory.mktemp("captures")
    result = {}
    for name, program in SCENARIOS.items():
        result[f"{name}-file"] = capture_file(program, tmp_path)
        result[f"{name}-pty"] = capture_pty(program)
    return result


@pytest.mark.parametrize("scenario", [f"{n}-{m}" for n in SCENARIOS for m in ("file", "pty")])
def test_agrees_with_pyte_on_real_output(captures: dict[str, bytes], scenario: str) -> None:
    data = captures[scenario]
    assert data, "the program wrote nothing"
    ours = _ours(data)
    assert len(ours) < PYTE_ROWS
    assert ours == _pyte_lines(data)


@pytest.mark.parametrize("scenario", [f"{n}-{m}" for n in SCENARIOS for m in ("file", "pty")])
def test_live_screen_agrees_with_a_short_pyte_screen(
    captures: dict[str, bytes], scenario: str
) -> None:
    # With a screen shorter than the output, lines scroll away: the live screenful (and the
    # cursor clamping that depends on it) must still match a terminal of that height.
    data = captures[scenario]
    pyte_screen = pyte.Screen(PYTE_COLUMNS, 8)
    pyte_screen.set_mode(pyte.modes.LNM)
    pyte.ByteStream(pyte_screen).feed(data)
    screen = Screen(rows=8, max_lines=None)
    screen.feed(data)
    top = screen.final_count
    ours = [screen.line(n) for n in range(top, top + 8) if n < screen.line_count]
    assert _trimmed(ours) == _trimmed(pyte_screen.display)


@pytest.mark.parametrize("scenario", [f"{n}-{m}" for n in SCENARIOS for m in ("file", "pty")])
def test_chunked_real_output_matches_one_shot(captures: dict[str, bytes], scenario: str) -> None:
    data = captures[scenario]
    expected = render(data)
    for size in (1, 7, 4096):
        screen = Screen(max_lines=None)
        for start in range(0, len(data), size):
            screen.feed(data[start : start + size])
        assert screen.lines() == expected


def test_real_tqdm_renders_final_bar(captures: dict[str, bytes]) -> None:
    for mode in ("file", "pty"):
        lines = render(captures[f"tqdm_single-{mode}"])
        assert lines[-1] == "done"
        assert lines[-2].startswith("train: 100%|")
        assert "300/300" in lines[-2]


def test_rich_colours_match_pyte(captures: dict[str, bytes]) -> None:
    data = captures["rich_log-pty"]
    pyte_screen = pyte.Screen(PYTE_COLUMNS, 50)
    pyte_screen.set_mode(pyte.modes.LNM)
    pyte.ByteStream(pyte_screen).feed(data)
    screen = Screen(rows=50, max_lines=None)
    screen.feed(data)
    checked = 0
    for number in range(screen.line_count):
        text, spans = screen.styled_line(number)
        for column in range(len(text)):
            cell = pyte_screen.buffer[number][column]
            style = next((s.style for s in spans if s.start <= column < s.end), Style())
            if cell.fg in {"red", "blue", "yellow", "cyan", "default"}:
                assert (style.fg or "default") == cell.fg, (number, column, text)
                assert style.bold == cell.bold
                checked += 1
    assert checked > 100


# ------------------------------------------------------------------------ properties

_interesting = st.sampled_from(
    [b"\r", b"\n", b"\r\n", b"\b", b"\t", b"\x1b[", b"\x1b]", b"\x07", b"\x1b\\", b"m",
     b"\x1b[2K", b"\x1b[A", b"\x1b[3B", b"\x1b[5C", b"\x1b[2D", b"\x1b[1;31m", b"\x1b[0m",
     b"\x1b[J", b"\x1b[2@", b"\x1b[P", b"\x1b[X", b"\x1b[L", b"\x1b[M", b"\x1b[5;3H",
     b"\x1b]8;;u\x07", b"\xe4\xb8\xad", b"\xe2\x96\x88", b"\xff", b"\xc3", b"abc", b" ", b"\x1b7",
     b"\x1b8", b"\x1b[?25l", b"\x1b[38;5;200m", b"\x1bc", b"\x1bM"]
)  # fmt: skip
_streams = st.lists(st.one_of(_interesting, st.binary(max_size=8)), max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    screen = Screen(rows=5, max_lines=8, line_cap=50)
    screen.feed(data)
    for number in range(screen.first_line, screen.line_count):
        screen.styled_line(number)


@settings(max_examples=400, deadline=None)
@given(data=_streams, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_chunking_never_changes_the_result(data: bytes, cuts: list[int]) -> None:
    whole = Screen(rows=4, max_lines=None, line_cap=60)
    whole.feed(data)
    expected = [whole.styled_line(n) for n in range(whole.line_count)]

    pieces = sorted({c % (len(data) + 1) for c in cuts})
    chunked = Screen(rows=4, max_lines=None, line_cap=60)
    view: dict[int, tuple[object, ...]] = {}
    start = 0
    for stop in [*pieces, len(data)]:
        for number in chunked.feed(data[start:stop]):
            # Every reported line is held, even a blank row beyond line_count.
            view[number] = chunked.styled_line(number)
        start = stop
    assert [chunked.styled_line(n) for n in range(chunked.line_count)] == expected
    assert chunked.cursor == whole.cursor
    # A viewer that only refreshed the reported lines shows the same as a full redraw.
    assert [view.get(n, ("", [])) for n in range(chunked.line_count)] == expected


@settings(max_examples=150, deadline=None)
@given(data=_streams, cut=st.integers(min_value=0, max_value=400))
def test_window_and_state_do_not_change_what_is_shown(data: bytes, cut: int) -> None:
    reference = Screen(rows=3, max_lines=None)
    reference.feed(data)
    finals: list[str] = []
    windowed = Screen(rows=3, max_lines=3, on_final=lambda first, texts: finals.extend(texts))
    cut %= len(data) + 1
    windowed.feed(data[:cut])
    resumed = Screen.restore(windowed.state(), rows=3, max_lines=3)
    windowed.feed(data[cut:])
    resumed.feed(data[cut:])
    assert finals + windowed.lines() == reference.lines()
    start = max(resumed.first_line, windowed.first_line)
    assert resumed.lines(start) == windowed.lines(start)
    assert resumed.line_count == windowed.line_count


def test_note_starts_afresh_below_everything() -> None:
    screen = Screen()
    screen.feed(b"one\ntwo\n\x1b[31mthree \x1b[2A\x1b]0;unfinished")
    changed = screen.note("[nbexp: log truncated, restarting]")
    screen.feed(b"new\x1b[10Aup")
    assert screen.lines() == ["one", "two", "three", "[nbexp: log truncated, restarting]", "newup"]
    assert 3 in changed
    assert screen.styled_line(4) == ("newup", [])


def test_settled_count_follows_how_far_the_cursor_went_back() -> None:
    screen = Screen()
    screen.feed(b"a\nb\nc\n")
    assert screen.settled_count == 3
    screen.feed(b"bar 1\n\x1b[Abar 2")
    assert screen.settled_count == 3
    screen.feed(b"\nx\ny\nz")
    assert screen.settled_count == 5


_PYTE_COMPATIBLE = st.sampled_from(
    [b"\r", b"\n", b"\r\n", b"\b", b"\t", b"abc", b"x", b"  ", b"hello world", b"\xe2\x96\x88",
     b"\x1b[A", b"\x1b[2A", b"\x1b[B", b"\x1b[3B", b"\x1b[C", b"\x1b[4C", b"\x1b[D", b"\x1b[3D",
     b"\x1b[G", b"\x1b[5G", b"\x1b[H", b"\x1b[2;3H", b"\x1b[K", b"\x1b[1K", b"\x1b[2K",
     b"\x1b[J", b"\x1b[1J", b"\x1b[@", b"\x1b[2@", b"\x1b[P", b"\x1b[3P", b"\x1b[X", b"\x1b[2X",
     b"\x1b[L", b"\x1b[2L", b"\x1b[31m", b"\x1b[0m", b"\x1b[E", b"\x1b[F", b"\x1b[3d", b"\x1bM",
     b"\x1bD", b"\x1bE"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(_PYTE_COMPATIBLE, max_size=30).map(b"".join),
    rows=st.sampled_from([3, 6]),
)
def test_random_cursor_dances_agree_with_pyte(data: bytes, rows: int) -> None:
    # Left out on purpose: DL (pyte keeps a line it should blank when nothing is below it)
    # and DECRC (pyte pops the saved cursor; xterm restores it any number of times).
    pyte_screen = pyte.Screen(PYTE_COLUMNS, rows)
    pyte_screen.set_mode(pyte.modes.LNM)
    pyte.ByteStream(pyte_screen).feed(data)
    screen = Screen(rows=rows, max_lines=None)
    screen.feed(data)
    top = screen.final_count
    ours = [screen.line(n) for n in range(top, top + rows) if n < screen.line_count]
    assert _trimmed(ours) == _trimmed(pyte_screen.display)
    row, column = screen.cursor
    assert (row - top, column) == (pyte_screen.cursor.y, pyte_screen.cursor.x)


_WIDE_HEAVY = st.sampled_from(
    [b"\xe4\xb8\xad", b"\xf0\x9f\x98\x80", b"a", b"bc", b"\r", b"\n", b"\x1b[2D", b"\x1b[C",
     b"\x1b[K", b"\x1b[1K", b"\x1b[P", b"\x1b[2P", b"\x1b[2@", b"\x1b[X", b"\x1b[2X", b"\x1b[31m",
     b"\x1b[0m", b"\b", b"\t", b"\xe2\x96\x88", b"\xe2\x8c\x9a", b"\x1b[3G"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=st.lists(_WIDE_HEAVY, max_size=40).map(b"".join))
def test_wide_characters_are_never_split(data: bytes) -> None:
    # A wide character covers two columns; whatever overwrites, erases, inserts or deletes
    # half of it must leave no lone half behind (what a terminal shows as a blank).
    screen = Screen(max_lines=None)
    screen.feed(data)
    for number in range(screen.line_count):
        text = screen.line(number)
        width = sum(2 if _is_wide(char) else 1 for char in text)
        raw = screen._raw(number).rstrip(" ")
        assert width == len(raw), (data, text, raw)


def _is_wide(char: str) -> bool:
    from nbexp.terminal import _WIDE

    return _WIDE.match(char) is not None


# ------------------------------------------------ malformed input: bounded work and memory


def _steps(data: bytes) -> int:
    """The interpreter's work for `render(data)`: Python lines run plus C functions called.

    Unlike a time, it is the same on a busy machine as on an idle one.
    """
    return _steps_of(lambda: render(data))


def _steps_of(work: Callable[[], object]) -> int:
    steps = 0

    def on_call(frame: object, event: str, arg: object) -> None:
        nonlocal steps
        if event == "c_call":
            steps += 1

    def on_line(frame: object, event: str, arg: object) -> object:
        nonlocal steps
        steps += 1
        return on_line

    sys.setprofile(on_call)
    sys.settrace(on_line)  # type: ignore[arg-type]
    try:
        work()
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    return steps


def _cycle(pattern: bytes) -> Callable[[int], bytes]:
    return lambda size: (pattern * (size // len(pattern) + 1))[:size]


def _random(alphabet: bytes | None) -> Callable[[int], bytes]:
    def make(size: int) -> bytes:
        rng = random.Random(size)
        return rng.randbytes(size) if alphabet is None else bytes(rng.choices(alphabet, k=size))

    return make


# Byte soups that used to cost a tokenizer step (several Python calls) per byte or character.
_SOUPS = {
    "bare ESC": _cycle(b"\x1b"),
    "ESC [ and ESC ] cut short": _cycle(b"\x1b[\x1b]\x1b\x1b"),
    "NUL": _cycle(b"\x00"),
    "BEL": _cycle(b"\x07"),
    "backspaces": _cycle(b"\x08"),
    "tabs": _cycle(b"\t"),
    "DEL": _cycle(b"\x7f"),
    "CAN and SUB": _cycle(b"\x18\x1a"),
    "C1 controls": _cycle("\x85\x9b".encode()),
    "C0 controls that show nothing": _random(bytes([*range(1, 7), *range(14, 24), 25, 28, 127])),
    "unterminated OSC": lambda size: b"\x1b]0;" + b"t" * size,
    "over-long CSI": lambda size: b"\x1b[" + b"1;" * (size // 2),
    "wide characters, one line": _cycle("中".encode()),
    "wide characters in text": _cycle("训练 epoch 3: 数据集 中文 日本語テキスト ✅ 🚀\n".encode()),
}


@pytest.mark.parametrize("soup", sorted(_SOUPS))
def test_byte_soup_is_handled_in_bulk(soup: str) -> None:
    data = _SOUPS[soup](1 << 18)
    # A step per byte would be 262,144; a run of these is handled with a few C-level calls.
    assert _steps(data) <= len(data) // 64


@pytest.mark.parametrize(
    "soup",
    [_random(None), _random(bytes([*range(0, 32), 127])),
     _random(b"\x1b\x1b[[]];;0123456789?m\x07\\\r\n\b\tABCDHJKPXm@ \xe4\xb8\xad"),
     _cycle(b"\x08\t\x07"), _cycle(b"\x1b[2Kab\rc\x1b[1A\x1b[31md\x1b[0m\n")],
    ids=["random bytes", "C0 controls", "escape bytes", "mixed controls", "escapes"],
)  # fmt: skip
def test_work_grows_linearly_with_the_input(soup: Callable[[int], bytes]) -> None:
    small, large = _steps(soup(1 << 14)), _steps(soup(1 << 16))
    assert large <= 4.5 * small


def test_random_bytes_take_few_steps_per_byte() -> None:
    # Text runs between controls skip the wide-character work when they hold none, and the
    # controls that show nothing are dropped before tokenizing: ~2 steps a byte, was ~7.7.
    data = random.Random(7).randbytes(1 << 16)
    assert _steps(data) <= 3 * len(data)


@pytest.mark.parametrize("kind", ["one line", "lines"])
def test_render_memory_stays_bounded_for_ten_megabytes_of_wide_characters(kind: str) -> None:
    line = "中" * 60 + "\n" if kind == "lines" else "中"
    data = line.encode() * (10_000_000 // len(line.encode()))
    lines, peak = traced_peak(lambda: render(data))
    assert peak < 64e6, f"{peak / 1e6:.0f} MB"
    if kind == "lines":
        assert lines[0] == "中" * 60 and len(lines) == len(data) // len(line.encode())
    else:
        assert lines == ["中" * (65_536 // 2) + LINE_CUT_MARKER.format(cap=65_536)]


@settings(max_examples=200, deadline=None)
@given(data=_streams, piece=st.integers(min_value=1, max_value=40))
def test_render_and_big_feeds_match_a_screen_fed_whole(data: bytes, piece: int) -> None:
    # render() and feed() work through big inputs in pieces, and render() hands lines that
    # left the screen over as it goes: neither may change what is shown.
    whole = Screen(rows=4, max_lines=None, line_cap=60)
    whole.feed(data)
    expected = [whole.styled_line(n) for n in range(whole.line_count)]
    assert whole.lines() == [whole.line(n) for n in range(whole.line_count)]
    with mock.patch.object(terminal, "_PIECE", piece):
        pieces = Screen(rows=4, max_lines=None, line_cap=60)
        pieces.feed(data)
        assert [pieces.styled_line(n) for n in range(pieces.line_count)] == expected
        assert pieces.cursor == whole.cursor
        assert render(data) == _whole_screen(data)


def _whole_screen(data: bytes) -> list[str]:
    screen = Screen(max_lines=None)
    screen.feed(data)
    return screen.lines()


def test_render_hands_over_lines_as_they_leave_the_screen() -> None:
    # Many more lines than render() keeps at once, with a progress display redrawn in place,
    # cursor moves, clears and long lines across the boundaries of its window.
    parts = []
    for step in range(30_000):
        parts.append(f"line {step} " + "x" * (step % 97) + "\n")
        if step % 7 == 0:
            parts.append(f"\r{step % 100:3d}% |{'#' * (step % 20)}\x1b[K\n\x1b[1A")
        if step % 1001 == 0:
            parts.append("\x1b[5A\x1b[2Kredrawn\x1b[5B\r\n\x1b[2J" + "中" * 50 + "\n")
    data = "".join(parts).encode()
    assert len(render(data)) > 3 * terminal._RENDER_WINDOW
    assert render(data) == _whole_screen(data)


_CHARACTERS_NEAR_WIDTH_EDGES = st.sampled_from(
    [chr(c) for c in (*range(0x20, 0x7F), 0x1100, 0x115F, 0x1160, 0x231A, 0x2329, 0x25FC,
     0x25FD, 0x2E80, 0x303E, 0x303F, 0x3041, 0x4E2D, 0xAC00, 0xD7A3, 0xD7A4, 0xFF01, 0xFF61,
     0xFFE6, 0xFFFD, 0x10000, 0x1F004, 0x1F005, 0x1F300, 0x1F64F, 0x1F650, 0x1F680, 0x1F6FF,
     0x1F700, 0x20000, 0x3FFFD, 0x3FFFE)]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(text=st.lists(_CHARACTERS_NEAR_WIDTH_EDGES, max_size=40).map("".join))
def test_wide_characters_are_found_in_bulk_exactly(text: str) -> None:
    # Runs of wide characters get their fillers from two patterns (below and beyond U+FFFF);
    # the result must be what a test of each character gives.
    filled = terminal._fill_wide(text, astral=True)
    each = "".join(char + ("\x00" if _is_wide(char) else "") for char in text)
    assert (text if filled is None else filled) == each


@pytest.mark.parametrize("spaced", [False, True])
def test_every_character_gets_a_filler_exactly_when_it_is_wide(spaced: bool) -> None:
    # Fillers come from a translation table where spaces and newlines are many (a CJK log),
    # from splitting at runs of wide characters where they are not (a long run of them): both
    # must agree with the set of wide ranges on every character up to U+3FFFF.
    chars = [chr(c) for c in range(0x40000) if not 0xD800 <= c < 0xE000]
    separator = " " if spaced else ""
    text = separator.join(chars)
    each = separator.join(char + ("\x00" if _is_wide(char) else "") for char in chars)
    assert terminal._fill_wide(text, astral=True) == each


def test_render_takes_no_python_step_per_line() -> None:
    # render() hands lines over with C-level calls per batch, as chunked feeding appends
    # them: its work must not grow by a Python step per line (it used to call line(n)).
    data = b"".join(b"2026-11-29 INFO step=%06d loss=0.25 \n" % step for step in range(40_000))
    screen = Screen(max_lines=10_000)
    steps_fed = _steps_of(
        lambda: [screen.feed(data[i : i + 65536]) for i in range(0, len(data), 65536)]
    )
    assert len(render(data)) == 40_000
    assert _steps(data) < 2 * steps_fed + 1000


def test_sgr_draws_a_rendered_style_again() -> None:
    screen = Screen()
    screen.feed(
        b"\x1b[1;31mred\x1b[0m \x1b[4;96;48;5;21mblue\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[0m plain\n"
    )
    text, spans = screen.styled_line(0)
    drawn = {text[s.start : s.end]: sgr(s.style) for s in spans}
    assert drawn == {
        "red": "\x1b[1;31m",
        "blue": "\x1b[4;96;48;2;0;0;255m",  # 256-colour 21 is the cube's #0000ff
        "rgb": "\x1b[38;2;1;2;3m",
    }
    assert sgr(Style()) == ""
