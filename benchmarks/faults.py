"""Fault figures: the trials behind docs/lifecycle.md "What nbexp guarantees", repeated many times.

    uv run python benchmarks/faults.py [--kills 100] [--starts 1000] [--stops 20] [--fuzz 10000]

- kill -9 of the controller: a process runs `ExperimentManager().run(job)` and is SIGKILLed at a
  random moment (before, during or after launching); each job prints numbered lines and exits
  with a known code. Counted: experiments left pending or running, lost exit codes, lost lines.
- concurrent starts: pending experiments, each started by many processes at once. Counted:
  experiments launched more than once (history and a marker file the command appends to).
- stop trees: trees of 9 processes (children, grandchildren, setsid daemons, one ignoring
  SIGTERM) and a shell forking while it is killed, stopped with a 1 s grace. Counted: survivors.
- renderer fuzz: random byte soups of escape sequences, rendered in one piece and in random
  chunks. Counted: exceptions, and chunkings whose result differs.

Prints a Markdown table (docs/benchmarks.md, "Faults").
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbexp import ExperimentManager, Status
from nbexp._io import proc
from nbexp.terminal import Screen, render

PY = sys.executable
JOB = "import sys\nfor i in range({lines}): print('line', i, flush=True)\nsys.exit({code})\n"
# Ready to launch, it says so and waits for a go: the kill then lands within run() or wait().
CONTROLLER = (
    "import sys\nfrom nbexp import ExperimentManager\n"
    "manager = ExperimentManager(sys.argv[1])\n"
    "print('ready', flush=True)\nsys.stdin.readline()\n"
    "manager.run([sys.executable, '-c', sys.argv[2]]).wait()\n"
)
KILL_WITHIN_S = 0.06  # after the go: create, claim, runner spawn and the first lines


def kill_the_controller(trials: int, work: Path) -> dict[str, int]:
    home = work / "kills"
    manager = ExperimentManager(home)
    expected: dict[str, tuple[int, int]] = {}  # experiment name... by command text
    for trial in range(trials):
        lines, code = 20 + trial % 30, trial % 7
        job = JOB.format(lines=lines, code=code)
        expected[job] = (lines, code)
        controller = subprocess.Popen(
            [PY, "-c", CONTROLLER, str(home), job],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert controller.stdin is not None and controller.stdout is not None
        controller.stdout.readline()  # ready
        controller.stdin.write("go\n")
        controller.stdin.flush()
        time.sleep(random.uniform(0, KILL_WITHIN_S))
        controller.send_signal(signal.SIGKILL)
        controller.wait()
        controller.stdin.close()
        controller.stdout.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(r.status.is_active for r in manager.records()):
        time.sleep(0.5)
    result = {"trials": trials, "created": 0, "completed or failed as the job said": 0}
    result.update({"interrupted launches": 0, "pending": 0, "stuck": 0})
    result.update({"lost exits": 0, "lost lines": 0})
    for record in manager.records():
        result["created"] += 1
        lines, code = expected[record.command[-1]]
        if record.status is Status.PENDING:
            result["pending"] += 1
        elif record.status.is_active:
            result["stuck"] += 1
        elif (record.error or "").startswith("launch interrupted"):
            result["interrupted launches"] += 1
        elif record.exit_code != code:
            result["lost exits"] += 1
        else:
            result["completed or failed as the job said"] += 1
            result["lost lines"] += lines - len(manager.logs(record.id))
    return result


def _start_all(home: str, ids: list[int], go: str) -> int:
    manager = ExperimentManager(home)
    while not os.path.exists(go):
        time.sleep(0.001)
    started = 0
    for experiment_id in ids:
        try:
            manager.start(experiment_id)
            started += 1
        except Exception:
            pass  # refused: someone else started it (what we count on)
    return started


def concurrent_starts(starts: int, work: Path, contenders: int = 10) -> dict[str, int]:
    home = work / "starts"
    manager = ExperimentManager(home)
    marker = work / "marker"
    count = starts // contenders
    command = (
        f"open({str(marker)!r}, 'a').write(__import__('os').environ['NBEXP_EXPERIMENT_ID'] + '\\n')"
    )
    ids = [manager.create([PY, "-c", command]).id for _ in range(count)]
    go = str(work / "go")
    with multiprocessing.get_context("spawn").Pool(contenders) as pool:
        orders = [random.sample(ids, len(ids)) for _ in range(contenders)]
        pending = [pool.apply_async(_start_all, (str(home), order, go)) for order in orders]
        time.sleep(2)  # every contender waits at the line
        Path(go).touch()
        successes = sum(p.get(timeout=600) for p in pending)
    for experiment_id in ids:
        manager.wait(experiment_id, timeout=120)
    ran = marker.read_text().split()
    launches = {i: sum(h.to_status is Status.RUNNING for h in manager.history(i)) for i in ids}
    return {
        "starts": count * contenders,
        "experiments": count,
        "successful starts": successes,
        "launched twice": sum(n > 1 for n in launches.values()),
        "commands run twice": len(ran) - len(set(ran)),
        "never ran": count - len(set(ran)),
    }


SLEEPER = "import time; time.sleep(600)"
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
PARENT = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); "
PARENT += "time.sleep(600)"
# 9 processes: the main one, 2 children with a child each, 2 setsid daemons, 1 ignoring SIGTERM
# (and the setsid wrappers' exec'd sleeps).
TREE = f"""
import subprocess, sys, time
for _ in range(2):
    subprocess.Popen([sys.executable, '-c', {PARENT!r}])
for _ in range(2):
    subprocess.Popen(['setsid', 'sleep', '600'])
subprocess.Popen([sys.executable, '-c', {STUBBORN!r}])
print('tree up', flush=True)
time.sleep(600)
"""
FORKER = "trap '' TERM; while :; do sleep 1000 & sleep 0.005; done"


def stop_trees(trials: int, work: Path) -> dict[str, float]:
    home = work / "stops"
    manager = ExperimentManager(home)
    survivors, times = 0, []
    for trial in range(trials):
        command = ["sh", "-c", FORKER] if trial % 2 else [PY, "-c", TREE]
        exp = manager.run(command)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            "tree up" in "".join(manager.logs(exp.id)) or (trial % 2 and manager.get(exp.id).pid)
        ):
            time.sleep(0.05)
        time.sleep(0.3)
        began = time.monotonic()
        manager.stop(exp.id, grace=1)
        times.append(time.monotonic() - began)
        markers = {"NBEXP_EXPERIMENT_ID": str(exp.id), "NBEXP_HOME": str(home)}
        left = proc.processes_with_environ(markers)
        survivors += len(left)
        proc.signal_all(left, signal.SIGKILL)
    times.sort()
    return {
        "trials": trials,
        "survivors": survivors,
        "median stop s": round(times[len(times) // 2], 2),
        "slowest stop s": round(times[-1], 2),
    }


ALPHABET = [
    b"a", b"xyz ", b"\n", b"\r", b"\r\n", b"\t", b"\b", b"\x1b", b"\x1b[", b"\x1b[2K",
    b"\x1b[1A", b"\x1b[3B", b"\x1b[10C", b"\x1b[2D", b"\x1b[31m", b"\x1b[0m", b"\x1b[38;5;208m",
    b"\x1b[48;2;1;2;3m", b"\x1b[?25l", b"\x1b[J", b"\x1b[H", b"\x1b]0;title\x07",
    b"\x1b]8;;http://x\x1b\\", b"\x1b7", b"\x1b8", b"\x1bM", b"\x9b", b"\xff", b"\xe4\xb8\xad",
    "é".encode(), "\U0001f600".encode(), b"\x00", b"\x1b[999999999999A", b"\x1b[;;;;m",
    b"50%|#####     | 5/10 [00:01<00:01,  4.2it/s]",
]  # fmt: skip


def renderer_fuzz(cases: int) -> dict[str, int]:
    rng = random.Random(20261201)
    exceptions = differences = 0
    for _ in range(cases):
        data = b"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 60)))
        try:
            whole = render(data)
            screen = Screen(40)
            position = 0
            while position < len(data):
                step = rng.randint(1, 8)
                screen.feed(data[position : position + step])
                position += step
            differences += screen.lines() != whole
        except Exception:
            exceptions += 1
    return {"cases": cases, "exceptions": exceptions, "chunking differences": differences}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--starts", type=int, default=1000)
    parser.add_argument("--stops", type=int, default=20)
    parser.add_argument("--fuzz", type=int, default=10_000)
    parser.add_argument("--only", choices=["kills", "starts", "stops", "fuzz"])
    args = parser.parse_args()
    random.seed(1)
    with tempfile.TemporaryDirectory(prefix="nbexp-faults-") as folder:
        work = Path(folder)
        trials = {
            "kills": ("kill -9 of the controller", lambda: kill_the_controller(args.kills, work)),
            "starts": ("concurrent starts", lambda: concurrent_starts(args.starts, work)),
            "stops": ("stop trees (9 processes, or forking)", lambda: stop_trees(args.stops, work)),
            "fuzz": ("renderer fuzz", lambda: renderer_fuzz(args.fuzz)),
        }
        rows = [(name, run()) for key, (name, run) in trials.items() if args.only in (None, key)]
    print("| trial | result |\n| --- | --- |")
    for name, result in rows:
        print(f"| {name} | " + ", ".join(f"{k}: {v}" for k, v in result.items()) + " |")


if __name__ == "__main__":
    main()
