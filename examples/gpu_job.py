"""A pretend GPU job: reports the GPUs it was given, then trains for a while with a bar."""

import argparse
import os
import time

from tqdm import tqdm

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=100)
parser.add_argument("--delay", type=float, default=0.05)
args = parser.parse_args()
print(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')}", flush=True)
for _ in tqdm(range(args.steps), desc="training", mininterval=0.2):
    time.sleep(args.delay)
