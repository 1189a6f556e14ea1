"""Run small programs that use real progress libraries and capture the bytes they write.

Two ways, as nbexp's runner does: into a plain file, or through a pseudo-terminal (so the
libraries see a tty and the kernel's onlcr turns \\n into \\r\\n).
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
from pathlib import Path

# Each scenario is a small program; they stay small so that pyte can check them quickly.
SCENARIOS: dict[str, str] = {
    "tqdm_single": """
import sys
from tqdm import tqdm
for i in tqdm(range(300), mininterval=0, desc="train"):
    pass
print("done")
""",
    "tqdm_nested": """
from tqdm import tqdm
for epoch in tqdm(range(3), mininterval=0, desc="epochs"):
    for step in tqdm(range(40), mininterval=0, leave=False, desc="steps"):
        pass
print("after")
""",
    "tqdm_position": """
from tqdm import tqdm
outer = tqdm(total=20, position=0, mininterval=0, desc="outer")
inner = tqdm(total=20, position=1, mininterval=0, desc="inner")
for i in range(20):
    inner.update(1)
    outer.update(1)
inner.close()
outer.close()
print("closed")
""",
    "tqdm_postfix_write": """
from tqdm import tqdm
bar = tqdm(range(60), mininterval=0, desc="fit", unit="batch")
for i in bar:
    bar.set_postfix(loss=1.0 / (i + 1), acc=i / 60)
    if i % 15 == 0:
        tqdm.write(f"checkpoint {i} saved")
""",
    "rich_progress": """
import time
from rich.console import Console
from rich.progress import Progress
console = Console(force_terminal=True, width=100)
with Progress(console=console, auto_refresh=False) as progress:
    task = progress.add_task("[cyan]Training", total=30)
    other = progress.add_task("[magenta]Eval", total=10)
    for i in range(30):
        progress.update(task, advance=1)
        if i % 3 == 0:
            progress.update(other, advance=1)
        if i % 10 == 0:
            progress.console.print(f"[bold green]step {i}[/] ok")
        progress.refresh()
""",
    "rich_log": """
from rich.console import Console
console = Console(force_terminal=True, width=100, log_path=False)
for i in range(5):
    console.log(f"[red]error[/red] {i} [bold blue]loss[/]=[yellow]{i / 7:.3f}[/]")
console.print("[underline]done[/] \\N{CHECK MARK}", style="on #203040")
""",
    "click_progressbar": """
import click
with click.progressbar(range(50), label="Copying", show_pos=True) as bar:
    for item in bar:
        pass
click.echo(click.style("finished", fg="green"))
""",
}


def _command(program: str) -> list[str]:
    return [sys.executable, "-c", program]


def capture_file(program: str, tmp_path: Path, timeout: float = 60) -> bytes:
    """Bytes the program writes when stdout and stderr go to a plain file."""
    log_path = tmp_path / "capture.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            _command(program), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_env()
        )
        try:
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return log_path.read_bytes()


def capture_pty(program: str, columns: int = 150, rows: int = 50, timeout: float = 60) -> bytes:
    """Bytes the program writes to a pseudo-terminal of the given size."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = _env() | {"COLUMNS": str(columns), "LINES": str(rows)}
    proc = subprocess.Popen(
        _command(program), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the slave side has gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            os.kill(proc.pid, 9)
            proc.wait()
    return b"".join(chunks)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    env["PYTHONIOENCODING"] = "utf-8"
    return env
