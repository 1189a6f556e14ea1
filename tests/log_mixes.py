"""Random logs that mix what training scripts print (tqdm bars, nested ones that end their
frames with ESC [A, Keras progbars redrawn with backspaces, key=value and `key: value` lines,
JSON lines and Python dicts, plain text, LF or CRLF), for tests that read them in pieces.
A seed always gives the same log."""

from __future__ import annotations

import json
import random


def _number(rng: random.Random, x: float) -> str:
    return rng.choice([f"{x:.4f}", f"{x:.6g}", f"{x:.2e}", str(round(x, 3))])


class _Printer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.step = 0
        self.bar_n: dict[str, int] = {}
        self.eol = rng.choice(["\n", "\r\n"])
        self.keras_n = 0

    def tqdm(self, nested: bool = False) -> str:
        rng = self.rng
        desc = rng.choice(["train", "epoch 1", "val", "batches 0"])
        total = rng.choice([50, 100, None])
        n = self.bar_n.get(desc, 0) + rng.randint(0, 3)
        self.bar_n[desc] = n
        postfix = ""
        if rng.random() < 0.7:
            names = rng.sample(["loss", "acc", "lr"], rng.randint(1, 3))
            postfix = ", " + ", ".join(f"{k}={_number(rng, rng.random())}" for k in names)
        elapsed, rate = f"00:0{rng.randint(0, 9)}", f"{rng.uniform(1, 99):.2f}it/s"
        if total:
            n = min(n, total)
            pct = 100 * n // total
            bar = f"{'#' * (pct // 10):10s}"
            frame = f"\r{desc}: {pct:3d}%|{bar}| {n}/{total} [{elapsed}<00:01, {rate}{postfix}]"
        else:
            frame = f"\r{desc}: {n}it [{elapsed}, {rate}{postfix}]"
        if nested:
            return frame + "\x1b[A\n"
        return frame + self.eol if rng.random() < 0.1 else frame

    def keras(self) -> str:
        rng, total = self.rng, 20
        n = min(total, self.keras_n + rng.randint(1, 3))
        self.keras_n = n % total
        done = n * 20 // total
        bar = "=" * done + (">" if done < 20 else "") + "." * (19 - done)
        frame = (
            f"{n:2d}/{total} [{bar}] - ETA: {rng.randint(0, 9)}s - loss: {rng.random():.4f}"
            f" - accuracy: {rng.random():.4f}"
        )
        before = rng.choice(["\r", "\b" * rng.randint(1, 90)])
        return before + frame + (self.eol if n == total else "")

    def key_values(self) -> str:
        rng = self.rng
        self.step += rng.randint(1, 5)
        a, b = _number(rng, rng.random()), _number(rng, rng.random())
        line = rng.choice(
            [
                f"step={self.step} loss={a} acc={b}",
                f"epoch {rng.randint(0, 3)} step {self.step} loss={a} val_acc={b}",
                f"2024-01-01 12:00:{rng.randint(10, 59)} INFO iter: {self.step} loss: {a}",
                f"[{self.step}] train_loss={a}, lr={_number(rng, rng.random() / 100)}",
            ]
        )
        return line + self.eol

    def json_line(self) -> str:
        rng = self.rng
        self.step += 1
        if rng.random() < 0.5:
            found = {"step": self.step, "loss": rng.random(), "acc": round(rng.random(), 3)}
            return json.dumps(found) + self.eol
        return (
            repr({"loss": round(rng.random(), 4), "epoch": round(rng.random() * 3, 2)}) + self.eol
        )

    def text(self) -> str:
        return (
            self.rng.choice(
                [
                    f"Saving checkpoint to /tmp/ckpt-{self.rng.randint(1, 9999)}",
                    "hello world",
                    "",
                    "\x1b[32mdone\x1b[0m",
                    "Downloading 45%",
                    "x = 3.5e-3 maybe",
                ]
            )
            + self.eol
        )

    def any(self) -> str:
        kind = self.rng.choices(
            ["tqdm", "nested", "keras", "kv", "json", "text"], [30, 10, 10, 25, 10, 15]
        )[0]
        return {
            "tqdm": self.tqdm,
            "nested": lambda: self.tqdm(True),
            "keras": self.keras,
            "kv": self.key_values,
            "json": self.json_line,
            "text": self.text,
        }[kind]()


def mixed_log(seed: int) -> bytes:
    """A log of 20 to 400 pieces: each a random kind, or runs of up to 60 of one kind."""
    rng = random.Random(seed * 7 + 1)
    pieces = rng.randint(20, 400)
    rng = random.Random(seed)
    printer = _Printer(rng)
    out: list[str] = []
    if rng.choice(["mixed", "runs"]) == "runs":
        kinds = [printer.tqdm, printer.keras, printer.key_values, printer.json_line, printer.text]
        kinds.append(lambda: printer.tqdm(True))
        while len(out) < pieces:
            kind = rng.choice(kinds)
            out.extend(kind() for _ in range(rng.randint(1, 60)))
    else:
        out = [printer.any() for _ in range(pieces)]
    return "".join(out).encode()
