"""Pure parts of nbexp's Slurm depth, without a cluster: job arrays' scripts (run by plain bash
with the variables Slurm would set), the early signal, and how each Slurm ending becomes a
failure kind and a one-line summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbexp._core.errors import UsageError
from nbexp._core.slurm_jobs import JobInfo, job_failure, slurm_log_failure
from nbexp._core.slurm_script import Task, array_script, batch_script, slurm_signal

from ..conftest import cli

PRINT = "import os, sys; print(sys.argv[1], os.environ['MEMBER'], os.getcwd())"


def tasks(tmp_path: Path, count: int) -> list[Task]:
    made = []
    for index in range(count):
        folder = tmp_path / f"run {index}"
        folder.mkdir()
        argv = [sys.executable, "-c", PRINT, f"lr={index}e-3"]
        made.append(Task(argv, str(folder), {"MEMBER": f"m{index}"}))
    return made


def test_an_array_script_runs_member_i_as_task_i(tmp_path: Path) -> None:
    members = tasks(tmp_path, 3)
    text = array_script(
        members,
        output_pattern=str(tmp_path / "task-%a.log"),
        job_name="sweep",
        max_parallel=2,
        gpus=1,
        time="0:05:00",
        signal=slurm_signal((10, 90.0)),
    )
    lines = text.splitlines()
    for option in ("--array=0-2%2", "--gpus=1", "--time=0:05:00", "--signal=B:USR1@90"):
        assert f"#SBATCH {option}" in lines
    assert f"#SBATCH --output={tmp_path}/task-%a.log" in lines
    script = tmp_path / "array.sbatch"
    script.write_text(text)
    for index in (2, 0):
        env = {**os.environ, "SLURM_ARRAY_TASK_ID": str(index)}
        out = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
        assert out.stdout == f"lr={index}e-3 m{index} {tmp_path / f'run {index}'}\n"
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "3"}
    out = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "no command for array task 3" in out.stderr


def test_a_sidecar_starts_in_the_background_before_the_exec(tmp_path: Path) -> None:
    sidecar = [sys.executable, "-c", "import sys; print('sidecar watches', sys.argv[-1])"]
    log = tmp_path / "side.log"
    text = batch_script(
        argv=["sh", "-c", "sleep 0.3; echo main $$"],
        cwd=str(tmp_path),
        env={},
        log_path=str(tmp_path / "attempt-1.log"),
        job_name="j",
        sidecar=sidecar,
        sidecar_log=str(log),
    )
    (tmp_path / "job.sh").write_text(text)
    out = subprocess.run(["bash", str(tmp_path / "job.sh")], capture_output=True, text=True)
    main_pid = out.stdout.split()[-1]
    # The sidecar was told the batch shell's pid, which the exec handed to the command.
    assert log.read_text() == f"sidecar watches {main_pid}\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_parallel": 0}, "max_parallel must be at least 1"),
        ({"output_pattern": "/x/task.log"}, "must hold %a"),
    ],
)
def test_array_scripts_refuse_what_slurm_would_not_take(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    settings: dict[str, object] = {"output_pattern": "/x/task-%a.log", "job_name": "j"}
    with pytest.raises(UsageError, match=message):
        array_script(tasks(tmp_path, 1), **{**settings, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="at most 1000 tasks"):
        array_script([Task(["true"], "/")] * 1001, output_pattern="/x/%a", job_name="j")


def info(state: str, **fields: object) -> JobInfo:
    return JobInfo(job_id="7", state=state, node_list="gpu-3", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("job", "lines", "kind", "summary"),
    [
        (
            info("TIMEOUT", time_limit_seconds=3600.0),
            [],
            "timeout",
            "timed out after 1h (Slurm's time limit)",
        ),
        (
            info("OUT_OF_MEMORY"),
            [],
            "oom-killed",
            "killed for using more memory than the job asked for on gpu-3 (Slurm)",
        ),
        (info("NODE_FAIL"), [], "node-fail", "its node gpu-3 failed (Slurm: NODE_FAIL)"),
        (info("PREEMPTED"), [], "preempted", "preempted by a higher-priority job (Slurm)"),
        (
            info("CANCELLED", cancelled_by=1001),
            [],
            "cancelled",
            "cancelled by Slurm or an administrator (uid 1001)",
        ),
        (
            # jobacct_gather's kill: Slurm says FAILED (SIGKILL), slurmstepd's words say why
            info("FAILED", exit_code=0, signal=9),
            ["allocated", "slurmstepd-vm: error: Exceeded job memory limit", ""],
            "oom-killed",
            "slurmstepd-vm: error: Exceeded job memory limit",
        ),
        (
            # the command's own failure, found by the endings' table as for a local run
            info("FAILED", exit_code=1),
            ["Traceback (most recent call last):", '  File "t.py", line 1', "KeyError: 'lr'"],
            "exception",
            "KeyError: 'lr'",
        ),
        (info("FAILED", exit_code=3), ["epoch 1"], "exit", "exit code 3: epoch 1"),
    ],
)
def test_each_slurm_ending_has_a_kind_and_a_summary(
    job: JobInfo, lines: list[str], kind: str, summary: str
) -> None:
    failure = job_failure(job, lines)
    assert (failure.kind, failure.summary) == (kind, summary)


def test_slurmstepds_words_are_found_from_the_end() -> None:
    lines = [
        "slurmstepd: error: *** JOB 12 ON vm CANCELLED AT 2026-12-01T10:00 DUE TO TIME LIMIT ***",
        "slurmstepd: error: *** JOB 12 ON vm CANCELLED AT 2026-12-01T10:01 DUE TO PREEMPTION ***",
    ]
    assert slurm_log_failure(lines) == ("preempted", lines[1])
    assert slurm_log_failure(lines[:1]) == ("timeout", lines[0])
    assert slurm_log_failure(["all fine"]) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--requeue-on", "timeout"], "requeue_on (--requeue-on) applies to Slurm experiments"),
        (["--executor", "slurm", "--requeue-on", "cancelled"], "unknown ending 'cancelled'"),
        (["--executor", "slurm", "--retries", "2"], "resubmit the endings requeue_on names"),
        (
            ["--executor", "slurm", "--retry-on", "exit", "--requeue-on", "timeout"],
            "retry_on (--retry-on) applies to local runs",
        ),
    ],
)
def test_bad_requeue_options_are_one_line_errors(home: Path, args: list[str], message: str) -> None:
    result = cli(home, "run", *args, "--", "true")
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(cli(home, "ls", "--json").stdout) == []  # nothing was created
