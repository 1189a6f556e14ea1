"""Many processes starting one pending experiment at once: exactly one launch, every time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status

from .conftest import NBEXP_CLI

CONTENDERS = 12


@pytest.mark.parametrize("round_number", range(3))
def test_a_dozen_starts_launch_once(home: Path, tmp_path: Path, round_number: int) -> None:
    manager = ExperimentManager(home=home)
    marker = tmp_path / "launches"
    exp = manager.create([sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"])
    go = tmp_path / "go"
    # Each contender waits for the same file, then runs `nbexp start` as fast as it can.
    script = (
        "import os, sys, time, subprocess\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        f"sys.exit(subprocess.run({[*NBEXP_CLI, 'start', str(exp.id)]!r}).returncode)\n"
    )
    env = dict(os.environ, NBEXP_HOME=str(home))
    contenders = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(CONTENDERS)
    ]
    go.touch()
    results = []
    for contender in contenders:
        out, err = contender.communicate(timeout=60)  # also closes its pipes
        results.append((contender.returncode, out, err))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [1] * (CONTENDERS - 1), results
    refusals = [err for code, _, err in results if code == 1]
    assert all("cannot start experiment" in err and "it is" in err for err in refusals)
    assert exp.wait(timeout=30).status is Status.COMPLETED
    assert marker.read_text() == "x"  # the command ran exactly once
    assert exp.attempt == 1
    launches = [h for h in exp.history() if h.to_status is Status.RUNNING]
    assert len(launches) == 1
