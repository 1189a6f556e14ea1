"""Keras 2 bars read a block of frames at a time (`nbexp._core.keras_frames`): the same points
and the same extractor state as reading every frame in full, on generated logs with every
frame the block reading must leave to the full parse."""

from __future__ import annotations

import random

import pytest

from nbexp._core.keras_frames import KerasTemplate, KerasTemplates

from .test_metrics_extraction import blocks_read_as_frames

FRAME = "{n}/{total} [{bar}] - ETA: {eta} - {pairs}"


def keras_log(rng: random.Random, count: int) -> bytes:
    """Keras 2 epochs on a terminal (backspaces over the last frame, CR, the new frame; the
    epoch's last frame ends the line), with now and then what a block must not read as its
    shape: restarts, a finished bar redrawn, unchanged and equal-valued metrics, NaN, infinity
    and numbers that are no reading, other names and totals, other ETA forms, escapes, another
    bar's frames, text between frames, padding."""
    out, width, n, total, epoch = [], 0, 0, 1000, 1
    names = ["loss", "accuracy"]
    values = ["0.5000"] * 2
    for _ in range(count):
        event = rng.random()
        if event < 0.003 or n >= total + 3:
            pairs = " - ".join(f"{k}: {v}" for k, v in zip(names, values, strict=True))
            out.append("\b" * width + f"\r{total}/{total} [{'=' * 30}] - 5s 5ms/step - {pairs}\n")
            epoch += 1
            out.append(f"Epoch {epoch}/99\n")
            width, n = 0, 0
            continue
        n += rng.choice((1, 1, 1, 2, 0))
        eta = f"{rng.randint(0, 59)}s"
        old, values = values, [f"{rng.random():.4f}" for _ in names]
        if event < 0.01:
            values[0] = rng.choice(("nan", "inf", "1e999", "-inf", "-0.0", "1_0", "+.5", "1e5"))
        elif event < 0.03:
            values = old  # unchanged
        elif event < 0.035 and all(v[0].isdigit() for v in old):
            values = [v + "0" for v in old]  # the same values, printed otherwise
        elif event < 0.038:
            n = rng.randint(0, 5)  # starts again within the line
        elif event < 0.041:
            n = total  # done before the line ends
        elif event < 0.044:
            names = rng.choice((["loss", "accuracy"], ["loss"], ["accuracy", "loss"], ["a", "a"]))
            values = [f"{rng.random():.4f}" for _ in names]
        elif event < 0.046:
            total = rng.choice((1000, 50))
        elif event < 0.049:
            eta = rng.choice(("1:02", "500ms", "3.5s", "12us", "3x", "1:02:03"))
        elif event < 0.051:
            out.append("\r train:  10%|#  | 5/50 [00:01<00:02, 45.0it/s, loss=0.5]")
        elif event < 0.053:
            out.append("\nWARNING: a line between frames\n")
            width = 0
        done = min(n, total) * 30 // total
        bar = "=" * max(0, done - 1) + (">" if done < 30 else "=") + "." * (30 - done)
        pairs = " - ".join(f"{k}: {v}" for k, v in zip(names, values, strict=True))
        text = FRAME.format(n=n, total=total, bar=bar, eta=eta, pairs=pairs)
        if len(text) < width and rng.random() < 0.5:
            text += " " * (width - len(text))  # Keras pads a shorter frame
        if 0.990 < event < 0.992:
            text = text.replace("loss", "\x1b[1mloss\x1b[0m")
        elif 0.992 < event < 0.993:
            text = "  " + text
        backspaces = "" if 0.993 < event < 0.995 else "\b" * width
        out.append(backspaces + "\r" + text)
        width = len(text)
    return "".join(out).encode()


@pytest.mark.parametrize("seed", range(6))
def test_keras_frames_read_in_blocks_give_what_frame_by_frame_gives(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    data = keras_log(rng, 4000)
    blocks_read_as_frames(data, KerasTemplate, rng.choice((None, 997, 10_000)), monkeypatch)


def frames(counts: range, loss: str = "0.{n}", width: int = 90) -> bytes:
    return b"".join(
        b"\b" * width
        + b"\r"
        + FRAME.format(
            n=n, total=100, bar="=>" + "." * 28, eta="3s", pairs=f"loss: {loss.format(n=n)}"
        ).encode()
        for n in counts
    )


def test_a_keras_template_reads_only_frames_of_its_shape() -> None:
    templates = KerasTemplates()
    template = templates.get(b"12/100 [=>....] - ETA: 3s - loss: 0.25 - acc: 0.5   ")
    assert template is not None and template.names == ["loss", "acc"]
    template = templates.get(b"12/100 [=>....] - ETA: 1:02 - loss: nan")
    assert template is not None and template.names == ["loss"]
    good = frames(range(10, 20)) + b"\b" * 90
    found = template.read(good, 0, len(good))
    assert found is not None and found.counts == [float(n) for n in range(10, 20)]
    assert found.values == [[float(f"0.{n}") for n in range(10, 20)]]
    assert (found.first, found.last) == ("loss=0.1", "loss=0.19")
    assert found.new == [True] * 9
    # Another total, a number the full parse reads otherwise, text between frames, an
    # unfinished frame at the end: None.
    for bad in (
        frames(range(1, 2)).replace(b"/100", b"/99"),
        frames(range(1, 2), loss="1_0"),
        frames(range(1, 2)) + b"x",
        b"\b" * 90 + b"\r1/100 [=>",
    ):
        data = good + bad + good
        assert template.read(data, 0, len(data)) is None
    # The epoch's last frame (a time, not an ETA) and shapes the full parse could read
    # otherwise have no template.
    assert templates.get(b"100/100 [======] - 5s 5ms/step - loss: 0.25") is None
    assert templates.get(b"12/100 [=>....] - ETA: 3s - loss: 0.25 - loss: 0.5") is None
    assert templates.get(b"12/100 [=>....] - ETA: 3s - a%|b: 0.25") is None
    assert templates.get(b"12/100 [=>....] - ETA: 3s") is None
    assert templates.get(b"12/Unknown - 3s 40ms/step - loss: 0.2") is None
