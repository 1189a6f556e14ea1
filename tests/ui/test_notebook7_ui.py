"""The dashboard in Notebook 7 (skipped where the `notebook` package is not installed)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _lab import (
    SCREENSHOTS,
    LabServer,
    create_notebook,
    open_notebook,
    run_cell,
    start_lab,
    stop_lab,
)

from nbexp import ExperimentManager

pytestmark = [
    pytest.mark.ui,
    pytest.mark.skipif(
        importlib.util.find_spec("notebook") is None,
        reason="Notebook 7 is not installed (pip install notebook)",
    ),
]

PY = sys.executable


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = start_lab(tmp_path_factory.mktemp("nb7"), {"NBEXP_SIMULATED_GPUS": "2"}, "notebook")
    try:
        yield server
    finally:
        stop_lab(server)


def test_dashboard_in_notebook7(notebook7: LabServer, browser: Any, home: Path) -> None:
    manager = ExperimentManager(home=home)
    done = manager.run([PY, "-c", "print('hello from nb7')"], name="nb7 job")
    done.wait(timeout=30)
    page = open_notebook(browser, notebook7, create_notebook(notebook7, "nb7.ipynb"), "notebooks")
    try:
        run_cell(
            page,
            f"from nbexp import ExperimentManager\n"
            f"dash = ExperimentManager(home=r'{home}').dashboard()\ndash",
        )
        root = page.locator(".jp-OutputArea-output .nbexp-dashboard")
        root.wait_for(timeout=30_000)
        row = root.locator(f"tr.nbexp-row[data-id='{done.id}'][data-status='completed']")
        row.wait_for(timeout=20_000)
        row.locator(".nbexp-name").click()
        root.locator(".nbexp-log-row", has_text="hello from nb7").wait_for(timeout=20_000)
        root.locator(".nbexp-gpu").nth(1).wait_for(timeout=20_000)
        SCREENSHOTS.mkdir(exist_ok=True)
        root.screenshot(path=str(SCREENSHOTS / "dashboard-notebook7.png"))
        run_cell(page, "dash.close()")
    finally:
        page.close()
