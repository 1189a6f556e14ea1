"""Tests for nbexp.progress on real tqdm and rich output (formatted by the libraries, or
captured from a running program and rendered) and on keras-format lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from tqdm import tqdm

from nbexp.progress import MetricHistory, Progress, latest_progress, parse_progress
from nbexp.terminal import render

from .capture_helpers import SCENARIOS, capture_file, capture_pty


def test_tqdm_bar_with_postfix() -> None:
    line = tqdm.format_meter(45, 100, 3.2, prefix="train", postfix="loss=0.23, acc=0.91")
    progress = parse_progress(line)
    assert progress == Progress(
        kind="tqdm", description="train", n=45, total=100, percent=45.0, elapsed=3.0,
        remaining=3.0, rate=14.06, unit="it", metrics={"loss": 0.23, "acc": 0.91},
    )  # fmt: skip


def test_tqdm_unknown_total_scaled_units_and_slow_rates() -> None:
    unknown = parse_progress(tqdm.format_meter(1234, None, 12.5, prefix="stream"))
    assert unknown is not None
    assert (unknown.n, unknown.total, unknown.elapsed, unknown.rate) == (1234, None, 12.0, 98.72)

    scaled = parse_progress(
        tqdm.format_meter(1_234_567, 10**7, 12.5, unit="B", unit_scale=True, prefix="dl")
    )
    assert scaled is not None
    assert scaled.n == pytest.approx(1.23e6) and scaled.total == pytest.approx(1e7)
    assert scaled.unit == "B" and scaled.rate == pytest.approx(98.8e3)

    slow = parse_progress(tqdm.format_meter(3, 100, 400, prefix="slow"))
    assert slow is not None
    assert slow.rate == pytest.approx(1 / 133.33) and slow.remaining == 3 * 3600 + 35 * 60 + 33

    start = parse_progress(tqdm.format_meter(0, 100, 0))
    assert start is not None and start.remaining is None and start.rate is None


@pytest.mark.parametrize("prefix", ["epoch 1", "step 5 of 10", "epoch 1/3", "run 2 (lr 3e-4)"])
def test_a_number_in_the_description_of_a_bar_without_total_is_not_its_count(
    prefix: str,
) -> None:
    line = tqdm.format_meter(17, None, 2.5, prefix=prefix, postfix="loss=0.064")
    found = parse_progress(line)
    assert found is not None
    assert (found.description, found.n, found.unit) == (prefix, 17, "it")
    # Text printed right after the frame (no line end between) does not hide it.
    after = parse_progress(line + "{'loss': 0.1283}")
    assert after is not None and (after.n, after.metrics) == (17, {"loss": 0.064})


def test_keras_lines() -> None:
    running = parse_progress(
        "12/100 [==>...........................] - ETA: 3s - loss: 0.2345 - accuracy: 0.9100"
    )
    assert running == Progress(
        kind="keras", n=12, total=100, percent=12.0, remaining=3.0, unit="step",
        metrics={"loss": 0.2345, "accuracy": 0.91},
    )  # fmt: skip
    done = parse_progress(
        "100/100 [==============================] - 5s 50ms/step - loss: 0.2000 - val_loss: 0.3"
    )
    assert done is not None
    assert (done.percent, done.elapsed, done.remaining, done.rate) == (100.0, 5.0, 0.0, 20.0)
    assert done.metrics == {"loss": 0.2, "val_loss": 0.3}
    keras3 = parse_progress(
        "12/100 ━━━━━━━━━━━━━━━━━━━━ 1:05 40ms/step - accuracy: 0.91 - loss: 0.23"
    )
    assert keras3 is not None
    assert (keras3.n, keras3.remaining, keras3.rate) == (12, 65.0, 25.0)
    assert keras3.metrics == {"accuracy": 0.91, "loss": 0.23}


def test_keras_unknown_total() -> None:
    progress = parse_progress("12/Unknown - 3s 40ms/step - loss: 0.2000")
    assert progress is not None
    assert (progress.n, progress.total, progress.percent, progress.rate) == (12, None, None, 25.0)
    assert (progress.elapsed, progress.remaining) == (3.0, None)
    assert progress.metrics == {"loss": 0.2}


def test_rich_lines() -> None:
    default = parse_progress("Training ━━━━━━━━━━━━━━━━━━━━━━━━╸━━━━━━━━━━━━━━━  57% 0:00:03")
    assert default == Progress(kind="rich", description="Training", percent=57.0, remaining=3.0)
    download = parse_progress(
        "Downloading ━━━━━━━━━━━━━━━━━━━ 45% 1.2/2.7 GB 12.3 MB/s 0:00:12 0:00:15"
    )
    assert download is not None
    assert download.n == pytest.approx(1.2e9) and download.total == pytest.approx(2.7e9)
    assert (download.unit, download.elapsed, download.remaining) == ("B", 12.0, 15.0)
    assert download.rate == pytest.approx(12.3e6)
    unknown = parse_progress("Working ━━━━━━━━━━━━━━━━━━━━━━   0% -:--:--")
    assert unknown is not None and unknown.remaining is None


@pytest.mark.parametrize(
    "line",
    ["", "plain log line", "accuracy went up 45% today", "epoch 3 loss=0.2", "x" * 10_000,
     "a/b [c] - d", "12/100 files copied"],
)  # fmt: skip
def test_not_progress(line: str) -> None:
    assert parse_progress(line) is None


def test_real_tqdm_capture(tmp_path: Path) -> None:
    for data in (
        capture_file(SCENARIOS["tqdm_postfix_write"], tmp_path),
        capture_pty(SCENARIOS["tqdm_postfix_write"]),
    ):
        lines = render(data)
        progress = latest_progress(lines)
        assert progress is not None
        assert (progress.description, progress.n, progress.total) == ("fit", 60, 60)
        assert progress.unit == "batch" and progress.percent == 100.0
        assert set(progress.metrics) == {"acc", "loss"}
        assert progress.metrics["loss"] == pytest.approx(1 / 60, rel=0.01)
        assert latest_progress([*lines, "checkpoint saved", ""]) == progress


def test_real_rich_capture() -> None:
    lines = render(capture_pty(SCENARIOS["rich_progress"]))
    progress = latest_progress(lines)
    assert progress is not None
    assert progress.kind == "rich" and progress.description == "Eval"
    assert progress.percent == 100.0
    training = [parse_progress(line) for line in lines if line.startswith("Training")]
    assert training and training[-1] is not None and training[-1].percent == 100.0


def test_real_tqdm_progression_through_a_screen(tmp_path: Path) -> None:
    # Every intermediate state of a bar parses, and n only grows.
    data = capture_file(SCENARIOS["tqdm_single"], tmp_path)
    seen: list[float] = []
    for piece in data.split(b"\r"):
        found = parse_progress(piece.decode())
        if found is not None and found.n is not None:
            seen.append(found.n)
    assert len(seen) > 250 and seen == sorted(seen) and seen[-1] == 300


def test_to_json_and_short() -> None:
    progress = parse_progress(tqdm.format_meter(45, 100, 3.2, prefix="train", postfix="loss=0.5"))
    assert progress is not None
    data = progress.to_json()
    assert data["n"] == 45 and isinstance(data["n"], int)
    assert data["remaining"] == 3.0 and "eta" not in data  # one name for the ETA on the wire
    assert data["metrics"] == {"loss": 0.5}
    assert progress.short() == "45% 45/100 ETA 0:03 loss=0.5"


def test_metric_history_is_bounded() -> None:
    history = MetricHistory(maxlen=5, max_metrics=2)
    for step in range(20):
        line = tqdm.format_meter(step, 20, step, postfix=f"loss={1 / (step + 1)}, acc=0.5, lr=3")
        progress = parse_progress(line)
        history.add(progress)
        history.add(progress)  # the same reading polled twice counts once
    assert history.names() == ["loss", "acc"]
    assert history.series("loss") == pytest.approx([1 / 16, 1 / 17, 1 / 18, 1 / 19, 1 / 20])
    assert history.to_json()["acc"] == [0.5] * 5
    history.add(None)
    assert history.series("missing") == []


def _rich_bar(*columns: object, total: float, advance: float) -> str:
    """The last line a real rich Progress with `columns` draws, rendered."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), *columns,
        console=console, auto_refresh=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("download", total=total)
        progress.update(task, advance=advance)
        progress.refresh()
    return render(out.getvalue().encode())[-1]


def test_rich_sizes_keep_the_units_the_bar_printed() -> None:
    from rich.progress import DownloadColumn, TimeRemainingColumn, TransferSpeedColumn

    line = _rich_bar(
        DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
        total=10_000_000, advance=4_500_000,
    )  # fmt: skip
    assert "4.5/10.0 MB" in line
    progress = parse_progress(line)
    assert progress is not None
    assert (progress.n, progress.total, progress.unit) == (4.5e6, 1e7, "B")
    assert (progress.n_text, progress.total_text, progress.count_unit) == ("4.5", "10.0", "MB")
    assert progress.short().startswith("45% 4.5/10.0 MB")
    data = progress.to_json()
    assert (data["n"], data["n_text"], data["total_text"], data["count_unit"]) == (
        4_500_000, "4.5", "10.0", "MB",
    )  # fmt: skip


def test_rich_binary_sizes_scale_by_powers_of_two() -> None:
    from rich.progress import DownloadColumn

    line = _rich_bar(DownloadColumn(binary_units=True), total=10_000_000, advance=4_500_000)
    progress = parse_progress(line)
    assert progress is not None
    assert (progress.n_text, progress.total_text, progress.count_unit) == ("4.3", "9.5", "MiB")
    assert progress.n == pytest.approx(4.3 * 2**20) and progress.unit == "B"
    assert progress.short() == "45% 4.3/9.5 MiB"


def test_plain_counts_stay_numbers() -> None:
    from rich.progress import MofNCompleteColumn

    progress = parse_progress(_rich_bar(MofNCompleteColumn(), total=10_000, advance=4_500))
    assert progress is not None and progress.n_text is None and progress.count_unit is None
    assert progress.short() == "45% 4500/10000"


def test_tqdm_unit_scale_keeps_the_printed_counts() -> None:
    sized = parse_progress(
        tqdm.format_meter(1_234_567, 10**7, 12.5, unit="B", unit_scale=True, prefix="dl")
    )
    assert sized is not None
    assert (sized.n_text, sized.total_text, sized.count_unit) == ("1.23M", "10.0M", "B")
    assert sized.short().startswith("12% 1.23M/10.0M B ETA")
    counted = parse_progress(tqdm.format_meter(1200, 10_000, 1.0, unit_scale=True))
    assert counted is not None and counted.short().startswith("12% 1.20k/10.0k it")
    unknown = parse_progress(tqdm.format_meter(1_234_567, None, 12.5, unit="B", unit_scale=True))
    assert unknown is not None and unknown.short() == "1.23M B"


def test_rich_scaled_counts_with_a_unit() -> None:
    progress = parse_progress("steps ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━  12% 1.2k/10k it 0:00:01")
    assert progress is not None
    assert (progress.n, progress.total, progress.unit) == (1200, 10_000, "it")
    assert progress.short() == "12% 1.2k/10k it ETA 0:01"
