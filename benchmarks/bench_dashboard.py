"""Dashboard benchmarks: bytes pushed per tick and the monitor's CPU cost in the kernel.

    uv run python benchmarks/bench_dashboard.py [--cpu-seconds 20] [--writers 20]

Prints Markdown tables (docs/benchmarks.md, "Dashboard", comes from here) and writes
benchmarks/out/dashboard.json. The line-to-DOM latency is measured in the browser by
`uv run pytest tests/ui -k latency` (benchmarks/out/dashboard_latency.json), shown here if present.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nbexp import ExperimentManager, Status
from nbexp._ui.dashboard import Dashboard, json_size

OUT = Path(__file__).parent / "out"
PY = sys.executable
BAR = "\r{pct:3d}%|{fill:<20}| {n}/10000 [01:{s:02d}<02:00, 83.3it/s, loss=0.{n:04d}]"

# ~1,000 lines per second: bursts of 10 lines every 10 ms, for as long as asked.
CHATTY = r"""
import sys, time
end = time.time() + float(sys.argv[1])
i = 0
while time.time() < end:
    lines = (f"step {i + k} loss 0.{(i + k) % 9973:04d} lr 3e-4\n" for k in range(10))
    sys.stdout.write("".join(lines))
    sys.stdout.flush()
    i += 10
    time.sleep(0.01)
"""


def bar(n: int) -> bytes:
    return BAR.format(pct=n // 100, fill="#" * (n // 500), n=n, s=n % 60).encode()


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark setup timed out")
        time.sleep(0.02)


def capture(dash: Dashboard) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    dash.send = sent.append  # type: ignore[method-assign]
    return sent


def bytes_per_tick(work: Path, experiments: int, log_lines: int) -> dict[str, Any]:
    """Sizes of the messages a dashboard sends with `experiments` rows and a selected log of
    `log_lines` lines whose last line is a progress bar that redraws once between two ticks."""
    manager = ExperimentManager(home=work / f"home-{experiments}-{log_lines}")
    runner = manager.run([PY, "-c", "import time; time.sleep(300)"], name="training")
    wait_until(lambda: manager.get(runner.id).pid)
    for i in range(experiments - 1):
        manager.store.insert(name=f"sweep {i}", command=["true"], cwd="/", env={}, gpus=None)
    log = Path(manager.get(runner.id).log_path or "")
    with open(log, "ab") as f:
        chunk = 100_000
        for start in range(0, log_lines - 1, chunk):
            stop = min(start + chunk, log_lines - 1)
            lines = (f"step {i} loss 0.{i % 9973:04d}\n" for i in range(start, stop))
            f.write("".join(lines).encode())
        f.write(bar(100))
    dash = Dashboard(manager=manager, live=False)
    sent = capture(dash)
    try:
        began = time.perf_counter()
        dash._on_message(dash, {"type": "hello"}, [])
        hello = sent[-1]
        dash.selected = runner.id
        resets = lambda: [m for m in sent if m.get("log", {}).get("reset")]  # noqa: E731
        wait_until(resets, timeout=120)
        open_seconds = time.perf_counter() - began
        reset = resets()[-1]
        dash.refresh()  # settle: GPU readings, pid
        count = len(sent)
        dash.refresh()
        quiet = sent[count:]
        with open(log, "ab") as f:
            f.write(bar(101))
        count = len(sent)
        dash.refresh()
        progress = sent[count:]
        gpu_part = {k: v for k, v in (progress[0] if progress else {}).items() if k == "gpu"}
        return {
            "experiments": experiments,
            "log_lines": log_lines,
            "snapshot_bytes": json_size(hello),
            "log_open_bytes": json_size(reset),
            "log_open_seconds": round(open_seconds, 3),
            "quiet_tick_bytes": sum(json_size(m) for m in quiet),
            "progress_tick_bytes": sum(json_size(m) for m in progress),
            "of_which_gpu_bytes": json_size(gpu_part) if gpu_part else 0,
        }
    finally:
        dash.close()
        manager.stop(runner.id, grace=1)


def monitor_cpu(work: Path, writers: int, seconds: float) -> dict[str, Any]:
    """CPU used by this process (the monitor thread and the dashboard) while `writers`
    experiments each print ~1,000 lines/s and one of them is shown in the log view."""
    manager = ExperimentManager(home=work / "home-cpu")
    script = work / "chatty.py"
    script.write_text(CHATTY)
    runs = [
        manager.run([PY, str(script), str(seconds + 30)], name=f"chatty {i}")
        for i in range(writers)
    ]
    wait_until(lambda: all(manager.get(r.id).pid for r in runs))
    dash = Dashboard(manager=manager, interval=1.0)
    sent = capture(dash)
    dash._on_message(dash, {"type": "hello"}, [])  # as a view drawn in a browser does
    dash.selected = runs[0].id
    wait_until(lambda: dash._log_key is not None)
    time.sleep(2)  # past the log's first read
    lines_before = dash._log.line_count if dash._log else 0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    bytes_before, messages_before = dash.bytes_sent, dash.messages_sent
    began = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    lines_after = dash._log.line_count if dash._log else 0
    dash.close()
    total_lines = sum(len(manager.logs(r.id)) for r in runs[:3]) / 3 * writers
    for r in runs:
        if manager.get(r.id).status is Status.RUNNING:
            manager.stop(r.id, grace=1, wait=False)
    for r in runs:
        manager.wait(r.id, timeout=30)
    del sent
    return {
        "writers": writers,
        "seconds": round(elapsed, 1),
        "cpu_percent_of_one_core": round(100 * cpu / elapsed, 1),
        "selected_log_lines_per_s": round((lines_after - lines_before) / elapsed),
        "all_lines_per_s_estimate": round(total_lines / (seconds + 2)),
        "bytes_per_s_to_browser": round((dash.bytes_sent - bytes_before) / elapsed),
        "messages_per_s": round((dash.messages_sent - messages_before) / elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-seconds", type=float, default=20.0)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--no-gpus", action="store_true", help="do not simulate 2 GPUs")
    args = parser.parse_args()
    if not args.no_gpus:
        os.environ.setdefault("NBEXP_SIMULATED_GPUS", "2")
    results: dict[str, Any] = {"simulated_gpus": os.environ.get("NBEXP_SIMULATED_GPUS")}
    with tempfile.TemporaryDirectory(prefix="nbexp-bench-") as tmp:
        work = Path(tmp)
        results["ticks"] = [
            bytes_per_tick(work, experiments, lines)
            for experiments in (10, 1000)
            for lines in (10, 1_000_000)
        ]
        results["cpu"] = monitor_cpu(work, args.writers, args.cpu_seconds)
    latency_file = OUT / "dashboard_latency.json"
    if latency_file.exists():
        results["latency"] = json.loads(latency_file.read_text())
    OUT.mkdir(exist_ok=True)
    (OUT / "dashboard.json").write_text(json.dumps(results, indent=2))
    report(results)


def report(results: dict[str, Any]) -> None:
    print(
        "| experiments | log lines | first snapshot | log open (bytes, s) | quiet tick "
        "| one progress line changed (of which GPU) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for t in results["ticks"]:
        print(
            f"| {t['experiments']:,} | {t['log_lines']:,} | {t['snapshot_bytes']:,} B "
            f"| {t['log_open_bytes']:,} B, {t['log_open_seconds']} s "
            f"| {t['quiet_tick_bytes']:,} B | {t['progress_tick_bytes']:,} B "
            f"({t['of_which_gpu_bytes']} B) |"
        )
    c = results["cpu"]
    print()
    print(
        f"Monitor CPU with {c['writers']} experiments at ~1,000 lines/s each "
        f"(~{c['all_lines_per_s_estimate']:,} lines/s in all; the selected log grew "
        f"{c['selected_log_lines_per_s']:,} lines/s): {c['cpu_percent_of_one_core']} % of one "
        f"core over {c['seconds']} s; {c['bytes_per_s_to_browser']:,} B/s in "
        f"{c['messages_per_s']} messages/s to the browser."
    )
    if "latency" in results:
        lat = results["latency"]
        print(
            f"\nLine written → shown in the DOM ({lat['samples']} lines, 1 s ticks): "
            f"median {lat['median_s']} s, p99 {lat['p99_s']} s."
        )


if __name__ == "__main__":
    main()
