"""Foundation benchmarks: output overhead, launch latency and the runner's own cost.

    uv run python benchmarks/bench_runner.py [--gib 1] [--repeats 3] [--launches 20]

Prints a Markdown table (the numbers in docs/benchmarks.md come from here). Medians of repeats;
both sides of a ratio are measured in the same run, interleaved, because the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbexp import ExperimentManager

# The same writer on both sides: ~100-byte lines, written in 1 MiB chunks; it times itself.
WRITER = r"""
import sys, time
total = int(sys.argv[1])
line = b"x" * 99 + b"\n"
block = line * (1024 * 1024 // len(line))
out = sys.stdout.buffer
start = time.perf_counter()
written = 0
while written < total:
    out.write(block)
    written += len(block)
out.flush()
elapsed = time.perf_counter() - start
sys.stderr.write(f"\nWROTE {written} IN {elapsed:.6f}\n")
"""


def _parse_writer_result(text: str) -> float:
    for line in reversed(text.splitlines()):
        if line.startswith("WROTE "):
            _, written, _, elapsed = line.split()
            return int(written) / float(elapsed)
    raise RuntimeError("writer did not report")


def _tail(path: Path, size: int = 4096) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - size))
        return f.read().decode(errors="replace")


def output_overhead(work: Path, total: int, repeats: int) -> tuple[float, float]:
    """Throughput (bytes/s) of the writer under nbexp and redirected by the shell."""
    writer = work / "writer.py"
    writer.write_text(WRITER)
    manager = ExperimentManager(home=work / "home")
    nbexp_rates, shell_rates = [], []

    def under_shell() -> None:
        target = work / "shell.log"
        command = f"{sys.executable} {writer} {total} > {target} 2>&1"
        subprocess.run(command, shell=True, check=True)
        shell_rates.append(_parse_writer_result(_tail(target)))
        target.unlink()

    def under_nbexp() -> None:
        exp = manager.run([sys.executable, str(writer), str(total)]).wait()
        nbexp_rates.append(_parse_writer_result(_tail(Path(exp.log_path))))
        manager.remove(exp.id)

    under_shell()  # warm-up (page cache, disk allocation), not counted
    shell_rates.clear()
    for i in range(repeats):
        # Alternate which goes first: the second writer of a pair meets a warmer page cache.
        for measure in (under_shell, under_nbexp) if i % 2 == 0 else (under_nbexp, under_shell):
            measure()
    return statistics.median(nbexp_rates), statistics.median(shell_rates)


def launch_latency(work: Path, launches: int) -> tuple[float, float, float]:
    """Medians: run() returning; first line on disk (python child); first line (echo child)."""
    manager = ExperimentManager(home=work / "home-latency")
    returned, first_python, first_echo = [], [], []
    for i in range(launches):
        command = [sys.executable, "-c", "print('ready')"] if i % 2 == 0 else ["echo", "ready"]
        start = time.perf_counter()
        exp = manager.run(command)
        returned.append(time.perf_counter() - start)
        log = Path(exp.log_path)
        while not (log.exists() and log.stat().st_size > 0):
            time.sleep(0.0005)
        (first_python if i % 2 == 0 else first_echo).append(time.perf_counter() - start)
        exp.wait()
    return (
        statistics.median(returned),
        statistics.median(first_python),
        statistics.median(first_echo),
    )


def _read_proc(pid: int) -> tuple[int, float]:
    """(resident bytes, CPU seconds) of a process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


def runner_cost(work: Path, idle_seconds: float) -> tuple[float, float, float]:
    """The runner's RSS (MB), its PSS (MB, shared pages split), and CPU % while the child idles."""
    manager = ExperimentManager(home=work / "home-cost")
    exp = manager.run(["sleep", str(idle_seconds + 30)])
    while exp.pid is None:
        time.sleep(0.01)
    runner = exp.record.runner_pid
    assert runner is not None
    time.sleep(0.5)
    rss, cpu_before = _read_proc(runner)
    with open(f"/proc/{runner}/smaps_rollup") as f:
        pss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
    time.sleep(idle_seconds)
    _, cpu_after = _read_proc(runner)
    manager.stop(exp.id, grace=1)
    return rss / 1e6, pss / 1e6, 100 * (cpu_after - cpu_before) / idle_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0, help="GiB written per output run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--launches", type=int, default=20)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds to watch an idle runner")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbexp-bench-") as tmp:
        work = Path(tmp)
        total = int(args.gib * 1024**3)
        nbexp_rate, shell_rate = output_overhead(work, total, args.repeats)
        returned, first_python, first_echo = launch_latency(work, args.launches)
        rss, pss, cpu = runner_cost(work, args.idle)
    rows = [
        ("output throughput under nbexp", f"{nbexp_rate / 1e6:.0f} MB/s", ""),
        ("output throughput, shell redirect", f"{shell_rate / 1e6:.0f} MB/s", ""),
        ("ratio nbexp / shell", f"{nbexp_rate / shell_rate:.3f}", ">= 0.98"),
        ("run() returns (median)", f"{returned * 1e3:.1f} ms", "<= 50 ms"),
        ("first line on disk, python child (median)", f"{first_python * 1e3:.0f} ms", "<= 300 ms"),
        ("first line on disk, echo child (median)", f"{first_echo * 1e3:.0f} ms", ""),
        ("runner resident memory (RSS)", f"{rss:.1f} MB", "<= 15 MB"),
        ("runner proportional memory (PSS)", f"{pss:.1f} MB", ""),
        ("runner CPU while the child idles", f"{cpu:.3f} %", ""),
    ]
    setup = f"{args.gib:g} GiB x {args.repeats}, {args.launches} launches"
    print(f"| measure ({setup}) | result | goal |")
    print("| --- | --- | --- |")
    for name, value, goal in rows:
        print(f"| {name} | {value} | {goal} |")


if __name__ == "__main__":
    main()
