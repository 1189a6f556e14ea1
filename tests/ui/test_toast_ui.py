"""Endings in the real dashboard (JupyterLab + Chromium): a toast appears for a run that ends
while the dashboard is open, its link selects the run; browser notifications are asked for on a
click only, and shown while the tab is in the background; pause and resume buttons."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager

pytestmark = pytest.mark.ui

PY = sys.executable
FAILS_SOON = "import time; time.sleep(3); raise ValueError(\"batch 0 has NaN in column 'loss'\")"

# The Notification API, recorded: what the page asks for and what it shows.
STUB_NOTIFICATIONS = """() => {
    window.__nbexpAsked = 0;
    window.__nbexpShown = [];
    class FakeNotification {
        constructor(title, options) { window.__nbexpShown.push([title, options.body]); }
        close() {}
    }
    FakeNotification.permission = "default";
    FakeNotification.requestPermission = async () => {
        window.__nbexpAsked += 1;
        FakeNotification.permission = "granted";
        return "granted";
    };
    window.Notification = FakeNotification;
    try { window.localStorage.removeItem("nbexp-notify"); } catch (e) {}
}"""


def toast(root: Any, experiment_id: int) -> Any:
    return root.locator(f".nbexp-toast[data-id='{experiment_id}']")


def test_a_toast_for_a_run_that_ends_while_the_dashboard_is_open(
    home: Path, show_dashboard: Any, notebook_page: Any
) -> None:
    notebook_page.evaluate(STUB_NOTIFICATIONS)
    manager = ExperimentManager(home=home)
    root = show_dashboard(home)
    assert root.locator(".nbexp-toast").count() == 0  # nothing ended while we watched
    exp = manager.run([PY, "-c", FAILS_SOON], name="nan-hunt")
    item = toast(root, exp.id)
    item.wait_for(timeout=30_000)
    assert item.get_attribute("data-status") == "error"
    text = item.inner_text()
    assert f"#{exp.id} nan-hunt" in text and "failed" in text
    assert "ValueError: batch 0 has NaN in column 'loss'" in text
    # The reason cell holds the full summary too (shown whole on hover).
    reason = root.locator(f"tr.nbexp-row[data-id='{exp.id}'] .nbexp-reason")
    assert reason.get_attribute("title") == "ValueError: batch 0 has NaN in column 'loss'"

    # The link selects the run (and its log opens).
    item.locator(".nbexp-toast-link").click()
    root.locator(f"tr.nbexp-row.nbexp-selected[data-id='{exp.id}']").wait_for(timeout=10_000)
    assert toast(root, exp.id).count() == 0

    # Notifications: never asked for on load; asked on the bell's click; shown only while
    # the tab is in the background.
    assert notebook_page.evaluate("window.__nbexpAsked") == 0
    done = manager.run([PY, "-c", "import time; time.sleep(2)"], name="quick")
    toast(root, done.id).wait_for(timeout=30_000)
    assert notebook_page.evaluate("window.__nbexpShown") == []  # the tab is in front
    bell = root.locator(".nbexp-notify-toggle")
    bell.click()
    notebook_page.wait_for_function("window.__nbexpAsked === 1")
    assert bell.get_attribute("aria-pressed") == "true"
    notebook_page.evaluate(
        "() => Object.defineProperty(document, 'hidden', {configurable: true, get: () => true})"
    )
    try:
        late = manager.run([PY, "-c", "import time; time.sleep(2); raise SystemExit(5)"], name="bg")
        notebook_page.wait_for_function("window.__nbexpShown.length === 1", timeout=30_000)
        title, body = notebook_page.evaluate("window.__nbexpShown[0]")
        assert title == f"nbexp: #{late.id} bg failed" and body == "exit code 5"
    finally:
        notebook_page.evaluate("() => { delete document.hidden; }")


def test_pause_and_resume_buttons(home: Path, show_dashboard: Any) -> None:
    manager = ExperimentManager(home=home)
    exp = manager.run([PY, "-c", "import time; time.sleep(60)"], name="pausable")
    root = show_dashboard(home)
    row = root.locator(f"tr.nbexp-row[data-id='{exp.id}']")
    row.and_(root.locator("[data-status='running']")).wait_for(timeout=20_000)
    assert row.locator("button.nbexp-action").all_inner_texts() == ["pause", "stop"]
    row.locator("button.nbexp-action[data-action='pause']").click()
    row.and_(root.locator("[data-status='paused']")).wait_for(timeout=20_000)
    assert manager.get(exp.id).status.value == "paused"
    assert row.locator("button.nbexp-action").all_inner_texts() == ["resume", "stop"]
    row.locator("button.nbexp-action[data-action='resume']").click()
    row.and_(root.locator("[data-status='running']")).wait_for(timeout=20_000)
    manager.stop(exp.id, grace=2)
