"""How long one GPU sampling round takes: 8 GPUs through a fake NVML, the simulated backend
(with running experiments read from a real store), and, with --real, this machine's NVML.

Usage: uv run python benchmarks/bench_gpu.py [--rounds N] [--real]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.fake_pynvml
sys.path.insert(0, str(REPO / "src"))

from nbexp import gpu  # noqa: E402
from nbexp._io.store import Store  # noqa: E402
from nbexp.states import Status  # noqa: E402

GOAL_MS = 5.0  # one round for 8 GPUs must fit easily inside the monitor's 1 s tick


def measure(read: Callable[[], object], rounds: int) -> dict[str, float]:
    """Per-round wall times in ms: median, 95th percentile and worst, after a warm-up."""
    for _ in range(min(20, rounds)):
        read()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        read()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "max": times[-1],
    }


def report_line(label: str, result: dict[str, float], goal: float | None = GOAL_MS) -> str:
    verdict = ""
    if goal is not None:
        verdict = "  ok" if result["median"] <= goal else f"  OVER the {goal:g} ms goal"
    return (
        f"{label:<44} median {result['median']:7.3f} ms  p95 {result['p95']:7.3f} ms  "
        f"max {result['max']:7.3f} ms{verdict}"
    )


def bench_fake_nvml(rounds: int) -> str:
    from tests import fake_pynvml

    real_module = sys.modules.get("pynvml")
    sys.modules["pynvml"] = fake_pynvml
    try:
        fake_pynvml.reset(fake_pynvml.eight_gpus())
        session = gpu.NvmlSession()
        assert len(session.read().gpus) == 8
        return report_line("fake NVML, 8 GPUs, NvmlSession.read()", measure(session.read, rounds))
    finally:
        if real_module is not None:
            sys.modules["pynvml"] = real_module
        else:
            sys.modules.pop("pynvml", None)


def bench_simulated(rounds: int) -> list[str]:
    lines = []
    backend = gpu.SimulatedBackend(8)
    lines.append(report_line("simulated, 8 GPUs, no store", measure(backend.read, rounds)))
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        store = Store(home)
        for index in range(4):  # four running experiments on GPUs 0-3
            experiment_id = store.insert(name=f"train{index}", command=["x"], cwd=folder)
            store.transition(
                experiment_id,
                {Status.PENDING},
                Status.RUNNING,
                "bench",
                pid=100_000 + index,
                assigned_gpus=[index],
            )
        backend = gpu.SimulatedBackend(8, home)
        assert sum(len(g.processes or ()) for g in backend.read().gpus) == 4
        monitor = gpu.GpuMonitor(backend=backend)
        lines.append(
            report_line("simulated, 8 GPUs, 4 running in the store", measure(backend.read, rounds))
        )
        lines.append(
            report_line("  same, through GpuMonitor.sample()", measure(monitor.sample, rounds))
        )
        store.close()
    return lines


def bench_real(rounds: int) -> list[str]:
    session = gpu.NvmlSession()
    start = time.perf_counter()
    report = session.read()  # includes nvmlInit
    first_ms = (time.perf_counter() - start) * 1000
    if not report.gpus:
        return [f"real NVML: skipped ({report.reason})"]
    names = ", ".join(sorted({g.name or "?" for g in report.gpus}))
    label = f"real NVML, {len(report.gpus)} GPU(s), NvmlSession.read()"
    return [
        f"real NVML: {len(report.gpus)}× {names}, driver {report.driver_version}",
        f"{'  first read, including nvmlInit':<44} {first_ms:9.3f} ms",
        report_line(label, measure(session.read, rounds)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="rounds per measurement")
    parser.add_argument("--real", action="store_true", help="also measure this machine's NVML")
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {args.rounds} rounds each, goal {GOAL_MS:g} ms")
    print(bench_fake_nvml(args.rounds))
    for line in bench_simulated(args.rounds):
        print(line)
    if args.real:
        for line in bench_real(max(50, args.rounds // 10)):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
