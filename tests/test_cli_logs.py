"""`nbexp logs -f`, the progress column of `nbexp list`, `show --json`'s progress and
Experiment.progress, on a real running tqdm job."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from nbexp import ExperimentManager, Status
from nbexp.terminal import render

from .conftest import EXAMPLES, NBEXP_CLI, cli, wait_for

SLOW_TRAINING = [
    sys.executable,
    str(EXAMPLES / "train_tqdm.py"),
    "--epochs",
    "2",
    "--steps",
    "40",
    "--delay",
    "0.05",
]


def test_progress_everywhere_while_it_runs(manager: ExperimentManager) -> None:
    exp = manager.run(SLOW_TRAINING)
    progress = wait_for(
        lambda: exp.progress if exp.progress and exp.progress.n else None,
        timeout=30,
        describe=exp.logs,
    )
    assert progress.total == 40 and progress.description == "epoch 1"
    assert "loss" in progress.metrics
    row = cli(manager.home, "list").stdout.splitlines()[1]
    assert "%" in row  # the PROGRESS column
    shown = json.loads(cli(manager.home, "show", str(exp.id), "--json").stdout)
    assert shown["progress"]["total"] == 40 and shown["progress"]["n"] >= 1
    manager.stop(exp.id, grace=1)


def test_follow_without_a_terminal_prints_settled_lines(manager: ExperimentManager) -> None:
    exp = manager.run(SLOW_TRAINING)
    result = cli(manager.home, "logs", "-f", str(exp.id), timeout=120)
    assert result.returncode == 0
    assert exp.status is Status.COMPLETED
    assert result.stdout.splitlines() == exp.logs()


def test_follow_on_a_terminal_redraws_bars_in_place(manager: ExperimentManager) -> None:
    exp = manager.run(SLOW_TRAINING)
    wait_for(lambda: exp.logs(), timeout=30)
    main, secondary = pty.openpty()
    env = dict(os.environ, NBEXP_HOME=str(manager.home), COLUMNS="120", LINES="40")
    follower = subprocess.Popen(
        [*NBEXP_CLI, "logs", "-f", str(exp.id)],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            elif follower.poll() is not None:
                break
    finally:
        follower.kill()
        follower.wait()
        os.close(main)
    assert exp.status is Status.COMPLETED
    final = exp.logs()
    # Bars were redrawn (carriage returns or cursor moves) ...
    assert output.count(b"\r") + output.count(b"\x1b[") > 10
    # ... in place: the user's terminal ends up showing exactly the log's lines, each once,
    # not one line per update (rendered as a terminal would, from the raw bytes it received).
    assert render(output) == final
    assert b"done" in output


def test_follow_a_finished_experiment_and_tail(manager: ExperimentManager) -> None:
    exp = manager.run([sys.executable, "-c", "for i in range(10): print(i)"]).wait(timeout=20)
    result = cli(manager.home, "logs", "-f", "--tail", "3", str(exp.id))
    assert result.stdout == "7\n8\n9\n"
    assert Path(exp.log_path).exists()


def test_follow_the_running_attempt_by_number_follows_it(manager: ExperimentManager) -> None:
    # #19: `--attempt N`, N being the running attempt, returned at once.
    code = "import time\nfor i in range(15):\n    print(i, flush=True); time.sleep(0.1)"
    exp = manager.run([sys.executable, "-c", code])
    wait_for(lambda: exp.logs(), timeout=30)
    result = cli(manager.home, "logs", "-f", "--attempt", "1", str(exp.id), timeout=60)
    assert result.returncode == 0, result.stderr
    assert exp.status is Status.COMPLETED
    assert result.stdout.splitlines() == [str(i) for i in range(15)]


def test_follow_an_earlier_attempt_returns_once_printed(manager: ExperimentManager) -> None:
    exp = manager.run([sys.executable, "-c", "print('first')"]).wait(timeout=20)
    manager.restart(exp.id)
    result = cli(manager.home, "logs", "-f", "--attempt", "1", str(exp.id), timeout=20)
    assert result.returncode == 0 and result.stdout == "first\n"


# -- colour: on a terminal, none in a pipe, --color always|never|auto, NO_COLOR (#22) ---------

RED_THEN_PLAIN = "print('\\x1b[31mred\\x1b[0m plain')"
SGR_RED = "\x1b[31mred"


def on_a_terminal(home: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """What `nbexp ARGS` writes to a terminal (a pty), until it exits."""
    main, secondary = pty.openpty()
    environment = dict(env if env is not None else os.environ, NBEXP_HOME=str(home))
    environment.update(COLUMNS="120", LINES="40")
    process = subprocess.Popen(
        [*NBEXP_CLI, *args], stdin=secondary, stdout=secondary, stderr=secondary,
        env=environment, close_fds=True,
    )  # fmt: skip
    os.close(secondary)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        process.kill()
        process.wait()
        os.close(main)
    return output.decode()


def test_logs_are_coloured_on_a_terminal_and_plain_in_a_pipe(manager: ExperimentManager) -> None:
    exp = manager.run([sys.executable, "-c", RED_THEN_PLAIN]).wait(timeout=20)
    assert cli(manager.home, "logs", str(exp.id)).stdout == "red plain\n"
    for args in (["logs"], ["logs", "-f"], ["logs", "--color", "auto"]):
        shown = on_a_terminal(manager.home, *args, str(exp.id))
        assert SGR_RED in shown, (args, shown)
        assert render(shown.encode()) == ["red plain"]


def test_color_always_and_never(manager: ExperimentManager) -> None:
    exp = manager.run([sys.executable, "-c", RED_THEN_PLAIN]).wait(timeout=20)
    forced = cli(manager.home, "logs", "--color", "always", str(exp.id))
    assert forced.returncode == 0 and SGR_RED in forced.stdout
    assert render(forced.stdout.encode()) == ["red plain"]
    tail = cli(manager.home, "logs", "--color=always", "-n", "1", str(exp.id)).stdout
    assert SGR_RED in tail
    assert cli(manager.home, "logs", "--color", "never", str(exp.id)).stdout == "red plain\n"
    for args in (["logs", "--color", "never"], ["logs", "-f", "--color", "never"]):
        shown = on_a_terminal(manager.home, *args, str(exp.id))
        assert "\x1b[31m" not in shown and "red plain" in shown, (args, shown)
    bad = cli(manager.home, "logs", "--color", "sometimes", str(exp.id))
    assert bad.returncode == 2 and "invalid choice: 'sometimes'" in bad.stderr


def test_no_color_is_honoured(manager: ExperimentManager) -> None:
    exp = manager.run([sys.executable, "-c", RED_THEN_PLAIN]).wait(timeout=20)
    env = dict(os.environ, NO_COLOR="1")
    for args in (["logs"], ["logs", "-f"]):
        shown = on_a_terminal(manager.home, *args, str(exp.id), env=env)
        assert "\x1b[31m" not in shown and "red plain" in shown, (args, shown)
    # An explicit --color always wins over NO_COLOR.
    forced = cli(manager.home, "logs", "--color", "always", str(exp.id), env=env)
    assert SGR_RED in forced.stdout


def test_logs_in_a_pipe_prints_as_it_reads(manager: ExperimentManager) -> None:
    """`nbexp logs ID | …` streams: its first lines come out while the log is still being
    read (here a FIFO put in place of the log, written 2 MiB, then held open), not once the
    whole log is in memory."""
    exp = manager.run(["sh", "-c", "exit 0"])
    manager.service.wait(exp.id, timeout=30)
    manager.service.wait_runner_gone(exp.record)
    log_path = Path(str(exp.record.log_path))
    log_path.unlink()
    os.mkfifo(log_path)
    env = dict(os.environ, NBEXP_HOME=str(manager.home))
    reader = subprocess.Popen(
        [*NBEXP_CLI, "logs", str(exp.id)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    printed: list[bytes] = []
    first_line = threading.Event()

    def drain() -> None:  # what `nbexp logs` prints, read as it comes
        assert reader.stdout is not None
        for line in reader.stdout:
            printed.append(line)
            first_line.set()

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    try:
        # Opening a FIFO without a reader fails at once when non-blocking: wait for the reader.
        fd = wait_for(lambda: _open_for_writing(log_path, reader), timeout=30)
        lines = [b"line %07d of a long log\n" % i for i in range(100_000)]
        with open(fd, "wb") as fifo:
            os.set_blocking(fd, True)
            fifo.write(b"".join(lines))
            fifo.flush()
            assert first_line.wait(30), "nothing printed while the log was still open"
            assert printed[0] == lines[0]
        assert reader.wait(timeout=30) == 0
        drainer.join(timeout=30)
        assert printed == lines
    finally:
        if reader.poll() is None:
            reader.kill()
        reader.communicate()


def _open_for_writing(fifo: Path, reader: subprocess.Popen[bytes]) -> int | None:
    """A FIFO's writing end once `reader` has opened it, else None."""
    assert reader.poll() is None, reader.communicate()
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: nobody reads it yet
        return None
