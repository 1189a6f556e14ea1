"""Tests for nbexp._slurm: pure parts in-process, then the client against a real single-node Slurm.

The real-cluster tests are marked `slurm` and share one cluster per session (see conftest.py).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from nbexp._core.errors import NbexpError, SpawnFailed, UsageError
from nbexp._core.slurm_jobs import parse_time_limit
from nbexp._exec.slurm_client import (
    ACCOUNTING_WAIT_S,
    JobInfo,
    SlurmClient,
    SlurmCommandMissing,
    map_job_state,
    one_line_error,
    parse_key_values,
    parse_sacct,
    parse_scontrol_jobs,
    write_batch_script,
)
from nbexp.states import Status
from tests.slurm.cluster import SlurmCluster

SCONTROL_LINE = (
    "JobId=42 JobName=nbexp-7 UserId=root(0) GroupId=root(0) JobState=FAILED "
    "Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 RunTime=1-02:03:04 "
    "StartTime=2026-11-29T21:27:13 EndTime=Unknown NodeList=vm "
    "WorkDir=/tmp/a dir with spaces Command=/tmp/run me.sh StdOut=/tmp/x.log Comment=JobState=OK"
)


# ---------------------------------------------------------------------------------------------
# Pure parts
# ---------------------------------------------------------------------------------------------


def test_parse_scontrol_line_keeps_values_with_spaces_and_first_key() -> None:
    info = parse_scontrol_jobs(SCONTROL_LINE)["42"]
    assert info.state == "FAILED"  # the later Comment=JobState=OK must not win
    assert (info.exit_code, info.signal) == (3, None)
    assert info.reason == "NonZeroExitCode"
    assert info.node_list == "vm"
    assert info.run_time_seconds == 86400 + 2 * 3600 + 3 * 60 + 4
    assert info.start_time is not None and info.start_time.tzinfo is not None
    assert info.end_time is None
    assert info.fields["WorkDir"] == "/tmp/a dir with spaces"
    assert info.fields["Command"] == "/tmp/run me.sh"


def test_parse_signal_exit_code_and_repeated_jobs_keep_last() -> None:
    text = "JobId=5 JobState=RUNNING ExitCode=0:0\nJobId=5 JobState=CANCELLED ExitCode=0:15\n"
    info = parse_scontrol_jobs(text, source="jobcomp")["5"]
    assert (info.state, info.exit_code, info.signal, info.source) == ("CANCELLED", 0, 15, "jobcomp")


def test_parse_key_values_ignores_text_without_keys() -> None:
    assert parse_key_values("no keys here") == {}
    assert parse_key_values("A=1 B= C=x y") == {"A": "1", "B": "", "C": "x y"}


def test_parse_sacct_reads_state_words_and_elapsed() -> None:
    output = (
        "17|17|CANCELLED by 1001|0:15|None|vm|2026-11-29T21:00:00|2026-11-29T21:01:00|60|5\n"
        "18|18|TIMEOUT|0:0|TimeLimit|vm|2026-11-29T21:00:00|2026-11-29T21:02:00|120|1\n"
        "19|19|CANCELLED by 0|0:0|None|vm|2026-11-29T21:00:00|2026-11-29T21:01:00|60|5\n"
        "19.batch|19.batch|CANCELLED|0:9||vm|2026-11-29T21:00:00|2026-11-29T21:01:00|60|\n"
        "19.extern|19.extern|COMPLETED|0:0||vm|2026-11-29T21:00:00|2026-11-29T21:01:00|60|\n"
    )
    jobs = parse_sacct(output)
    assert jobs["17"].state == "CANCELLED" and jobs["17"].signal == 15
    assert jobs["17"].cancelled_by == 1001 and jobs["17"].array_job is None
    assert jobs["18"].run_time_seconds == 120.0 and jobs["18"].source == "sacct"
    assert jobs["18"].time_limit_seconds == 60.0  # TimelimitRaw is in minutes
    assert sorted(jobs) == ["17", "18", "19"]  # steps are not jobs…
    assert (jobs["19"].exit_code, jobs["19"].signal) == (0, 9)  # …but the batch step's status is


def test_parse_sacct_keys_array_tasks_as_nbexp_stores_them() -> None:
    output = (
        "40_0|41|COMPLETED|0:0|None|vm|2026-11-29T21:00:00|2026-11-29T21:00:01|1|UNLIMITED\n"
        "40_1|40|RUNNING|0:0|None|vm|2026-11-29T21:00:00|Unknown|3|UNLIMITED\n"
        "40_[2-4%2]|40|PENDING|0:0|JobArrayTaskLimit|None assigned|Unknown|Unknown|0|UNLIMITED\n"
    )
    jobs = parse_sacct(output)
    assert sorted(jobs) == ["40_0", "40_1", "40_2", "40_3", "40_4"]
    assert jobs["40_0"].state == "COMPLETED" and jobs["40_0"].array_job == "40"
    assert {jobs[f"40_{i}"].state for i in (2, 3, 4)} == {"PENDING"}
    assert jobs["40_3"].job_id == "40_3" and jobs["40_3"].array_job == "40"


def test_parse_scontrol_expands_an_arrays_pending_tasks() -> None:
    text = (
        "JobId=51 ArrayJobId=50 ArrayTaskId=1 JobState=RUNNING TimeLimit=00:01:00 NodeList=vm\n"
        "JobId=50 ArrayJobId=50 ArrayTaskId=2-3,5%2 JobState=PENDING Reason=JobArrayTaskLimit\n"
        "JobId=60 JobState=PENDING TimeLimit=UNLIMITED\n"
    )
    jobs = parse_scontrol_jobs(text)
    assert sorted(jobs) == ["50_1", "50_2", "50_3", "50_5", "60"]
    assert jobs["50_1"].state == "RUNNING" and jobs["50_1"].time_limit_seconds == 60.0
    assert jobs["50_5"].reason == "JobArrayTaskLimit" and jobs["50_5"].array_job == "50"
    assert jobs["60"].time_limit_seconds is None and jobs["60"].array_job is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 1800.0),
        ("5:30", 330.0),
        ("1:00:00", 3600.0),
        ("2-12", 2 * 86400 + 12 * 3600.0),
        ("1-00:30", 86400 + 1800.0),
        ("1-02:03:04", 93784.0),
        ("UNLIMITED", None),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_time_limit_reads_slurms_formats(text: str | None, seconds: float | None) -> None:
    assert parse_time_limit(text) == seconds


def job(state: str, **fields: Any) -> JobInfo:
    return JobInfo(job_id="1", state=state, **fields)


@pytest.mark.parametrize(
    ("info", "stop_requested", "expected"),
    [
        (job("PENDING", reason="Resources"), False, (Status.QUEUED, "waiting for resources")),
        (job("PENDING", reason="Odd"), False, (Status.QUEUED, "waiting in Slurm's queue (Odd)")),
        (job("CONFIGURING"), False, (Status.QUEUED, None)),
        (job("RUNNING"), True, (Status.RUNNING, None)),  # stop asked, not yet effective
        (job("COMPLETING"), False, (Status.RUNNING, "ending: Slurm is cleaning up the job")),
        (job("SUSPENDED"), False, (Status.RUNNING, "suspended by Slurm")),
        (job("COMPLETED", exit_code=0), False, (Status.COMPLETED, None)),
        (job("FAILED", exit_code=3), False, (Status.ERROR, "exit code 3")),
        (job("FAILED", exit_code=0, signal=9), False, (Status.ERROR, "killed by SIGKILL")),
        (
            job("FAILED", reason="JobLaunchFailure"),
            False,
            (Status.ERROR, "failed (JobLaunchFailure)"),
        ),
        (job("OUT_OF_MEMORY"), False, (Status.ERROR, "out of memory (Slurm)")),
        (job("TIMEOUT"), False, (Status.ERROR, "time limit reached")),
        (job("NODE_FAIL"), False, (Status.ERROR, "node failure (Slurm)")),
        (job("PREEMPTED"), False, (Status.ERROR, "preempted by a higher-priority job (Slurm)")),
        (job("BOOT_FAIL"), False, (Status.ERROR, "node failed to boot (Slurm)")),
        (
            job("DEADLINE"),
            False,
            (Status.ERROR, "deadline reached before the job could run (Slurm)"),
        ),
        (job("CANCELLED"), True, (Status.INTERRUPTED, "stopped by user")),
        (job("CANCELLED"), False, (Status.ERROR, "cancelled by Slurm or an administrator")),
        (job("FAILED", signal=15), True, (Status.INTERRUPTED, "stopped by user")),
        (job("UNKNOWN"), False, (Status.ERROR, "lost: Slurm no longer knows job 1")),
        (job("SOMETHING_NEW"), False, (Status.ERROR, "ended in Slurm state SOMETHING_NEW")),
    ],
)
def test_map_job_state(info: JobInfo, stop_requested: bool, expected: tuple[Status, str]) -> None:
    assert map_job_state(info, stop_requested) == expected


def test_one_line_error_drops_prefixes_and_repeats() -> None:
    stderr = (
        "sbatch: error: invalid partition specified: nope\n"
        "sbatch: error: Batch job submission failed: Invalid partition name specified\n"
        "sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    )
    assert one_line_error(stderr) == (
        "invalid partition specified: nope; "
        "Batch job submission failed: Invalid partition name specified"
    )


def write_script(tmp_path: Path, argv: list[str], **options: object) -> Path:
    script = tmp_path / "job.sh"
    settings: dict[str, Any] = {
        "argv": argv,
        "cwd": str(tmp_path),
        "env": {},
        "log_path": str(tmp_path / "attempt 1.log"),
        "job_name": "nbexp-test",
        "partition": None,
        "time": None,
        "cpus": None,
        "mem": None,
        "gpus": None,
    }
    settings.update(options)
    write_batch_script(script, **settings)
    return script


def test_batch_script_options_and_private_mode(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        ["python", "train.py"],
        partition="gpu",
        time="01:30:00",
        cpus=4,
        mem="8G",
        gpus=2,
        extra=["--qos=high"],
    )
    text = script.read_text()
    for line in (
        "#SBATCH --job-name=nbexp-test",
        f'#SBATCH --output="{tmp_path}/attempt 1.log"',
        f"#SBATCH --chdir={tmp_path}",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=01:30:00",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8G",
        "#SBATCH --gpus=2",
        "#SBATCH --qos=high",
        "exec python train.py",
    ):
        assert line in text.splitlines()
    assert "--error" not in text  # stderr must join stdout in the one log
    assert script.stat().st_mode & 0o077 == 0


def test_batch_script_runs_command_with_env_and_cwd_under_plain_bash(tmp_path: Path) -> None:
    # #SBATCH lines are comments to bash, so the script's body can be checked without Slurm.
    tricky = "a b'c\"$HOME`x`\\n"
    code = "import os,sys; print(os.getcwd(), os.environ['TRICKY'], os.environ['PYTHONUNBUFFERED'])"
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    script = write_script(
        tmp_path, [sys.executable, "-c", code], cwd=str(workdir), env={"TRICKY": tricky}
    )
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=True)
    assert result.stdout == f"{workdir} {tricky} 1\n"


@pytest.mark.parametrize(
    "options",
    [
        {"argv": []},
        {"env": {"BAD-NAME": "x"}},
        {"gpus": 0},
        {"log_path": 'with "quote'},
        {"job_name": "two\nlines"},
        {"extra": ["not-an-option"]},
    ],
)
def test_batch_script_refuses_what_it_cannot_write_safely(
    tmp_path: Path, options: dict[str, object]
) -> None:
    argv = options.pop("argv", ["true"])
    with pytest.raises(UsageError):
        write_script(tmp_path, argv, **options)  # type: ignore[arg-type]


class FakeSlurm:
    """Stands in for the Slurm commands: answers from a table and counts the calls."""

    def __init__(self, jobs_output: str, config: str = "", sacct: str = "") -> None:
        self.jobs_output = jobs_output
        self.config = config
        self.sacct = sacct
        self.commands: list[list[str]] = []

    def __call__(self, argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        args = [Path(argv[0]).name, *argv[1:]]
        self.commands.append(args)
        stdout = ""
        if args[:4] == ["scontrol", "show", "-o", "job"]:
            stdout = self.jobs_output
        elif args[:3] == ["scontrol", "show", "config"]:
            stdout = self.config
        elif args[0] == "sacct":
            stdout = self.sacct
        elif args[0] == "sbatch":
            stdout = "123;cluster\n"
        return subprocess.CompletedProcess(argv, 0, stdout, "")


@pytest.fixture
def fake_bin(tmp_path: Path) -> dict[str, str]:
    """A PATH holding do-nothing sbatch/scontrol/scancel/sacct so command lookup succeeds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("sbatch", "scontrol", "scancel", "sacct"):
        program = bin_dir / name
        program.write_text("#!/bin/sh\nexit 99\n")
        program.chmod(0o755)
    return {"PATH": str(bin_dir)}


def test_query_is_one_call_cached_for_the_interval(fake_bin: dict[str, str]) -> None:
    fake = FakeSlurm("JobId=1 JobState=RUNNING\nJobId=2 JobState=PENDING Reason=Priority\n")
    now = [100.0]
    client = SlurmClient(fake_bin, min_poll_interval=2.0, runner=fake, clock=lambda: now[0])
    assert {k: v.state for k, v in client.query(["1", "2"]).items()} == {
        "1": "RUNNING",
        "2": "PENDING",
    }
    now[0] += 1.9
    client.query(["2"])
    client.query(["1", "2"])
    assert len(fake.commands) == 1  # served from the snapshot
    now[0] += 0.2
    fake.jobs_output = "JobId=1 JobState=COMPLETED ExitCode=0:0\n"
    assert client.query(["1"])["1"].state == "COMPLETED"
    # One more scontrol call; the end also asked, once, whether the cluster keeps accounting.
    assert fake.commands[1:] == [["scontrol", "show", "-o", "job"], ["scontrol", "show", "config"]]


def test_concurrent_pollers_share_one_scontrol_call(fake_bin: dict[str, str]) -> None:
    fake = FakeSlurm("JobId=1 JobState=RUNNING\n")

    def slow_scontrol(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        time.sleep(0.05)  # long enough for every thread to arrive while the call is running
        return fake(argv, env)

    client = SlurmClient(fake_bin, min_poll_interval=2.0, runner=slow_scontrol)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: client.query(["1"])["1"].state, range(8)))
    assert answers == ["RUNNING"] * 8
    assert len(fake.commands) == 1


def test_query_refreshes_for_a_job_the_snapshot_has_not_seen(fake_bin: dict[str, str]) -> None:
    fake = FakeSlurm("JobId=1 JobState=RUNNING\n")
    client = SlurmClient(fake_bin, min_poll_interval=60.0, runner=fake, clock=lambda: 0.0)
    client.query(["1"])
    fake.jobs_output += "JobId=2 JobState=PENDING\n"  # submitted after the snapshot
    assert client.query(["1", "2"])["2"].state == "PENDING"


def test_forgotten_job_comes_from_jobcomp_file(tmp_path: Path, fake_bin: dict[str, str]) -> None:
    jobcomp = tmp_path / "jobcomp.txt"
    jobcomp.write_text(
        "JobId=7 UserId=root(0) Name=x JobState=RUNNING ExitCode=0:0\n"
        "JobId=70 UserId=root(0) Name=x JobState=COMPLETED ExitCode=0:0\n"
        "JobId=7 UserId=root(0) Name=x JobState=TIMEOUT NodeList=vm ExitCode=0:1\n"
    )
    config = f"JobCompType             = jobcomp/filetxt\nJobCompLoc              = {jobcomp}\n"
    fake = FakeSlurm("", config=config)
    client = SlurmClient(fake_bin, min_poll_interval=0.0, runner=fake)
    info = client.query(["7"])["7"]
    assert (info.state, info.source) == ("TIMEOUT", "jobcomp")
    assert map_job_state(info, False) == (Status.ERROR, "time limit reached")


def test_forgotten_job_comes_from_sacct_when_accounting_exists(fake_bin: dict[str, str]) -> None:
    config = "AccountingStorageType   = accounting_storage/slurmdbd\nJobCompType = jobcomp/none\n"
    sacct = "9|9|OUT_OF_MEMORY|0:125|None|vm|2026-11-29T21:00:00|2026-11-29T21:01:00|60|10\n"
    fake = FakeSlurm("", config=config, sacct=sacct)
    client = SlurmClient(fake_bin, min_poll_interval=0.0, runner=fake)
    assert client.query(["9", "10"]) == {
        "9": parse_sacct(sacct)["9"],
        "10": JobInfo(job_id="10", state="UNKNOWN", source="none"),
    }
    assert fake.commands[-1][:5] == ["sacct", "-n", "-P", "-j", "9,10"]


def test_an_ended_job_is_read_from_sacct_when_accounting_exists(fake_bin: dict[str, str]) -> None:
    config = "AccountingStorageType   = accounting_storage/slurmdbd\n"
    scontrol = "JobId=5 JobState=CANCELLED ExitCode=0:15 NodeList=vm Reason=None\n"
    sacct = "5|5|CANCELLED by 1001|0:15|None|vm|2026-11-29T21:00:00|2026-11-29T21:01:00|60|10\n"
    fake = FakeSlurm(scontrol, config=config, sacct="")
    client = SlurmClient(fake_bin, min_poll_interval=0.0, runner=fake)
    # sacct has not recorded the end yet: scontrol's record, marked as settling (the executor
    # waits for the details), and sacct is asked again next time
    first = client.query(["5"])["5"]
    assert (first.source, first.settling, first.state) == ("scontrol", True, "CANCELLED")
    fake.sacct = sacct
    info = client.query(["5"])["5"]
    assert (info.source, info.cancelled_by, info.node_list) == ("sacct", 1001, "vm")
    assert map_job_state(info, False) == (
        Status.ERROR,
        "cancelled by Slurm or an administrator (uid 1001)",
    )
    assert not info.settling
    calls = len(fake.commands)
    client.query(["5"])  # a final record is kept: sacct is not asked again
    assert [c[0] for c in fake.commands[calls:]] == ["scontrol"]


def test_an_end_accounting_never_records_is_taken_from_scontrol_after_a_wait(
    fake_bin: dict[str, str],
) -> None:
    # slurmdbd is down or far behind: the end is not held back for ever
    config = "AccountingStorageType   = accounting_storage/slurmdbd\n"
    scontrol = "JobId=6 JobState=FAILED ExitCode=3:0 NodeList=vm Reason=NonZeroExitCode\n"
    now = [100.0]
    client = SlurmClient(
        fake_bin,
        min_poll_interval=0.0,
        runner=FakeSlurm(scontrol, config=config, sacct=""),
        clock=lambda: now[0],
    )
    assert client.query(["6"])["6"].settling
    now[0] += ACCOUNTING_WAIT_S - 0.1
    assert client.query(["6"])["6"].settling
    now[0] += 0.2
    info = client.query(["6"])["6"]
    assert (info.settling, info.source, info.exit_code) == (False, "scontrol", 3)
    assert map_job_state(info, False) == (Status.ERROR, "exit code 3")


def test_submit_reads_parsable_job_id_with_cluster(
    tmp_path: Path, fake_bin: dict[str, str]
) -> None:
    client = SlurmClient(fake_bin, runner=FakeSlurm(""))
    assert client.submit(tmp_path / "job.sh") == "123"


@pytest.mark.parametrize("action", ["submit", "query", "scancel"])
def test_missing_slurm_commands_say_what_to_install(tmp_path: Path, action: str) -> None:
    client = SlurmClient({"PATH": str(tmp_path)})  # a PATH without any Slurm command
    calls: dict[str, Callable[[], object]] = {
        "submit": lambda: client.submit(tmp_path / "job.sh"),
        "query": lambda: client.query(["1"]),
        "scancel": lambda: client.scancel("1"),
    }
    with pytest.raises(SlurmCommandMissing) as caught:
        calls[action]()
    assert isinstance(caught.value, SpawnFailed) and isinstance(caught.value, NbexpError)
    assert "not found: install Slurm's client commands (Debian: apt-get install slurm-client)" in (
        str(caught.value)
    )


# ---------------------------------------------------------------------------------------------
# Against a real Slurm
# ---------------------------------------------------------------------------------------------


def submit_python(
    client: SlurmClient, folder: Path, code: str, **options: object
) -> tuple[str, Path]:
    """Submit `python -c code` as a job; returns its id and log path."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "attempt.log"
    script = folder / "job.sh"
    settings: dict[str, Any] = {
        "argv": [sys.executable, "-c", code],
        "cwd": str(folder),
        "env": {},
        "log_path": str(log_path),
        "job_name": f"nbexp-{folder.name}",
        "partition": None,
        "time": None,
        "cpus": None,
        "mem": None,
        "gpus": None,
    }
    settings.update(options)
    write_batch_script(script, **settings)
    return client.submit(script), log_path


def wait_state(
    client: SlurmClient, job_id: str, done: Callable[[JobInfo], bool], timeout: float = 20.0
) -> JobInfo:
    deadline = time.monotonic() + timeout
    while True:
        info = client.query([job_id], max_age=0)[job_id]
        if done(info):
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {info} after {timeout} s")
        time.sleep(0.05)


def finished(info: JobInfo) -> bool:
    return not info.is_active


def running(info: JobInfo) -> bool:
    return info.state == "RUNNING"


PROGRESS_CODE = r"""
import os, sys, time
sys.stdout.write("cwd=" + os.getcwd() + " lr=" + os.environ["LR"] + "\n")
for step in range(1, 4):
    sys.stdout.write(f"\rstep {step}/3")
    time.sleep(0.05)
sys.stdout.write("\n")
sys.stderr.write("warning on stderr\n")
"""

# Prints once it has its handler, so the test knows a SIGTERM will be seen and ignored; then a
# heartbeat every 50 ms, so the test can tell when the process is really gone.
IGNORE_TERM_CODE = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: print("got TERM, ignoring it", flush=True))
print("ready", flush=True)
while True:
    print(".", end="", flush=True)
    time.sleep(0.05)
"""


def wait_for_text(log_path: Path, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not (log_path.exists() and text in log_path.read_text(errors="replace")):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared in {log_path}")
        time.sleep(0.05)


def wait_until_log_is_quiet(log_path: Path, *, quiet_for: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    size, since = log_path.stat().st_size, time.monotonic()
    while time.monotonic() - since < quiet_for:
        if time.monotonic() > deadline:
            raise AssertionError(f"{log_path} still growing after {timeout} s: process alive")
        time.sleep(0.1)
        if log_path.stat().st_size != size:
            size, since = log_path.stat().st_size, time.monotonic()


@pytest.mark.slurm
@pytest.mark.xdist_group("slurm")
class TestAgainstRealSlurm:
    def test_completed_job_keeps_carriage_returns_in_its_log(
        self, slurm_client: SlurmClient, tmp_path: Path
    ) -> None:
        job_id, log_path = submit_python(slurm_client, tmp_path, PROGRESS_CODE, env={"LR": "3e-4"})
        info = wait_state(slurm_client, job_id, finished)
        assert (info.state, info.exit_code) == ("COMPLETED", 0)
        assert map_job_state(info, stop_requested=False) == (Status.COMPLETED, None)
        assert info.node_list and info.start_time and info.end_time
        expected = f"cwd={tmp_path} lr=3e-4\n\rstep 1/3\rstep 2/3\rstep 3/3\nwarning on stderr\n"
        assert log_path.read_bytes() == expected.encode()

    def test_exit_code_3_is_an_error_with_its_code(
        self, slurm_client: SlurmClient, tmp_path: Path
    ) -> None:
        job_id, _ = submit_python(slurm_client, tmp_path, "import sys; sys.exit(3)")
        info = wait_state(slurm_client, job_id, finished)
        assert (info.state, info.exit_code) == ("FAILED", 3)
        assert map_job_state(info, stop_requested=False) == (Status.ERROR, "exit code 3")

    def test_scancel_of_a_sleeping_job_is_cancelled(
        self, slurm_client: SlurmClient, tmp_path: Path
    ) -> None:
        job_id, _ = submit_python(slurm_client, tmp_path, "import time; time.sleep(300)")
        wait_state(slurm_client, job_id, running)
        assert slurm_client.scancel(job_id)
        info = wait_state(slurm_client, job_id, finished)
        assert info.state == "CANCELLED"
        # With accounting the end is sacct's, which names who cancelled it (root, here).
        assert (info.source, info.cancelled_by) == ("sacct", 0)
        assert map_job_state(info, stop_requested=True) == (Status.INTERRUPTED, "stopped by user")
        assert map_job_state(info, stop_requested=False) == (
            Status.ERROR,
            "cancelled by Slurm or an administrator (uid 0)",
        )
        slurm_client.scancel(job_id)  # a second cancel of a finished job must not raise

    def test_cancel_ends_a_job_ignoring_sigterm_after_the_grace_period(
        self, slurm_client: SlurmClient, tmp_path: Path
    ) -> None:
        job_id, log_path = submit_python(slurm_client, tmp_path, IGNORE_TERM_CODE)
        wait_for_text(log_path, "ready")
        started = time.monotonic()
        info = slurm_client.cancel(job_id, grace=1.0)
        assert 1.0 <= time.monotonic() - started < 3.0
        assert info.state in ("COMPLETING", "CANCELLED")
        wait_for_text(log_path, "got TERM, ignoring it")
        # Slurm's SIGKILL comes KillWait (2 s here) after the cancel: the heartbeat must stop.
        wait_until_log_is_quiet(log_path, quiet_for=0.6, timeout=6.0)
        info = wait_state(slurm_client, job_id, finished)
        assert (info.state, info.signal) == ("CANCELLED", 9)
        assert map_job_state(info, stop_requested=True) == (Status.INTERRUPTED, "stopped by user")

    def test_cancel_returns_early_when_the_job_exits_on_sigterm(
        self, slurm_client: SlurmClient, tmp_path: Path
    ) -> None:
        job_id, log_path = submit_python(
            slurm_client, tmp_path, "import time; print('ready', flush=True); time.sleep(300)"
        )
        wait_for_text(log_path, "ready")
        started = time.monotonic()
        slurm_client.cancel(job_id, grace=10.0)
        assert time.monotonic() - started < 3.0
        info = wait_state(slurm_client, job_id, finished)
        assert info.signal == 15  # SIGTERM reached python itself: the script exec'd it

    def test_pending_gpu_job_waits_then_is_cancelled_at_once(
        self, slurm_client: SlurmClient, tmp_path: Path
    ) -> None:
        holder, _ = submit_python(
            slurm_client, tmp_path / "a", "import time; time.sleep(300)", gpus=1
        )
        try:
            wait_state(slurm_client, holder, running)
            waiter, _ = submit_python(slurm_client, tmp_path / "b", "print('never')", gpus=1)
            info = wait_state(slurm_client, waiter, lambda i: i.reason == "Resources")
            assert info.state == "PENDING"
            assert map_job_state(info, stop_requested=False) == (
                Status.QUEUED,
                "waiting for resources",
            )
            started = time.monotonic()
            info = slurm_client.cancel(waiter, grace=30.0)
            assert time.monotonic() - started < 1.0
            assert info.state == "CANCELLED"
            assert not (tmp_path / "b" / "attempt.log").exists()  # it never ran
        finally:
            slurm_client.scancel(holder)

    @pytest.mark.parametrize(
        ("options", "slurm_says"),
        [
            ({"partition": "no-such-partition"}, "Invalid partition name specified"),
            ({"gpus": 5}, "Requested node configuration is not available"),
        ],
    )
    def test_sbatch_refusal_raises_spawn_failed_in_slurms_words(
        self,
        slurm_client: SlurmClient,
        tmp_path: Path,
        options: dict[str, object],
        slurm_says: str,
    ) -> None:
        with pytest.raises(SpawnFailed) as caught:
            submit_python(slurm_client, tmp_path, "print('never')", **options)
        message = str(caught.value)
        assert message.startswith("Slurm refused the job: ")
        assert slurm_says in message and "\n" not in message

    def test_unreachable_cluster_says_how_to_configure(
        self, slurm_cluster: SlurmCluster, tmp_path: Path
    ) -> None:
        env = {**slurm_cluster.client_env(), "SLURM_CONF": str(tmp_path / "missing.conf")}
        client = SlurmClient(env)
        with pytest.raises(SpawnFailed, match=r"set SLURM_CONF to your cluster's slurm\.conf"):
            submit_python(client, tmp_path, "print('never')")

    def test_many_jobs_are_queried_in_one_scontrol_call(
        self, slurm_client: SlurmClient, tmp_path: Path
    ) -> None:
        # --hold keeps them PENDING without using the node, so the test stays fast.
        job_ids = [
            submit_python(slurm_client, tmp_path / str(n), "print(1)", extra=["--hold"])[0]
            for n in range(20)
        ]
        try:
            client = SlurmClient(slurm_client.env, min_poll_interval=5.0)
            jobs = client.query(job_ids)
            assert client.calls == 1
            assert sorted(jobs) == sorted(job_ids)
            assert {(info.state, info.reason) for info in jobs.values()} == {
                ("PENDING", "JobHeldUser")
            }
            assert client.query(job_ids[:5]) == {j: jobs[j] for j in job_ids[:5]}
            assert client.calls == 1  # within the interval: served from the snapshot
        finally:
            for job_id in job_ids:
                slurm_client.scancel(job_id)

    def test_a_forgotten_job_comes_from_sacct_then_the_jobcomp_file(
        self, slurm_cluster: SlurmCluster, slurm_client: SlurmClient, tmp_path: Path
    ) -> None:
        job_id, _ = submit_python(slurm_client, tmp_path, "import sys; sys.exit(4)")
        wait_state(slurm_client, job_id, finished)

        def forgetful(
            without_sacct: bool,
        ) -> Callable[[list[str], Mapping[str, str]], subprocess.CompletedProcess[str]]:
            def run(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
                # scontrol after MinJobAge: the job is gone from the controller's memory.
                if argv[1:] == ["show", "-o", "job"]:
                    return subprocess.CompletedProcess(argv, 0, "No jobs in the system\n", "")
                if without_sacct and Path(argv[0]).name == "sacct":  # slurmdbd is down
                    return subprocess.CompletedProcess(argv, 1, "", "sacct: error: down\n")
                return subprocess.run(argv, capture_output=True, text=True, env=dict(env))

            return run

        client = SlurmClient(slurm_client.env, min_poll_interval=0.0, runner=forgetful(False))
        info = client.query([job_id])[job_id]
        assert (info.source, info.state, info.exit_code) == ("sacct", "FAILED", 4)
        client = SlurmClient(slurm_client.env, min_poll_interval=0.0, runner=forgetful(True))
        assert client.jobcomp_path() == str(slurm_cluster.jobcomp_path)
        info = client.query([job_id])[job_id]
        assert (info.source, info.state, info.exit_code) == ("jobcomp", "FAILED", 4)
        assert map_job_state(info, stop_requested=False) == (Status.ERROR, "exit code 4")
