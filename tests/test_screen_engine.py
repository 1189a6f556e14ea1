"""`Screen._process`'s loop in C (nbexp._native.screen_run, with drop_aborted) against the same
loop in Python (`Screen._engine = None`): after every feed the same changed lines, and in the
end the same state, lines, spans, counts and final lines. On byte soups, mixes of escapes,
wide characters and real output, with small screens, windows and caps, so that scrolling,
trimming and cutting happen all the time. The module is imported directly, as in
test_native.py (so these run with NBEXP_NO_NATIVE too); a missing module fails them."""

from __future__ import annotations

import importlib
import random
import tracemalloc

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nbexp import terminal
from nbexp.terminal import _FILL, Screen, Span, _clean_text_in_python, _drop_aborted, _ranges

from .test_terminal import SCENARIOS, captures  # noqa: F401 (a fixture)

try:
    NATIVE = importlib.import_module("nbexp._native")
except ImportError as error:  # pragma: no cover - a broken build
    pytest.fail(f"nbexp._native is not built ({error}): `uv sync`", pytrace=False)
ENGINE = NATIVE.screen_run

ESCAPE_ALPHABET = b"\x1b\x1b\x1b[[]];;0123456789?m\x07\\\r\n\b\tABCDHJKPXm@ \xe4\xb8\xad"
# Soups of smaller alphabets, each aimed at a part of the loop.
ALPHABETS = [
    ESCAPE_ALPHABET,
    ESCAPE_ALPHABET + b"EFGdsu`aefHJ8;",
    b"ab \r\b",  # redraws and backspaces
    b"ab\n \xe4\xb8\xad\xf0\x9f\x9a\x80",  # wide characters and newlines
    b"ab\r",
    b"a\x1b7\x1b8\r\n",  # save and restore
    b"ab\r\n\t\b\x07\x18\x1a\x1bDE78M(B",
    "中a\r\n\b\t".encode(),
    b"x\x1b[1m\x1b[0m\x1b[31m\x1b[44m\r\n\b ",  # styles
    b"x\x1b[1m\x1b[0m\x1b[4m\r\n\t\b \x1b[K\x1b[2J\x1b[A\x1b[3D",
    "ab\x1b[7m\x1b[0m中🚀\r\n\b\x1b[1@\x1b[2P\x1b[X ".encode(),
]
TOKENS = [
    b"\x1b[31m", b"\x1b[0m", b"\x1b[1;4m", b"\x1b[44m", b"\x1b[7m", b"\x1b7", b"\x1b8", b"\x1bD",
    b"\x1bE", b"\x1bM", b"\x1b(B", b"\x1b[A", b"\x1b[2K", b"\x1b[K", b"\x1b[1K", b"\x1b[H",
    b"\x1b[5G", b"\x1b[J", b"\x1b[2J", b"\r", b"\n", b"\n\n\n", b"\t", b"\b\b", "中文".encode(),
    "🚀".encode(), b"hello", b"ab", b" ", b"\x07", b"\x1b", b"\x1b[", b"\x1b]8;;http://x\x07",
    b"\x1b]8;;\x07", b"\x1b[3@", b"\x1b[2P", b"\x1b[3X", b"\x1b[2L", b"\x1b[M", b"\x1bc", b"\xe4",
    b"\xb8\xad", b"\x1b ", b"\x1b  F", b"x" * 40, b"\x1b[2B", b"\x1b[3C", b"\x1b[D", b"\x1b[2E",
    b"\x1b[F", b"\x1b[4G", b"\x1b[2;5H", b"\x1b[;3H", b"\x1b[3d", b"\x1b[s", b"\x1b[u",
    b"\x1b[?25l", b"\x1b[>1m", b"\x1b[1$p", b"\x1b]0;title\x07", b"\x1b]2;t\x1b\\",
    b"\x1b]0;x\x1bA", b"\x1b[12\r", b"\x1b[1;2\x18", b"\x1b[99999999999A", b"\x1b[0e",
    b"\x1b[5a", b"\x1b[2`", b"\x1b[1:2H", b"\x1b[x;2H", b"\x1b[" + b"1" * 300 + b"m",
    b"\x1b]" + b"a" * 5000 + b"\x07", b"\x1b[1 q", b"\x1b[1;2;3;4H", b"\x1b]8;;u\x1b\x1b\\",
    b"\x1b[\x1b]\x1b[", b"\x1b[99999999999999999999C", b"\x1b[1234567890123C", b"\xc2\x9b",
]  # fmt: skip


def soup(rng: random.Random) -> bytes:
    size = rng.choice([10, 50, 200, 1000, 3000])
    kind = rng.random()
    if kind < 0.1:
        return rng.randbytes(size)
    if kind < 0.55:
        return bytes(rng.choices(rng.choice(ALPHABETS), k=size))
    return b"".join(rng.choices(TOKENS, k=size // 4))


def assert_alike(data: bytes, cuts: list[int], rows: int, max_lines: int | None, cap: int) -> None:
    """Feed `data` cut at `cuts` to a Screen with the C loop and one without; compare."""
    finals: tuple[list[object], list[object]] = ([], [])
    in_c, in_python = (
        Screen(rows, max_lines=max_lines, line_cap=cap, on_final=lambda n, t, f=f: f.append((n, t)))
        for f in finals
    )
    in_c._engine, in_python._engine = ENGINE, None
    for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
        assert in_c.feed(data[start:stop]) == in_python.feed(data[start:stop])
    assert in_c.state() == in_python.state()
    assert (in_c._first, in_c._lines, in_c._spans) == (
        in_python._first, in_python._lines, in_python._spans
    )  # fmt: skip
    assert all(type(s) is Span for spans in in_c._spans if spans for s in spans)
    assert in_c.cursor == in_python.cursor and in_c.lines() == in_python.lines()
    counts = ("line_count", "final_count", "settled_count")
    assert [getattr(in_c, c) for c in counts] == [getattr(in_python, c) for c in counts]
    held = range(in_c.first_line, in_c.first_line + len(in_c._lines))
    assert [in_c.styled_line(n) for n in held] == [in_python.styled_line(n) for n in held]
    assert finals[0] == finals[1]


def random_case(rng: random.Random, data: bytes) -> None:
    rows = rng.randint(1, 5)
    max_lines = rng.choice([None, rows, rows + 1, rows + 3, 10, 40])
    cap = rng.choice([1, 2, 3, 5, 8, 20, 65_536])
    cuts, at = [], 0
    while True:
        at += rng.choice([1, 2, 3, 7, 64, 1000, len(data)])
        if at >= len(data):
            break
        cuts.append(at)
    assert_alike(data, cuts, rows, max_lines, cap)


def test_seeded_soups_render_alike() -> None:
    for seed in range(3000):
        rng = random.Random(seed)
        random_case(rng, soup(rng))


@pytest.mark.parametrize("seed", range(4))
def test_the_benchmark_soups_render_alike(seed: int) -> None:
    rng = random.Random(seed)
    size = 1 << 16
    escapes = bytes(rng.choices(ESCAPE_ALPHABET, k=size))
    for data in (escapes, rng.randbytes(size)):
        random_case(rng, data)
        assert_alike(data, [size // 3], 40, 10_000, 65_536)


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(st.sampled_from(TOKENS), st.binary(max_size=4)), min_size=1, max_size=40
    ),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    rows=st.integers(1, 5),
    max_lines=st.sampled_from([None, 5, 8]),
    cap=st.sampled_from([1, 4, 65_536]),
)
@example(pieces=[b"\x1b]8;;u\x1b\x1b\\x"], cuts=[], rows=1, max_lines=None, cap=4)
@example(pieces=[b"\x1b][\x1b\x1b"], cuts=[], rows=1, max_lines=None, cap=4)
def test_mixes_render_alike(
    pieces: list[bytes], cuts: list[int], rows: int, max_lines: int | None, cap: int
) -> None:
    data = b"".join(pieces)
    assert_alike(data, sorted({c for c in cuts if 0 < c < len(data)}), rows, max_lines, cap)


@pytest.mark.parametrize("scenario", [f"{n}-{m}" for n in SCENARIOS for m in ("file", "pty")])
def test_real_output_renders_alike(captures: dict[str, bytes], scenario: str) -> None:  # noqa: F811
    data = captures[scenario]
    rng = random.Random(scenario)
    for rows, max_lines, cap in ((40, 10_000, 65_536), (3, 5, 20), (1, 1, 8)):
        cuts = sorted(rng.sample(range(1, len(data)), min(20, len(data) - 1)))
        assert_alike(data, cuts, rows, max_lines, cap)


@pytest.mark.parametrize("seed", range(40))
def test_screens_restored_smaller_render_alike(seed: int) -> None:
    """A state saved on a tall screen, restored on a short one: saved cursors lie below it."""
    rng = random.Random(seed)
    data = b"".join(rng.choices(TOKENS + [b"\x1b7", b"\x1b8", b"\x1b[s", b"\x1b[u"] * 8, k=300))
    tall = Screen(12)
    tall.feed(b"\n" * 20 + b"\x1b[10;3H\x1b7\x1b[9;2H\x1b[s")
    rows = rng.randint(1, 4)
    screens = [Screen.restore(tall.state(), rows) for _ in range(2)]
    screens[0]._engine, screens[1]._engine = ENGINE, None
    for start in range(0, len(data), 50):
        chunk = data[start : start + 50]
        assert screens[0].feed(chunk) == screens[1].feed(chunk)
    assert screens[0].state() == screens[1].state()
    assert screens[0].lines() == screens[1].lines()


def test_a_state_taken_is_not_changed_by_later_feeds() -> None:
    """The C loop extends a line's last span in place only when nothing else holds it."""
    screen = Screen(3)
    screen._engine = ENGINE
    screen.feed(b"\x1b[31mab\x07")
    state = screen.state()
    shown = repr(state)
    screen.feed(b"\x07cd\x1b[0m\x07ef")
    assert repr(state) == shown
    assert screen.styled_line(0) == ("abcdef", [Span(0, 4, state.style)])


def test_wide_characters_are_known_to_the_c_loop_exactly() -> None:
    """Writing next to a character followed by a filler blanks it exactly when it is wide:
    every edge of every range of `_WIDE`, in C as in the regex."""
    edges = {c for first, last in _ranges(terminal._WIDE_BMP + terminal._WIDE_ASTRAL)
             for c in (first - 1, first, last, last + 1)}  # fmt: skip
    for code in sorted(edges):
        shown = []
        for engine in (ENGINE, None):
            screen = Screen()
            screen._engine, screen._wide = engine, True
            screen._lines = [chr(code) + _FILL + "ab"]
            screen._col = 1
            screen.feed(b"\x07z")
            shown.append(screen._lines[0])
        assert shown[0] == shown[1], hex(code)
        assert shown[0][0] == (" " if terminal._WIDE.match(chr(code)) else chr(code))


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(["\x1b", "[", "]", "a", "中", "\x07", "\\", "🚀", "é"])))
def test_aborted_introducers_are_dropped_alike(text: str) -> None:
    assert NATIVE.drop_aborted(text) == _drop_aborted(text)


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        st.sampled_from(
            [
                "\x00",
                "\x80",
                "\x9f",
                "\xa0",
                "a",
                "中",
                "\u1100",
                "\u10ff",
                "🚀",
                "\U0001fb00",
                "\U00020000",
                "\U0003fffe",
                "é",
                "\x1b",
                "\ufffd",
            ]
        )
    )
)
def test_text_is_cleaned_alike(text: str) -> None:
    assert NATIVE.clean_text(text) == _clean_text_in_python(text)


def test_feeding_soups_leaks_nothing() -> None:
    """Python's heap stays flat over many feeds (every object the C loop makes is owned)."""
    rng = random.Random(7)
    chunks = [bytes(rng.choices(ESCAPE_ALPHABET, k=1 << 16)) for _ in range(4)]
    chunks += [rng.randbytes(1 << 16) for _ in range(4)]
    screen = Screen(5, max_lines=50, line_cap=100)
    screen._engine = ENGINE
    for chunk in chunks:
        screen.feed(chunk)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(6):
            for chunk in chunks:
                screen.feed(chunk)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000
