"""The dashboard's GPU panel in a real JupyterLab and Chromium shows a running Slurm
experiment's node GPUs, read by the telemetry sidecar inside its job on the test cluster (one
simulated GPU there), and its row carries the node and the time limit."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager, Status

from ..conftest import wait_for
from .cluster import SlurmCluster

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))
from _lab import (
    SCREENSHOTS,
    create_notebook,
    open_notebook,
    run_cell,
    start_lab,
    stop_lab,
)

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.ui,
    pytest.mark.xdist_group("slurm"),
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def slurm_page(
    slurm_cluster: SlurmCluster, tmp_path_factory: pytest.TempPathFactory, browser: Any
) -> Iterator[Any]:
    """A notebook whose kernel knows the test cluster (SLURM_CONF) and simulates no local GPU."""
    server = start_lab(tmp_path_factory.mktemp("lab"), {**slurm_cluster.env})
    try:
        page = open_notebook(browser, server, create_notebook(server, "slurm.ipynb"))
        run_cell(page, "from nbexp import ExperimentManager")
        yield page
        page.close()
    finally:
        stop_lab(server)


def test_the_gpu_panel_shows_a_slurm_jobs_node_gpus(
    slurm_page: Any, slurm_cluster: SlurmCluster, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in slurm_cluster.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "1")  # inside the job, passed on by sbatch
    monkeypatch.setenv("NBEXP_SLURM_TELEMETRY_INTERVAL", "0.5")
    manager = ExperimentManager(home=home, executor="slurm")
    exp = manager.run(["sleep", "120"], gpus=1, time="5", name="on the node")
    try:
        wait_for(lambda: exp.status is Status.RUNNING, timeout=30)
        run_cell(slurm_page, f"dash = ExperimentManager(home=r'{home}').dashboard()\ndash")
        root = slurm_page.locator(".jp-OutputArea-output .nbexp-dashboard").last
        root.wait_for(state="visible", timeout=30_000)
        node = root.locator(f".nbexp-node-gpu[data-node='{slurm_cluster.host}']")
        node.wait_for(state="visible", timeout=30_000)
        title = root.locator(".nbexp-node-title").first.inner_text()
        assert slurm_cluster.host in title and exp.record.job_id in title and "simulated" in title
        text = node.inner_text()
        assert "GPU 0" in text and "(simulated)" in text and f"held by #{exp.id}" in text
        assert "°C" in text and " W" in text and "GiB" in text
        # The sparklines fill as the sidecar's readings arrive.
        wait_for(lambda: node.locator("polyline").count() == 2, timeout=30)
        assert "this machine only" not in root.inner_text()
        # Its row names the node and shows elapsed / the --time limit (5 minutes).
        job_row = root.locator(f"tr.nbexp-row[data-id='{exp.id}']")
        assert job_row.locator(".nbexp-pid").inner_text() == (
            f"slurm {exp.record.job_id} on {slurm_cluster.host}"
        )
        assert job_row.locator(".nbexp-runtime").inner_text().endswith(" / 5m 00s")
        SCREENSHOTS.mkdir(exist_ok=True)
        root.screenshot(path=str(SCREENSHOTS / "dashboard-slurm-node-gpus.png"))
        run_cell(slurm_page, "dash.close()")
    finally:
        manager.stop(exp.id, grace=1)
