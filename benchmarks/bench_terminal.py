"""Throughput of the terminal renderer on real tqdm output and on plain log lines.

Generates the logs with the real tqdm (in a temporary directory, deleted afterwards), feeds
them to `nbexp.terminal.Screen` in 1 MiB chunks and prints a Markdown table of medians;
pyte on a few MB of the same data gives a reference. Usage:
    uv run python benchmarks/bench_terminal.py [--size-mb 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbexp.terminal import Screen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.capture_helpers import capture_pty

CHUNK = 1 << 20

# Real tqdm, updating on every iteration, with a print line every 1000 steps.
TQDM_WRITER = """
import sys
from tqdm import tqdm
target = int(sys.argv[2])
with open(sys.argv[1], "w") as log:
    epoch = 0
    while log.tell() < target:
        epoch += 1
        bar = tqdm(range(200_000), mininterval=0, file=log, desc=f"epoch {epoch}")
        for step in bar:
            if step % 1000 == 0:
                bar.set_postfix(loss=1 / (step + 1), acc=step / 200_000)
                bar.write(f"step {step}: loss={1 / (step + 1):.4f} lr=3e-4 grad_norm=0.97",
                          file=log)
            if step % 4096 == 0 and log.tell() >= target:
                break
        bar.close()
"""


def make_tqdm_log(path: Path, size: int) -> None:
    subprocess.run([sys.executable, "-c", TQDM_WRITER, str(path), str(size)], check=True)


def make_plain_log(path: Path, size: int) -> None:
    """~100-character lines like a training script's logging output."""
    with open(path, "w") as log:
        step = 0
        while log.tell() < size:
            block = "".join(
                f"2026-11-29 21:35:{(step + i) % 60:02d} INFO train step={step + i:09d} "
                f"loss={1 / (step + i + 1):.6f} lr=3.0e-04 tokens/s=123456 ok\n"
                for i in range(1000)
            )
            log.write(block)
            step += 1000


# rich.Progress with three bars and coloured log lines, through a pty: escape-dense output.
RICH_PROGRAM = """
from rich.console import Console
from rich.progress import Progress
console = Console(force_terminal=True, width=120)
with Progress(console=console, auto_refresh=False) as progress:
    tasks = [progress.add_task(f"[cyan]task {k}", total=4000) for k in range(3)]
    for i in range(4000):
        for task in tasks:
            progress.update(task, advance=1)
        if i % 100 == 0:
            progress.console.log(f"[bold green]step {i}[/] loss=[yellow]{1 / (i + 1):.4f}[/]")
        progress.refresh()
"""


def make_rich_log(path: Path, size: int) -> None:
    """A real rich capture (~2.7 MB), repeated to `size` bytes."""
    capture = capture_pty(RICH_PROGRAM, columns=120, rows=40)
    path.write_bytes(capture * max(1, size // len(capture)))


def chunks_of(path: Path, limit: int | None = None) -> list[bytes]:
    data = path.read_bytes()[:limit]
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def time_screen(chunks: list[bytes]) -> float:
    screen = Screen(max_lines=10_000)
    start = time.perf_counter()
    for chunk in chunks:
        screen.feed(chunk)
    return time.perf_counter() - start


def time_pyte(chunks: list[bytes]) -> float:
    import pyte

    screen = pyte.Screen(200, 40)
    screen.set_mode(pyte.modes.LNM)
    stream = pyte.ByteStream(screen)
    start = time.perf_counter()
    for chunk in chunks:
        stream.feed(chunk)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pyte-mb", type=float, default=2)
    parser.add_argument("--rich-mb", type=float, default=20)
    args = parser.parse_args()
    size = int(args.size_mb * 1e6)
    rows = []
    with tempfile.TemporaryDirectory(prefix="nbexp-bench-") as tmp:
        logs = {"tqdm (mininterval=0, prints)": Path(tmp) / "tqdm.log"}
        logs["plain ~100-char lines"] = Path(tmp) / "plain.log"
        make_tqdm_log(logs["tqdm (mininterval=0, prints)"], size)
        make_plain_log(logs["plain ~100-char lines"], size)
        logs["rich Progress via pty (escape-heavy)"] = Path(tmp) / "rich.log"
        make_rich_log(logs["rich Progress via pty (escape-heavy)"], int(args.rich_mb * 1e6))
        for name, path in logs.items():
            chunks = chunks_of(path)
            total = sum(map(len, chunks))
            times = [time_screen(chunks) for _ in range(args.runs)]
            rows.append((name, "nbexp Screen", total, times))
            sample = chunks_of(path, int(args.pyte_mb * 1e6))
            sample_size = sum(map(len, sample))
            pyte_times = [time_pyte(sample) for _ in range(max(1, args.runs // 2))]
            pyte_label = f"pyte {importlib.metadata.version('pyte')} (reference)"
            rows.append((name, pyte_label, sample_size, pyte_times))
            del chunks
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("tqdm", "rich"))
    print(f"python {sys.version.split()[0]}, {versions}; {args.runs} runs, 1 MiB chunks\n")
    print("| log | renderer | MB | median MB/s | min..max MB/s |")
    print("| --- | --- | ---: | ---: | --- |")
    for name, renderer, total, times in rows:
        speeds = [total / t / 1e6 for t in times]
        print(
            f"| {name} | {renderer} | {total / 1e6:.0f} | {statistics.median(speeds):.1f} "
            f"| {min(speeds):.1f}..{max(speeds):.1f} |"
        )


if __name__ == "__main__":
    main()
