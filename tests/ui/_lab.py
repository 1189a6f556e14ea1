"""A headless JupyterLab server and a Chromium page driving one notebook, for the browser tests
and the dashboard latency benchmark. See tests/ui/README.md for the pitfalls this works around.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_TIMEOUT_S = 90.0
KERNEL_READY_TIMEOUT_MS = 120_000


@dataclass
class LabServer:
    process: subprocess.Popen[bytes]
    url: str  # base URL, ending in "/"
    token: str
    root: Path
    log_path: Path

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None


def start_lab(workdir: Path, extra_env: dict[str, str], app: str = "jupyterlab") -> LabServer:
    """Start JupyterLab (or Notebook 7: app="notebook") on 127.0.0.1 (a free port) with its own
    settings and runtime dirs."""
    runtime = workdir / "runtime"
    settings = workdir / "settings"
    root = workdir / "root"
    for folder in (runtime, settings, root):
        folder.mkdir(parents=True, exist_ok=True)
    # No "get Jupyter news?" toast over the page.
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = {
        **os.environ,
        **extra_env,
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "workspaces"),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = workdir / "jupyterlab.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the server keeps writing to it
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            app,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port=0",
            "--ServerApp.allow_root=True",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.disable_check_xsrf=True",
            "--JupyterNotebookApp.expose_app_in_browser=True"
            if app == "notebook"
            else "--LabApp.expose_app_in_browser=True",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=str(root),
    )
    log.close()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early:\n{log_path.read_text()[-3000:]}")
        for info_file in glob.glob(str(runtime / f"jpserver-{process.pid}.json")):
            with contextlib.suppress(ValueError, OSError):
                info = json.loads(Path(info_file).read_text())
                server = LabServer(process, info["url"], info["token"], root, log_path)
                with contextlib.suppress(OSError):
                    server.api("GET", "api/status")
                    return server
        time.sleep(0.3)
    stop_lab_process(process)
    raise RuntimeError(f"JupyterLab did not start in time:\n{log_path.read_text()[-3000:]}")


def stop_lab(server: LabServer) -> None:
    """Shut down kernels and server politely, then the process group if it lingers."""
    with contextlib.suppress(Exception):
        server.api("POST", "api/shutdown")
    stop_lab_process(server.process)


def stop_lab_process(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def create_notebook(server: LabServer, name: str) -> str:
    """An empty notebook in the server's root; its path."""
    server.api(
        "PUT",
        f"api/contents/{name}",
        {
            "type": "notebook",
            "format": "json",
            "content": {
                "cells": [],
                "metadata": {
                    "kernelspec": {
                        "name": "python3",
                        "display_name": "Python 3",
                        "language": "python",
                    }
                },
                "nbformat": 4,
                "nbformat_minor": 5,
            },
        },
    )
    return name


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_notebook(browser: Any, server: LabServer, path: str, ui: str = "lab/tree") -> Any:
    """A page showing the notebook, once its kernel is connected and idle (ui="notebooks" for
    Notebook 7)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server.url}{ui}/{path}?token={server.token}")
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return k && k.status === 'idle' && k.connectionStatus === 'connected';
        }""",
        timeout=KERNEL_READY_TIMEOUT_MS,
    )
    return page


RUN_CELL_JS = """async (code) => {
    const app = window.jupyterapp;
    const panel = app.shell.currentWidget;
    const notebook = panel.content;
    const cells = notebook.model.sharedModel;
    cells.insertCell(cells.cells.length, {cell_type: 'code', source: code});
    notebook.activeCellIndex = cells.cells.length - 1;
    await app.commands.execute('notebook:run-cell');
    return cells.cells.length - 1;
}"""


def run_cell(page: Any, code: str, timeout_ms: int = 60_000) -> int:
    """Append a code cell, run it and wait until the kernel is idle again; the cell's index."""
    index: int = page.evaluate(RUN_CELL_JS, code)
    page.wait_for_function(
        """(i) => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            const cell = nb.widgets[i];
            return cell && cell.model.executionCount !== null
                && !cell.node.querySelector('.jp-InputPrompt').textContent.includes('*');
        }""",
        arg=index,
        timeout=timeout_ms,
    )
    return index


def cell_output_text(page: Any, index: int) -> str:
    text: str = page.evaluate(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i]"
        ".node.querySelector('.jp-OutputArea').innerText",
        index,
    )
    return text


def assert_gone(pid: int | None, timeout: float = 10.0) -> None:
    """The process `pid` ends within `timeout` (zombies of our own children count as gone)."""
    if pid is None:
        return
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} is still alive")
