"""Sweeps, `nbexp ls` and the dashboard at scale, side by side with the code from before
(issue 12): the same measurements run on this tree and on an older one, interleaved.

    git archive 958b867 src js/widget.js js/widget.css | tar -x -C /tmp/before  # before
    uv run python benchmarks/bench_table.py --before /tmp/before/src [--rounds 7]

Each measurement runs in a fresh process whose `sys.path` starts with the tree measured, on a
store it made itself (an older tree cannot open a newer schema). Experiments are written
straight into the store (ended, in sweeps of 100), as a long history looks. Prints Markdown
tables (docs/benchmarks.md, "Sweeps, ls and the runs table") and writes
benchmarks/out/table.json. The browser's numbers (scroll, round trips, log jumps) come from
`uv run pytest tests/ui -k "ten_thousand or jumps"` (benchmarks/out/runs_table.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"
HERE = Path(__file__).resolve().parents[1] / "src"

# Runs in a child process: `python -c WORKER SRC JOB ARGS_JSON`; prints one JSON line.
WORKER = r"""
import json, os, resource, statistics, sys, time
sys.path.insert(0, sys.argv[1])
job, args = sys.argv[2], json.loads(sys.argv[3])
from nbexp import ExperimentManager

def fill(home, count):
    manager = ExperimentManager(home)
    now = time.time()
    with manager.store.write() as conn:
        conn.executemany(
            "INSERT INTO experiments (name, command, cwd, env, status, created, started, ended,"
            " error, attempt) VALUES (?, ?, '/', '{}', ?, ?, ?, ?, ?, 1)",
            [(f"sweep-{i // 100} run {i}", json.dumps(["python", "train.py", f"--lr={i}"]),
              ("completed", "error", "interrupted")[i % 3], now - i, now - i, now - i + 60,
              None if i % 3 == 0 else "exit code 1") for i in range(count)])
    return manager

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

if job == "fill":
    fill(args["home"], args["count"]).close()
    print(json.dumps({}))
elif job == "dashboard":
    from nbexp._ui.dashboard import Dashboard, json_size
    manager = fill(args["home"], args["count"])
    dash = Dashboard(manager=manager, live=False)
    sent = []
    dash.send = sent.append
    began = time.perf_counter()
    dash._on_message(dash, {"type": "hello", "view": "v", "limit": 40}, [])
    hello_s = time.perf_counter() - began
    first = json_size(sent[-1])
    ticks = []
    for _ in range(args["ticks"]):
        began = cpu()
        dash.refresh()
        ticks.append(cpu() - began)
    dash.close()
    live = Dashboard(manager=manager, interval=1.0)
    live.send = lambda message: None
    live._on_message(live, {"type": "hello", "view": "v", "limit": 40}, [])
    time.sleep(2)
    began, at = cpu(), time.monotonic()
    time.sleep(args["idle_s"])
    idle = 100 * (cpu() - began) / (time.monotonic() - at)
    live.close()
    print(json.dumps({"first_bytes": first, "hello_s": hello_s,
                      "idle_tick_cpu_ms": 1000 * statistics.median(ticks),
                      "idle_cpu_percent": idle}))
elif job == "sweep":
    manager = ExperimentManager(args["home"], watch_queue=False)
    command = [sys.executable, "-c", "import time; time.sleep(30)"]
    began = time.perf_counter()
    if hasattr(manager, "sweep"):
        group = manager.sweep(command + ["{i}"], {"i": list(range(args["count"]))}, max_parallel=1)
        ids = group.ids
    else:  # before sweeps: a loop over run(), one CPU slot
        manager.configure(max_parallel_cpu=1)
        ids = [manager.run(command + [str(i)], queue=True).id for i in range(args["count"])]
    elapsed = time.perf_counter() - began
    for experiment_id in ids:
        manager.stop(experiment_id, grace=1, wait=False)
    print(json.dumps({"seconds": elapsed, "created": len(ids)}))
elif job == "select":
    from nbexp._ui.dashboard import Dashboard
    manager = fill(args["home"], args["count"])
    dash = Dashboard(manager=manager, live=False)
    dash.send = lambda message: None
    dash._on_message(dash, {"type": "hello", "view": "v", "limit": 40}, [])
    times = {}
    changes = (("sort by name", "sort", "name"), ("sort by runtime", "sort", "runtime"),
               ("status chip", "status_filter", ["error"]), ("search", "search", "sweep-42"),
               ("group rows", "grouped", True))
    for name, trait, value in changes:
        rounds, default = [], getattr(dash, trait)
        for _ in range(args["rounds"]):
            began = time.perf_counter()
            setattr(dash, trait, value)  # the observer computes and pushes every view's window
            rounds.append(1000 * (time.perf_counter() - began))
            setattr(dash, trait, default)
        times[name] = statistics.median(rounds)
    print(json.dumps(times))
"""


def child(src: Path, job: str, args: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(src), job, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(src), "NBEXP_SIMULATED_GPUS": ""},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{job} on {src} failed:\n{result.stderr[-3000:]}")
    values: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def cli_seconds(src: Path, home: Path, words: list[str], rounds: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "NBEXP_HOME": str(home)}
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nbexp", *words], env=env, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def ls_table(trees: dict[str, Path], work: Path, rounds: int) -> dict[str, Any]:
    """`nbexp ls` and `ls --json` with 10 and 10,000 experiments, each tree on its own stores."""
    out: dict[str, Any] = {}
    for label, src in trees.items():
        for count in (10, 10_000):
            home = work / f"ls-{label}-{count}"
            child(src, "fill", {"home": str(home), "count": count})
    for words in (["ls"], ["ls", "--json"]):
        for count in (10, 10_000):
            for label, src in trees.items():  # interleaved: the same noise for both trees
                home = work / f"ls-{label}-{count}"
                key = f"{' '.join(words)} {count}"
                out.setdefault(key, {})[label] = cli_seconds(src, home, words, rounds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="src/ of the tree to compare with")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measured")
    args = parser.parse_args()
    trees = {"now": HERE, **({"before": args.before.resolve()} if args.before else {})}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="nbexp-bench-table-") as folder:
        work = Path(folder)
        results["ls"] = ls_table(trees, work, args.rounds)
        for label, src in trees.items():
            results.setdefault("sweep", {})[label] = child(
                src, "sweep", {"home": str(work / f"sweep-{label}"), "count": 100}
            )
            results.setdefault("dashboard", {})[label] = child(
                src,
                "dashboard",
                {"home": str(work / f"dash-{label}"), "count": args.count, "ticks": 20,
                 "idle_s": args.idle},
            )  # fmt: skip
        results["select"] = child(
            HERE, "select", {"home": str(work / "select"), "count": args.count, "rounds": 5}
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "table.json").write_text(json.dumps(results, indent=2) + "\n")
    print_tables(results, list(trees))


def print_tables(results: dict[str, Any], labels: list[str]) -> None:
    print("| measure | " + " | ".join(labels) + " |")
    print("| --- |" + " ---: |" * len(labels))
    for key, values in results["ls"].items():
        print(f"| `nbexp {key.rsplit(' ', 1)[0]}`, {int(key.rsplit(' ', 1)[1]):,} experiments | "
              + " | ".join(f"{values[label]:.3f} s" for label in labels) + " |")  # fmt: skip
    for label_key, unit, scale, name in (
        ("first_bytes", "KB", 1 / 1000, "dashboard: first message"),
        ("idle_tick_cpu_ms", "ms", 1, "dashboard: one idle tick, CPU"),
        ("idle_cpu_percent", "% of a core", 1, "dashboard: idle kernel CPU (monitor thread)"),
    ):
        cells = [f"{results['dashboard'][label][label_key] * scale:.1f} {unit}" for label in labels]
        print(f"| {name} | " + " | ".join(cells) + " |")
    cells = [f"{results['sweep'][label]['seconds']:.3f} s" for label in labels]
    print("| 100 runs created and queued (sweep / a loop over run()) | " + " | ".join(cells) + " |")
    print()
    print("| table change, 10,000 rows, kernel side | median |")
    print("| --- | ---: |")
    for name, value in results["select"].items():
        print(f"| {name} | {value:.1f} ms |")


if __name__ == "__main__":
    main()
