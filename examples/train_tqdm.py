"""A small "training run": log lines, a tqdm bar with metrics per epoch, exit code 0.

python examples/train_tqdm.py --epochs 3 --steps 50 --delay 0.02
"""

import argparse
import math
import os
import time

from tqdm import tqdm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds per step")
    parser.add_argument("--lr", type=float, default=0.02, help="how fast the loss falls")
    args = parser.parse_args()

    print(
        f"experiment {os.environ.get('NBEXP_EXPERIMENT_ID', '?')}: "
        f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')!r}"
    )
    loss = 2.5
    for epoch in range(1, args.epochs + 1):
        bar = tqdm(range(args.steps), desc=f"epoch {epoch}", unit="step", mininterval=0.1)
        for step in bar:
            time.sleep(args.delay)
            loss = 2.5 * math.exp(-args.lr * ((epoch - 1) * args.steps + step)) + 0.05
            bar.set_postfix(loss=f"{loss:.4f}", lr=args.lr)
        print(f"epoch {epoch}: loss={loss:.4f}")
    print("done")


if __name__ == "__main__":
    main()
