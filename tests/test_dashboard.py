"""The dashboard widget without a browser: what each tick sends (and how big it is), the answers
to log range requests, and the checks on actions coming from the page."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager, Status
from nbexp._service.gpus import GpuOwnership
from nbexp._ui.card import ExperimentCard
from nbexp._ui.dashboard import MAX_RANGE, Dashboard, json_size, static_asset
from nbexp.gpu import GpuMonitor, NvmlBackend, NvmlSession

from . import fake_pynvml
from .conftest import wait_for
from .dashboard_helpers import ask, dashboard
from .fake_pynvml import GIB, FakeGpu

PY = sys.executable
BAR = " {pct:3d}%|{fill:<10}| {n}/1000 [00:{n:02d}<00:10, 99.0it/s]"


def bar(n: int) -> bytes:
    return ("\r" + BAR.format(pct=n // 10, fill="#" * (n // 100), n=n)).encode()


def sleeper(manager: ExperimentManager, name: str = "sleeps") -> Any:
    exp = manager.run([PY, "-c", "import time; time.sleep(60)"], name=name)
    wait_for(lambda: manager.get(exp.id).pid)
    return exp


# -- construction -------------------------------------------------------------------------------


def test_front_end_files_are_found() -> None:
    for name in ("widget.js", "widget.css"):
        path = static_asset(name)
        assert path.is_file()
        assert path.stat().st_size > 1000
    # An ES module with a default export (the bundle, made by esbuild, writes it
    # `export { src_default as default }`).
    assert "as default" in static_asset("widget.js").read_text()


def test_bad_arguments_say_what_to_use(manager: ExperimentManager, home: Path) -> None:
    with pytest.raises(TypeError, match="did you mean 'interval'"):
        Dashboard(manager=manager, live=False, intervall=2)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="either manager= or home="):
        Dashboard(manager=manager, home=str(home), live=False)
    with pytest.raises(ValueError, match="interval must be > 0"):
        Dashboard(manager=manager, interval=0, live=False)


def test_home_makes_its_own_service(home: Path) -> None:
    dash = Dashboard(home=str(home), live=False)
    assert dash.service.home == home
    assert dash.home == str(home)
    dash.close()


# -- pushes -------------------------------------------------------------------------------------


def test_hello_gets_every_row_then_ticks_send_only_changes(manager: ExperimentManager) -> None:
    first = manager.create([PY, "-c", "pass"], name="first")
    second = manager.create([PY, "-c", "pass"], name="second")
    dash, sent = dashboard(manager)
    snapshot = ask(dash, sent, {"type": "hello", "view": "v", "limit": 10})
    assert snapshot["type"] == "snapshot"
    # The view's window, newest first, and every row in it.
    assert snapshot["windows"]["v"]["items"] == [second.id, first.id]
    assert [r["id"] for r in snapshot["rows"]] == [second.id, first.id]
    assert "gpu_info" in snapshot

    count = len(sent)
    dash.refresh()
    assert len(sent) == count, "nothing changed, so nothing is sent"

    manager.remove(first.id)
    third = manager.create([PY, "-c", "pass"], name="third")
    dash.refresh()
    tick = sent[-1]
    assert tick["type"] == "tick"
    assert [r["id"] for r in tick["rows"]] == [third.id]
    assert tick["removed"] == [first.id]
    assert tick["windows"]["v"]["items"] == [third.id, second.id]
    dash.close()


def test_status_changes_reach_the_row(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", "print('hi')"], name="quick")
    dash, sent = dashboard(manager)
    ask(dash, sent, {"type": "hello"})
    exp.wait(timeout=30)
    dash.refresh()
    # The row as the browser last heard of it: from the snapshot, then from any tick.
    rows = [r for m in sent for r in m.get("rows", []) if r["id"] == exp.id]
    assert rows[-1]["status"] == "completed"
    assert rows[-1]["actions"] == ["restart", "remove"]
    dash.close()


def test_selected_log_opens_with_its_tail_and_then_sends_changed_lines(
    manager: ExperimentManager,
) -> None:
    exp = sleeper(manager)
    log = Path(manager.get(exp.id).log_path)
    with open(log, "ab") as f:
        f.write(b"".join(f"line {i}\n".encode() for i in range(500)) + bar(100))
    dash, sent = dashboard(manager)
    ask(dash, sent, {"type": "hello"})
    dash.selected = exp.id
    reset = wait_for(lambda: [m for m in sent if m.get("log", {}).get("reset")])[-1]["log"]
    assert reset["total"] == 501
    assert reset["start"] == 301  # the last 200 lines
    assert "10%|#" in reset["lines"][-1]

    with open(log, "ab") as f:
        f.write(bar(110))
    dash.refresh()
    log_delta = sent[-1]["log"]
    assert log_delta["total"] == 501  # redrawn in place: no new line
    assert list(log_delta["lines"]) == ["500"]
    assert "11%|#" in log_delta["lines"]["500"]

    with open(log, "ab") as f:
        f.write(b"\nepoch done\n")
    dash.refresh()
    assert sent[-1]["log"]["total"] == 502
    assert sent[-1]["log"]["lines"]["501"] == "epoch done"
    manager.stop(exp.id, grace=1)
    dash.close()


def test_a_progress_tick_stays_small_with_many_experiments_and_a_long_log(
    manager: ExperimentManager,
) -> None:
    """One progress line changing costs the same with 1,000 rows and 100,000 log lines."""
    exp = sleeper(manager, "long run")
    for i in range(1000):
        manager.store.insert(name=f"exp {i}", command=["true"], cwd="/", env={}, gpus=None)
    log = Path(manager.get(exp.id).log_path)
    with open(log, "ab") as f:
        f.write(b"".join(f"step {i} loss 0.{i:05d}\n".encode() for i in range(100_000)))
        f.write(bar(100))
    dash, sent = dashboard(manager)
    ask(dash, sent, {"type": "hello"})
    dash.selected = exp.id
    wait_for(lambda: dash._log_key == (exp.id, 1))
    dash.refresh()
    with open(log, "ab") as f:
        f.write(bar(101))
    dash.refresh()
    tick = sent[-1]
    assert [r["id"] for r in tick.get("rows", [])] == [exp.id]  # its progress moved
    assert list(tick["log"]["lines"]) == ["100000"]
    assert json_size(tick) < 2048, json.dumps(tick)
    manager.stop(exp.id, grace=1)
    dash.close()


def test_someone_elses_gpu_process_is_sent_only_when_it_changes(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    gpus = fake_pynvml.install(monkeypatch, [FakeGpu(processes=[(999_999, 9 * GIB)])])
    dash, sent = dashboard(manager)
    probe = GpuMonitor(backend=NvmlBackend(NvmlSession()))
    dash._monitor.gpus = GpuOwnership(manager.home, monitor=probe, owner=lambda pid: "alice")
    snapshot = ask(dash, sent, {"type": "hello"})
    stranger = {"pid": 999_999, "user": "alice", "mem": 9216}
    assert snapshot["gpu_foreign"] == {"0": [stranger]}
    assert "foreign" not in snapshot["gpu_info"]["gpus"][0]  # a change must not resend the info

    count = len(sent)
    dash.refresh()
    assert len(sent) == count, "the same stranger is not sent again"

    gpus.gpus[0].processes = [(999_999, 10 * GIB)]
    dash.refresh()
    assert sent[-1]["gpu_foreign"] == {"0": [{**stranger, "mem": 10240}]}
    gpus.gpus[0].processes = []
    dash.refresh()
    assert sent[-1]["gpu_foreign"] == {}  # gone: the browser drops it
    dash.close()


def test_log_ranges_are_served_and_capped(manager: ExperimentManager) -> None:
    exp = manager.run(
        [PY, "-c", "print('\\n'.join(f'line {i}' for i in range(5000)))"], name="lines"
    )
    exp.wait(timeout=30)
    dash, sent = dashboard(manager)
    dash.selected = exp.id
    wait_for(lambda: any("log" in message for message in sent))  # the opened log was pushed
    reply = ask(
        dash,
        sent,
        {"type": "log_range", "id": exp.id, "attempt": 1, "start": 10, "end": 13, "req": 4},
    )
    assert reply == {
        "type": "log_lines",
        "req": 4,
        "id": exp.id,
        "attempt": 1,
        "start": 10,
        "total": 5000,
        "lines": ["line 10", "line 11", "line 12"],
    }
    big = ask(
        dash,
        sent,
        {"type": "log_range", "id": exp.id, "attempt": 1, "start": 0, "end": 10**9, "req": 5},
    )
    assert len(big["lines"]) == MAX_RANGE
    stale = ask(
        dash,
        sent,
        {"type": "log_range", "id": exp.id, "attempt": 7, "start": 0, "end": 3, "req": 6},
    )
    assert stale["type"] == "error" and "no longer selected" in stale["message"]
    bad = ask(
        dash,
        sent,
        {"type": "log_range", "id": exp.id, "attempt": 1, "start": "0", "end": 3, "req": 7},
    )
    assert bad == {
        "type": "error",
        "req": 7,
        "message": "UsageError: a log range needs integer start and end",
    }
    dash.close()


# -- actions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("stop", "must be an object"),
        ({"type": "action", "id": True, "action": "stop"}, "integer experiment id"),
        ({"type": "action", "id": "1", "action": "stop"}, "integer experiment id"),
        ({"type": "action", "id": 1, "action": "rm -rf"}, "unknown action 'rm -rf'"),
        ({"type": "action", "id": 999, "action": "stop"}, "no experiment with id 999"),
        ({"type": "action", "id": 1, "action": "stop"}, "cannot stop experiment 1: it is pending"),
        ({"type": "launch"}, "unknown message type 'launch'"),
    ],
)
def test_bad_actions_get_an_error_reply_not_a_traceback(
    manager: ExperimentManager, content: Any, words: str
) -> None:
    manager.create([PY, "-c", "pass"], name="pending")
    dash, sent = dashboard(manager)
    if isinstance(content, dict):
        content = {**content, "req": 9}
    reply = ask(dash, sent, content)
    assert reply["type"] == "error"
    assert words in reply["message"]
    assert manager.get(1).status is Status.PENDING  # nothing happened
    dash.close()


def test_refusal_names_what_is_allowed(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", "pass"], name="done")
    exp.wait(timeout=30)
    dash, sent = dashboard(manager)
    reply = ask(dash, sent, {"type": "action", "id": exp.id, "action": "force start", "req": 1})
    assert reply["message"] == (
        f"cannot force start experiment {exp.id}: it is completed (allowed now: restart, remove)"
    )
    dash.close()


def test_start_restart_and_remove_from_the_page(manager: ExperimentManager) -> None:
    exp = manager.create([PY, "-c", "pass"], name="job")
    dash, sent = dashboard(manager)
    started = ask(dash, sent, {"type": "action", "id": exp.id, "action": "start", "req": 1})
    assert started["type"] == "action_done" and started["row"]["status"] in ("running", "completed")
    exp.wait(timeout=30)
    again = ask(dash, sent, {"type": "action", "id": exp.id, "action": "restart", "req": 2})
    assert again["row"]["attempt"] == 2
    exp.wait(timeout=30)
    gone = ask(dash, sent, {"type": "action", "id": exp.id, "action": "remove", "req": 3})
    assert gone["type"] == "action_done" and gone["row"] is None
    assert manager.records() == []
    dash.close()


def test_stop_does_not_hold_the_comm_thread_for_the_grace_period(home: Path) -> None:
    manager = ExperimentManager(home=home, stop_grace=3)
    stubborn = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    exp = manager.run([PY, "-c", stubborn], name="ignores SIGTERM")
    wait_for(lambda: "ready" in exp.logs())
    pid = exp.pid
    dash, sent = dashboard(manager)
    began = time.monotonic()
    reply = ask(dash, sent, {"type": "action", "id": exp.id, "action": "stop", "req": 1})
    assert time.monotonic() - began < 1.5
    assert reply["type"] == "action_done"
    exp.wait(timeout=20)
    assert manager.get(exp.id).status is Status.INTERRUPTED
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
    dash.close()


# -- the card -----------------------------------------------------------------------------------


def test_card_follows_an_experiment_until_it_ends(manager: ExperimentManager) -> None:
    script = (
        "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.3)\n"
    )
    exp = manager.run([PY, "-c", script], name="card")
    card = ExperimentCard(manager.service, exp.id, stop_grace=1.0, live=False)
    assert card.kind == "card"
    assert card.row["id"] == exp.id and card.row["name"] == "card"
    monitor = card._monitor
    exp.wait(timeout=30)
    monitor.tick()
    assert card.row["status"] == "completed"
    assert card.tail[-3:] == ["tick 0", "tick 1", "tick 2"]
    assert card._on_snapshot not in monitor._subscribers  # ended: stops listening
    card.close()


def test_no_pushes_while_no_view_is_drawn(manager: ExperimentManager) -> None:
    first = manager.create([PY, "-c", "pass"], name="first")
    dash, sent = dashboard(manager)
    dash.refresh()
    assert sent == []  # displayed nowhere yet
    ask(dash, sent, {"type": "hello"})
    manager.create([PY, "-c", "pass"], name="second")
    dash.refresh()
    assert sent[-1]["type"] == "tick"
    dash._on_message(dash, {"type": "bye"}, [])
    count = len(sent)
    manager.remove(first.id)
    dash.refresh()
    assert len(sent) == count  # the last view went away
    snapshot = ask(dash, sent, {"type": "hello"})  # a new view gets the whole state
    assert [r["name"] for r in snapshot["rows"]] == ["second"]
    dash.close()


def test_a_pending_card_notices_a_start_from_elsewhere(manager: ExperimentManager) -> None:
    exp = manager.create([PY, "-c", "import time; time.sleep(30)"], name="later")
    card = ExperimentCard(manager.service, exp.id, stop_grace=1.0, live=False)
    assert card.row["status"] == "pending"
    manager.start(exp.id)
    card._monitor.tick()
    assert card.row["status"] == "running"
    manager.stop(exp.id, grace=1)
    card.close()


def test_a_new_view_never_starts_from_an_old_snapshot(manager: ExperimentManager) -> None:
    dash, sent = dashboard(manager)
    old = dash.refresh()
    exp = manager.create([PY, "-c", "pass"], name="made later")
    # The monitor's last snapshot is an hour old (its thread stopped when views went away).
    dash._monitor.latest = dataclasses.replace(old, at=old.at - 3600)
    snapshot = ask(dash, sent, {"type": "hello"})
    assert [r["id"] for r in snapshot["rows"]] == [exp.id]
    dash.close()
