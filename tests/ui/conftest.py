"""Session-scoped JupyterLab server and Chromium page for the dashboard's browser tests.

The server runs with NBEXP_SIMULATED_GPUS=2 so the GPU panel has meters to show; each test gets
its own NBEXP_HOME and stops every experiment it started (checked by pid) when it ends.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _lab import (
    LabServer,
    assert_gone,
    create_notebook,
    open_notebook,
    run_cell,
    start_lab,
    stop_lab,
)

from nbexp import ExperimentManager, Status

SIMULATED_GPUS = "2"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.path.exists("/usr/bin/chromium"):
        return
    skip = pytest.mark.skip(reason="no /usr/bin/chromium: run `bash .ci/install-chromium.sh`")
    for item in items:
        if "ui" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    workdir = tmp_path_factory.mktemp("lab")
    server = start_lab(workdir, {"NBEXP_SIMULATED_GPUS": SIMULATED_GPUS})
    try:
        yield server
    finally:
        stop_lab(server)


@pytest.fixture(scope="session")
def notebook_page(lab_server: LabServer, browser: Any) -> Iterator[Any]:
    path = create_notebook(lab_server, "dashboard-tests.ipynb")
    page = open_notebook(browser, lab_server, path)
    run_cell(page, "import nbexp\nfrom nbexp import Dashboard, ExperimentManager")
    yield page
    page.close()


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh NBEXP_HOME; every experiment still running there is stopped afterwards."""
    folder = tmp_path / "nbexp-home"
    # The test process launches experiments too: it must see the server's simulated GPUs.
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", SIMULATED_GPUS)
    yield folder
    manager = ExperimentManager(home=folder)
    leftovers = [r for r in manager.records() if r.status is Status.RUNNING]
    for record in leftovers:
        manager.stop(record.id, grace=1)
    for record in leftovers:
        assert_gone(manager.store.get(record.id).pid)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def show_dashboard(notebook_page: Any) -> Iterator[Any]:
    """Display a dashboard for a home in the notebook; the locator of its root element."""
    shown: list[int] = []

    def show(home: Path, interval: float = 1.0) -> Any:
        n = len(shown)
        run_cell(
            notebook_page,
            f"dash{n} = ExperimentManager(home=r'{home}').dashboard(interval={interval})\ndash{n}",
        )
        shown.append(n)
        root = notebook_page.locator(".jp-OutputArea-output .nbexp-dashboard").last
        root.wait_for(state="visible", timeout=30_000)
        return root

    yield show
    for n in shown:
        run_cell(notebook_page, f"dash{n}.close()")
    # Keep the page light for the next test: drop the cells this test added.
    notebook_page.evaluate(
        "() => { const m = window.jupyterapp.shell.currentWidget.content.model.sharedModel;"
        " while (m.cells.length > 1) m.deleteCell(m.cells.length - 1); }"
    )
