"""Nested tqdm bars (an outer epoch bar and an inner batch bar that is cleared each epoch)."""

import argparse
import time

from tqdm import tqdm

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batches", type=int, default=40)
parser.add_argument("--delay", type=float, default=0.02)
args = parser.parse_args()

for epoch in tqdm(range(args.epochs), desc="epochs", position=0):
    for _ in tqdm(range(args.batches), desc=f"batches {epoch}", position=1, leave=False):
        time.sleep(args.delay)
    tqdm.write(f"epoch {epoch} finished")
print("done")
