"""Experiments through their states with real processes: complete, fail, stop, restart, spawn
failures, what the child sees."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from nbexp import (
    ExperimentManager,
    InvalidTransition,
    NotFound,
    SpawnFailed,
    Status,
    UsageError,
)

from .conftest import EXAMPLES, python_command, wait_for


def test_completes_with_full_log(manager: ExperimentManager) -> None:
    exp = manager.run(python_command("import sys\nfor i in range(1000): print('line', i)"))
    assert exp.wait(timeout=20).status is Status.COMPLETED
    assert exp.exit_code == 0 and exp.error is None and exp.attempt == 1
    lines = exp.logs()
    assert lines[0] == "line 0" and lines[-1] == "line 999" and len(lines) == 1000
    assert exp.logs(tail=2) == ["line 998", "line 999"]
    assert exp.runtime is not None and exp.runtime >= 0
    assert [h.to_status for h in exp.history()] == [
        Status.PENDING,
        Status.RUNNING,
        Status.COMPLETED,
    ]


def test_example_training_script(manager: ExperimentManager) -> None:
    exp = manager.run(
        [
            sys.executable,
            str(EXAMPLES / "train_tqdm.py"),
            "--epochs",
            "2",
            "--steps",
            "5",
            "--delay",
            "0",
        ]
    )
    assert exp.wait(timeout=30).status is Status.COMPLETED
    lines = exp.logs()
    assert lines[-1] == "done"
    assert any(line.startswith("epoch 2: loss=") for line in lines)


def test_failure_records_exit_code_and_traceback(manager: ExperimentManager) -> None:
    exp = manager.run([sys.executable, str(EXAMPLES / "fail.py")])
    assert exp.wait(timeout=20).status is Status.ERROR
    assert exp.exit_code == 1
    assert exp.error == "exit code 1"
    text = "\n".join(exp.logs())
    assert "Traceback" in text and "ValueError: corrupt record in shard 00003" in text


def test_death_by_signal_is_named(manager: ExperimentManager) -> None:
    exp = manager.run(python_command("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"))
    assert exp.wait(timeout=20).status is Status.ERROR
    assert exp.error == "killed by SIGSEGV"
    assert exp.record.signal == signal.SIGSEGV and exp.exit_code is None


def test_stop_interrupts(manager: ExperimentManager) -> None:
    exp = manager.run(["sleep", "60"])
    pid = wait_for(lambda: exp.pid)
    stopped = manager.stop(exp.id, grace=5)
    assert stopped.status is Status.INTERRUPTED
    assert stopped.error == "stopped by user"
    assert not _alive(pid)


def test_restart_keeps_every_attempts_log(manager: ExperimentManager, tmp_path: Path) -> None:
    flag = tmp_path / "second-time"
    code = (
        "import os, sys, time\n"
        f"flag = {str(flag)!r}\n"
        "print('attempt', os.environ['NBEXP_ATTEMPT'])\n"
        "if not os.path.exists(flag):\n"
        "    open(flag, 'w').close(); sys.exit(2)\n"
        "time.sleep(60)\n"
    )
    exp = manager.run(python_command(code))
    assert exp.wait(timeout=20).status is Status.ERROR
    assert exp.error == "exit code 2"
    manager.restart(exp.id)
    assert exp.attempt == 2 and exp.status is Status.RUNNING
    wait_for(lambda: exp.logs() == ["attempt 2"])
    manager.stop(exp.id, grace=2)
    assert exp.status is Status.INTERRUPTED
    manager.restart(exp.id)
    assert exp.attempt == 3
    wait_for(lambda: exp.logs() == ["attempt 3"])
    manager.stop(exp.id, grace=2)
    assert manager.logs(exp.id, attempt=1) == ["attempt 1"]
    assert manager.logs(exp.id, attempt=2) == ["attempt 2"]
    assert manager.logs(exp.id, attempt=3) == ["attempt 3"]
    attempts = manager.store.attempts(exp.id)
    assert [(a.attempt, a.status) for a in attempts] == [
        (1, Status.ERROR),
        (2, Status.INTERRUPTED),
        (3, Status.INTERRUPTED),
    ]
    assert len({a.log_path for a in attempts}) == 3


def test_child_environment(manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "2")
    code = (
        "import os\n"
        "for k in ('PYTHONUNBUFFERED', 'NBEXP_EXPERIMENT_ID', 'NBEXP_ATTEMPT',\n"
        "          'CUDA_VISIBLE_DEVICES', 'CUDA_DEVICE_ORDER', 'MY_SETTING'):\n"
        "    print(k, os.environ.get(k))\n"
        "print('cwd', os.getcwd())\n"
    )
    workdir = Path(__file__).parent
    exp = manager.run(
        python_command(code), gpus=[1, 0], env={"MY_SETTING": "x y"}, cwd=workdir, name="env"
    )
    exp.wait(timeout=20)
    assert exp.logs() == [
        "PYTHONUNBUFFERED 1",
        f"NBEXP_EXPERIMENT_ID {exp.id}",
        "NBEXP_ATTEMPT 1",
        "CUDA_VISIBLE_DEVICES 1,0",
        "CUDA_DEVICE_ORDER PCI_BUS_ID",
        "MY_SETTING x y",
        f"cwd {workdir}",
    ]
    assert exp.name == "env"


def test_string_command_is_split_without_a_shell(manager: ExperimentManager) -> None:
    exp = manager.run("echo 'a  b' $HOME")
    exp.wait(timeout=10)
    assert exp.logs() == ["a  b $HOME"]
    shell = manager.run("echo $((6 * 7)) | cat", shell=True)
    shell.wait(timeout=10)
    assert shell.logs() == ["42"]


@pytest.mark.parametrize(
    ("command", "cwd_kind", "message"),
    [
        (["no-such-program-xyz"], "ok", "command not found: no-such-program-xyz"),
        (["./not-executable.sh"], "ok", "permission denied"),
        (["./missing.sh"], "ok", "command not found: ./missing.sh"),
    ],
)
def test_spawn_failures_are_errors_in_words(
    manager: ExperimentManager, tmp_path: Path, command: list[str], cwd_kind: str, message: str
) -> None:
    (tmp_path / "not-executable.sh").write_text("echo hi\n")
    with pytest.raises(SpawnFailed, match=message):
        manager.run(command, cwd=tmp_path)
    record = manager.records()[-1]
    assert record.status is Status.ERROR and message in (record.error or "")


def test_missing_cwd_refused(manager: ExperimentManager, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="working directory does not exist"):
        manager.run(["true"], cwd=tmp_path / "nope")
    assert manager.records() == []


def test_cwd_removed_before_start_is_a_spawn_error(
    manager: ExperimentManager, tmp_path: Path
) -> None:
    workdir = tmp_path / "w"
    workdir.mkdir()
    exp = manager.create(["true"], cwd=workdir)
    workdir.rmdir()
    with pytest.raises(SpawnFailed, match="working directory does not exist"):
        manager.start(exp.id)
    assert exp.status is Status.ERROR


def test_runner_reports_spawn_failure_itself(manager: ExperimentManager, tmp_path: Path) -> None:
    # The check before launching passes, but the program is gone by the time the runner execs.
    script = tmp_path / "vanishing.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    exp = manager.create([str(script)])
    manager.service.local.problem = lambda record, attempt: None  # type: ignore[method-assign]
    script.unlink()
    manager.start(exp.id)
    assert exp.wait(timeout=10).status is Status.ERROR
    assert exp.error == f"failed to start: command not found: {script}"
    assert exp.logs() == [f"nbexp: command not found: {script}"]


def test_bad_input(manager: ExperimentManager) -> None:
    with pytest.raises(UsageError, match="no command given"):
        manager.run("")
    with pytest.raises(UsageError, match="no command given"):
        manager.run([])
    with pytest.raises(NotFound, match="no experiment with id 99"):
        manager.get(99)
    with pytest.raises(UsageError, match="not a GPU index"):
        manager.create(["true"], gpus=["zero"])
    with pytest.raises(UsageError, match=r"gpus must be a count .* not 1\.5"):
        manager.create(["true"], gpus=1.5)  # type: ignore[arg-type]
    done = manager.run(["true"]).wait(timeout=10)
    with pytest.raises(
        InvalidTransition,
        match=r"cannot stop experiment .*: it is completed; allowed now: restart, remove",
    ):
        manager.stop(done.id)
    running = manager.run(["sleep", "30"])
    with pytest.raises(
        InvalidTransition, match=r"cannot remove .* it is running; allowed now: pause, stop"
    ):
        manager.remove(running.id)
    with pytest.raises(InvalidTransition, match="it is running"):
        manager.start(running.id)
    manager.stop(running.id, grace=1)
    manager.remove(running.id)
    with pytest.raises(NotFound):
        manager.get(running.id)


def test_env_values_are_strings_numbers_or_paths(manager: ExperimentManager) -> None:
    code = "import os; print(os.environ['SEED'], os.environ['DATA'], os.environ['LR'])"
    exp = manager.run(python_command(code), env={"SEED": 1, "DATA": Path("/d"), "LR": 3e-4})
    assert exp.wait(timeout=20).logs() == ["1 /d 0.0003"]
    for bad in (None, b"bytes", True, ["a"], "nul\0byte"):
        with pytest.raises(UsageError, match="environment variable X must be a string"):
            manager.create(["true"], env={"X": bad})  # type: ignore[dict-item]
    with pytest.raises(UsageError, match="invalid environment variable name 1"):
        manager.create(["true"], env={1: "x"})  # type: ignore[dict-item]


def test_nan_grace_and_negative_tail_are_refused(manager: ExperimentManager) -> None:
    running = manager.run(["sleep", "30"])
    with pytest.raises(
        UsageError, match="grace period must be a finite number of seconds >= 0, not nan"
    ):
        manager.stop(running.id, grace=float("nan"))
    assert running.status is Status.RUNNING
    with pytest.raises(UsageError, match="tail must be a whole number >= 0, not -2"):
        manager.logs(running.id, tail=-2)
    manager.stop(running.id, grace=1)


def test_names_are_one_line_of_printable_text(manager: ExperimentManager) -> None:
    for bad in ("two\nlines", "tab\there", "\x1b[31mred"):
        with pytest.raises(UsageError, match="name must be one line of printable text"):
            manager.create(["true"], name=bad)
    assert manager.create(["true"], name="lr 3e-4 · β=0.9").name == "lr 3e-4 · β=0.9"


def test_uv_runs_the_command_in_its_project(manager: ExperimentManager, tmp_path: Path) -> None:
    if not _which("uv"):
        pytest.skip("uv is not on PATH")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0"\nrequires-python = ">=3.10"\ndependencies = []\n'
    )
    exp = manager.run(
        ["python", "-c", "import sys; print(sys.prefix)"],
        uv=True,
        cwd=project,
        env={"UV_OFFLINE": "1", "UV_PYTHON": sys.executable},
    )
    assert exp.wait(timeout=120).status is Status.COMPLETED, exp.logs()
    assert exp.logs()[-1] == str(project / ".venv")


def _which(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None


def _alive(pid: int) -> bool:
    from nbexp._io import proc as _proc

    return _proc.is_alive(pid)


def test_pid_of_process_tree_root_is_recorded(manager: ExperimentManager) -> None:
    exp = manager.run(["sleep", "30"])
    pid = wait_for(lambda: exp.pid)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"
    assert os.getpgid(pid) == pid  # its own process group
    manager.stop(exp.id, grace=1)


def test_stop_right_after_run_is_interrupted_not_lost(manager: ExperimentManager) -> None:
    # The runner needs a moment to install its signal handlers; stop must wait for that.
    for _ in range(3):
        exp = manager.run(["sleep", "30"])
        assert manager.stop(exp.id, grace=1).status is Status.INTERRUPTED
        assert exp.error == "stopped by user"


def test_python_api_input_checks(manager: ExperimentManager) -> None:
    with pytest.raises(NotFound):
        manager.get("abc")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="priority must be an integer"):
        manager.create(["true"], priority="x")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="after must be a list of experiment ids"):
        manager.create(["true"], after="12")  # type: ignore[arg-type]
    running = manager.run(["sleep", "30"])
    with pytest.raises(UsageError, match="finite"):
        manager.stop(running.id, grace=float("inf"))
    with pytest.raises(UsageError, match="timeout must be a finite number of seconds >= 0"):
        manager.wait(running.id, timeout=float("nan"))
    manager.stop(running.id, grace=1)


def test_a_refused_run_leaves_nothing_behind(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbexp import GpuConflict, GpuUnavailable

    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "1")
    manager.run(["sleep", "30"], gpus=[0])
    with pytest.raises(GpuConflict):
        manager.run(["true"], gpus=[0])
    with pytest.raises(GpuUnavailable):
        manager.run(["true"], gpus=[5])
    with pytest.raises(GpuUnavailable, match="asks for 5 GPUs"):
        manager.run(["true"], gpus=5, force=True)
    assert [r.status for r in manager.records()] == [Status.RUNNING]
