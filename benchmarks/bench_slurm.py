"""Latency and polling cost of nbexp's Slurm client against a throw-away single-node Slurm.

Starts the test cluster (tests/slurm/cluster.py; needs root and .ci/install-slurm.sh), measures
how long the cluster takes to start with and without accounting (MariaDB + slurmdbd), submit →
started (out of PENDING) through the client and through bare sbatch + tight scontrol polling,
the cost of one `query` for 200 jobs, and a 100-run sweep submitted as one job array against
the same runs submitted one sbatch each; prints Markdown tables. Usage:
    uv run python benchmarks/bench_slurm.py [--jobs 10] [--query-jobs 200] [--rounds 20]
        [--starts 5] [--sweep-runs 100] [--sweep-rounds 5] [--only startup,latency,query,sweep]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.slurm.cluster

from tests.slurm.cluster import SlurmCluster  # noqa: E402

from nbexp._exec.slurm_client import SlurmClient, write_batch_script  # noqa: E402

TIGHT_POLL_SECONDS = 0.01
# Jobs end by themselves: a cancelled one would sit COMPLETING for KillWait and skew the next.
SLEEPER = ["sleep", "1"]


def cpu_seconds() -> float:
    """CPU used by this process and its finished children (the Slurm commands it ran)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_started(poll: Callable[[], str], interval: float) -> None:
    """Until the job has left the queue; a 1 s poller may first see it already COMPLETED."""
    while poll() in ("PENDING", "CONFIGURING"):
        time.sleep(interval)


def native_latency(env: dict[str, str], folder: Path) -> float:
    """sbatch, then `scontrol show -o job ID` as fast as it answers: Slurm's own floor."""
    started = time.perf_counter()
    result = subprocess.run(
        ["sbatch", "--parsable", f"--output={folder / 'native.log'}", "--wrap", "sleep 1"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    job_id = result.stdout.strip().split(";")[0]

    def poll() -> str:
        out = subprocess.run(
            ["scontrol", "show", "-o", "job", job_id], capture_output=True, text=True, env=env
        ).stdout
        return out.split("JobState=", 1)[1].split()[0]

    wait_started(poll, TIGHT_POLL_SECONDS)
    return time.perf_counter() - started


def client_latency(client: SlurmClient, folder: Path, n: int, poll_interval: float) -> float:
    """write_batch_script + submit + query(), polled every `poll_interval` seconds."""
    started = time.perf_counter()
    script = folder / f"job{n}.sh"
    write_batch_script(
        script,
        argv=SLEEPER,
        cwd=str(folder),
        env={"NBEXP_EXPERIMENT_ID": str(n)},
        log_path=str(folder / f"job{n}.log"),
        job_name=f"nbexp-bench-{n}",
    )
    job_id = client.submit(script)
    wait_started(lambda: client.query([job_id])[job_id].state, poll_interval)
    return time.perf_counter() - started


def measure_latency(cluster: SlurmCluster, folder: Path, jobs: int) -> dict[str, list[float]]:
    env = cluster.client_env()
    tight = SlurmClient(env, min_poll_interval=0.0)
    # What the manager will see: its monitor ticks once a second, the client caches for 2 s.
    managed = SlurmClient(env)
    rng = random.Random(6)
    results: dict[str, list[float]] = {"native": [], "tight": [], "managed": []}
    native_latency(env, folder)  # the first job after start-up is slower for everyone
    for n in range(jobs):
        for name in rng.sample(sorted(results), k=3):
            # A random phase: slurmctld schedules on a 1 s tick, and back-to-back submissions
            # would otherwise all land at the same point of it.
            time.sleep(rng.uniform(0.0, 1.0))
            if name == "native":
                results[name].append(native_latency(env, folder))
            elif name == "tight":
                results[name].append(client_latency(tight, folder, n, TIGHT_POLL_SECONDS))
            else:
                results[name].append(client_latency(managed, folder, 1000 + n, 1.0))
    return results


def measure_query(cluster: SlurmCluster, folder: Path, count: int, rounds: int) -> list[str]:
    env = cluster.client_env()
    submitter = SlurmClient(env)
    job_ids = []
    for n in range(count):
        script = folder / f"held{n}.sh"
        write_batch_script(
            script,
            argv=["true"],
            cwd=str(folder),
            env={},
            log_path=str(folder / f"held{n}.log"),
            job_name=f"nbexp-held-{n}",
            extra=["--hold"],  # held: real job records, no CPU taken
        )
        job_ids.append(submitter.submit(script))
    ctld_pid = cluster._procs["slurmctld"].pid
    rows = []
    try:
        client = SlurmClient(env, min_poll_interval=2.0)
        for label, max_age in (("one `query` of all, fresh", 0.0), ("same, from cache", 60.0)):
            client.query(job_ids)  # warm-up, and fills the cache for the second row
            walls, cpus, ctld = [], [], []
            for _ in range(rounds):
                cpu0, ctld0, wall0 = (
                    cpu_seconds(),
                    process_cpu_seconds(ctld_pid),
                    time.perf_counter(),
                )
                answer = client.query(job_ids, max_age=max_age)
                walls.append(time.perf_counter() - wall0)
                cpus.append(cpu_seconds() - cpu0)
                ctld.append(process_cpu_seconds(ctld_pid) - ctld0)
                assert len(answer) == count
            rows.append(_row(label, walls, cpus, ctld))
        walls, cpus, ctld = [], [], []
        for _ in range(max(1, rounds // 10)):
            cpu0, ctld0, wall0 = cpu_seconds(), process_cpu_seconds(ctld_pid), time.perf_counter()
            for job_id in job_ids:
                client.query_one(job_id)
            walls.append(time.perf_counter() - wall0)
            cpus.append(cpu_seconds() - cpu0)
            ctld.append(process_cpu_seconds(ctld_pid) - ctld0)
        rows.append(_row(f"{count} × `query_one` (one scontrol each)", walls, cpus, ctld))
    finally:
        for job_id in job_ids:
            submitter.scancel(job_id)
    return rows


def measure_startup(base: Path, starts: int) -> dict[str, list[float]]:
    """Start-to-idle seconds of fresh clusters, with and without accounting, interleaved."""
    results: dict[str, list[float]] = {"without accounting": [], "with accounting": []}
    steps: dict[str, list[float]] = {}
    for n in range(starts):
        for accounting in (False, True):
            cluster = SlurmCluster(base / f"start-{n}-{int(accounting)}", accounting=accounting)
            try:
                cluster.start()
            finally:
                cluster.stop()
            label = "with accounting" if accounting else "without accounting"
            results[label].append(cluster.startup_seconds["total"])
            if accounting:
                for step, seconds in cluster.startup_seconds.items():
                    steps.setdefault(step, []).append(seconds)
    for step, values in steps.items():
        results[f"  step: {step}"] = values
    return results


def measure_sweep(
    cluster: SlurmCluster, base: Path, runs: int, rounds: int
) -> dict[str, tuple[list[float], list[int]]]:
    """Wall seconds and Slurm commands of submitting `runs` runs: mgr.sweep(executor="slurm")
    (one job array) against the same runs through run() (one sbatch each, as submitit does)."""
    from nbexp import ExperimentManager

    os.environ.update(cluster.env)
    results: dict[str, tuple[list[float], list[int]]] = {"array": ([], []), "singles": ([], [])}
    values = [str(i) for i in range(runs)]
    for n in range(rounds):
        for way in ("array", "singles"):
            manager = ExperimentManager(home=base / f"home-{way}-{n}", executor="slurm")
            client = manager.service.slurm.client
            calls = client.calls
            started = time.perf_counter()
            if way == "array":
                manager.sweep(["true", "{i}"], {"i": values}, max_parallel=8, name=f"s{n}")
            else:
                for value in values:
                    manager.run(["true", value])
            results[way][0].append(time.perf_counter() - started)
            results[way][1].append(client.calls - calls)
            jobs = [r.job_id for r in manager.service.store.list() if r.job_id]
            subprocess.run(["scancel", *{j.split("_")[0] for j in jobs}], env=cluster.client_env())
            manager.service.close()
    return results


def _row(label: str, walls: list[float], cpus: list[float], ctld: list[float]) -> str:
    return (
        f"| {label} | {statistics.median(walls) * 1000:.1f} ms | {max(walls) * 1000:.1f} ms "
        f"| {statistics.median(cpus) * 1000:.1f} ms | {statistics.mean(ctld) * 1000:.1f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10, help="jobs per latency variant")
    parser.add_argument("--query-jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--starts", type=int, default=5, help="cluster starts of each kind")
    parser.add_argument("--sweep-runs", type=int, default=100)
    parser.add_argument("--sweep-rounds", type=int, default=5)
    parser.add_argument("--only", default="startup,latency,query,sweep")
    args = parser.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="nbexp-bench-slurm-") as scratch:
        base = Path(scratch)
        if "startup" in only:
            print_startup(measure_startup(base / "starts", args.starts))
        cluster = SlurmCluster(base / "cluster")
        cluster.start()
        print(f"cluster start to idle node: {cluster.startup_seconds['total']:.2f} s\n")
        try:
            if "latency" in only:
                (base / "jobs").mkdir()
                print_latency(measure_latency(cluster, base / "jobs", args.jobs), args.jobs)
            if "query" in only:
                (base / "held").mkdir()
                rows = measure_query(cluster, base / "held", args.query_jobs, args.rounds)
                print(f"\npolling {args.query_jobs} pending jobs ({args.rounds} rounds):\n")
                print(
                    "| call | wall median | wall max | CPU here (median, incl. scontrol) "
                    "| slurmctld CPU (mean) |\n| --- | --- | --- | --- | --- |"
                )
                print("\n".join(rows))
            if "sweep" in only:
                sweep = measure_sweep(cluster, base / "sweeps", args.sweep_runs, args.sweep_rounds)
                print_sweep(sweep, args.sweep_runs, args.sweep_rounds)
        finally:
            cluster.stop()


def print_startup(results: dict[str, list[float]]) -> None:
    print("cluster start to idle node (median, min, max):\n")
    print("| cluster | median | min | max |\n| --- | --- | --- | --- |")
    for label, values in results.items():
        print(
            f"| {label} | {statistics.median(values):.2f} s | {min(values):.2f} s "
            f"| {max(values):.2f} s |"
        )
    print()


def print_latency(latency: dict[str, list[float]], jobs: int) -> None:
    print(f"submit → started, {jobs} jobs each (median, min, max):\n")
    print("| path | median | min | max |\n| --- | --- | --- | --- |")
    labels = {
        "native": "sbatch + scontrol polled every 10 ms (Slurm alone)",
        "tight": "client: write_batch_script + submit + query every 10 ms",
        "managed": "client: query every 1 s with the default 2 s cache",
    }
    for name, label in labels.items():
        values = latency[name]
        print(
            f"| {label} | {statistics.median(values):.2f} s | {min(values):.2f} s "
            f"| {max(values):.2f} s |"
        )


def print_sweep(results: dict[str, tuple[list[float], list[int]]], runs: int, rounds: int) -> None:
    print(f"\nsubmitting a {runs}-run sweep ({rounds} rounds, interleaved):\n")
    print("| how | wall median | min | max | Slurm commands |\n| --- | --- | --- | --- | --- |")
    labels = {
        "array": f'mgr.sweep(..., executor="slurm"): one job array of {runs}',
        "singles": f'{runs} × mgr.run(..., executor="slurm"): one sbatch each',
    }
    for way, label in labels.items():
        walls, calls = results[way]
        print(
            f"| {label} | {statistics.median(walls):.2f} s | {min(walls):.2f} s "
            f"| {max(walls):.2f} s | {statistics.median(calls):.0f} |"
        )
    ratio = statistics.median(results["singles"][0]) / statistics.median(results["array"][0])
    print(f"\nratio of medians (singles / array): {ratio:.1f}x")


if __name__ == "__main__":
    main()
