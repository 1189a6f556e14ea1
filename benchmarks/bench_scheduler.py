"""Scheduling cost: the pure decision and one whole step (store + GPU probe + claims).

    uv run python benchmarks/bench_scheduler.py [--queued 1000] [--gpus 8] [--rounds 30]

Goal (issue 4): one scheduling step with 1,000 queued experiments in <= 20 ms. The whole step is
measured on a real SQLite store with simulated GPUs; every GPU is held by a running experiment,
so nothing launches and each round decides over the full queue (the worst case: a step that
launches work is followed by steps over a shorter queue). Medians of `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from nbexp._core.scheduler import GpuState, Request, Resources, plan
from nbexp._io.store import Store
from nbexp.states import Action, Status, sources


def pure_plan(queued: int, gpus: int, rounds: int) -> float:
    requests = [
        Request(
            i,
            gpus=1 + i % 2,
            priority=i % 3,
            queued_at=float(i),
            after=(i - 1,) if i % 7 == 0 else (),
        )
        for i in range(1, queued + 1)
    ]
    resources = Resources({i: GpuState(i, held_by=(f"experiment {i}",)) for i in range(gpus)})
    statuses = {i: Status.QUEUED for i in range(queued + 1)}
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        plan(requests, resources, statuses)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def whole_step(queued: int, gpus: int, rounds: int) -> tuple[float, float]:
    """Median seconds of ExperimentManager.schedule(), and of the store read it starts with."""
    with tempfile.TemporaryDirectory(prefix="nbexp-bench-sched-") as tmp:
        home = Path(tmp)
        os.environ["NBEXP_SIMULATED_GPUS"] = str(gpus)
        os.environ["NBEXP_HOME"] = str(home)
        store = Store(home)
        # GPU holders: rows marked running on every GPU (their pids are ours: this process).
        for index in range(gpus):
            experiment_id = store.insert(name=f"holder{index}", command=["sleep"], cwd="/", env={})
            store.transition(
                experiment_id,
                sources(Action.START),
                Status.RUNNING,
                "bench",
                attempt=1,
                started=time.time(),
                assigned_gpus=[index],
                runner_pid=os.getpid(),
                runner_start=None,
                pid=os.getpid(),
                log_path=str(home / "x.log"),
            )
        for i in range(queued):
            experiment_id = store.insert(
                name=f"q{i}", command=["true"], cwd="/", env={}, gpus=1 + i % 2, priority=i % 3
            )
            store.transition(
                experiment_id, sources(Action.QUEUE), Status.QUEUED, "bench", queued_at=float(i)
            )
        from nbexp import ExperimentManager

        manager = ExperimentManager(home=home, watch_queue=False)
        manager.schedule()  # warm-up: NVML/simulated backend, imports
        steps, reads = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            launched = manager.schedule()
            steps.append(time.perf_counter() - start)
            assert launched == []
            start = time.perf_counter()
            with store.read() as conn:
                store.read_queue(conn)
            reads.append(time.perf_counter() - start)
        return statistics.median(steps), statistics.median(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    decision = pure_plan(args.queued, args.gpus, args.rounds)
    step, read = whole_step(args.queued, args.gpus, args.rounds)
    print(f"| measure ({args.queued} queued, {args.gpus} simulated GPUs) | median | goal |")
    print("| --- | --- | --- |")
    print(f"| pure decision, `_scheduler.plan` | {decision * 1e3:.2f} ms | |")
    print(f"| reading the queue from SQLite (part of a step) | {read * 1e3:.2f} ms | |")
    print(f"| whole step, `ExperimentManager.schedule()` | {step * 1e3:.2f} ms | <= 20 ms |")


if __name__ == "__main__":
    main()
