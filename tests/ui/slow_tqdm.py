"""A slow tqdm bar for the browser tests: prints a few plain lines, then one bar that redraws."""

import sys
import time

from tqdm import tqdm

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 600
delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
print("starting training", flush=True)
for _ in tqdm(range(steps), file=sys.stdout, mininterval=0, ascii=True):
    time.sleep(delay)
print("done", flush=True)
