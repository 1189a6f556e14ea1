"""A job that runs until it is stopped and spawns worker processes, like a DataLoader.

    python examples/workers.py --workers 2 [--stubborn] [--grandchildren]

--stubborn: one worker ignores SIGTERM (only SIGKILL ends it).
--grandchildren: each worker starts a sleeping child of its own, in a new session.
Prints one line per process ("worker 0 pid 1234") so tests can find every pid.
"""

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import time


def say(text: str) -> None:
    # One write() per line: with PYTHONUNBUFFERED, print() issues the text and the newline as
    # two writes, and lines from the main process and its workers could interleave.
    os.write(1, f"{text}\n".encode())


def worker(index: int, stubborn: bool, grandchildren: bool) -> None:
    if stubborn and index == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    say(f"worker {index} pid {os.getpid()}")
    if grandchildren:
        # start_new_session: it leaves our process group, as daemonising tools do.
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session=True
        )
        say(f"grandchild {index} pid {child.pid}")
    while True:
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stubborn", action="store_true")
    parser.add_argument("--grandchildren", action="store_true")
    args = parser.parse_args()
    say(f"main pid {os.getpid()}")
    processes = [
        multiprocessing.Process(target=worker, args=(i, args.stubborn, args.grandchildren))
        for i in range(args.workers)
    ]
    for p in processes:
        p.start()
    step = 0
    while True:
        step += 1
        say(f"step {step}")
        time.sleep(1)


if __name__ == "__main__":
    main()
