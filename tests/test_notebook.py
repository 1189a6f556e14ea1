"""The quickstart notebook executes top to bottom without errors, on simulated GPUs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


def test_quickstart_executes(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "2")
    # The kernel must find `nbexp` on PATH for the `!nbexp ls` cell.
    monkeypatch.setenv("PATH", f"{Path(os.sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    notebook = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(REPO / "notebooks")}},
    )
    client.execute()
    outputs = {
        i: "".join(o.get("text", "") for o in cell.get("outputs", []))
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    }
    text = "\n".join(outputs.values())
    assert "completed 0" in text  # the tqdm run
    assert "error - exit code 1" in text  # the failing job
    assert "interrupted - stopped by user" in text  # the stopped job
    assert "simulated" in text and "completed [0] CUDA_VISIBLE_DEVICES=0" in text
    assert "'kind': 'exception'" in text  # the failing job explains itself
    assert "points; first" in text and "best loss" in text  # metrics and the sweep compared
    assert "error {'kind': 'timeout'" in text  # the time limit
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
