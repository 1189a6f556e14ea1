"""Faults on the way a metric history is stored: a full disk under the store. Real SQLite on a
real tmpfs (root in a container that allows mounts; skipped elsewhere). The locked store and
the racing readers are in tests/test_metrics_store.py."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbexp import ExperimentManager
from nbexp._core.errors import StoreError
from nbexp._io.metric_store import MetricStore

from ..conftest import ended_experiment_with_log, kill_pids, mount_tmpfs, processes_of_home


@pytest.fixture
def small_home(home: Path) -> Iterator[Path]:
    """The whole home on a 4 MiB tmpfs."""
    home.mkdir(mode=0o700)
    mount_tmpfs(home, "4m")
    yield home
    kill_pids(processes_of_home(home))
    subprocess.run(["umount", "-l", str(home)], check=False)


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass  # full
    finally:
        os.close(fd)


def test_a_full_disk_refuses_a_history_in_one_line_and_loses_none_of_it(small_home: Path) -> None:
    manager = ExperimentManager(home=small_home)
    lines = (f"step={i} loss={1 / (i + 1):.6f} acc={i % 997 / 997:.4f}\n" for i in range(40_000))
    exp = ended_experiment_with_log(manager, "".join(lines).encode())  # ~1.4 MB: past the bound
    _fill(small_home / "filler")
    reader = ExperimentManager(home=small_home)  # a process that reads it first now
    with pytest.raises(StoreError, match="full"):
        reader.metrics(exp.id)
    (small_home / "filler").unlink()
    after = reader.metrics(exp.id)  # the same process, once there is room again
    summary = reader.service.metrics.summaries(exp.id, 1)["loss"]
    assert (summary.count, summary.last_step, summary.min) == (40_000, 39_999, 1 / 40_000)
    MetricStore(manager.store).forget(exp.id, 1)
    afresh = ExperimentManager(home=small_home).metrics(exp.id)  # read with no fault at all
    assert after == afresh
