"""Metric histories: extraction speed against the renderer on the same bytes, what a history
costs in the store, the kernel's CPU with 20 runs printing metrics, and the chart's tick bytes.

    uv run python benchmarks/bench_metrics.py [--size-mb 100] [--runs 5] [--cpu-seconds 30]
        [--only throughput|storage|cpu|chart]

Prints Markdown (docs/benchmarks.md, "Metrics", comes from here) and writes
benchmarks/out/metrics.json. The browser's draw time of 20 runs × 10,000 points is measured by
`uv run pytest tests/ui/test_chart_ui.py` (benchmarks/out/chart_draw.json), shown if present.

Method, throughput: each log is generated afresh (tqdm as in bench_terminal.py: a real tqdm with
`mininterval=0`, a postfix every 1,000 steps and a printed metrics line; the same with a new
postfix at every frame; ~100-character key=value lines; JSON lines; keras-style progbars), read
into memory, then fed in 1 MiB chunks to `nbexp.terminal.Screen` and to `MetricExtractor` (the
unconsumed end of a chunk fed again, as the store's cursor does) alternately, `--runs` times; the
ratio is median render time / median extraction time (CPU time), in one process pinned to one
CPU.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import psutil

from nbexp import ExperimentManager
from nbexp._core.metric_extraction import MetricExtractor
from nbexp._io.metric_store import MetricStore
from nbexp._ui.dashboard import Dashboard, json_size
from nbexp.terminal import Screen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_terminal import TQDM_WRITER, make_plain_log  # the renderer's own logs

OUT = Path(__file__).parent / "out"
CHUNK = 1 << 20
PY = sys.executable

TQDM_EVERY_FRAME = """
import sys
from tqdm import tqdm
target = int(sys.argv[2])
with open(sys.argv[1], "w") as log:
    bar = tqdm(total=10**9, mininterval=0, file=log, desc="train")
    i = 0
    while log.tell() < target:
        for _ in range(4096):
            bar.set_postfix(loss=f"{1 / (i + 1):.5f}", acc=f"{(i % 997) / 997:.4f}", refresh=False)
            bar.update(1)
            i += 1
"""

JSON_LINES = """
import json, sys
target = int(sys.argv[2])
with open(sys.argv[1], "w") as log:
    step = 0
    while log.tell() < target:
        log.write("".join(json.dumps({"step": step + k, "loss": 1 / (step + k + 1),
                                      "acc": (step + k) % 997 / 997, "lr": 3e-4}) + "\\n"
                          for k in range(1000)))
        step += 1000
"""

KERAS = r"""
import sys
target = int(sys.argv[2])
with open(sys.argv[1], "w") as log:
    epoch = 0
    while log.tell() < target:
        epoch += 1
        log.write(f"Epoch {epoch}/1000\n")
        width = 0
        for n in range(1, 1001):
            bar = "=" * (n * 30 // 1000 - 1) + ">" + "." * (30 - n * 30 // 1000)
            text = f"{n}/1000 [{bar}] - ETA: 3s - loss: {1 / n:.4f} - accuracy: {n / 1000:.4f}"
            log.write("\b" * width + "\r" + text)
            width = len(text)
        log.write("\n")
"""


def generate(kind: str, path: Path, size: int) -> None:
    if kind == "plain key=value lines":
        make_plain_log(path, size)
        return
    program = {
        "tqdm (bench_terminal's log)": TQDM_WRITER,
        "tqdm, new postfix every frame": TQDM_EVERY_FRAME,
        "JSON lines": JSON_LINES,
        "keras-style progbars": KERAS,
    }[kind]
    subprocess.run([PY, "-c", program, str(path), str(size)], check=True)


# Throughput is timed in CPU seconds of this process, as bench_terminal.py does: time spent
# waiting for a CPU that other jobs hold does not count (wall time swung 30 % here).
def render(data: bytes) -> float:
    screen = Screen(max_lines=10_000)
    gc.collect()
    began = time.process_time()
    for start in range(0, len(data), CHUNK):
        screen.feed(data[start : start + CHUNK])
    return time.process_time() - began


def extract(data: bytes) -> tuple[float, int]:
    extractor = MetricExtractor()
    points = 0
    gc.collect()
    began = time.process_time()
    start = written = 0
    while written < len(data):
        written = min(len(data), written + CHUNK)
        found, consumed = extractor.feed(data[start:written])
        points += sum(len(columns[0]) for columns in found.values())
        start += consumed
    found, _ = extractor.feed(data[start:], final=True)
    points += sum(len(columns[0]) for columns in found.values())
    return time.process_time() - began, points


def throughput(work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for kind, megabytes in [
        ("tqdm (bench_terminal's log)", args.size_mb),
        ("tqdm, new postfix every frame", max(1, args.size_mb // 5)),
        ("plain key=value lines", max(1, args.size_mb // 5)),
        ("JSON lines", max(1, args.size_mb // 5)),
        ("keras-style progbars", max(1, args.size_mb // 5)),
    ]:
        path = work / "log"
        generate(kind, path, megabytes << 20)
        data = path.read_bytes()
        path.unlink()
        renders, extracts, points = [], [], 0
        for _ in range(args.runs):  # interleaved: both see the same machine noise
            renders.append(render(data))
            seconds, points = extract(data)
            extracts.append(seconds)
        mb = len(data) / 1e6
        row = {
            "log": kind,
            "mb": round(mb, 1),
            "points": points,
            "render_mb_s": round(mb / statistics.median(renders), 1),
            "extract_mb_s": round(mb / statistics.median(extracts), 1),
            "ratio": round(statistics.median(renders) / statistics.median(extracts), 2),
        }
        print(row, flush=True)
        rows.append(row)
    return rows


def storage(work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """A tqdm-heavy log's history through the real store: points kept, and the pages the
    metric tables take (SQLite's dbstat), per 100 MB of log."""
    rows = []
    for kind, megabytes in [
        ("tqdm (bench_terminal's log)", args.size_mb),
        ("tqdm, new postfix every frame", args.size_mb),
    ]:
        manager = ExperimentManager(home=work / f"home-storage-{len(rows)}")
        exp = manager.run(["true"])
        manager.service.wait(exp.id, timeout=60)
        time.sleep(1)  # the end step read the empty log
        record = manager.store.get(exp.id)
        generate(kind, Path(str(record.log_path)), megabytes << 20)
        MetricStore(manager.store).forget(exp.id, 1)
        log_size = Path(str(record.log_path)).stat().st_size
        began = time.perf_counter()
        while not manager.service.metrics.update(manager.store.get(exp.id)):
            pass
        seconds = time.perf_counter() - began
        summaries = manager.service.metrics.summaries(exp.id, 1)
        manager.store.close()
        with closing(sqlite3.connect(manager.home / "nbexp.db")) as conn:
            used = conn.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'metric%' "
                "OR name LIKE 'sqlite_autoindex_metric%'"
            ).fetchone()[0]
        row = {
            "log": kind,
            "log_mb": round(log_size / 1e6, 1),
            "metrics": {n: {"points": s.count, "stored": s.stored} for n, s in summaries.items()},
            "store_bytes": used,
            "store_bytes_per_100_mb": round(used * (100 << 20) / log_size),
            "seconds_to_read": round(seconds, 1),
        }
        print(row, flush=True)
        rows.append(row)
    return rows


# ~1,000 metric lines per second: bursts of 10 every 10 ms (bench_dashboard's writer, with
# key=value metrics so that every line is a point of three metrics).
CHATTY = r"""
import sys, time
end = time.time() + float(sys.argv[1])
i = 0
while time.time() < end:
    sys.stdout.write("".join(
        f"step={i + k} loss={1 / (i + k + 1):.6f} acc={(i + k) % 997 / 997:.4f} lr=3e-4\n"
        for k in range(10)))
    sys.stdout.flush()
    i += 10
    time.sleep(0.01)
"""


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark setup timed out")
        time.sleep(0.05)


def kernel_cpu(
    work: Path, writers: int, seconds: float, warmup: float = 5.0, kernel_reads: bool = False
) -> dict[str, Any]:
    """CPU of this process (monitor thread with extraction and storage, dashboard, chart
    deltas) while `writers` experiments each print ~1,000 metric lines/s; the dashboard shows
    one log and charts every run. `kernel_reads`: no metrics reader is started, so the kernel
    extracts every log itself (as when a reader cannot run)."""
    if kernel_reads:
        from nbexp._service.metrics_reader import ReaderStarter

        ReaderStarter.ensure = lambda self: False  # type: ignore[method-assign]
    manager = ExperimentManager(home=work)
    runs = [manager.run([PY, "-c", CHATTY, str(warmup + seconds + 30)]) for _ in range(writers)]
    wait_until(lambda: all(manager.get(r.id).pid for r in runs))
    dash = Dashboard(manager=manager, interval=1.0)
    sent: list[Any] = []
    dash.send = sent.append  # type: ignore[method-assign]
    dash._on_message(dash, {"type": "hello"}, [])
    dash.selected = runs[0].id
    time.sleep(3)  # past the first reads
    ids = [r.id for r in runs]
    dash._on_message(dash, {"type": "chart", "req": 1, "ids": ids, "metric": "loss"}, [])
    time.sleep(warmup)  # the first seconds thin each history more often (see docs/metrics.md)
    before = manager.service.metrics.summaries(runs[0].id, 1)["loss"].count
    reader = reader_process(work)
    reader_before = reader_cpu(reader)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before, bytes_before = usage.ru_utime + usage.ru_stime, dash.bytes_sent
    began = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    reader_used = reader_cpu(reader) - reader_before
    sent_per_s = (dash.bytes_sent - bytes_before) / elapsed
    after = manager.service.metrics.summaries(runs[0].id, 1)["loss"].count
    dash.close()
    for run in runs:
        manager.stop(run.id, grace=1, wait=False)
    for run in runs:
        manager.wait(run.id, timeout=60)
    for run in runs:  # and their end steps, which still write to the home (rmtree races them)
        manager.service.wait_runner_gone(manager.store.get(run.id))
    return {
        "writers": writers,
        "warmup_seconds": warmup,
        "seconds": round(elapsed, 1),
        "cpu_percent_of_one_core": round(100 * cpu / elapsed, 1),
        "metrics_reader": reader is not None,
        "reader_cpu_percent_of_one_core": round(100 * reader_used / elapsed, 1),
        "points_per_s_per_metric_per_run": round((after - before) / elapsed),
        "metric_lines_per_s_all_runs": round((after - before) / elapsed * writers),
        "bytes_to_browser_per_s": round(sent_per_s),
    }


def reader_process(home: Path) -> psutil.Process | None:
    """The home's metrics reader (its own process: the kernel leaves running logs to it);
    None with code from before readers (an A/B run with an older nbexp on PYTHONPATH)."""
    try:
        from nbexp._service.metrics_reader import reader_pid
    except ImportError:
        return None
    pid = reader_pid(home)
    return psutil.Process(pid) if pid is not None else None


def reader_cpu(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return float(times.user + times.system)


SLOW = """
import sys, time
for i in range(10**6):
    print(f"step={i} loss={1 / (i + 1):.6f}", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def printed_some(manager: ExperimentManager, runs: list[Any]) -> bool:
    for run in runs:
        manager.service.metrics.update(manager.store.get(run.id))
    return all(manager.service.metrics.summaries(r.id, 1) for r in runs)


def chart_ticks(work: Path) -> list[dict[str, Any]]:
    """Bytes of the chart's part of a tick that adds one point per charted run (each run
    prints one metric line a second; the dashboard ticks once a second)."""
    rows = []
    for count in (1, 5, 20):
        manager = ExperimentManager(home=work / f"home-chart-{count}")
        runs = [manager.run([PY, "-u", "-c", SLOW, "1.0"]) for _ in range(count)]
        wait_until(lambda m=manager, rs=runs: printed_some(m, rs))
        dash = Dashboard(manager=manager, live=False)
        sent: list[Any] = []
        dash.send = sent.append  # type: ignore[method-assign]
        dash._on_message(dash, {"type": "hello"}, [])
        dash.refresh()
        dash._on_message(dash, {"type": "chart", "req": 1, "ids": [r.id for r in runs]}, [])
        sizes, rows_sizes = [], []
        for _ in range(6):
            time.sleep(1.0)
            n = len(sent)
            dash.refresh()
            for message in sent[n:]:
                if "chart" in message:
                    points = sum(len(p[1]) for p in message["chart"]["series"].values())
                    sizes.append((json_size(message["chart"]), points))
                if "rows" in message:
                    rows_sizes.append(json_size(message["rows"]) / max(1, len(message["rows"])))
        dash.close()
        for run in runs:
            manager.stop(run.id, grace=1)  # waits: the folder is removed afterwards
        one_each = [size for size, points in sizes if points == count]
        row = {
            "runs": count,
            "chart_bytes_one_point_per_run": statistics.median(one_each) if one_each else None,
            "ticks": sizes,
            "row_bytes_median": round(statistics.median(rows_sizes)) if rows_sizes else None,
        }
        print(row, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu-seconds", type=float, default=30)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument(
        "--cpu-warmup", type=float, action="append", help="seconds before measuring (repeatable)"
    )
    parser.add_argument("--only", choices=("throughput", "storage", "cpu", "chart"))
    parser.add_argument(
        "--kernel-reads", action="store_true", help="cpu: no metrics reader; the kernel extracts"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(prefix="nbexp-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "throughput"):
            affinity = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {min(affinity)})  # one core, as the renderer's benchmark
            results["throughput"] = throughput(work, args)
            os.sched_setaffinity(0, affinity)
        if args.only in (None, "storage"):
            results["storage"] = storage(work, args)
        if args.only in (None, "cpu"):
            results["cpu"] = [
                kernel_cpu(
                    work / f"cpu-{warmup:g}",
                    args.writers,
                    args.cpu_seconds,
                    warmup,
                    args.kernel_reads,
                )
                for warmup in args.cpu_warmup or [5.0, 120.0]
            ]
            print(results["cpu"], flush=True)
        if args.only in (None, "chart"):
            results["chart"] = chart_ticks(work)
    draw = OUT / "chart_draw.json"
    if draw.exists():
        results["chart_draw"] = json.loads(draw.read_text())
    OUT.mkdir(exist_ok=True)
    name = "metrics.json" if args.only is None else f"metrics-{args.only}.json"
    (OUT / name).write_text(json.dumps(results, indent=2))
    report(results)


def report(results: dict[str, Any]) -> None:
    if "throughput" in results:
        print("\n| log | MB | points | renderer MB/s | extraction MB/s | ratio |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in results["throughput"]:
            print(
                f"| {r['log']} | {r['mb']} | {r['points']:,} | {r['render_mb_s']} "
                f"| {r['extract_mb_s']} | {r['ratio']} |"
            )
    for r in results.get("storage", []):
        print(
            f"\n{r['log']}, {r['log_mb']} MB: {r['store_bytes']:,} bytes of metric tables "
            f"({r['store_bytes_per_100_mb']:,} per 100 MB), read in {r['seconds_to_read']} s; "
            f"{r['metrics']}"
        )
    for c in results.get("cpu", []):
        print(
            f"\nKernel CPU with {c['writers']} runs x ~1,000 metric lines/s "
            f"({c['metric_lines_per_s_all_runs']:,} lines/s stored), measured "
            f"{c['seconds']} s after {c['warmup_seconds']:g} s: "
            f"{c['cpu_percent_of_one_core']} % of one core; the home's metrics reader "
            f"{c['reader_cpu_percent_of_one_core']} %"
            + ("" if c["metrics_reader"] else " (no reader ran: the kernel read the logs)")
        )
    for r in results.get("chart", []):
        print(
            f"\nchart tick, {r['runs']} run(s), one new point each: "
            f"{r['chart_bytes_one_point_per_run']} B; a row: {r['row_bytes_median']} B"
        )


if __name__ == "__main__":
    main()
