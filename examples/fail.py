"""A job that fails: a few log lines, then a traceback and exit code 1."""

import time


def load_batch(step: int) -> list[float]:
    if step == 3:
        raise ValueError(f"corrupt record in shard {step:05d}")
    return [0.0] * 8


print("loading data")
for step in range(5):
    print(f"step {step}")
    load_batch(step)
    time.sleep(0.05)
