"""Peak memory and speed of `LogFollower` catching up with a 1 GB log.

The log is real tqdm output (written by tqdm with mininterval=0, with print lines) and plain
log lines, repeated to the target size in a temporary directory under /tmp that is deleted
afterwards. Each measurement runs in a fresh process: peak RSS (VmHWM), Python heap
peak from tracemalloc (a separate, slower run). Usage:
    uv run python benchmarks/bench_follow.py [--size-gb 1] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_terminal import make_plain_log, make_tqdm_log

MEASURE = """
import json, sys, time, tracemalloc
from nbexp._io.logs import LogFollower

def status_kib(field):
    # VmHWM is the peak RSS of this process since exec; ru_maxrss would include the memory
    # of the parent at fork time on Linux.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])

use_tracemalloc = sys.argv[2] == "1"
before = status_kib("VmHWM")
if use_tracemalloc:
    tracemalloc.start()
follower = LogFollower(sys.argv[1])
start = time.perf_counter()
polls = 0
while not follower.poll().caught_up:
    polls += 1
elapsed = time.perf_counter() - start
middle = follower.line_count // 2
fetch_start = time.perf_counter()
old = follower.lines(middle, middle + 100)
fetch = time.perf_counter() - fetch_start
result = {
    "bytes": follower.offset, "seconds": elapsed, "lines": follower.line_count,
    "polls": polls + 1, "rss_before_kib": before,
    "rss_peak_kib": status_kib("VmHWM"), "rss_after_kib": status_kib("VmRSS"),
    "fetch_old_100_lines_s": fetch, "fetched": len(old),
    "checkpoints": len(follower._checkpoints),
}
if use_tracemalloc:
    result["heap_peak_bytes"] = tracemalloc.get_traced_memory()[1]
print(json.dumps(result))
"""


def build_log(directory: Path, size: int) -> Path:
    """Real tqdm and plain output in 8 MB pieces, alternated and repeated to `size` bytes."""
    tqdm_part, plain_part = directory / "tqdm.part", directory / "plain.part"
    make_tqdm_log(tqdm_part, 8_000_000)
    make_plain_log(plain_part, 8_000_000)
    pieces = [tqdm_part.read_bytes(), plain_part.read_bytes()]
    log_path = directory / "big.log"
    written = count = 0
    with open(log_path, "wb") as log:
        while written < size:
            piece = pieces[count % 2]
            log.write(piece)
            written += len(piece)
            count += 1
    tqdm_part.unlink()
    plain_part.unlink()
    return log_path


def measure(log_path: Path, use_tracemalloc: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(log_path), "1" if use_tracemalloc else "0"],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="nbexp-bench-follow-", dir="/tmp"))
    try:
        log_path = build_log(directory, int(args.size_gb * 1e9))
        runs = [measure(log_path, use_tracemalloc=False) for _ in range(args.runs)]
        traced = measure(log_path, use_tracemalloc=True)
    finally:
        shutil.rmtree(directory)

    def median(key: str) -> float:
        return statistics.median(float(run[key]) for run in runs)

    size = runs[0]["bytes"]
    print(f"log: {size / 1e9:.2f} GB, {int(runs[0]['lines']):,} lines; {args.runs} runs\n")
    print("| measure | median | min..max |")
    print("| --- | ---: | --- |")
    speeds = [run["bytes"] / run["seconds"] / 1e6 for run in runs]
    print(
        f"| catch-up throughput (MB/s) | {statistics.median(speeds):.0f} "
        f"| {min(speeds):.0f}..{max(speeds):.0f} |"
    )
    for key, label in (
        ("rss_before_kib", "peak RSS after imports, before following (MiB)"),
        ("rss_peak_kib", "peak RSS while following (MiB)"),
        ("rss_after_kib", "RSS at the end (MiB)"),
    ):
        values = [run[key] / 1024 for run in runs]
        print(f"| {label} | {median(key) / 1024:.1f} | {min(values):.1f}..{max(values):.1f} |")
    fetches = [run["fetch_old_100_lines_s"] * 1000 for run in runs]
    print(
        f"| fetch 100 old lines from the middle (ms) | {statistics.median(fetches):.0f} "
        f"| {min(fetches):.0f}..{max(fetches):.0f} |"
    )
    heap = traced["heap_peak_bytes"] / 2**20
    print(f"| tracemalloc peak of the Python heap (MiB) | {heap:.1f} | |")
    print(f"| checkpoints held | {int(runs[0]['checkpoints'])} | |")


if __name__ == "__main__":
    main()
