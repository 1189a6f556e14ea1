"""Metric extraction (nbexp._core.metric_extraction) on real output: programs that use tqdm and
rich, print keras-style progbars, key=value and JSON lines, captured to a file and through a
pseudo-terminal, and whose every printed value is checked against the series read back."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from nbexp._core import metric_extraction as extraction
from nbexp._core.bar_frames import HEAVY_BAR, BarBlock, FrameTemplate, find_heavy_bar
from nbexp._core.final_progress import final_progress
from nbexp._core.keras_frames import KerasTemplate
from nbexp._core.metric_extraction import Columns, MetricExtractor
from nbexp._core.metric_lines import (
    LineStep,
    LineTemplate,
    json_columns,
    line_metrics,
    python_dict_as_json,
)

from .capture_helpers import capture_file, capture_pty
from .log_mixes import mixed_log

CAPTURES = ["file", "pty"]


def capture(program: str, how: str, tmp_path: Path) -> bytes:
    return capture_file(program, tmp_path) if how == "file" else capture_pty(program)


def extract(data: bytes, chunk: int | None = None) -> dict[str, list[tuple[float, float]]]:
    """Feed `data` as a log that grows by `chunk` bytes between reads (each read starts where
    the last one's consumed bytes end, as the store's cursor does) and group the points by
    series: {name: [(step, value), ...]}."""
    series, _ = extract_with_state(data, chunk)
    return {name: points for name, (points, _offsets) in series.items()}


def add(series: dict[str, list[tuple[float, float]]], found: dict[str, Columns]) -> None:
    for name, (steps, values, _offsets) in found.items():
        series.setdefault(name, []).extend(zip(steps, values, strict=True))


# -- tqdm --------------------------------------------------------------------------------------

TQDM_POSTFIX = """
import json, sys
from tqdm import tqdm
printed = []
bar = tqdm(range(120), mininterval=0, desc="train")
for i in bar:
    loss, acc = f"{1.0 / (i + 1):.4f}", f"{i / 120:.3f}"
    bar.set_postfix(loss=loss, acc=acc)
    printed.append([bar.n, float(loss), float(acc)])
    if i % 40 == 0:
        tqdm.write(f"checkpoint at {i}")
bar.close()
print("PRINTED " + json.dumps(printed))
"""


def printed(data: bytes) -> list[list[float]]:
    line = next(x for x in data.decode().splitlines() if "PRINTED " in x)
    return json.loads(line[line.index("PRINTED ") + len("PRINTED ") :])


@pytest.mark.parametrize("how", CAPTURES)
def test_every_tqdm_frame_gives_its_postfix_at_its_n(how: str, tmp_path: Path) -> None:
    data = capture(TQDM_POSTFIX, how, tmp_path)
    expected = printed(data)
    series = extract(data)
    assert series["loss"] == [(n, loss) for n, loss, _ in expected]
    assert series["acc"] == [(n, acc) for n, _, acc in expected]
    # Read as it grows, in small pieces: the same points, none twice.
    assert extract(data, chunk=97) == series
    assert extract(data, chunk=4096) == series


TQDM_NESTED = """
import json
from tqdm import tqdm
inner_printed, outer_printed = [], []
outer = tqdm(range(3), mininterval=0, desc="epochs")
for epoch in outer:
    inner = tqdm(range(25), mininterval=0, leave=False, desc=f"batches {epoch}")
    for b in inner:
        loss = f"{2.0 / (epoch * 25 + b + 1):.5f}"
        inner.set_postfix(loss=loss)
        inner_printed.append([epoch * 25 + inner.n, float(loss)])
    val = f"{1.0 / (epoch + 2):.4f}"
    outer.set_postfix(val_loss=val)
    outer_printed.append([outer.n, float(val)])
print("PRINTED " + json.dumps([inner_printed, outer_printed]))
"""


@pytest.mark.parametrize("how", CAPTURES)
def test_nested_bars_keep_their_own_step_axes(how: str, tmp_path: Path) -> None:
    data = capture(TQDM_NESTED, how, tmp_path)
    inner, outer = printed(data)
    series = extract(data)
    # The inner bar starts again each epoch; its steps count batches over the whole run.
    assert series["loss"] == [(step, loss) for step, loss in inner]
    assert [s for s, _ in series["loss"]] == sorted(s for s, _ in series["loss"])
    # The outer bar's steps are epochs.
    assert series["val_loss"] == [(step, value) for step, value in outer]
    assert extract(data, chunk=211) == series


TQDM_POSITION = """
import json
from tqdm import tqdm
outer = tqdm(total=10, position=0, mininterval=0, desc="outer")
inner = tqdm(total=10, position=1, mininterval=0, desc="inner")
seen = []
for i in range(10):
    inner.update(1)
    inner.set_postfix(grad=f"{i * 0.5:.1f}")
    outer.update(1)
    outer.set_postfix(lr=f"{0.1 / (i + 1):.4f}")
    seen.append([inner.n, float(f"{i * 0.5:.1f}"), outer.n, float(f"{0.1 / (i + 1):.4f}")])
inner.close()
outer.close()
print("PRINTED " + json.dumps(seen))
"""


@pytest.mark.parametrize("how", CAPTURES)
def test_bars_at_fixed_positions(how: str, tmp_path: Path) -> None:
    data = capture(TQDM_POSITION, how, tmp_path)
    seen = printed(data)
    series = extract(data)
    assert series["grad"] == [(n, grad) for n, grad, _, _ in seen]
    assert series["lr"] == [(n, lr) for _, _, n, lr in seen]


# -- keras-style progbars ------------------------------------------------------------------------

# Keras' own Progbar is not installed here; this writes what it writes: Keras 2 on a terminal
# (backspaces over the last frame, then "\r"), the epoch's last frame ending with "\n", then
# Keras 3's heavy bars.
KERAS = r"""
import json, sys
out, seen, width = sys.stdout, [], 0
for epoch in range(2):
    out.write(f"Epoch {epoch + 1}/2\n")
    for n in range(1, 21):
        loss, acc = f"{1.0 / (epoch * 20 + n):.4f}", f"{n / 20:.4f}"
        bar = "=" * (n * 30 // 20 - 1) + (">" if n < 20 else "=") + "." * (30 - n * 30 // 20)
        text = f"{n}/20 [{bar}] - ETA: {20 - n}s - loss: {loss} - accuracy: {acc}"
        out.write("\b" * width + "\r" + text)
        width = len(text)
        seen.append([epoch * 20 + n, float(loss), float(acc)])
        out.flush()
    out.write("\n")
    width = 0
for n in range(1, 11):
    bar = "━" * n + " " * (10 - n)
    text = f"{n}/10 {bar} 2s 40ms/step - accuracy: {n / 10:.2f} - loss: {1 / n:.3f}"
    out.write("\r" + text)
    seen.append([n, float(f"{1 / n:.3f}"), float(f"{n / 10:.2f}")])
out.write("\n")
print("PRINTED " + json.dumps(seen))
"""


@pytest.mark.parametrize("how", CAPTURES)
def test_keras_progbars(how: str, tmp_path: Path) -> None:
    data = capture(KERAS, how, tmp_path)
    seen = printed(data)
    series = extract(data)
    keras2, keras3 = seen[:40], seen[40:]
    # Keras 2's bar and Keras 3's are two bars (different totals): Keras 3's metrics are
    # qualified only where a name is taken by another source, which a bar of the same kind
    # is not; they continue the same series here, at their own steps.
    assert series["loss"][:40] == [(step, loss) for step, loss, _ in keras2]
    assert series["accuracy"][:40] == [(step, acc) for step, _, acc in keras2]
    assert [v for _, v in series["loss"][40:]] == [loss for _, loss, _ in keras3]
    assert extract(data, chunk=113) == series


# Keras 3's Progbar as it writes on Linux (it backspaces even into a file): the count in bold,
# the bar in green and grey heavy lines, the ETA (the elapsed time when the epoch ends) in
# bold, the time per step, and averages with 4 decimals, or 4 significant digits below 1e-3.
KERAS3 = r"""
import json, sys
out, seen, width = sys.stdout, [], 0
for epoch in range(2):
    out.write(f"Epoch {epoch + 1}/2\n")
    for n in range(1, 21):
        loss = 0.5 / (epoch * 20 + n) ** 3
        acc = n / 20
        done = n * 20 // 20
        bar = f"\x1b[1m{n:2d}/20\x1b[0m "
        if done:
            bar += f"\x1b[32m{'━' * done}\x1b[0m"
        bar += f"\x1b[37m{'━' * (20 - done)}\x1b[0m"
        when = f"{2 if n == 20 else 20 - n}s"
        info = f" \x1b[1m{when}\x1b[0m 40ms/step - accuracy: {acc:.4f}"
        info += f" - loss: {loss:.4f}" if abs(loss) > 1e-3 else f" - loss: {loss:.4e}"
        shown = len(bar) + len(info) - (8 + (9 if done else 0) + 9 + 8)
        text = "\b" * width + "\r" + bar + info + " " * max(0, width - shown)
        out.write(text + ("\n" if n == 20 else ""))
        width = shown
        printed_loss = float(f"{loss:.4f}" if abs(loss) > 1e-3 else f"{loss:.4e}")
        seen.append([epoch * 20 + n, printed_loss, acc])
        out.flush()
    width = 0
print("PRINTED " + json.dumps(seen))
"""


@pytest.mark.parametrize("how", CAPTURES)
def test_keras3_progbars(how: str, tmp_path: Path) -> None:
    data = capture(KERAS3, how, tmp_path)
    assert b"\x1b[32m" in data and b"\b\r" in data  # coloured, and drawn over with backspaces
    seen = printed(data)
    series = extract(data)
    assert series["loss"] == [(step, loss) for step, loss, _ in seen]
    assert series["accuracy"] == [(step, acc) for step, _, acc in seen]
    assert extract(data, chunk=89) == series


# -- rich ----------------------------------------------------------------------------------------

RICH = """
import json
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
console = Console(force_terminal=True, width=120)
columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
           TextColumn("loss={task.fields[loss]}"))
seen = []
with Progress(*columns, console=console, auto_refresh=False) as progress:
    task = progress.add_task("train", total=30, loss="1.0000")
    for i in range(30):
        loss = f"{1.0 / (i + 2):.4f}"
        progress.update(task, advance=1, loss=loss)
        progress.refresh()
        seen.append([i + 1, float(loss)])
print("PRINTED " + json.dumps(seen))
"""


def test_rich_progress_columns_with_numbers(tmp_path: Path) -> None:
    data = capture_pty(RICH)
    seen = printed(data)
    series = extract(data)
    assert series["loss"][0] == (0, 1.0)  # drawn when the task was added
    assert series["loss"][1:] == [(n, loss) for n, loss in seen]


# -- lines ---------------------------------------------------------------------------------------

LINES = """
import json, math
for step in range(0, 500, 10):
    print(f"2026-11-29 21:35:{step % 60:02d} INFO epoch {step // 100} step {step} "
          f"loss={1 / (step + 1):.6f} val_acc: {step / 500:.3f} lr=3e-4 done")
    if step % 100 == 0:
        print(json.dumps({"step": step, "eval": {"bleu": step / 10}, "tag": "x", "ok": True}))
        print("Epoch [%d/5], Step [%d/100], Loss: %.4f" % (step // 100 + 1, 100, 0.5))
        print("http://host:8080/ time 21:35 took 3.5s 95% done")
print("no step: loss=0.1")
print("no step: loss=0.05")
"""


@pytest.mark.parametrize("how", CAPTURES)
def test_key_value_and_json_lines(how: str, tmp_path: Path) -> None:
    data = capture(LINES, how, tmp_path)
    series = extract(data)
    steps = list(range(0, 500, 10))
    loss = [(float(s), float(f"{1 / (s + 1):.6f}")) for s in steps]
    assert series["loss"][:50] == loss  # `step N` is the step (not `epoch N`)
    assert series["val_acc"] == [(float(s), float(f"{s / 500:.3f}")) for s in steps]
    assert {v for _, v in series["lr"]} == {3e-4}
    assert series["eval/bleu"] == [(float(s), s / 10) for s in range(0, 500, 100)]
    # "Step [k/N]" counts on over epochs: step 100 of epoch 2 is step 200.
    assert series["Loss"] == [(100.0 * (e + 1), 0.5) for e in range(5)]
    # Lines without a step key are at their order among metric lines.
    assert [v for _, v in series["loss"][50:]] == [0.1, 0.05]
    assert series["loss"][50][0] < series["loss"][51][0]
    # Not metrics: a port, a clock, a duration, an unnamed percentage, JSON's text and bools.
    assert not {"host", "time", "took", "tag", "ok", "35"} & set(series)
    assert extract(data, chunk=333) == series


# Hugging Face's Trainer: its ProgressCallback writes `str(logs)` (a Python dict) through
# `tqdm.write` above its training bar, which has no description.
HF_TRAINER = """
import json, math
from tqdm import tqdm
printed, evals = [], []
bar = tqdm(total=60, mininterval=0)
for step in range(1, 61):
    bar.update(1)
    if step % 10 == 0:
        logs = {"loss": round(1 / step, 4), "grad_norm": math.nan if step == 30 else step / 7,
                "learning_rate": 5e-05 * (1 - step / 60), "epoch": round(step / 20, 2)}
        bar.write(str(logs))
        printed.append([logs["epoch"], logs["loss"], logs["grad_norm"]])
    if step % 20 == 0:
        logs = {"eval_loss": 0.5 / step, "eval_runtime": 1.25, "epoch": step / 20,
                "eval_model": "it's", "eval_ok": True, "eval_none": None}
        bar.write(str(logs))
        evals.append([logs["epoch"], logs["eval_loss"]])
bar.close()
print("PRINTED " + json.dumps([printed, evals]).replace("NaN", '"nan"'))
"""


@pytest.mark.parametrize("how", CAPTURES)
def test_hugging_face_trainer_dicts(how: str, tmp_path: Path) -> None:
    data = capture(HF_TRAINER, how, tmp_path)
    expected, evals = printed(data)  # type: ignore[misc]
    series = extract(data)
    assert series["loss"] == [(epoch, loss) for epoch, loss, _ in expected]
    grad_norm = [(s, "nan" if math.isnan(v) else v) for s, v in series["grad_norm"]]
    assert grad_norm == [(epoch, norm) for epoch, _, norm in expected]
    assert series["eval_loss"] == [(epoch, loss) for epoch, loss in evals]
    assert "eval_runtime" in series and "eval_ok" not in series and "eval_model" not in series
    assert "epoch" not in series  # the step key: train and eval lines share the epoch axis
    assert extract(data, chunk=97) == series


def test_a_read_that_ends_between_a_lines_cr_and_lf_keeps_the_line() -> None:
    # A pty ends lines with "\r\n"; a read ending between the two must not take the line for
    # a frame overwritten by what follows (test_hugging_face_trainer_dicts[pty] lost its last
    # line so, about 1 run in 100, when a read ended there).
    data = (
        b"\r 50%|#####     | 5/10 [00:01<00:01, 4.5it/s]\r                \r"
        b"{'loss': 0.5, 'epoch': 1.0}\r\nstep=2 loss=0.25\r\r\n"
    )
    whole = extract(data)
    assert whole == {"loss": [(1.0, 0.5), (2.0, 0.25)]}
    for chunk in range(1, len(data)):
        assert extract(data, chunk) == whole, chunk


def test_a_frame_read_again_with_its_escapes_adds_no_point() -> None:
    # tqdm's nested bars end each inner frame with "\x1b[A\n". A read ending at the frame's
    # "]" reads it without its escape (one way), and the next read takes it again with it
    # (another way): both must compare the metrics alike (test_nested_bars_keep_their_own_
    # step_axes[file] added a point twice so, 1 run in ~20, when a read ended there).
    frame = b"\rbatches 0:  %d%%|#   | %d/25 [00:00<00:00, 11182.19it/s, loss=%s]\x1b[A\n"
    losses = [b"0.%05d" % (10_000 // (n + 1)) for n in range(16)]  # a new one at each frame
    data = b"".join(frame % (n * 4, n, loss) for n, loss in enumerate(losses))
    whole = extract(data)
    assert whole == {"loss": [(float(n), float(loss)) for n, loss in enumerate(losses)]}
    for chunk in range(1, len(data)):
        assert extract(data, chunk) == whole, chunk


def extract_in_reads(
    data: bytes, cuts: list[int], *, from_json: bool = False
) -> dict[str, list[tuple[float, float]]]:
    """The points of `data` read as `read_in_pieces` says, grouped by series."""
    series, _ = read_in_pieces(data, cuts, from_json=from_json)
    return {name: points for name, (points, _offsets) in series.items()}


@pytest.mark.parametrize("seed", range(120))
def test_a_mixed_log_gives_the_same_points_however_its_reads_fall(seed: int) -> None:
    """Found this way: a frame read again without the CR before it went down the line path (a
    bar's count and steps then depended on where reads fell), a Keras frame cut after a "]"
    taken as whole, a total-less tqdm bar followed by a printed line not read as a bar."""
    data = mixed_log(seed)
    whole = extract(data)
    rng = random.Random(seed)
    for trial in range(4):
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 40))))
        got = extract_in_reads(data, cuts, from_json=trial % 2 == 1)
        assert got == whole, (trial, cuts)


def test_a_frame_cut_by_a_read_is_read_again_as_a_frame() -> None:
    # Read again without the CR before it, a bar's frame went down the line path: the epoch
    # bar was then never seen, and the train bar's count (and so its steps) changed with
    # where the read fell.
    data = (
        b"\repoch 1: 26it [00:05, 7.64it/s]\n\rtrain: 58it [00:08, 87.23it/s]\x1b[A\n"
        b"\rtrain: 10it [00:01, 9.0it/s, loss=0.5]\n"
    )
    whole = extract(data)
    for cut in range(1, len(data)):
        assert extract_in_reads(data, [cut]) == whole, cut


def test_text_printed_right_after_a_frame_is_read_wherever_reads_fall() -> None:
    tqdm_then_dict = (
        b"\repoch 1: 17it [00:02, 89.04it/s, loss=0.064]{'loss': 0.1283, 'epoch': 0.01}\n"
    )
    keras_then_line = (
        b"\r 5/20 [=====>..............] - ETA: 7s - loss: 0.5769 - accuracy: 0.3572"
        b"[10] train_loss=0.368\n"
    )
    # The count of a total-less bar whose description holds a number is the count.
    assert extract(tqdm_then_dict) == {"loss": [(17.0, 0.064)], "log/loss": [(0.01, 0.1283)]}
    for data in (tqdm_then_dict, keras_then_line):
        whole = extract(data)
        for cut in range(1, len(data)):
            assert extract_in_reads(data, [cut]) == whole, cut


def test_printed_python_dicts_read_as_json_reads_them() -> None:
    cases = {
        b"{'a': 1, 'b': nan, 'c': -inf, 'd': True, 'e': None, 'f': [1, 2]}": {
            "a": 1, "b": math.nan, "c": -math.inf, "d": True, "e": None, "f": [1, 2]
        },
        # A string that holds ' is quoted with ", escapes stay escapes, words in strings stay.
        b"{'m': \"it's\", 'x': 'a\\\\b\\n', 'y': 'nan, inf', 'n': nan}": {
            "m": "it's", "x": "a\\b\n", "y": "nan, inf", "n": math.nan
        },
        b"{'a': 'x: nan, y', 'q': 'say \"hi\"'}": {"a": "x: nan, y", "q": 'say "hi"'},
    }  # fmt: skip
    for text, value in cases.items():
        converted = python_dict_as_json(text)
        assert converted is not None
        assert repr(json.loads(converted)) == repr(value), text
    assert python_dict_as_json(b'{"a": 1}') is None  # JSON already
    assert line_metrics(b"{'loss': 0.5, 'step': 3, 'tag': 'x'}") == (
        {"loss": 0.5},
        LineStep("step", 3.0),
    )


def test_lightning_bars_logger_version_is_no_metric() -> None:
    frame = "\rEpoch 0:  %d%%|#    | %d/100 [00:01<00:01, 45.00it/s, v_num=3, train_loss=%.3f]"
    data = "".join(frame % (n, n, 2 - n / 100) for n in range(1, 40)).encode() + b"\n"
    series = extract(data)
    assert list(series) == ["train_loss"]
    assert series["train_loss"] == [(float(n), float(f"{2 - n / 100:.3f}")) for n in range(1, 40)]


def test_a_line_printed_while_a_bar_is_drawn_lands_after_the_frame() -> None:
    data = (
        b"\rfit:   0%|          | 0/9 [00:00<?, ?it/s, loss=1]"
        b'{"step": 0, "val_loss": 2.5}\n'
        b"\rfit:  11%|#         | 1/9 [00:00<00:01, 5.00it/s, loss=0.5]"
    )
    series = extract(data)
    assert series["val_loss"] == [(0.0, 2.5)]
    assert series["loss"] == [(0.0, 1.0), (1.0, 0.5)]


JSON_BLOCKS = [
    # one shape: read as columns
    [{"step": i * 10, "loss": 1 / (i + 1), "acc": i / 7, "lr": 3e-4} for i in range(40)],
    # no step key (numbered), text, null, bools and lists beside the numbers
    [{"loss": i / 3, "tag": "a", "note": None, "ok": i % 2 == 0, "l": [1]} for i in range(30)],
    # several step keys: the best-ranked one (iter before epoch), ints and floats mixed
    [{"epoch": i // 10, "iter": i, "val_loss": i if i % 2 else float(i)} for i in range(25)],
    # shapes that are read one by one: a field that is a number only sometimes, a nested
    # object, keys that differ, an integer too big for a float
    [{"step": i, "loss": "n/a" if i == 3 else 0.5} for i in range(10)],
    [{"step": i, "eval": {"bleu": i / 10}} for i in range(10)],
    [{"step": i, "loss": 0.5} if i % 3 else {"step": i, "acc": 0.1} for i in range(12)],
    [{"step": i, "loss": 10**400 if i == 4 else -(10**400) if i == 5 else 1.5} for i in range(8)],
    # no metric at all, and empty objects
    [{"step": i, "name": "x"} for i in range(5)] + [{} for _ in range(3)],
]


@pytest.mark.parametrize("block", JSON_BLOCKS)
def test_json_lines_read_as_columns_give_what_one_by_one_gives(
    block: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"".join(json.dumps(line).encode() + b"\n" for line in block)
    data = b"step=0 warmup=1\n" + data + data  # a printed line first: steps count on from it
    columns = MetricExtractor().feed(data, final=True)[0]
    # The first three shapes are read as columns, the others one by one.
    index = JSON_BLOCKS.index(block)
    assert (json_columns(block) is None) == (index >= 3)  # type: ignore[arg-type]
    with monkeypatch.context() as patch:  # no template: every block through json.loads
        patch.setattr(extraction.JsonTemplate, "learn", classmethod(lambda cls, line: None))
        assert MetricExtractor().feed(data, final=True)[0] == columns
    monkeypatch.setattr(extraction, "json_columns", lambda objects: None)  # one by one
    one_by_one = MetricExtractor().feed(data, final=True)[0]
    assert columns == one_by_one
    # The numbers themselves, as the objects hold them (too big for a float: infinite).
    if "loss" in block[0] and all(isinstance(line.get("loss"), float) for line in block):
        assert columns["loss"][1] == [line["loss"] for line in block] * 2
    if block is JSON_BLOCKS[6]:
        assert columns["loss"][1][4:6] == [math.inf, -math.inf]


JSON_TEXTS = [
    # as json.dumps prints them, and compact; -0 (an int: no sign), NaN and infinities
    b'{"step": 1, "loss": -0, "acc": -0.0}\n{"step": 2, "loss": NaN, "acc": -Infinity}',
    b'{"step":1,"loss":0.5}\n{"step":2,"loss":1e400}\n{"step":3,"loss":12345678901234567890}',
    # an integer no float holds, numbers JSON does not allow, another spacing, a bool
    b'{"step": 1, "loss": 0.5}\n{"step": 2, "loss": 1' + b"0" * 400 + b"}",
    b'{"step": 1, "loss": 0.5}\n{"step": 2, "loss": +1}',
    b'{"step": 1, "loss": 0.5}\n{"step": 3, "loss": 01}',
    b'{"step": 1, "loss": 0.5}\n{"step": 2, "loss": .5}\n{"step": 3,  "loss": 1}',
    b'{"step": 1, "loss": 0.5}\n{"step": 2, "loss": true}\n{"step": 3, "loss": 1.}',
    # keys with escapes or twice, text before an object, nested, a key that is a step key
    b'{"a\\"b": 1, "l\\u00e9": 2}\n{"a\\"b": 3, "l\\u00e9": 4}',
    b'{"loss": 1, "loss": 2}\n{"loss": 3, "loss": 4}',
    b'{"loss": 1}\nx{"loss": 2}\n{"loss": 3}',
    b'{"Step": 5, "EPOCH": 1, "x": 2}\n{"Step": 6, "EPOCH": 1, "x": 3}',
    b'{"step": 1, "m": {"a": 1}}\n{"step": 2, "m": {"a": 2}}',
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_json_lines_read_by_their_text_give_what_json_loads_gives(
    text: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON line's shape read as text (`JsonTemplate`) where json.loads would read the
    objects as columns, and nowhere else: the same points either way."""
    data = text + b"\n"
    with_template = MetricExtractor().feed(data, final=True)[0]
    monkeypatch.setattr(extraction.JsonTemplate, "learn", classmethod(lambda cls, line: None))
    without = MetricExtractor().feed(data, final=True)[0]
    assert repr(without) == repr(with_template)  # repr: NaN and -0.0 compare too


def churning_frames(rng: random.Random, count: int) -> bytes:
    """tqdm frames (its default format, CR-separated) of bars whose postfix changes at nearly
    every frame, with what a block read as columns must leave to the frame-by-frame reading:
    repeated postfixes, restarts, numbers that are not readings, printed lines, other bars,
    descriptions with ": ", no description, backspaces, escapes, extra padding."""
    out, n, desc, total = [], 0, b"train", 1000
    names = [b"loss", b"acc"]
    previous = b""
    for _ in range(count):
        n += rng.choice((1, 1, 1, 2, 0))
        values = [f"{rng.random():.5f}".encode() for _ in names]
        event = rng.random()
        if event < 0.002:
            n = rng.randint(0, 5)  # the bar starts again (a new epoch's bar)
        elif event < 0.004:
            values[0] = rng.choice((b"nan", b"inf", b"1e999", b"n/a", b"-inf", b"1_0"))
        elif event < 0.006:
            out.append(b"\nepoch done val_loss=0.25\n")  # tqdm.write
        elif event < 0.007:
            desc = rng.choice((b"train", b"eval: 1", b"", b"valid"))
        elif event < 0.008:
            names = rng.choice(([b"loss", b"acc"], [b"loss"], [b" lr", b"loss"], [b"a", b"a"]))
            values = [f"{rng.random():.5f}".encode() for _ in names]
        elif event < 0.009:
            total = rng.choice((1000, 50))
        elif event < 0.011:
            # Another bar redrawn with the same postfix: its tail is known, and a frame of
            # this bar that ends in it is skipped unread (an equal postfix is no news).
            stable = b"".join(b", " + name.strip() + b"=0.50000" for name in names)
            other = b"\rother:  10%%|#  | %d/9 [00:01<00:02, 45.0it/s" + stable + b"]"
            out.extend(other % k for k in range(4))
        elif event < 0.014:
            values = [b"0.50000"] * len(names)
        pairs = zip(names, values, strict=True)
        postfix = b"".join(b", " + name.strip() + b"=" + value for name, value in pairs)
        if event > 0.995:
            postfix = previous  # redrawn unchanged
        previous = postfix
        percent = min(100, n * 100 // total)
        head = desc + b": " if desc else b""
        frame = head + f"{percent:3d}%|{'#' * (percent // 10):10s}| {n}/{total} ".encode()
        frame += b"[00:01<00:02, 45.0it/s" + postfix + b"]" + b" " * rng.choice((0, 0, 0, 3))
        if 0.990 < event < 0.991:
            frame = b"\x1b[32m" + frame + b"\x1b[0m"
        elif 0.9905 < event < 0.991:
            frame = frame.replace(b"|#", b"|\x1b[32m#")
        elif 0.991 < event < 0.9915:
            frame = frame + b"\b\b"
        elif 0.9915 < event < 0.992:
            frame = frame.replace(b"|#", b"|#\b")  # a backspace within the bar
        out.append(b"\r" + frame)
    return b"".join(out)


@pytest.mark.parametrize("seed", range(6))
def test_churning_bar_frames_read_as_columns_give_what_frame_by_frame_gives(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    data = churning_frames(rng, 3000)
    blocks_read_as_frames(data, FrameTemplate, rng.choice((None, 997, 10_000)), monkeypatch)


def blocks_read_as_frames(
    data: bytes,
    template: type[FrameTemplate | KerasTemplate],
    chunk: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Extraction of `data` (fed in `chunk`s) with blocks of frames read by `template` gives
    the points and the state that reading every frame in full gives (`template.learn` saying
    None), and offsets near the true ones; both ways must have been taken."""
    reads = []
    original_read = template.read

    def counted(self: FrameTemplate, data: bytes, pos: int, endpos: int) -> BarBlock | None:
        found = original_read(self, data, pos, endpos)
        reads.append(found is not None)
        return found

    monkeypatch.setattr(template, "read", counted)
    monkeypatch.setattr(extraction, "BLOCK_BYTES", 4096)  # many blocks, each ~30 frames
    in_blocks, extractor = extract_with_state(data, chunk)
    assert sum(reads) >= 10 and not all(reads)  # both ways were taken
    monkeypatch.setattr(template, "learn", classmethod(lambda *args: None))
    frame_by_frame, reference = extract_with_state(data, chunk)
    assert same_points(in_blocks) == same_points(frame_by_frame)
    assert extractor.state == reference.state
    # A block's points get the offsets of frames of equal length: near the true ones.
    for name, (_, offsets) in in_blocks.items():
        true = frame_by_frame[name][1]
        assert offsets == sorted(offsets)
        assert max(abs(a - b) for a, b in zip(offsets, true, strict=True)) < 200


def same_points(series: dict[str, tuple[list[tuple[float, float]], list[int]]]) -> object:
    """The points, with NaN as a string (one NaN is not equal to another)."""
    return {
        name: [(step, "nan" if math.isnan(value) else value) for step, value in points]
        for name, (points, _) in series.items()
    }


def extract_with_state(
    data: bytes, chunk: int | None
) -> tuple[dict[str, tuple[list[tuple[float, float]], list[int]]], MetricExtractor]:
    """The points of each series and their offsets in the whole log, fed as `extract` says; and
    the extractor."""
    step = chunk or len(data) or 1
    return read_in_pieces(data, [*range(step, len(data), step), len(data)])


def read_in_pieces(
    data: bytes, cuts: list[int], *, from_json: bool = False
) -> tuple[dict[str, tuple[list[tuple[float, float]], list[int]]], MetricExtractor]:
    """The points of each series and their offsets in the whole log, read as a log that had
    grown to each of `cuts` when read (each read going on where the last one's consumed bytes
    end), then once more, complete; and the last extractor. With `from_json`, a new extractor
    goes on from the last one's state as JSON at every read (a new process, as the store does)."""
    extractor = MetricExtractor()
    series: dict[str, tuple[list[tuple[float, float]], list[int]]] = {}
    start = 0
    ends = [*cuts, len(data)]
    for index, end in enumerate(ends):
        found, consumed = extractor.feed(data[start:end], final=index == len(ends) - 1)
        for name, (steps, values, offsets) in found.items():
            points, at = series.setdefault(name, ([], []))
            points.extend(zip(steps, values, strict=True))
            at.extend(start + offset for offset in offsets)
        start += consumed
        if from_json:
            extractor = MetricExtractor(json.loads(json.dumps(extractor.state)))
    return series, extractor


def test_a_frame_template_reads_only_frames_of_its_shape() -> None:
    template = FrameTemplate.learn(b"train", b"100", b", loss=0.5, acc=0.25")
    assert template is not None and template.names == ["loss", "acc"]
    frame = b"\rtrain:  %d%%|#   | %d/100 [00:01<00:02, 4.5it/s, loss=%s, acc=0.1]  "
    good = b"".join(frame % (n, n, b"0.%d" % n) for n in range(10, 20))
    found = template.read(good, 0, len(good))
    assert found is not None
    assert found.counts == [float(n) for n in range(10, 20)]
    assert found.values == [[float(f"0.{n}") for n in range(10, 20)], [0.1] * 10]
    # One frame of another total, a number that is no reading, text between frames: None.
    for bad in (
        b"\rtrain:  1%|#  | 1/99 [00:01<00:02, 4.5it/s, loss=1, acc=0.1]",
        frame % (1, 1, b"1e999"),
        b"\rtrain:  1%|#  | 1/100 [00:01<00:02, 4.5it/s, loss=1, acc=0.1]x",
    ):
        assert template.read(good + bad + good, 0, len(good) * 2 + len(bad)) is None
    # Shapes the frame-by-frame reading could read otherwise are not learnt.
    assert FrameTemplate.learn(b"a: b", b"100", b", loss=0.5") is None
    assert FrameTemplate.learn(b"train", b"100", b", loss=0.5, loss=0.4") is None
    assert FrameTemplate.learn(b"train", b"100", b", 5.2GB, loss=0.5") is None
    assert FrameTemplate.learn(b"train", b"100", b", loss=n/a") is None
    assert FrameTemplate.learn(b"train", b"100", b"") is None
    # Without a description, a block with ": " anywhere is left to the frame-by-frame reading.
    bare = FrameTemplate.learn(None, b"100", b", loss=0.5")
    assert bare is not None
    line = b"\r 10%%|#   | 10/100 [00:01<00:02, 4.5it/s, loss=%s]"
    assert bare.read(line % b"0.5", 0, 60) is not None
    assert bare.read(line % b"0.5" + b"\rx: " + line[1:] % b"0.5", 0, 200) is None


def test_a_line_template_reads_what_the_full_parse_reads() -> None:
    rng = random.Random(3)
    template = LineTemplate(b"[12:00:01] step=1 loss=0.5 acc: 0.25 (ema 0.4) lr=1e-3")
    for _ in range(200):
        loss, acc, lr = rng.random(), rng.random(), rng.random() / 1000
        line = f"[12:00:{rng.randint(0, 59):02d}] step={rng.randint(0, 9999)} loss={loss:.5f} "
        line += f"acc: {acc:.3f} (ema {rng.random():.2f}) lr={lr:.2e}"
        numbers = template.read(line.encode())
        assert numbers is not None
        metrics, step = line_metrics(line.encode())
        named = {n: float(v) for n, v in zip(template.names, numbers, strict=True) if n and v}
        assert named == metrics
        assert step is not None and template.step(numbers) == step
    # Another shape (one more pair) is not read by the template.
    assert template.read(b"[12:00:01] step=1 loss=0.5 acc: 0.25 (ema 0.4) lr=1e-3 x=2") is None


def test_the_extractor_goes_on_from_its_saved_state(tmp_path: Path) -> None:
    data = capture_file(TQDM_NESTED, tmp_path)
    whole = extract(data)
    cut = len(data) // 2
    first = MetricExtractor()
    points, consumed = first.feed(data[:cut])
    # A new process (a restarted kernel) goes on from the stored state, as JSON.
    second = MetricExtractor(json.loads(json.dumps(first.state)))
    series: dict[str, list[tuple[float, float]]] = {}
    add(series, points)
    add(series, second.feed(data[consumed:], final=True)[0])
    assert series == whole


def test_final_progress_of_bars_cleared_at_the_end(tmp_path: Path) -> None:
    data = capture_file(TQDM_NESTED, tmp_path)
    final = final_progress(data[-16384:], None)
    assert final is not None
    assert (final["description"], final["n"], final["total"]) == ("epochs", 3, 3)


@given(
    st.lists(st.sampled_from([b"\xe2", b"\x94", b"\x81", HEAVY_BAR, b"\xe2\x94\x80", b"a"])),
    st.integers(-2, 30),
    st.integers(-2, 30),
)
@example([b"aa", HEAVY_BAR], 0, 4)  # a bar cut by the end of the range is none
@example([b"a", HEAVY_BAR, b"aa"], 2, 6)  # nor one that starts before it
def test_the_heavy_bar_is_found_where_find_finds_it(parts: list[bytes], pos: int, end: int) -> None:
    data = b"".join(parts)
    pos, end = max(pos, 0), max(end, 0)  # (negative ones count from the end: never passed)
    assert find_heavy_bar(data, pos, end) == data.find(HEAVY_BAR, pos, end)
