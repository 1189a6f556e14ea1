"""Failure summaries from real output: Python tracebacks (plain, chained, with lines after),
printed CUDA/NCCL errors, a segfault, a real OOM kill in a memory cgroup, SIGKILL from another
process. The pure classifier sees the real bytes a process printed; end to end, the same
summaries reach `show --json`, `nbexp ls` and the Python API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status
from nbexp._core.failures import (
    KINDS,
    Ending,
    Failure,
    classify,
    clean_tail,
    last_exception,
    plan_retry,
    rule_problem,
    should_retry,
)
from nbexp._io import proc as _proc
from nbexp._io.cgroups import oom_kill_count

from .conftest import NBEXP_CLI, cli, wait_for

PY = sys.executable

PLAIN = """
def load(batch):
    raise ValueError(f"batch {batch} has NaN in column 'loss'")
load(0)
"""
CHAINED = """
try:
    {}["lr"]
except KeyError:
    try:
        raise OSError("checkpoint missing")
    except OSError as e:
        raise RuntimeError("could not resume training") from e
"""
LINES_AFTER = """
import atexit, sys
atexit.register(lambda: print("wandb: Waiting for W&B process to finish... (failed 1)"))
print("epoch 1/3: loss=0.41", flush=True)
raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
"""
CUDA_OOM = """
import sys
print("epoch 3:  12%|#2        | 120/1000 [00:03<00:21, 40.1it/s]", flush=True)
print("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; "
      "79.15 GiB total capacity; 77.01 GiB already allocated)", file=sys.stderr)
sys.exit(1)
"""
CUBLAS = """
import sys
print("RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
      file=sys.stderr)
print("shutting down workers")
sys.exit(1)
"""
NCCL = """
import sys
print("[rank1]:[E ProcessGroupNCCL.cpp:616] Watchdog caught collective operation timeout: "
      "WorkNCCL(SeqNum=42, OpType=ALLREDUCE) ran for 600012 milliseconds before timing out.")
sys.exit(134)
"""
SEGFAULT = "import ctypes; ctypes.string_at(0)"
PLAIN_EXIT = (
    "print('loading shard 7'); print('shard 7 checksum mismatch, giving up'); print(); exit(3)"
)


def run_python(code: str, *args: str) -> tuple[bytes, subprocess.CompletedProcess[bytes]]:
    """Run `code` as a real process; its interleaved stdout+stderr as a log holds it."""
    done = subprocess.run(
        [PY, *args, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30
    )
    return done.stdout, done


def ending_of(done: subprocess.CompletedProcess[bytes]) -> Ending:
    code = done.returncode
    return Ending(code if code >= 0 else None, -code if code < 0 else None)


# -- the classifier on real output ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "summary"),
    [
        (PLAIN, "exception", "ValueError: batch 0 has NaN in column 'loss'"),
        (CHAINED, "exception", "RuntimeError: could not resume training"),
        (LINES_AFTER, "exception", "TypeError: unsupported operand type(s) for +: 'int' and 'str'"),
        (CUDA_OOM, "cuda-oom", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate"),
        (CUBLAS, "cuda-oom", "RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED"),
        (NCCL, "nccl", "Watchdog caught collective operation timeout"),
        (PLAIN_EXIT, "exit", "exit code 3: shard 7 checksum mismatch, giving up"),
    ],
)
def test_real_output_is_classified(code: str, kind: str, summary: str) -> None:
    output, done = run_python(code)
    failure = classify(clean_tail(output), ending_of(done))
    assert failure is not None and failure.kind == kind, (failure, output.decode())
    assert summary in failure.summary, failure.summary
    assert "\n" not in failure.summary


def test_a_chained_traceback_holds_both_and_the_last_one_wins() -> None:
    output, _ = run_python(CHAINED)
    text = output.decode()
    assert "KeyError" in text and "OSError: checkpoint missing" in text  # really chained
    assert last_exception(clean_tail(output)) == "RuntimeError: could not resume training"


def test_a_segfault_with_and_without_faulthandler() -> None:
    output, done = run_python(SEGFAULT)
    assert done.returncode == -signal.SIGSEGV
    failure = classify(clean_tail(output), ending_of(done))
    assert failure == Failure("segfault", "Segmentation fault (SIGSEGV)")
    output, done = run_python(SEGFAULT, "-X", "faulthandler")
    failure = classify(clean_tail(output), ending_of(done))
    assert failure is not None and failure.kind == "segfault"
    # faulthandler's dump names the frame that crashed.
    assert failure.summary.startswith("Segmentation fault (SIGSEGV) in string_at"), failure


def test_a_shell_reports_a_segfault_in_words() -> None:
    # The shell, not Python, is the main process: its "Segmentation fault" line is the evidence.
    crash = f"{PY} -c 'import ctypes; ctypes.string_at(0)'"
    says = "echo 'Segmentation fault (core dumped)' >&2; exit 139"  # as bash reports it
    done = subprocess.run(
        ["sh", "-c", f"{crash}; {says}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=30,
    )
    failure = classify(clean_tail(done.stdout), ending_of(done))
    assert failure is not None and failure.kind == "segfault", failure


def test_bars_and_colours_do_not_hide_the_last_line() -> None:
    data = (
        b"\x1b[31mTraceback (most recent call last):\x1b[0m\n"
        b'  File "t.py", line 1, in <module>\n'
        b"\x1b[1;35mZeroDivisionError\x1b[0m: division by zero\n"
        b"  3%|3         | 3/100\r 4%|4         | 4/100\r"
    )
    lines = clean_tail(data)
    assert lines[-1] == " 4%|4         | 4/100"
    assert classify(lines, Ending(1, None)) == Failure(
        "exception", "ZeroDivisionError: division by zero"
    )


def test_clean_exits_and_user_stops_are_no_failures() -> None:
    assert classify(["done"], Ending(0, None)) is None
    assert (
        classify(["x"], Ending(None, signal.SIGTERM, stopped=True, stop_reason="stopped by user"))
        is None
    )
    runner_stop = "stopped: the nbexp runner received SIGTERM"
    assert classify([], Ending(None, 15, stopped=True, stop_reason=runner_stop)) == Failure(
        "signal", runner_stop
    )
    assert classify([], Ending(None, 15, timed_out_after=5400)) == Failure(
        "timeout", "timed out after 1h30m"
    )


def test_sigkill_with_and_without_cgroup_evidence() -> None:
    certain = classify([], Ending(None, signal.SIGKILL, oom_kills=1, peak_rss=3 * 2**30))
    assert certain == Failure(
        "oom-killed",
        "killed by the kernel's OOM killer (1 OOM kill in its memory cgroup; its largest "
        "process peaked at 3.0 GiB)",
    )
    guess = classify([], Ending(None, signal.SIGKILL, oom_kills=None, peak_rss=2**29))
    assert guess is not None and guess.kind == "oom-killed"
    assert "possibly the kernel's OOM killer" in guess.summary and "512.0 MiB" in guess.summary
    other = classify([], Ending(None, signal.SIGKILL, oom_kills=0))
    assert other is not None and other.kind == "signal"
    assert "sent by another process" in other.summary
    # A worker killed by the OOM killer while the main process raised: the cgroup wins.
    worker = classify(
        ["RuntimeError: DataLoader worker (pid(s) 4242) exited unexpectedly"],
        Ending(1, None, oom_kills=1),
    )
    assert worker is not None and worker.kind == "oom-killed"


def test_the_pattern_table_names_only_known_kinds() -> None:
    from nbexp._core.failures import LOG_PATTERNS

    assert {kind for kind, _ in LOG_PATTERNS} <= set(KINDS)


# -- retry rules (pure) ----------------------------------------------------------------------------


def test_retry_rules() -> None:
    oom = Failure("cuda-oom", "torch.OutOfMemoryError: CUDA out of memory")
    bug = Failure("exception", "ValueError: x")
    killed = Failure("signal", "killed by SIGKILL")
    assert should_retry(None, oom, Ending(1, None), [])
    assert not should_retry(None, bug, Ending(1, None), [])  # a bug does not fix itself
    assert should_retry(["exception"], bug, Ending(1, None), [])
    assert should_retry(["exit:137"], killed, Ending(None, signal.SIGKILL), [])
    assert should_retry(["signal:KILL"], killed, Ending(None, signal.SIGKILL), [])
    assert not should_retry(["exit:3"], oom, Ending(1, None), [])
    nccl_line = ["[E] NCCL watchdog: collective timeout after 600 s"]
    assert should_retry(["regex:NCCL.*timeout"], bug, Ending(1, None), nccl_line)
    retry = plan_retry(
        retries=2, retried=1, retry_on=None, retry_delay=30.0, failure=oom,
        ending=Ending(1, None), lines=[],
    )  # fmt: skip
    assert retry is not None and retry.reason == "retry 2/2 after cuda-oom in 30s"
    assert (
        plan_retry(retries=2, retried=2, retry_on=None, retry_delay=0, failure=oom,
                   ending=Ending(1, None), lines=[]) is None
    )  # fmt: skip
    stopped = Ending(None, 15, stopped=True, stop_reason="stopped: runner got SIGTERM")
    assert (
        plan_retry(retries=2, retried=0, retry_on=["signal"], retry_delay=0,
                   failure=Failure("signal", "x"), ending=stopped, lines=[]) is None
    )  # fmt: skip
    assert rule_problem("cuda-oom") is None and rule_problem("exit:137") is None
    assert "unknown failure kind 'oom'" in (rule_problem("oom") or "")
    assert "not a regular expression" in (rule_problem("regex:(") or "")


# -- end to end -------------------------------------------------------------------------------


def test_summaries_reach_show_ls_and_the_api(manager: ExperimentManager, home: Path) -> None:
    exp = manager.run([PY, "-c", PLAIN])
    assert exp.wait(timeout=30).status is Status.ERROR
    summary = "ValueError: batch 0 has NaN in column 'loss'"
    assert exp.failure == {"kind": "exception", "summary": summary}
    assert exp.error == "exit code 1"  # the outcome in words stays as it was
    shown = json.loads(cli(home, "show", "--json", str(exp.id)).stdout)
    assert shown["failure"] == {"kind": "exception", "summary": summary}
    listing = cli(home, "ls").stdout
    assert "REASON" in listing.splitlines()[0] and summary in listing
    done = manager.run([PY, "-c", "print('fine')"])
    done.wait(timeout=30)
    assert json.loads(cli(home, "show", "--json", str(done.id)).stdout)["failure"] is None


def test_a_segfault_end_to_end(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-X", "faulthandler", "-c", SEGFAULT])
    assert exp.wait(timeout=30).status is Status.ERROR
    assert exp.error == "killed by SIGSEGV"
    assert exp.failure is not None and exp.failure["kind"] == "segfault"
    assert "string_at" in exp.failure["summary"]


def test_sigkill_from_another_process(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", "import time; print('step 1', flush=True); time.sleep(60)"])
    pid = wait_for(lambda: exp.pid)
    wait_for(lambda: "step 1" in "".join(exp.logs()))
    os.kill(pid, signal.SIGKILL)  # not nbexp: someone's kill -9
    assert exp.wait(timeout=30).status is Status.ERROR
    failure = exp.failure
    assert failure is not None
    if oom_kill_count() is None:  # no cgroup counter here: the OOM killer is only a guess
        assert failure["kind"] == "oom-killed" and "possibly" in failure["summary"]
    else:
        assert failure["kind"] == "signal", failure
        assert "sent by another process" in failure["summary"]


# -- a real OOM kill ---------------------------------------------------------------------------


def _memory_cgroup_parent() -> tuple[Path, str] | None:
    """A memory cgroup folder this process may create children in, and the limit file."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):  # cgroup v1
            folder = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            if (folder / "memory.limit_in_bytes").exists() and os.access(folder, os.W_OK):
                return folder, "memory.limit_in_bytes"
        if controllers == "":  # cgroup v2
            folder = Path("/sys/fs/cgroup") / path.lstrip("/")
            controllers_file = folder / "cgroup.subtree_control"
            delegated = controllers_file.exists() and os.access(folder, os.W_OK)
            if delegated and "memory" in controllers_file.read_text().split():
                return folder, "memory.max"
    return None


@pytest.fixture
def memory_cgroup() -> Iterator[Path]:
    found = _memory_cgroup_parent()
    if found is None:
        pytest.skip(
            "no writable memory cgroup here (cgroup v1 memory controller or v2 with memory "
            "delegated): a real OOM kill needs a memory limit that only the kernel enforces"
        )
    parent, limit_file = found
    cgroup = parent / f"nbexp-test-{os.getpid()}-{time.monotonic_ns()}"
    try:
        cgroup.mkdir()
        (cgroup / limit_file).write_text(str(200 * 2**20))
    except OSError as e:
        pytest.skip(f"cannot make a memory cgroup under {parent}: {e.strerror}")
    yield cgroup
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for pid in (cgroup / "cgroup.procs").read_text().split():
            _proc.signal_all([int(pid)], signal.SIGKILL)
        try:
            cgroup.rmdir()
            return
        except OSError:
            time.sleep(0.1)


def test_a_real_oom_kill_in_a_memory_cgroup(
    manager: ExperimentManager, home: Path, memory_cgroup: Path
) -> None:
    hog = "a = []\nwhile True: a.append(bytearray(16 * 2**20))"
    # The launcher joins the limited cgroup first, so its runner and command are in it: as in a
    # Slurm job, a container or a systemd unit, where the runner shares the job's cgroup.
    launch = (
        f"echo $$ > {memory_cgroup}/cgroup.procs && exec {' '.join(NBEXP_CLI)} run "
        f"--name hog -- {PY} -c '{hog}'"
    )
    env = dict(os.environ, NBEXP_HOME=str(home))
    out = subprocess.run(["sh", "-c", launch], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    exp = manager.get(int(out.stdout.split()[0]))
    record = exp.wait(timeout=60).record
    assert record.status is Status.ERROR and record.signal == signal.SIGKILL, record
    assert exp.failure is not None and exp.failure["kind"] == "oom-killed", exp.failure
    assert exp.failure["summary"].startswith("killed by the kernel's OOM killer (1 OOM kill")
