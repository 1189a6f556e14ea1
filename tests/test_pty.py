"""Pty mode: the command sees a terminal of the asked size; its output still lands in the log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nbexp import ExperimentManager, Status, UsageError

from .conftest import EXAMPLES, cli, python_command

PROBE = (
    "import os, shutil, sys\n"
    "print('isatty', sys.stdout.isatty(), sys.stderr.isatty())\n"
    "print('size', *os.get_terminal_size())\n"
    "print('\\x1b[31mred\\x1b[0m')\n"
    "sys.stderr.write('to stderr\\n')\n"
)


def test_plain_mode_is_not_a_terminal(manager: ExperimentManager) -> None:
    exp = manager.run(python_command("import sys; print(sys.stdout.isatty())")).wait(timeout=20)
    assert exp.logs() == ["False"]


def test_tty_mode_default_size(manager: ExperimentManager) -> None:
    exp = manager.run(python_command(PROBE), tty=True).wait(timeout=20)
    assert exp.status is Status.COMPLETED, exp.logs()
    assert exp.logs() == ["isatty True True", "size 120 40", "red", "to stderr"]
    raw = Path(exp.log_path).read_bytes()
    assert b"\x1b[31mred\x1b[0m\r\n" in raw  # the terminal's own CR LF and the colour codes


def test_tty_size_from_the_cli(home: Path) -> None:
    result = cli(home, "run", "--tty", "80x24", "--wait", "--", sys.executable, "-c", PROBE)
    assert result.returncode == 0
    assert cli(home, "logs", "1").stdout.splitlines()[1] == "size 80 24"
    bad = cli(home, "run", "--tty", "wide", "--", "true")
    assert bad.returncode == 2 and "bad --tty size" in bad.stderr


def test_tty_sizes_a_terminal_cannot_have_are_refused_before_starting(
    manager: ExperimentManager,
) -> None:
    for size in [(70000, 40), (0, 24), (True, 24), (80, 24, 1), "80x24"]:
        with pytest.raises(UsageError, match="ints from 1 to 65535"):
            manager.create(["true"], tty=size)  # type: ignore[arg-type]
    assert manager.records() == []
    exp = manager.run(python_command(PROBE), tty=[65535, 1]).wait(timeout=20)
    assert exp.status is Status.COMPLETED and "size 65535 1" in exp.logs()


def test_tty_mode_stop_and_exit_code(manager: ExperimentManager) -> None:
    failed = manager.run(python_command("raise SystemExit(4)"), tty=True).wait(timeout=20)
    assert failed.status is Status.ERROR and failed.exit_code == 4
    exp = manager.run([sys.executable, str(EXAMPLES / "workers.py"), "--workers", "1"], tty=True)
    from .conftest import wait_for

    wait_for(
        lambda: any(line.startswith("worker 0 pid") for line in exp.logs()),
        timeout=30,
        describe=lambda: (exp.record, exp.logs()),
    )
    manager.stop(exp.id, grace=2)
    assert exp.status is Status.INTERRUPTED


def test_tty_spawn_failure(manager: ExperimentManager, tmp_path: Path) -> None:
    exp = manager.create(["no-such-program-xyz"], tty=True)
    manager.service.local.problem = lambda record, attempt: None  # type: ignore[method-assign]
    manager.start(exp.id)
    assert exp.wait(timeout=10).status is Status.ERROR
    assert exp.error == "failed to start: command not found: no-such-program-xyz"
