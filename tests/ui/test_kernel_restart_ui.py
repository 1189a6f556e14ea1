"""A kernel restart in JupyterLab: the experiment the old kernel started keeps running, and a
dashboard made in the new kernel shows it live."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _lab import run_cell

from nbexp import ExperimentManager, Status
from nbexp._io import proc as _proc

pytestmark = pytest.mark.ui

HERE = Path(__file__).parent

KERNEL_READY_JS = """() => {
    const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    return k && k.status === 'idle' && k.connectionStatus === 'connected';
}"""


def test_dashboard_after_a_kernel_restart(
    home: Path, notebook_page: Any, show_dashboard: Any
) -> None:
    run_cell(
        notebook_page,
        f"exp = ExperimentManager(home=r'{home}').run("
        f"[r'{sys.executable}', r'{HERE / 'slow_tqdm.py'}', '600', '0.1'], name='survivor')",
    )
    manager = ExperimentManager(home=home)
    [record] = manager.records()
    deadline = time.monotonic() + 20
    while manager.get(record.id).pid is None and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = manager.get(record.id).pid
    assert pid is not None

    notebook_page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"
    )
    time.sleep(1)  # let the old kernel go before waiting for the new one to be idle
    notebook_page.wait_for_function(KERNEL_READY_JS, timeout=60_000)
    run_cell(notebook_page, "import nbexp\nfrom nbexp import Dashboard, ExperimentManager")

    assert manager.get(record.id).status is Status.RUNNING
    assert _proc.is_alive(pid)

    root = show_dashboard(home)
    row = root.locator(f"tr.nbexp-row[data-id='{record.id}'][data-status='running']")
    row.wait_for(timeout=20_000)
    row.locator(".nbexp-name").click()
    bar = root.locator(".nbexp-log-row", has_text="%|").first
    bar.wait_for(timeout=20_000)
    before = bar.inner_text()
    deadline = time.monotonic() + 15
    while bar.inner_text() == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert bar.inner_text() != before, "the restarted kernel's dashboard is not live"
