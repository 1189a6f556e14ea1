"""Actions from the page under load: a confirmation that survives live row updates, and a
request the kernel does not answer in time (a handler held up) that gives up with a notice."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _lab import assert_gone, run_cell

from nbexp import ExperimentManager, Status

pytestmark = pytest.mark.ui

HERE = Path(__file__).parent
PY = sys.executable

# The browser gives up on a request after this many seconds (REQUEST_TIMEOUT_MS in widget.js).
REQUEST_TIMEOUT_S = 10


def row(root: Any, experiment_id: int) -> Any:
    return root.locator(f"tr.nbexp-row[data-id='{experiment_id}']")


def wait_status(root: Any, experiment_id: int, status: str, timeout_ms: int = 20_000) -> None:
    row(root, experiment_id).and_(root.locator(f"[data-status='{status}']")).wait_for(
        timeout=timeout_ms
    )


def test_confirmation_survives_progress_updates(home: Path, show_dashboard: Any) -> None:
    manager = ExperimentManager(home=home)
    # 30 s of a live bar: the row's progress changes at every tick while the question is open.
    exp = manager.run([PY, str(HERE / "slow_tqdm.py"), "600", "0.05"], name="live bar")
    root = show_dashboard(home)
    wait_status(root, exp.id, "running")
    progress = row(root, exp.id).locator(".nbexp-progress-text")
    progress.wait_for(timeout=20_000)

    row(root, exp.id).locator("button[data-action='stop']").click()
    confirm = row(root, exp.id).locator("button.nbexp-confirm")
    confirm.wait_for()
    # Cancel puts the buttons back; ask again.
    row(root, exp.id).locator("button.nbexp-cancel").click()
    row(root, exp.id).locator("button[data-action='stop']").click()
    confirm.wait_for()
    seen = {progress.inner_text()}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        time.sleep(0.25)
        seen.add(progress.inner_text())
    assert len(seen) >= 2, f"the progress never changed while the question was open: {seen}"
    assert confirm.is_visible(), "the confirmation vanished when the row was updated"
    assert row(root, exp.id).locator(".nbexp-confirm-text").inner_text() == f"stop #{exp.id}?"
    assert manager.get(exp.id).status is Status.RUNNING

    pid = manager.get(exp.id).pid
    confirm.click()
    wait_status(root, exp.id, "interrupted", timeout_ms=30_000)
    assert manager.get(exp.id).status is Status.INTERRUPTED
    assert_gone(pid)


def test_request_without_answer_gives_up(
    home: Path, show_dashboard: Any, notebook_page: Any
) -> None:
    manager = ExperimentManager(home=home)
    exp = manager.create([PY, "-c", "import time; time.sleep(60)"], name="late start")
    root = show_dashboard(home)  # the fixture names it dash0 in the kernel
    wait_status(root, exp.id, "pending")
    # A kernel too busy to answer in time: the dashboard's handler waits before it replies. (A
    # cell running time.sleep is not enough: ipykernel may still handle comm messages.)
    delay = REQUEST_TIMEOUT_S + 3
    run_cell(
        notebook_page,
        "import time\n"
        "_reply = dash0._reply\n"
        f"dash0._reply = lambda content: (time.sleep({delay}), _reply(content))[1]",
    )
    start = row(root, exp.id).locator("button[data-action='start']")
    start.click()
    clicked = time.monotonic()
    assert start.is_disabled()

    notice = root.locator(".nbexp-notice-error", has_text="no answer from the kernel within 10 s")
    notice.wait_for(timeout=(REQUEST_TIMEOUT_S + 3) * 1000)
    assert time.monotonic() - clicked >= REQUEST_TIMEOUT_S - 1
    assert "is it busy or dead?" in notice.inner_text()
    assert start.is_enabled(), "the buttons stay disabled after the request gave up"
    assert manager.get(exp.id).status is Status.PENDING

    # The handler then runs the start after all; its late answer is dropped (no "start:
    # experiment N" notice) and the next tick shows the new state.
    wait_status(root, exp.id, "running", timeout_ms=20_000)
    time.sleep(1.5)
    assert root.locator(".nbexp-notice-info").count() == 0
    assert manager.get(exp.id).status is Status.RUNNING
