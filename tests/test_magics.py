"""The IPython magics in a real IPython shell: run, ls, logs, stop, %%exp run, errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nbexp import Experiment, Status

from .conftest import cli, kill_pids, processes_of_home, wait_for

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
    assert err == "%exp: no experiment with id 99 (see `%exp list`)\n"
    assert shell.run_line_magic("exp", "run") is None
    assert "no command given" in capsys.readouterr().err
    assert shell.run_line_magic("exp", "bogus") is None
    assert "invalid choice" in capsys.readouterr().err
    shell.run_line_magic("exp", "run --help")
    assert "%exp run" in capsys.readouterr().out


def test_unload_stops_the_monitor(shell) -> None:  # type: ignore[no-untyped-def]
    from nbexp import _magics
    from nbexp._ui.monitor import shared_monitor

    manager = _magics.manager_for(None)
    monitor = shared_monitor(manager.service)
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
    assert capsys.readouterr().err == "%exp: interrupted; experiments keep running\n"


# -- %%exp run: unique scripts, checked first, removed with their experiment (#15) ------------


def test_two_cells_in_the_same_second_both_run(shell, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(time, "strftime", lambda *args: "20240101-000000")  # one second
    first = shell.run_cell_magic("exp", "run -n a", "print('a')\n")
    second = shell.run_cell_magic("exp", "run -n b", "print('b')\n")
    assert isinstance(first, Experiment) and isinstance(second, Experiment)
    assert first.command[-1] != second.command[-1]
    assert first.wait(timeout=20).logs() == ["a"]
    assert second.wait(timeout=20).logs() == ["b"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--gpus ²", "bad --gpus value"),
        ("--tty 0x0", "tty size must be"),
        ("--env NOEQUALS", "bad --env 'NOEQUALS'"),
        ("--time 1:00", "time only applies to Slurm"),
        ("--cwd /no/such/dir", "working directory does not exist"),
        ("--after 42", "no experiment with id 42"),
        ("--bogus", "unrecognized arguments: --bogus"),
        ("-- python x.py", "takes options only"),
    ],
)
def test_a_cell_with_bad_options_writes_no_script(  # type: ignore[no-untyped-def]
    shell, home: Path, capsys: pytest.CaptureFixture[str], options: str, message: str
) -> None:
    assert shell.run_cell_magic("exp", f"run {options}", "print(1)\n") is None
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    scripts = home / "scripts"
    assert not scripts.exists() or list(scripts.iterdir()) == []
    assert cli(home, "ls", "--json").stdout.strip() == "[]"


def test_a_cell_refused_at_start_leaves_nothing_behind(  # type: ignore[no-untyped-def]
    shell, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NBEXP_SIMULATED_GPUS", "1")
    holder = shell.run_line_magic("exp", "run -g 0, -- sleep 30")
    assert holder.status is Status.RUNNING
    assert shell.run_cell_magic("exp", "run -g 0,", "print(1)\n") is None
    assert "GPU 0" in capsys.readouterr().err
    assert list((home / "scripts").iterdir()) == []
    assert [e.id for e in holder.manager.list()] == [holder.id]


def test_rm_deletes_a_cells_script(shell, home: Path) -> None:  # type: ignore[no-untyped-def]
    cells = [shell.run_cell_magic("exp", "run", f"print({i})\n") for i in range(3)]
    scripts = [Path(c.wait(timeout=20).command[-1]) for c in cells]
    assert all(s.exists() and s.parent == home / "scripts" for s in scripts)
    shell.run_line_magic("exp", f"rm {cells[0].id}")
    assert not scripts[0].exists()
    assert cli(home, "rm", str(cells[1].id)).returncode == 0
    assert not scripts[1].exists()
    assert cli(home, "rm", "--keep-logs", str(cells[2].id)).returncode == 0
    assert scripts[2].exists()  # kept with the logs it produced


def test_rm_leaves_a_script_another_experiment_still_runs(shell, home: Path) -> None:  # type: ignore[no-untyped-def]
    cell = shell.run_cell_magic("exp", "run", "print(1)\n").wait(timeout=20)
    script = cell.command[-1]
    again = shell.run_line_magic("exp", f"run -- python {script}").wait(timeout=20)
    shell.run_line_magic("exp", f"rm {cell.id}")
    assert Path(script).exists() and again.logs() == ["1"]


# -- one manager per home: --home and the current NBEXP_HOME (#17) ----------------------------


def test_home_is_honoured_per_call(  # type: ignore[no-untyped-def]
    shell, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    other = tmp_path / "other-home"
    try:
        exp = shell.run_line_magic("exp", f"--home {other} run -n elsewhere -- true")
        assert exp.manager.home == other and exp.wait(timeout=20).status is Status.COMPLETED
        capsys.readouterr()
        shell.run_line_magic("exp", "ls")
        assert "no experiments yet" in capsys.readouterr().out
        shell.run_line_magic("exp", f"--home {other} ls")
        assert "elsewhere" in capsys.readouterr().out
        monkeypatch.setenv("NBEXP_HOME", str(other))
        shell.run_line_magic("exp", "ls")
        assert "elsewhere" in capsys.readouterr().out
        cell = shell.run_cell_magic("exp", f"--home {home} run -n cellhome", "print(1)\n")
        assert cell.manager.home == home
        assert Path(cell.command[-1]).parent == home / "scripts"
    finally:
        kill_pids(processes_of_home(other))


# -- every message inside %exp says %exp (#23) ------------------------------------------------


def test_messages_inside_exp_name_exp(shell, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    shell.run_line_magic("exp", "start")
    err = capsys.readouterr().err
    assert err.startswith("%exp start: error: ") and err.endswith("(see %exp start --help)\n")
    shell.run_line_magic("exp", "stop")
    assert capsys.readouterr().err == "%exp: error: which experiment? %exp stop ID (or --group G)\n"
    shell.run_line_magic("exp", "run")
    assert capsys.readouterr().err == (
        "%exp: error: no command given: %exp run [options] -- CMD ARGS…\n"
    )
    shell.run_line_magic("exp", "ls")
    assert capsys.readouterr().out == "no experiments yet: start one with %exp run -- CMD\n"
    sleeper = shell.run_line_magic("exp", "run -- sleep 30")
    shell.run_line_magic("exp", f"wait {sleeper.id} --timeout 0.1")
    assert (
        capsys.readouterr().err == f"%exp: experiment {sleeper.id} is still running after 0.1 s\n"
    )
    shell.run_line_magic("exp", "--help")
    assert "%exp" in capsys.readouterr().out
    for line in ("stop", "run", f"wait {sleeper.id} --timeout 0.1", "show abc", "logs 1 -n -1"):
        shell.run_line_magic("exp", line)
        captured = capsys.readouterr()
        assert "nbexp" not in captured.err + captured.out, (line, captured)


def test_suggested_commands_become_magics() -> None:
    from nbexp._magics import in_magics

    assert in_magics("corrupt row in the store (bad json); remove it with nbexp rm 3") == (
        "corrupt row in the store (bad json); remove it with %exp rm 3"
    )
    assert in_magics("no experiment with id 9 (see `nbexp list`)").endswith("(see `%exp list`)")
    kept = "cannot use the nbexp database /x: the nbexp home is not a folder"
    assert in_magics(kept) == kept


# -- %exp logs -f in a notebook shows a live card (#24) ---------------------------------------


def test_notebook_frontends_are_recognised(shell) -> None:  # type: ignore[no-untyped-def]
    from nbexp._magics import in_notebook

    class ZMQInteractiveShell:  # the class ipykernel's shell has
        pass

    class Subclass(ZMQInteractiveShell):
        pass

    assert in_notebook(ZMQInteractiveShell()) and in_notebook(Subclass())
    assert not in_notebook(shell) and not in_notebook(None) and not in_notebook(object())


def test_logs_follow_in_a_notebook_returns_the_live_card(  # type: ignore[no-untyped-def]
    shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbexp import _magics

    monkeypatch.setattr(_magics, "in_notebook", lambda shell: True)
    sleeper = shell.run_line_magic("exp", "run -- sleep 30")
    started = time.monotonic()
    shown = shell.run_line_magic("exp", f"logs -f {sleeper.id}")
    assert time.monotonic() - started < 5  # did not block following
    assert isinstance(shown, Experiment) and shown == sleeper


def test_logs_follow_in_a_terminal_ipython_prints(  # type: ignore[no-untyped-def]
    shell, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = shell.run_line_magic("exp", "run -- python -c \"print('followed')\"").wait(timeout=20)
    capsys.readouterr()
    assert shell.run_line_magic("exp", f"logs -f {exp.id}") is None
    assert capsys.readouterr().out == "followed\n"


# -- %exp config (#21) ------------------------------------------------------------------------


def test_config_through_the_magic(shell, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    shell.run_line_magic("exp", "config max_parallel_cpu 2")
    assert capsys.readouterr().out == "max_parallel_cpu 2\n"
    shell.run_line_magic("exp", "config max_parallel_cpu")
    assert capsys.readouterr().out == "2\n"
    shell.run_line_magic("exp", "config bogus 1")
    assert capsys.readouterr().err.startswith("%exp: error: unknown setting 'bogus'")
