"""nbexp._native (compiled from src/nbexp/_native.c) against its pure-Python twins: the same
results on every input, random and real. The module must be built here (`uv sync` builds it;
CI installs a compiler): a missing module fails these tests rather than skipping them."""

from __future__ import annotations

import importlib
import json
from types import ModuleType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nbexp._core.bar_frames import FrameTemplate
from nbexp._core.json_template import JsonTemplate
from nbexp._core.metric_lines import LineTemplate
from nbexp.terminal import _plain_lines_in_python, _render_on_screen, render

from .conftest import outputs_with_and_without_native, traced_peak
from .log_mixes import mixed_log


def _built() -> ModuleType:
    try:
        return importlib.import_module("nbexp._native")
    except ImportError as error:
        pytest.fail(f"nbexp._native is not built ({error}): `uv sync --reinstall-package nbexp`")


NATIVE = _built()


def twins(template: LineTemplate, block: bytes) -> tuple[str, str]:
    """`read_block` in C and in Python, as text (so that nan and -0.0 compare as well)."""
    wanted = [index % 3 != 1 for index in range(template.pattern.groups)]
    assert template._native is not None
    first, steps, final = template._native
    spec = tuple((*step, want) for step, want in zip(steps, wanted, strict=True))
    in_c = NATIVE.read_block(block, first, spec, final, template.equals, template.colons)
    return repr(in_c), repr(template.read_block_in_python(block, wanted))


NUMBERS = [
    "0.2314", "1200", "3.0e-04", "-0", "-0.0", ".5", "5.", "+7", "1e22", "1e23", "1e-22",
    "123456789012345", "1234567890123456", "0.1000000000000000055511151231257827", "1e999",
    "-1e999", "nan", "NaN", "inf", "-Infinity", "1_000", "1__0", "1.2.3", "-", ".", "e5", "1e",
    "0x10", "١٢", "00000000000000000000012", "9007199254740993", "4.35", "2.5e-308", "1e-400",
    "7236830840615796.5",  # 17 digits: rounding twice (to a double, then / 10) is off by one
]  # fmt: skip
NAMES = ["loss", "val/acc", "lr", "step", "tokens/s", "grad_norm", "epoch", "x"]


@st.composite
def shaped_lines(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A metrics line and a block of lines of (mostly) its shape, with numbers of every kind,
    and lines that break the shape in the ways the regex and the C code could disagree on."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    seps = draw(st.lists(st.sampled_from(["=", ": ", ":", " = "]), min_size=len(names),
                         max_size=len(names)))  # fmt: skip
    gaps = draw(st.lists(st.sampled_from([" ", ", ", " | ", "  "]), min_size=len(names),
                         max_size=len(names)))  # fmt: skip
    end = draw(st.sampled_from(["", " ok", " |", ","]))
    head = draw(st.sampled_from(["", "INFO ", "2026-11-29 21:35:00 train ", "[rank0] "]))

    def line(numbers: list[str], prefix: str = head) -> bytes:
        pairs = [f"{n}{s}{v}" for n, s, v in zip(names, seps, numbers, strict=True)]
        body = "".join(p + (g if i < len(pairs) - 1 else "") for i, (p, g) in
                       enumerate(zip(pairs, gaps, strict=True)))  # fmt: skip
        return (prefix + body + end).encode()

    number = st.one_of(st.sampled_from(NUMBERS), st.from_regex(
        r"[-+]?\d{0,18}(\.\d{0,18})?([eE][-+]?\d{1,3})?", fullmatch=True))  # fmt: skip
    source = line(["0.5"] * len(names))
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        numbers = [draw(number) for _ in names]
        kind = draw(st.sampled_from(["same"] * 4 + ["prefix", "glued", "extra", "cut"]))
        if kind == "prefix":  # a name's tail before the first name, or its text twice
            rows.append(line(numbers, draw(st.sampled_from(["a", "x_", "loss=1 ", "10:"]))))
        elif kind == "glued":
            rows.append(line(numbers).replace(b" ", b"", 1))
        elif kind == "extra":
            rows.append(line(numbers) + draw(st.sampled_from([b" a=1", b"=", b":", b" 7"])))
        elif kind == "cut":
            rows.append(line(numbers)[: draw(st.integers(0, 30))])
        else:
            rows.append(line(numbers))
    return source, b"\n".join(rows)


@settings(max_examples=600, deadline=None)
@given(shaped_lines())
@example((b"step=1 loss=0.5", b"step=000000001 loss=1e999\nstep=2 loss=nan"))
@example((b"loss=0.5 ok", b"loss=0.1 ok\n\nloss=0.2 ok"))
@example((b"a loss=0.5", b"loss=0.5\nxloss=0.5 loss=0.25"))
def test_read_block_gives_what_the_regex_gives(case: tuple[bytes, bytes]) -> None:
    source, block = case
    template = LineTemplate(source)
    if template._native is None:
        return  # a shape only the regex reads (checked below to be rare)
    in_c, in_python = twins(template, block)
    assert in_c == in_python


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(NUMBERS), st.text("0123456789.eE+-_", max_size=30)))
def test_numbers_read_as_float_reads_them(text: str) -> None:
    template = LineTemplate(b"loss=0.5")
    in_c, in_python = twins(template, b"loss=" + text.encode() + b"\nloss=1")
    assert in_c == in_python


def test_the_usual_shapes_are_read_in_c() -> None:
    """Which shapes C reads: most real ones; those with a gap of digits or a number glued to
    the next name stay with the regex."""
    usual = [
        b"2026-11-29 21:35:00 INFO train step=000000001 loss=0.5 lr=3.0e-04 tokens/s=12 ok",
        b"epoch 3 step 1200 loss=0.41 val_acc=0.83",
        b"Step [100] loss: 0.5, acc: 0.9",
        b"iter 40: loss=0.3 acc=0.9",
    ]
    for line in usual:
        assert LineTemplate(line)._native is not None, line
    assert LineTemplate(b"loss=0.5 after 3 steps acc=0.9")._native is None  # digits in a gap
    assert LineTemplate(b"Step [100/600] loss=0.5")._native is None  # a step with a total


def test_real_mixes_read_alike() -> None:
    """Every line of the mixed logs that names metrics, as a template for the block of the
    lines like it and for the log's first lines: C and the regex agree on which blocks fit and
    on every number."""
    compared = fitted = 0
    for seed in range(40):
        lines = [line.rstrip(b"\r") for line in mixed_log(seed).split(b"\n")]
        for line in lines:
            template = LineTemplate(line)
            if template._native is None or not template.names:
                continue
            alike = [other for other in lines if other.count(b"=") == line.count(b"=")]
            for block in (b"\n".join(alike), b"\n".join(lines[:50]), line):
                in_c, in_python = twins(template, block)
                assert in_c == in_python
                compared += 1
                fitted += in_c != "None"
    assert compared > 200 and fitted > 50, (compared, fitted)


JSON_NUMBERS = [
    "0", "-0", "-0.0", "12", "0.25", "1e5", "1E+5", "2.5e-3", "NaN", "Infinity", "-Infinity",
    "1" + "0" * 400, "-" + "9" * 400, "1e400", "0.1000000000000000055511151231257827",
    "+1", "01", ".5", "1.", "-", "nan", "inf", "-NaN", "1e", "true", "null", '"1"', "1_0",
]  # fmt: skip


@st.composite
def json_blocks(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A JSON line of numbers and a block of lines like it: other numbers (JSON's or not),
    other spacing, text around or inside, other keys."""
    keys = draw(st.lists(st.sampled_from(["step", "loss", "acc", "a b", 'q"', "é", "Epoch"]),
                         min_size=1, max_size=4, unique=True))  # fmt: skip
    colon, comma = draw(st.sampled_from([(": ", ", "), (":", ","), (" : ", " , ")]))

    def line(numbers: list[str], colon: str = colon) -> bytes:
        pairs = zip(keys, numbers, strict=True)
        fields = comma.join(f"{json.dumps(k)}{colon}{v}" for k, v in pairs)
        return ("{" + fields + "}").encode()

    number = st.one_of(st.sampled_from(JSON_NUMBERS), st.from_regex(
        r"-?(0|[1-9]\d{0,20})(\.\d{1,20})?([eE][-+]?\d{1,3})?", fullmatch=True))  # fmt: skip
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        numbers = [draw(number) for _ in keys]
        kind = draw(st.sampled_from(["same"] * 5 + ["spacing", "before", "after"]))
        if kind == "spacing":
            rows.append(line(numbers, colon + " "))
        elif kind == "before":
            rows.append(b" " + line(numbers))
        elif kind == "after":
            rows.append(line(numbers) + b" ")
        else:
            rows.append(line(numbers))
    return line(["1"] * len(keys)), b"\n".join(rows)


@settings(max_examples=600, deadline=None)
@given(json_blocks())
@example((b'{"step": 1}', b'{"step": -0}\n{"step": 1' + b"0" * 400 + b"}"))
@example((b'{"loss": 1}', b'{"loss": +1}\n{"loss": 2}'))
@example((b'{"loss": 1}', b'{"loss": 01}'))
@example((b'{"loss": 1}', b'{"loss": 1.}'))
def test_json_blocks_read_alike_in_c_and_python(case: tuple[bytes, bytes]) -> None:
    source, block = case
    template = JsonTemplate.learn(source)
    if template is None:
        return  # only step keys: nothing to read
    in_c = NATIVE.read_block(block, template.first, template.steps, template.final, -1, -1, True)
    in_python = template.read_block_in_python(block)
    if in_c is not None:
        in_c = (in_c[0], [column or [] for column in in_c[1]])
    assert repr(in_c) == repr(in_python)


FRAME_VALUES = [*NUMBERS, "", " 1.5", "1.5 ", "0.5]", "1,5", "abc", "0.25=1", "-0", "0.0"]
# Ways a frame can differ from its template's shape, each where the regex and C could part.
FRAME_FAULTS = [
    "same", "same", "same", "same", "percent", "bar_pipe", "bar_newline", "tab", "no_comma",
    "rate_comma", "total", "tail", "extra", "order", "before", "repeat", "newline_in_rate",
    "cr_in_value", "spaces_after", "value", "value",
]  # fmt: skip


@st.composite
def churning_blocks(draw: st.DrawFn) -> tuple[FrameTemplate, bytes, int, int]:
    """A frame template (as learnt from a real-looking tqdm frame) and a block of frames of
    (mostly) its shape, with the faults that could make C and the regex part."""
    description = draw(st.sampled_from([None, b"train", b"epoch 3", b"a b"]))
    total = draw(st.sampled_from([b"100", b"1000000000", b"7"]))
    names = draw(st.lists(st.sampled_from([b" loss", b" acc", b" lr", b" x y"]), min_size=1,
                          max_size=3, unique=True))  # fmt: skip
    template = FrameTemplate.learn(description, total, b"".join(b"," + n + b"=0.5" for n in names))
    assert template is not None
    usual = st.one_of(st.sampled_from(["0.5", "1.00000", "0.2500", "-0.0", "0.0"]),
                      st.floats(allow_nan=False, allow_infinity=False).map(repr))  # fmt: skip
    odd = st.one_of(st.sampled_from(FRAME_VALUES), st.from_regex(
        r"[-+]?\d{0,18}(\.\d{0,18})?([eE][-+]?\d{1,3})?", fullmatch=True))  # fmt: skip
    frames = [draw(st.sampled_from([b"", b"", b"junk", b"\n"]))]
    faults = draw(st.integers(0, 10))  # in tenths: how often a frame has one
    for n in range(draw(st.integers(0, 8))):
        fault = (
            draw(st.sampled_from(FRAME_FAULTS)) if draw(st.integers(1, 10)) <= faults else "same"
        )
        values = [draw(odd if fault == "value" else usual).encode() for _ in names]
        if fault == "repeat" and len(frames) > 1:
            frames.append(frames[-1])
            continue
        pairs = list(zip(names, values, strict=True))
        if fault == "order":
            pairs.reverse()
        postfix = b"".join(b"," + name + b"=" + v for name, v in pairs)
        frame = b"\r%s%s%d%%|%s|%s%d/%s [00:01<00:02, %s%s]%s" % (
            b"" if description is None else description + b": ",
            b"\t " if fault == "tab" else b"  ",
            1000 + n if fault == "percent" else n,
            b"##|#" if fault == "bar_pipe" else b"#\n#" if fault == "bar_newline" else b"##  ",
            b" ",
            n,
            b"99" if fault == "total" else total,
            b"4.5it/s,x" if fault == "rate_comma" else b"4.5\nit/s" if fault == "newline_in_rate"
            else b"4.5it/s",
            postfix + (b", z=1" if fault == "extra" else b""),
            b"x" if fault == "tail" else b"   " if fault == "spaces_after" else b"",
        )  # fmt: skip
        if fault == "no_comma":
            frame = frame.replace(b"<00:02, ", b"<00:02 ")
        if fault == "before":
            frame = frame.replace(b"\r", b"\rx", 1)
        if fault == "cr_in_value":
            frame = frame.replace(b"=", b"=\r", 1)
        frames.append(frame)
    data = b"".join(frames)
    pos = draw(st.integers(0, min(len(data), 4)))
    end = draw(st.one_of(st.just(len(data)), st.integers(max(pos, len(data) - 4), len(data) + 2)))
    return template, data, pos, end


def _frames(*values: str) -> bytes:
    frame = "\rtrain:  %d%%|#  | %d/100 [00:01<00:02, 4.5it/s, loss=%s]"
    return "".join(frame % (n, n, v) for n, v in enumerate(values)).encode()


_LOSS = FrameTemplate.learn(b"train", b"100", b", loss=0.5")


@settings(max_examples=800, deadline=None)
@given(churning_blocks())
@example((_LOSS, _frames("0.5", "1e999"), 0, 10_000))  # no reading: the frames decide
@example((_LOSS, _frames("0.5", "inf", "-Infinity"), 0, 10_000))
@example((_LOSS, _frames("nan", "NaN", "-0", "0.0", "0", "1_0", "10"), 0, 10_000))
def test_churning_frames_read_alike_in_c_and_python(
    case: tuple[FrameTemplate, bytes, int, int],
) -> None:
    template, data, pos, end = case
    in_c = NATIVE.read_frames(data, pos, end, *template._native)
    in_python = template.read_in_python(data, pos, end)
    expected = None if in_python is None else (in_python.counts, in_python.values, in_python.new)
    assert repr(in_c) == repr(expected)
    block = data[pos:end]
    if b"\b" not in block and (template.has_description or b": " not in block):
        assert repr(template.read(data, pos, end)) == repr(in_python)  # with the first, last


def test_a_module_built_from_older_source_counts_as_not_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An editable install not synced since _native.c gained a function: the callers run in
    Python (or, with NBEXP_REQUIRE_NATIVE, the import fails saying how to rebuild)."""
    from nbexp import _compiled

    assert all(hasattr(NATIVE, name) for name in _compiled.FUNCTIONS)
    older = ModuleType("nbexp._native")
    older.read_block = NATIVE.read_block  # type: ignore[attr-defined]
    monkeypatch.setattr(importlib, "import_module", lambda name: older)
    monkeypatch.delenv("NBEXP_NO_NATIVE", raising=False)
    monkeypatch.delenv("NBEXP_REQUIRE_NATIVE", raising=False)
    assert _compiled._load() is None
    monkeypatch.setenv("NBEXP_REQUIRE_NATIVE", "1")
    with pytest.raises(ImportError, match=r"out of date .*read_frames.*uv sync --reinstall"):
        _compiled._load()


def test_without_the_module_the_python_twin_is_used() -> None:
    """NBEXP_NO_NATIVE leaves the compiled module out; the results are the same."""
    program = (
        "from nbexp._compiled import native; from nbexp._core.metric_lines import LineTemplate;"
        "t = LineTemplate(b'loss=0.5 ok');"
        "print(native is None, t.read_block(b'loss=0.25 ok\\nloss=nan ok', [True]))"
    )
    without, with_module = outputs_with_and_without_native(program)
    assert without == with_module == "(2, [[0.25, nan]])\n"


# ------------------------------------------------------------------------------ plain_lines

PLAIN = frozenset(b"\n" + bytes(range(0x20, 0x7F)))
# Pieces of plain text, weighted to the edges (spaces at a line's end, blank lines, lines
# near a small cap), and the bytes that make input not plain: \r, tab, ESC, DEL, NUL, US,
# a non-ASCII character and a lone byte >= 0x80.
PLAIN_PIECES = [b"a", b"~", b"Zz9", b" ", b"   ", b"\n", b"\n\n", b"x" * 5, b"y" * 9]
OTHER_BYTES = [b"\r", b"\r\n", b"\t", b"\x1b", b"\x1b[31m", b"\x7f", b"\x00", b"\x1f",
               "é".encode(), b"\x80", b"\xff"]  # fmt: skip
plain_text = st.lists(st.sampled_from(PLAIN_PIECES), max_size=30).map(b"".join)
almost_plain = st.lists(
    st.one_of(st.sampled_from(PLAIN_PIECES), st.sampled_from(OTHER_BYTES)), max_size=30
).map(b"".join)


@settings(max_examples=1000, deadline=None)
@given(data=st.one_of(plain_text, almost_plain), cap=st.integers(0, 12))
@example(data=b"", cap=0)
@example(data=b"\n  ", cap=0)  # a blank last row longer than the cap is not shown
@example(data=b"ab  \nc", cap=4)  # the cap counts the trailing spaces too
@example(data=b"abc\r", cap=12)
@example(data=b"a", cap=0)  # cut, and then blank: not shown by the Screen
def test_plain_lines_are_what_the_screen_shows(data: bytes, cap: int) -> None:
    """The C function, its Python twin and the terminal agree; None for any input that is not
    plain text, and for plain text only when a line is longer than the cap."""
    in_c = NATIVE.plain_lines(data, cap)
    assert in_c == _plain_lines_in_python(data, cap)
    on_screen = _render_on_screen(data, cap)
    if not set(data) <= PLAIN:
        assert in_c is None
    elif in_c is None:  # for a line over the cap, which the Screen cuts
        assert NATIVE.plain_lines(data, 1 << 30) is not None
        assert max(map(len, data.split(b"\n"))) > cap
    else:
        assert in_c == on_screen
    assert render(data) == _render_on_screen(data)


def _plain_log(size: int) -> bytes:
    line = b"2026-11-29 21:35:00 INFO train step=%09d loss=0.25 lr=3.0e-04 ok  \n"
    return b"".join(line % step for step in range(size // len(line) + 1))[:size]


CAP = 65_536
EDGES = {
    "empty": b"",
    "one newline": b"\n",
    "newlines": b"\n" * 5,
    "a line": b"a",
    "a line and its newline": b"a\n",
    "spaces only": b"   ",
    "spaces after the last newline": b"a\n   ",
    "a blank line at the end": b"a\n\n",
    "a line of spaces at the end": b"a\n  \n",
    "lines of spaces": b"  \n  \n",
    "spaces around": b" a \n b ",
    "a line at the cap": b"x" * CAP,
    "a line at the cap and its newline": b"x" * (CAP - 1) + b" \n",
    "spaces past the cap after the last newline": b"a\n" + b" " * (CAP + 1),
    "3 MiB of lines across pieces": _plain_log(3 << 20),
    "3 Mi newlines": b"\n" * (3 << 20),
}
NOT_PLAIN = {
    "a line over the cap": b"x" * (CAP + 1),
    "spaces past the cap": b"x" * CAP + b"  \nb",
    "lines, then a progress bar": _plain_log(1 << 20) + "\r 10%|█   |\r 20%|██  |".encode(),
    "lines, then a colour": _plain_log(1 << 20) + b"\x1b[31mred\x1b[0m\n",
    "lines, then a tab": _plain_log(1 << 20) + b"\ta\n",
    "CR LF": b"a\r\nb\r\n",
    "lines, then a non-ASCII character": _plain_log(1 << 20) + "café\n".encode(),
    "lines, then NUL and DEL": _plain_log(1 << 20) + b"a\x00b\x7fc\n",
}


@pytest.mark.parametrize("name", [*EDGES, *NOT_PLAIN])
def test_render_in_c_is_render_on_a_screen(name: str) -> None:
    """render() takes the C way for plain text, the Screen's for the rest, and shows the same
    lines as the Screen: at the end of the input, at the cap, across 1 MiB pieces."""
    data = EDGES.get(name, NOT_PLAIN.get(name))
    assert data is not None
    in_c = NATIVE.plain_lines(data, CAP)
    assert (in_c is not None) == (name in EDGES)
    assert render(data) == _render_on_screen(data)


@pytest.mark.parametrize("at", [0, 1, 4095, 4096, 4097, 8191, 8192, 12_287, 12_299])
def test_a_byte_that_is_not_plain_is_found_anywhere(at: int) -> None:
    """The bytes are checked a block of 4096 at a time: at either side of a block's edge too,
    and in the last block, which is shorter."""
    data = bytearray(_plain_log(12_300))
    assert NATIVE.plain_lines(bytes(data), CAP) is not None
    for byte in (0x0D, 0x09, 0x1B, 0x7F, 0x00, 0x1F, 0x80, 0xFF):
        data[at] = byte
        assert NATIVE.plain_lines(bytes(data), CAP) is None, (at, byte)


def test_render_of_plain_text_holds_little_more_than_its_result() -> None:
    """10 MB of log lines: the peak is the lines themselves (~16 MB), well under 64 MB."""
    data = _plain_log(10_000_000)
    lines, peak = traced_peak(lambda: render(data))
    assert len(lines) == data.count(b"\n") + 1 and lines[0].endswith("ok")
    assert peak < 64e6, f"{peak / 1e6:.0f} MB"


def test_render_without_the_module_shows_the_same() -> None:
    """NBEXP_NO_NATIVE leaves plain text to the Screen; the lines are the same."""
    program = (
        "from nbexp import terminal;"
        "print(terminal.native is None, terminal.render(b'a  \\n\\n b\\n  \\n \\n'),"
        "terminal.render(b'x' * 70000)[0][-40:])"
    )
    without, with_module = outputs_with_and_without_native(program)
    assert without == with_module
    assert without.startswith("['a', '', ' b', '', ''] ")
