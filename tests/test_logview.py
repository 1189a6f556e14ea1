"""The log view's kernel side: bounded ranges anywhere in a million-line log (the LogView.lines
bug: a range before the renderer's window used to run to the end of the log), search over the
whole log, exports in pieces under 256 KB, the attempt picker and the end marker."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager
from nbexp._io.logs import render_file
from nbexp._service.watches import WatchedLog
from nbexp._ui import logtools
from nbexp._ui.dashboard import MAX_RANGE, Dashboard, json_size

from .conftest import wait_for
from .dashboard_helpers import ask, dashboard

PY = sys.executable
MESSAGE_LIMIT = 256 * 1024


def million_line_log(path: Path, lines: int = 1_000_000) -> None:
    with open(path, "wb") as log:
        for start in range(0, lines, 100_000):
            chunk = (f"step {i} loss 0.{i % 9973:04d}\n" for i in range(start, start + 100_000))
            log.write("".join(chunk).encode())


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "big.log"
    million_line_log(path)
    return path


@pytest.mark.parametrize(
    ("start", "end"),
    [(249_523, 249_961), (0, 1000), (500_000, 500_001), (989_990, 990_010), (999_000, 1_000_000)],
)
def test_a_range_is_exactly_the_lines_asked_for(big_log: Path, start: int, end: int) -> None:
    log = WatchedLog(str(big_log))
    log.update()
    assert log.line_count == 1_000_000
    lines = log.lines(start, end)
    assert len(lines) == end - start
    first = lines[0] if isinstance(lines[0], str) else lines[0][0]
    last = lines[-1] if isinstance(lines[-1], str) else lines[-1][0]
    assert first.startswith(f"step {start} ") and last.startswith(f"step {end - 1} ")


def finished(manager: ExperimentManager, code: str, **options: Any) -> Any:
    exp = manager.run([PY, "-c", code], **options)
    exp.wait(timeout=60)
    return exp


def test_any_jump_in_a_million_line_log_is_one_small_message(manager: ExperimentManager) -> None:
    exp = finished(manager, "print('start')")
    million_line_log(Path(exp.log_path))
    dash, sent = dashboard(manager)
    dash.selected = exp.id
    wait_for(lambda: any(m.get("log", {}).get("reset") for m in sent), timeout=60)
    for req, start in enumerate((0, 249_523, 500_000, 999_500, 10**9)):
        reply = ask(dash, sent, {"type": "log_range", "req": req, "id": exp.id, "attempt": 1,
                                 "start": start, "end": start + 438})  # fmt: skip
        assert reply["type"] == "log_lines"
        assert len(reply["lines"]) == min(438, max(0, 1_000_000 - min(start, 1_000_000)))
        assert json_size(reply) < MESSAGE_LIMIT
    widest = ask(dash, sent, {"type": "log_range", "req": 9, "id": exp.id, "attempt": 1,
                              "start": 1000, "end": 10**9})  # fmt: skip
    assert len(widest["lines"]) == MAX_RANGE and json_size(widest) < MESSAGE_LIMIT
    dash.close()


def test_search_finds_lines_as_the_view_shows_them(manager: ExperimentManager) -> None:
    script = (
        "import sys\n"
        "for i in range(3000): print(f'step {i} Loss', flush=True)\n"
        "sys.stdout.write('\\x1b[31merror\\x1b[0m: bad\\n')\n"
        "sys.stdout.write('50%\\rdone 100%\\n')\n"
    )
    exp = finished(manager, script)
    dash, sent = dashboard(manager)
    base = {"type": "log_search", "id": exp.id, "attempt": 1, "regex": False, "case": False}
    found = ask(dash, sent, {**base, "req": 1, "query": "loss"})
    assert found["type"] == "log_matches" and len(found["matches"]) == 3000
    assert found["total"] == 3002 and not found["truncated"]
    assert ask(dash, sent, {**base, "req": 2, "query": "loss", "case": True})["matches"] == []
    assert ask(dash, sent, {**base, "req": 3, "query": "error: bad"})["matches"] == [3000]
    assert ask(dash, sent, {**base, "req": 4, "query": "50%"})["matches"] == []  # redrawn away
    regex = ask(dash, sent, {**base, "req": 5, "query": r"^step 29\d9 ", "regex": True})
    assert regex["matches"] == [2909, 2919, 2929, 2939, 2949, 2959, 2969, 2979, 2989, 2999]
    bad = ask(dash, sent, {**base, "req": 6, "query": "(", "regex": True})
    assert bad["type"] == "error" and "not a regular expression" in bad["message"]
    assert ask(dash, sent, {**base, "req": 7, "query": ".*", "regex": True})["type"] == "error"
    dash.close()


def test_search_stops_listing_at_max_matches(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logtools, "MAX_MATCHES", 5)
    exp = finished(manager, "for i in range(20): print('x', i)")
    dash, sent = dashboard(manager)
    found = ask(dash, sent, {"type": "log_search", "req": 1, "id": exp.id, "attempt": 1,
                             "query": "x", "regex": False, "case": False})  # fmt: skip
    assert found["matches"] == [0, 1, 2, 3, 4] and found["truncated"] and found["total"] == 20
    dash.close()


def export(dash: Dashboard, sent: list[dict[str, Any]], exp_id: int, kind: str) -> list[Any]:
    pieces, cursor = [], 0
    while True:
        piece = ask(dash, sent, {"type": "log_export", "req": len(pieces), "id": exp_id,
                                 "attempt": 1, "format": kind, "cursor": cursor})  # fmt: skip
        assert piece["type"] == "log_chunk", piece
        assert json_size(piece) < MESSAGE_LIMIT
        pieces.append(piece)
        if piece["cursor"] is None:
            return pieces
        cursor = piece["cursor"]


def test_exports_come_in_pieces_and_rebuild_the_log(manager: ExperimentManager) -> None:
    code = (
        "import sys\n"
        "for i in range(40000):\n"
        "    sys.stdout.write(f'\\x1b[32mstep {i}\\x1b[0m \\u00e9t\\u00e9 {i % 7}\\r'"
        " if i % 2 else f'line {i}\\n')\n"
    )
    exp = finished(manager, code)
    log = Path(exp.log_path)
    dash, sent = dashboard(manager)
    raw = export(dash, sent, exp.id, "raw")
    assert len(raw) > 1
    assert b"".join(base64.b64decode(p["data"]) for p in raw) == log.read_bytes()
    text = export(dash, sent, exp.id, "text")
    assert len(text) > 1
    assert "".join(p["data"] for p in text).splitlines() == render_file(log)
    stale = ask(dash, sent, {"type": "log_export", "req": 1, "id": exp.id, "attempt": 1,
                             "format": "text", "cursor": 12345})  # fmt: skip
    assert stale["type"] == "error" and "start again" in stale["message"]
    assert log.read_bytes() == Path(exp.log_path).read_bytes()  # never written
    dash.close()


def test_the_attempt_picker_and_the_end_marker(manager: ExperimentManager) -> None:
    exp = finished(
        manager, "import os, sys; print('attempt', os.environ['NBEXP_ATTEMPT']); sys.exit(3)"
    )
    manager.restart(exp.id)
    exp.wait(timeout=60)
    dash, sent = dashboard(manager)
    ask(dash, sent, {"type": "hello", "view": "v"})
    dash.selected = exp.id
    reset = wait_for(lambda: [m["log"] for m in sent if m.get("log", {}).get("reset")])[-1]
    assert reset["attempt"] == 2 and reset["lines"] == ["attempt 2"]
    assert reset["attempts"] == [
        {"attempt": 1, "status": "error", "end": "exit code 3"},
        {"attempt": 2, "status": "error", "end": "exit code 3"},
    ]
    assert reset["end"] == "exit code 3"
    count = len(sent)
    dash.attempt = 1
    earlier = wait_for(lambda: [m["log"] for m in sent[count:] if m.get("log", {}).get("reset")])
    assert earlier[-1]["attempt"] == 1 and earlier[-1]["lines"] == ["attempt 1"]
    dash.close()


def test_the_end_marker_arrives_when_the_run_ends(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", "import time; print('working', flush=True); time.sleep(60)"])
    wait_for(lambda: exp.logs() == ["working"], timeout=30)
    dash, sent = dashboard(manager)
    ask(dash, sent, {"type": "hello", "view": "v"})
    dash.selected = exp.id
    reset = wait_for(lambda: [m["log"] for m in sent if m.get("log", {}).get("reset")])[-1]
    assert "end" not in reset
    manager.stop(exp.id, grace=1)
    dash.refresh()
    ends = [m["log"]["end"] for m in sent if "end" in m.get("log", {})]
    assert ends == ["stopped by user"]
    dash.close()


def test_coloured_blanks_are_kept_and_styles_travel_as_theme_words() -> None:
    from nbexp._ui.protocol import line_json
    from nbexp.terminal import Screen

    screen = Screen(40)
    screen.feed(
        b"\x1b[41mab   \x1b[0m\n"  # a red background over trailing blanks: they show
        b"\x1b[31mcd   \x1b[0m\n"  # red text then blanks: nothing to show past "cd"
        b"\x1b[7minverse\x1b[0m \x1b[1;38;2;1;2;3;44mbold\x1b[0m\n"
    )
    assert line_json(screen.styled_line(0)) == ["ab   ", [[0, 5, "b:red"]]]
    assert line_json(screen.styled_line(1)) == ["cd", [[0, 2, "f:red"]]]
    assert line_json(screen.styled_line(2)) == [
        "inverse bold",
        [[0, 7, "inverse"], [8, 12, "f:#010203 b:blue bold"]],
    ]
    assert screen.line(0) == "ab"  # plain text (logs, search) still drops trailing blanks
