"""Shared fixtures: every test gets its own NBEXP_HOME, and every process an experiment started
there is killed by pid when the test ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager
from nbexp._core.records import ExperimentRecord
from nbexp._io import proc as _proc
from nbexp._io.metric_store import MetricStore

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
NBEXP_CLI = [sys.executable, "-m", "nbexp"]


def processes_of_home(home: Path) -> set[int]:
    """Every live process started (directly or not) by an experiment stored under `home`,
    plus the runners of that home."""
    pids = _proc.processes_with_environ({"NBEXP_HOME": str(home)})
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        started = b" ".join(argv)  # a runner, or a helper (queue watcher, metrics reader)
        nbexp_module = b"nbexp._exec.runner" in started or b"nbexp._service." in started
        if nbexp_module and str(home).encode() in argv:
            pids.add(int(entry))
    pids.discard(os.getpid())
    return {p for p in pids if _proc.is_alive(p)}


def kill_pids(pids: set[int]) -> None:
    _proc.signal_all(pids, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_proc.is_alive(p) for p in pids):
        time.sleep(0.02)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for every browser test of the session (tests/ui and tests/slurm): a second
    Playwright would refuse to start inside the first one's event loop."""
    sys.path.insert(0, str(Path(__file__).parent / "ui"))
    from _lab import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "nbexp-home"
    monkeypatch.setenv("NBEXP_HOME", str(path))
    yield path
    kill_pids(processes_of_home(path))


@pytest.fixture
def manager(home: Path) -> ExperimentManager:
    return ExperimentManager(home=home)


def cli(
    home: Path, *args: str, timeout: float = 60, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run the real `nbexp` command against `home`."""
    env = dict(env if env is not None else os.environ, NBEXP_HOME=str(home))
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [*NBEXP_CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, **kwargs
    )


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02, describe=None):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it is truthy; on timeout say what `describe()` shows then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = f": {describe()!r}" if describe is not None else ""
    raise AssertionError(f"condition not met within {timeout} s{detail}")


def traced_peak(function: Callable[[], Any]) -> tuple[Any, float]:
    """`function()`'s result and the peak of the Python heap while it ran, in bytes."""
    tracemalloc.start()
    try:
        result = function()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def outputs_with_and_without_native(program: str) -> list[str]:
    """What a Python `program` prints with NBEXP_NO_NATIVE=1 and without it, in that order:
    its first word must be whether `nbexp._compiled.native` is None (checked here)."""
    outputs = []
    for flag in ("1", ""):
        env = {**os.environ, "NBEXP_NO_NATIVE": flag}
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                              env=env, cwd=REPO, check=True)  # fmt: skip
        outputs.append(done.stdout.split(" ", 1))
    assert [o[0] for o in outputs] == ["True", "False"]
    return [o[1] for o in outputs]


def python_command(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def ended_experiment_with_log(manager: ExperimentManager, data: bytes) -> ExperimentRecord:
    """A completed experiment whose log holds `data` and whose metrics nobody has read yet.
    Its runner is gone first, and with it the end step that reads the log (started after
    the end is recorded: it would otherwise read `data` at a moment of its choosing)."""
    exp = manager.run(["sh", "-c", "exit 0"])
    manager.service.wait(exp.id, timeout=30)
    record = manager.store.get(exp.id)
    manager.service.wait_runner_gone(record)
    MetricStore(manager.store).forget(exp.id, 1)
    assert record.log_path is not None
    Path(record.log_path).write_bytes(data)
    return record


def mount_tmpfs(path: Path, size: str) -> None:
    """A tmpfs of `size` (mode 0700) at `path`, which must exist; skips the test where one
    cannot be mounted (not root, or a container that allows no mounts)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
