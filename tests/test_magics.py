"""The IPython magics in a real IPython shell: run, ls, logs, stop, %%exp run, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbexp import Status

from .conftest import wait_for

IPython = pytest.importorskip("IPython")


@pytest.fixture
def shell(home: Path):  # type: ignore[no-untyped-def]
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "nbexp")
    yield ip
    ip.run_line_magic("unload_ext", "nbexp")


def test_run_ls_logs_stop(shell, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    exp = shell.run_line_magic("exp", "run -n hello -- python -c \"print('hi')\"")
    assert exp.wait(timeout=20).status is Status.COMPLETED
    capsys.readouterr()
    shell.run_line_magic("exp", "ls")
    listing = capsys.readouterr().out
    assert "hello" in listing and "completed" in listing
    shell.run_line_magic("exp", f"logs {exp.id}")
    assert capsys.readouterr().out == "hi\n"
    sleeper = shell.run_line_magic("exp", "run -- sleep 30")
    stopped = shell.run_line_magic("exp", f"stop {sleeper.id} --grace 1")
    assert stopped.status is Status.INTERRUPTED


def test_run_wait_and_logs_n_0(shell, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    exp = shell.run_line_magic("exp", "run --wait -- python -c \"print('done')\"")
    assert exp.status is Status.COMPLETED  # waited: no wait() needed
    capsys.readouterr()
    shell.run_line_magic("exp", f"logs {exp.id} -n 0")
    assert capsys.readouterr().out.strip() == ""


def test_cell_magic_runs_the_body_as_a_script(shell, home: Path) -> None:  # type: ignore[no-untyped-def]
    exp = shell.run_cell_magic("exp", "run -n cellrun", "import sys\nprint('from a cell', 6 * 7)\n")
    assert exp.wait(timeout=20).status is Status.COMPLETED
    assert exp.logs() == ["from a cell 42"]
    assert exp.name == "cellrun"
    script = Path(exp.command[-1])
    assert script.parent == home / "scripts" and "6 * 7" in script.read_text()


def test_errors_are_one_line(shell, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert shell.run_line_magic("exp", "stop 99") is None
    err = capsys.readouterr().err
    assert err == "nbexp: no experiment with id 99 (see `nbexp list`)\n"
    assert shell.run_line_magic("exp", "run") is None
    assert "no command given" in capsys.readouterr().err
    assert shell.run_line_magic("exp", "bogus") is None
    assert "invalid choice" in capsys.readouterr().err
    shell.run_line_magic("exp", "run --help")
    assert "%exp run" in capsys.readouterr().out


def test_unload_stops_the_monitor(shell) -> None:  # type: ignore[no-untyped-def]
    from nbexp import _magics
    from nbexp._ui.monitor import shared_monitor

    manager = _magics._get_manager()
    monitor = shared_monitor(manager)
    monitor.start()
    wait_for(lambda: monitor.running)
    shell.run_line_magic("unload_ext", "nbexp")
    assert not monitor.running
    shell.run_line_magic("load_ext", "nbexp")


def test_interrupt_stops_following_not_the_kernel(
    shell, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from nbexp import _magics

    def interrupted(line: str, cell: str | None) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_magics, "_dispatch", interrupted)
    assert shell.run_line_magic("exp", "logs -f 1") is None
    assert capsys.readouterr().err == "nbexp: interrupted; experiments keep running\n"
