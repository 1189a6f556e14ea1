"""`nbexp logs -f`, the progress column of `nbexp list`, `show --json`'s progress and
Experiment.progress, on a real running tqdm job."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from nbexp import ExperimentManager, Status
from nbexp.terminal import render

from .conftest import EXAMPLES, NBEXP_CLI, cli, wait_for

SLOW_TRAINING = [
    sys.executable,
    str(EXAMPLES / "train_tqdm.py"),
    "--epochs",
    "2",
    "--steps",
    "40",
    "--delay",
    "0.05",
]


def test_progress_everywhere_while_it_runs(manager: ExperimentManager) -> None:
    exp = manager.run(SLOW_TRAINING)
    progress = wait_for(
        lambda: exp.progress if exp.progress and exp.progress.n else None,
        timeout=30,
        describe=exp.logs,
    )
    assert progress.total == 40 and progress.description == "epoch 1"
    assert "loss" in progress.metrics
    row = cli(manager.home, "list").stdout.splitlines()[1]
    assert "%" in row  # the PROGRESS column
    shown = json.loads(cli(manager.home, "show", str(exp.id), "--json").stdout)
    assert shown["progress"]["total"] == 40 and shown["progress"]["n"] >= 1
    manager.stop(exp.id, grace=1)


def test_follow_without_a_terminal_prints_settled_lines(manager: ExperimentManager) -> None:
    exp = manager.run(SLOW_TRAINING)
    result = cli(manager.home, "logs", "-f", str(exp.id), timeout=120)
    assert result.returncode == 0
    assert exp.status is Status.COMPLETED
    assert result.stdout.splitlines() == exp.logs()


def test_follow_on_a_terminal_redraws_bars_in_place(manager: ExperimentManager) -> None:
    exp = manager.run(SLOW_TRAINING)
    wait_for(lambda: exp.logs(), timeout=30)
    main, secondary = pty.openpty()
    env = dict(os.environ, NBEXP_HOME=str(manager.home), COLUMNS="120", LINES="40")
    follower = subprocess.Popen(
        [*NBEXP_CLI, "logs", "-f", str(exp.id)],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            elif follower.poll() is not None:
                break
    finally:
        follower.kill()
        follower.wait()
        os.close(main)
    assert exp.status is Status.COMPLETED
    final = exp.logs()
    # Bars were redrawn (carriage returns or cursor moves) ...
    assert output.count(b"\r") + output.count(b"\x1b[") > 10
    # ... in place: the user's terminal ends up showing exactly the log's lines, each once,
    # not one line per update (rendered as a terminal would, from the raw bytes it received).
    assert render(output) == final
    assert b"done" in output


def test_follow_a_finished_experiment_and_tail(manager: ExperimentManager) -> None:
    exp = manager.run([sys.executable, "-c", "for i in range(10): print(i)"]).wait(timeout=20)
    result = cli(manager.home, "logs", "-f", "--tail", "3", str(exp.id))
    assert result.stdout == "7\n8\n9\n"
    assert Path(exp.log_path).exists()
