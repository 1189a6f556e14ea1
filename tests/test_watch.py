"""The manager's incremental log deltas and metric histories, on a real running tqdm job."""

from __future__ import annotations

import sys

import pytest

from nbexp import ExperimentManager, Status, UsageError

from .conftest import EXAMPLES, wait_for


def test_log_changes_are_incremental_with_stable_line_numbers(manager: ExperimentManager) -> None:
    exp = manager.run(
        [
            sys.executable,
            str(EXAMPLES / "train_tqdm.py"),
            "--epochs",
            "2",
            "--steps",
            "30",
            "--delay",
            "0.03",
        ]
    )
    version, lines = exp.log_changes(0)
    seen = dict(lines)
    updates = 0
    while exp.status is Status.RUNNING:
        new_version, changed = exp.log_changes(version)
        assert new_version >= version
        if changed:
            updates += 1
            assert all(number >= 0 for number in changed)
        seen.update(changed)
        version = new_version
    _, last = exp.log_changes(version)
    seen.update(last)
    assert updates > 3  # the bar changed while we watched
    assert [seen[n] for n in sorted(seen)] == exp.logs()  # deltas rebuild the whole log
    assert exp.log_changes(version + 10**6)[1] == {}  # nothing newer than the latest version


def test_metric_history_from_the_bar_postfix(manager: ExperimentManager) -> None:
    exp = manager.run(
        [
            sys.executable,
            str(EXAMPLES / "train_tqdm.py"),
            "--epochs",
            "1",
            "--steps",
            "60",
            "--delay",
            "0.03",
        ]
    )
    exp.wait(timeout=60)  # nobody watched: the history is still complete
    history = exp.metrics
    assert set(history) >= {"loss", "lr"}
    losses = [point.value for point in history["loss"]]
    assert len(losses) > 3 and losses[0] > losses[-1]  # the loss went down
    # To the very end: the last postfix is the loss the script printed after the bar.
    printed = next(line for line in exp.logs() if line.startswith("epoch 1: loss="))
    assert losses[-1] == float(printed.split("=")[1])


def test_no_log_yet(manager: ExperimentManager) -> None:
    pending = manager.create(["true"])
    with pytest.raises(UsageError, match="has not run yet"):
        pending.log_changes()
    done = manager.run(["echo", "hi"]).wait(timeout=20)
    wait_for(lambda: done.log_changes()[1] == {0: "hi"})
