"""Throughput and memory of the terminal renderer, on real output and on malformed input.

Two tables, both Markdown, both medians:

* throughput: real tqdm output, plain log lines and a rich capture (generated afresh in a
  temporary directory, deleted afterwards), fed to `nbexp.terminal.Screen` in 1 MiB chunks;
  pyte on a few MB of the same data gives a reference;
* ratios: ~10 MB of each kind of input (the real logs above, and byte soups: bare ESC, random
  bytes, escape bytes, wide characters), rendered chunked (`Screen.feed` in 1 MiB pieces) and
  one-shot (`render`), each timed (CPU time of this process) against
  `data.decode(errors="replace").splitlines()` on the same bytes, interleaved (the ratio is
  median baseline time / median renderer time, so 1.0 is "as fast as splitting lines"); then
  the peak of the Python heap (tracemalloc) while rendering.

`--before FILE` measures an older terminal.py (`git show REV:src/nbexp/terminal.py > FILE`)
in the same runs, interleaved, so that before and after meet the same machine. The process
is pinned to one CPU. Usage:
    uv run python benchmarks/bench_terminal.py [--size-mb 100] [--runs 5] [--ratio-mb 10]
        [--only throughput|ratios] [--inputs plain,tqdm] [--before FILE]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from nbexp import terminal
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


# ------------------------------------------------------------------------------- ratios

SOUP_SEED = 20261129
# Bytes that escape parsing cares about, so that a random mix of them is escape-dense.
ESCAPE_ALPHABET = b"\x1b\x1b\x1b[[]];;0123456789?m\x07\\\r\n\b\tABCDHJKPXm@ \xe4\xb8\xad"
WIDE_LINE = "训练步骤损失学习率 epoch 3: 数据集 中文 日本語テキスト 한국어 ✅ 🚀\n".encode()


def bare_esc(size: int) -> bytes:
    return b"\x1b" * size


def random_bytes(size: int) -> bytes:
    return random.Random(SOUP_SEED).randbytes(size)


def escape_soup(size: int) -> bytes:
    rng = random.Random(SOUP_SEED)
    return bytes(rng.choices(ESCAPE_ALPHABET, k=size))


def wide_lines(size: int) -> bytes:
    return (WIDE_LINE * (size // len(WIDE_LINE) + 1))[:size]


def wide_one_line(size: int) -> bytes:
    return "中".encode() * (size // 3)


def time_once(function: Callable[[bytes], object], data: bytes) -> float:
    """CPU seconds of `function(data)`: time spent waiting for a busy CPU does not count."""
    gc.collect()  # start each timing from the same heap, not the last one's garbage
    start = time.process_time()
    function(data)
    return time.process_time() - start


def baseline(data: bytes) -> object:
    return data.decode(errors="replace").splitlines()


def chunked_with(module: ModuleType) -> Callable[[bytes], object]:
    """Feed `data` to a `module.Screen(max_lines=10_000)` in 1 MiB chunks."""

    def feed(data: bytes) -> object:
        screen = module.Screen(max_lines=10_000)
        for offset in range(0, len(data), CHUNK):
            screen.feed(data[offset : offset + CHUNK])
        return screen

    return feed


def peak_mb(function: Callable[[bytes], object], data: bytes) -> float:
    """Peak of the Python heap while `function(data)` runs, the input itself not counted."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = function(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak / 1e6


def load_module(path: str) -> ModuleType:
    """A terminal.py from another checkout (`git show REV:src/nbexp/terminal.py > FILE`)."""
    spec = importlib.util.spec_from_file_location("terminal_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def ratio_inputs(tmp: Path, size: int) -> dict[str, Callable[[], bytes]]:
    def real(make: Callable[[Path, int], None], name: str) -> Callable[[], bytes]:
        def load() -> bytes:
            path = tmp / name
            if not path.exists():
                make(path, size)
            return path.read_bytes()[:size]

        return load

    return {
        "plain ~100-char lines": real(make_plain_log, "plain-ratio.log"),
        "tqdm (mininterval=0, prints)": real(make_tqdm_log, "tqdm-ratio.log"),
        "rich Progress via pty": real(make_rich_log, "rich-ratio.log"),
        "bare ESC bytes": lambda: bare_esc(size),
        "random bytes": lambda: random_bytes(size),
        "escape-byte soup": lambda: escape_soup(size),
        "wide characters, 67-column lines": lambda: wide_lines(size),
        "wide characters, one line": lambda: wide_one_line(size),
    }


def ratio_table(
    tmp: Path, size: int, runs: int, only: list[str] | None, before: str | None
) -> None:
    renderers = {"now": terminal}
    if before:
        renderers = {"before": load_module(before), **renderers}
    print(f"\nratios to decode().splitlines() on the same bytes; {runs} runs, medians\n")
    print(
        "| input | code | MB | splitlines MB/s | chunked MB/s | ratio | one-shot MB/s | ratio "
        "| peak MB chunked | peak MB one-shot |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, make in ratio_inputs(tmp, size).items():
        if only and not any(word in name for word in only):
            continue
        data = make()
        base: list[float] = []
        times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in renderers}
        for _ in range(runs):
            # Interleaved, so that the shared machine's drift touches all alike; the ratio
            # is the median baseline time over the median renderer time.
            for label, module in renderers.items():
                base.append(time_once(baseline, data))
                times[label][0].append(time_once(chunked_with(module), data))
                base.append(time_once(baseline, data))
                times[label][1].append(time_once(module.render, data))
        for label, module in renderers.items():
            peaks = (peak_mb(chunked_with(module), data), peak_mb(module.render, data))
            print_ratio_row(name, label, len(data) / 1e6, base, times[label], peaks)
        del data


def print_ratio_row(
    name: str,
    label: str,
    mb: float,
    base: list[float],
    times: tuple[list[float], list[float]],
    peaks: tuple[float, float],
) -> None:
    base_time, piece, whole = (statistics.median(t) for t in (base, *times))
    print(
        f"| {name} | {label} | {mb:.0f} | {mb / base_time:.0f} "
        f"| {mb / piece:.1f} | {base_time / piece:.2f} "
        f"| {mb / whole:.1f} | {base_time / whole:.2f} "
        f"| {peaks[0]:.1f} | {peaks[1]:.1f} |",
        flush=True,
    )


# --------------------------------------------------------------------------- throughput


def throughput_table(tmp: Path, args: argparse.Namespace) -> None:
    size = int(args.size_mb * 1e6)
    rows = []
    logs = {"tqdm (mininterval=0, prints)": tmp / "tqdm.log"}
    logs["plain ~100-char lines"] = tmp / "plain.log"
    make_tqdm_log(logs["tqdm (mininterval=0, prints)"], size)
    make_plain_log(logs["plain ~100-char lines"], size)
    logs["rich Progress via pty (escape-heavy)"] = tmp / "rich.log"
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
        path.unlink()
    print("| log | renderer | MB | median MB/s | min..max MB/s |")
    print("| --- | --- | ---: | ---: | --- |")
    for name, renderer, total, times in rows:
        speeds = [total / t / 1e6 for t in times]
        print(
            f"| {name} | {renderer} | {total / 1e6:.0f} | {statistics.median(speeds):.1f} "
            f"| {min(speeds):.1f}..{max(speeds):.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pyte-mb", type=float, default=2)
    parser.add_argument("--rich-mb", type=float, default=20)
    parser.add_argument("--ratio-mb", type=float, default=10)
    parser.add_argument("--only", choices=["throughput", "ratios"])
    parser.add_argument("--inputs", help="ratios only for inputs whose name holds one of these")
    parser.add_argument("--before", help="an older terminal.py to measure alongside, interleaved")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as promised
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("tqdm", "rich"))
    print(f"python {sys.version.split()[0]}, {versions}; {args.runs} runs, 1 MiB chunks\n")
    with tempfile.TemporaryDirectory(prefix="nbexp-bench-") as tmp:
        if args.only != "ratios":
            throughput_table(Path(tmp), args)
        if args.only != "throughput":
            only = args.inputs.split(",") if args.inputs else None
            ratio_table(Path(tmp), int(args.ratio_mb * 1e6), args.runs, only, args.before)


if __name__ == "__main__":
    main()
