"""Tests for nbexp._io.logs and nbexp._ui.follow: following real files appended by real
subprocesses, truncation, deletion, bounded memory with on-demand re-reads, and
`follow_to_terminal` on a pty."""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbexp._io import logs as _follow
from nbexp._io.logs import (
    DELETED_NOTE,
    REPLACED_NOTE,
    TRUNCATED_NOTE,
    LogFollower,
    render_file,
)
from nbexp._ui.follow import follow_to_terminal
from nbexp.terminal import Screen, render

WRITER = """
import sys, time
from tqdm import tqdm
with open(sys.argv[1], "w") as log:
    print("starting", file=log, flush=True)
    bar = tqdm(range(120), mininterval=0, file=log, desc="train")
    for i in bar:
        bar.set_postfix(loss=1 / (i + 1))
        if i % 30 == 0:
            bar.write(f"epoch {i // 30} done", file=log)
        log.flush()
        time.sleep(0.002)
    bar.close()
    print("finished", file=log, flush=True)
"""


# Multi-line live areas: rich redraws its bars by moving the cursor up and erasing.
RICH_WRITER = """
import sys, time
from rich.console import Console
from rich.progress import Progress
with open(sys.argv[1], "w") as log:
    console = Console(file=log, force_terminal=True, width=90)
    with Progress(console=console, auto_refresh=False) as progress:
        tasks = [progress.add_task(name, total=40) for name in ("train", "eval")]
        for i in range(40):
            for task in tasks:
                progress.update(task, advance=1)
            if i % 10 == 0:
                progress.console.print(f"train: checkpoint {i}")
            progress.refresh()
            log.flush()
            time.sleep(0.005)
"""

# Two tqdm bars at fixed positions (cursor moves between them).
POSITION_WRITER = """
import sys, time
from tqdm import tqdm
with open(sys.argv[1], "w") as log:
    outer = tqdm(total=30, position=0, mininterval=0, file=log, desc="train")
    inner = tqdm(total=30, position=1, mininterval=0, file=log, desc="batch")
    for i in range(30):
        inner.update(1)
        outer.update(1)
        log.flush()
        time.sleep(0.004)
    inner.close()
    outer.close()
"""

WRITERS = {"tqdm": WRITER, "rich": RICH_WRITER, "position": POSITION_WRITER}


@pytest.fixture(params=["tqdm"])
def writer(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A real process appending progress output to a log file; killed by pid if still running."""
    log_path = tmp_path / "train.log"
    log_path.touch()
    program = WRITERS[request.param]
    proc = subprocess.Popen([sys.executable, "-c", program, str(log_path)])
    try:
        yield log_path, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, 9)
        proc.wait()


def test_follows_a_file_written_by_a_process(
    writer: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    log_path, proc = writer
    follower = LogFollower(log_path, chunk_size=997)
    viewer: dict[int, str] = {}
    seen_version = 0
    polls = 0
    while True:
        done = proc.poll() is not None
        follower.poll()
        polls += 1
        seen_version, changes = follower.changes_since(seen_version)
        viewer.update(changes)
        if done:
            break
        time.sleep(0.01)
    expected = render(log_path.read_bytes())
    assert follower.tail(10_000) == expected
    assert [viewer[n] for n in range(follower.line_count)] == expected
    assert expected[0] == "starting" and expected[-1] == "finished"
    assert polls > 3
    assert follower.offset == log_path.stat().st_size


def test_styled_changes(tmp_path: Path) -> None:
    log_path = tmp_path / "colour.log"
    log_path.write_bytes(b"\x1b[31mred\x1b[0m\n")
    follower = LogFollower(log_path)
    follower.poll()
    version, changes = follower.changes_since(0, styled=True)
    text, spans = changes[0]
    assert text == "red" and spans[0].style.fg == "red"
    assert follower.changes_since(version) == (version, {})


def test_never_rereads_except_after_truncation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_path = tmp_path / "x.log"
    reads: list[tuple[int, int]] = []  # (offset, bytes returned)
    real_pread = os.pread

    def recording_pread(fd: int, size: int, offset: int) -> bytes:
        data = real_pread(fd, size, offset)
        reads.append((offset, len(data)))
        return data

    monkeypatch.setattr(_follow.os, "pread", recording_pread)
    log_path.write_bytes(b"one\ntwo\n")
    follower = LogFollower(log_path)
    follower.poll()
    reads.clear()
    with open(log_path, "ab") as log:
        log.write(b"three\n")
    follower.poll()
    follower.poll()
    # Only the new bytes, plus the few bytes before the offset that show the file is the same.
    new_data = [(offset, size) for offset, size in reads if offset >= 8]
    assert sum(size for _, size in new_data) == len(b"three\n")
    assert all(size <= 64 for offset, size in reads if offset < 8)
    assert follower.tail(5) == ["one", "two", "three"]

    reads.clear()
    log_path.write_bytes(b"fresh\n")  # truncated and rewritten
    update = follower.poll()
    assert follower.tail(5) == ["one", "two", "three", TRUNCATED_NOTE, "fresh"]
    assert 3 in update.changed and 4 in update.changed
    assert (0, len(b"fresh\n")) in reads


def test_rewritten_file_is_noticed_even_when_it_grew_past_the_offset(tmp_path: Path) -> None:
    log_path = tmp_path / "x.log"
    log_path.write_bytes(b"first run\n")
    follower = LogFollower(log_path)
    follower.poll()
    log_path.write_bytes(b"second run, longer than the first\n")  # same inode, bigger
    follower.poll()
    assert follower.tail(5) == ["first run", TRUNCATED_NOTE, "second run, longer than the first"]


def test_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    log_path = tmp_path / "later.log"
    follower = LogFollower(log_path)
    assert follower.poll().caught_up
    assert follower.line_count == 0
    log_path.write_bytes(b"hello\n")
    follower.poll()
    assert follower.tail(5) == ["hello"]


def test_deleted_file_keeps_what_was_shown(tmp_path: Path) -> None:
    log_path = tmp_path / "x.log"
    log_path.write_bytes(b"kept\n\rprogress 50%")
    follower = LogFollower(log_path)
    follower.poll()
    log_path.unlink()
    update = follower.poll()
    assert update.caught_up
    assert follower.tail(5) == ["kept", "progress 50%", DELETED_NOTE]
    follower.poll()
    assert follower.tail(5) == ["kept", "progress 50%", DELETED_NOTE]  # said once

    log_path.write_bytes(b"again\n")  # a new file under the same name
    follower.poll()
    assert follower.tail(2) == [REPLACED_NOTE, "again"]


def test_memory_is_bounded_and_old_lines_are_fetched_on_demand(tmp_path: Path) -> None:
    log_path = tmp_path / "long.log"
    with open(log_path, "w") as log:
        for i in range(20_000):
            log.write(f"line {i}\n")
            if i % 1000 == 0:
                log.write("\r 0%\r 50%\r100%\n")
    follower = LogFollower(
        log_path, rows=10, max_lines=200, chunk_size=4096, checkpoint_bytes=8192, max_checkpoints=8
    )
    while not follower.poll().caught_up:
        pass
    expected = render(log_path.read_bytes())
    assert follower.line_count == len(expected)
    assert follower.screen.first_line > 15_000
    checkpoints = follower._checkpoints
    assert len(checkpoints) <= follower.max_checkpoints
    gaps = [b.offset - a.offset for a, b in itertools.pairwise(checkpoints)]
    assert max(gaps) <= 4 * min(gaps)  # evenly spread over the log, not only recent bytes
    for start, stop in [(0, 5), (1234, 1300), (9990, 10_010), (len(expected) - 250, len(expected))]:
        assert follower.lines(start, stop) == expected[start:stop]


@pytest.mark.parametrize("tail", [None, 0, 1, 5, 2500, 10**6])
def test_render_file(tmp_path: Path, tail: int | None) -> None:
    log_path = tmp_path / "x.log"
    data = b"".join(b"line %d\n\r 10%%\r 99%%" % i for i in range(3000)) + b"\n"
    log_path.write_bytes(data)
    expected = render(data)
    wanted = expected if tail is None else expected[len(expected) - tail :] if tail else []
    assert render_file(log_path, tail=tail) == wanted
    assert render_file(tmp_path / "missing.log") == []


def test_poll_reads_within_its_budget(tmp_path: Path) -> None:
    log_path = tmp_path / "big.log"
    log_path.write_bytes(b"x" * 99 + b"\n" * 1 + b"y" * 5000)
    follower = LogFollower(log_path, chunk_size=1000, poll_budget=2000)
    first = follower.poll()
    assert not first.caught_up and follower.offset == 2000
    while not follower.poll().caught_up:
        pass
    assert follower.offset == log_path.stat().st_size


# ------------------------------------------------------------------ follow_to_terminal


@pytest.mark.parametrize("writer", ["tqdm", "rich", "position"], indirect=True)
def test_follow_to_a_pipe_prints_each_settled_line_once(
    writer: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    log_path, proc = writer
    out = io.StringIO()
    follow_to_terminal(
        log_path, out, is_finished=lambda: proc.poll() is not None, poll_interval=0.01
    )
    printed = out.getvalue().splitlines()
    assert printed == render(log_path.read_bytes())
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_a_live_display_is_not_printed_before_its_first_redraw(tmp_path: Path) -> None:
    log_path = tmp_path / "x.log"
    log_path.write_text("start\ntrain ━━━━━━━━━━   0% -:--:--\neval  ━━━━━━━━━━   0% -:--:--\n")
    redraw = (
        "\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2Kcheckpoint saved\n"
        "train ━━━━━━━━━━ 100% 0:00:00\neval  ━━━━━━━━━━ 100% 0:00:00\n"
    )
    out = io.StringIO()
    polls: list[str] = []

    def next_poll(seconds: float) -> None:
        polls.append(out.getvalue())
        with open(log_path, "a") as log:
            log.write(redraw)

    follow_to_terminal(log_path, out, is_finished=lambda: bool(polls), sleep=next_poll)
    assert polls == ["start\n"]  # the 0% bars were held back
    assert out.getvalue().splitlines() == [
        "start",
        "checkpoint saved",
        "train ━━━━━━━━━━ 100% 0:00:00",
        "eval  ━━━━━━━━━━ 100% 0:00:00",
    ]


def test_follow_with_tail(tmp_path: Path) -> None:
    log_path = tmp_path / "x.log"
    log_path.write_text("".join(f"{i}\n" for i in range(50)))
    out = io.StringIO()
    follow_to_terminal(log_path, out, is_finished=lambda: True, tail=3)
    assert out.getvalue() == "47\n48\n49\n"


@pytest.mark.parametrize("writer", ["tqdm", "rich", "position"], indirect=True)
def test_follow_to_a_terminal_redraws_in_place(
    writer: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    log_path, proc = writer
    master, slave = os.openpty()
    received: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with open(slave, "w", encoding="utf-8", closefd=True) as out:
        assert out.isatty()
        follow_to_terminal(
            log_path, out, is_finished=lambda: proc.poll() is not None, poll_interval=0.01
        )
    reader.join(timeout=10)
    os.close(master)
    shown = b"".join(received)
    # What the user's terminal displays equals the rendered log, bar updated in place.
    user_screen = Screen(rows=24, max_lines=None)
    user_screen.feed(shown)
    assert user_screen.lines() == render(log_path.read_bytes())
    assert b"\x1b[K" in shown
    # The bar was redrawn many times, yet the user's terminal gained no extra lines.
    assert shown.count(b"train") >= 2


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_hyperlinks_are_re_emitted_on_a_terminal(tmp_path: Path) -> None:
    log_path = tmp_path / "x.log"
    log_path.write_bytes(
        b"see \x1b]8;;https://example.com/run/7\x1b\\the \x1b[1mrun\x1b[0m\x1b]8;;\x1b\\ page\n"
        b"\x1b]8;id=1;https://example.com/a\x07a\x1b]8;;\x07 and \x1b[31mred\x1b[0m\n"
    )
    out = _FakeTerminal()
    follow_to_terminal(log_path, out, is_finished=lambda: True)
    shown = out.getvalue()
    assert "\x1b]8;;https://example.com/run/7\x1b\\" in shown and "\x1b]8;;\x1b\\" in shown
    # The user's terminal shows the same text, links and colours as the log.
    ours, theirs = Screen(max_lines=None), Screen(max_lines=None)
    ours.feed(log_path.read_bytes())
    theirs.feed(shown.encode())
    assert [theirs.styled_line(n) for n in range(2)] == [ours.styled_line(n) for n in range(2)]
    text, spans = theirs.styled_line(0)
    assert text == "see the run page"
    assert {span.style.link for span in spans} == {"https://example.com/run/7"}
    assert [text[s.start : s.end] for s in spans] == ["the ", "run"]


def test_a_pipe_gets_the_text_of_a_link_only(tmp_path: Path) -> None:
    log_path = tmp_path / "x.log"
    log_path.write_bytes(b"see \x1b]8;;https://example.com\x1b\\docs\x1b]8;;\x1b\\.\n")
    out = io.StringIO()
    follow_to_terminal(log_path, out, is_finished=lambda: True)
    assert out.getvalue() == "see docs.\n"


def test_a_plain_log_is_written_out_in_bounded_memory(tmp_path: Path) -> None:
    """`nbexp logs` without colours streams: the Python heap's peak while writing a log does
    not grow with the log (the lines used to be gathered first: ~1.6x the log)."""
    from nbexp._cli.tables import write_plain_log

    line = b"2026-11-29 21:35:00 INFO train step=%09d loss=0.25 lr=3e-4 \x1b[32mok\x1b[0m\r\n"
    peaks = []
    for lines in (50_000, 200_000):
        log_path = tmp_path / f"{lines}.log"
        with open(log_path, "wb") as log:
            for start in range(0, lines, 10_000):
                log.write(b"".join(line % i for i in range(start, start + 10_000)))
        sink = _LineCounter()
        tracemalloc.start()
        try:
            assert write_plain_log(log_path, sink, tail=None, rows=40)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert sink.lines == lines
        assert sink.start.startswith("2026-11-29 21:35:00 INFO train step=000000000 loss=0.25")
    # 4x the log: the same peak give or take a chunk's worth (the old way: 4x the peak).
    assert peaks[1] < 1.3 * peaks[0], f"peaks {peaks} for logs of 50,000 and 200,000 lines"


class _LineCounter(io.StringIO):
    """A text sink that keeps the start of what it was given and counts its lines."""

    def __init__(self) -> None:
        super().__init__()
        self.lines, self.start = 0, ""

    def write(self, text: str) -> int:
        self.start = self.start or text[:200]
        self.lines += text.count("\n")
        return len(text)
