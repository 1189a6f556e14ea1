"""Metric histories in the store: bounded down-sampling that keeps the shape and exact
summaries (pure), the compact encoding, and the store's side — one compare-and-set per pass so
that processes racing over one log never count a point twice, a locked store, a replaced log,
and what a tqdm-heavy log's history costs on disk."""

from __future__ import annotations

import contextlib
import math
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from nbexp import ExperimentManager
from nbexp._core.errors import StoreError
from nbexp._core.metric_extraction import MetricExtractor
from nbexp._core.metric_series import (
    MAX_POINTS,
    SeriesState,
    WallTimes,
    decode_points,
    direction,
    encode_points,
    main_metric,
    thin,
)
from nbexp._io.metric_store import MetricStore
from nbexp._service import metrics as metrics_module
from nbexp._service import queue_watcher
from nbexp._ui.chart import ChartFeed
from nbexp.states import Status

from .conftest import REPO, ended_experiment_with_log
from .log_mixes import mixed_log

# -- pure ----------------------------------------------------------------------------------


def test_a_long_history_is_bounded_and_keeps_its_spikes_and_exact_summary() -> None:
    rng = random.Random(7)
    state = SeriesState()
    stored: list[tuple[float, float, float]] = []
    values = [math.exp(-i / 200_000) + rng.gauss(0, 0.01) for i in range(1_000_000)]
    values[123_457] = 50.0  # a loss spike
    values[876_543] = -3.0  # and a dip
    for start in range(0, len(values), 5_000):  # as passes deliver them
        steps = [float(i) for i in range(start, start + 5_000)]
        times = list(range(start, start + 5_000))  # ms
        stored += state.add(steps, values[start : start + 5_000], times)
        if state.needs_thinning():
            stored = state.thinned(stored)
    assert len(stored) <= MAX_POINTS
    assert state.stored == len(stored)
    # The spike and the dip survive at their steps; steps stay in order.
    assert (123_457.0, 50.0) in [(s, v) for s, v, _ in stored]
    assert (876_543.0, -3.0) in [(s, v) for s, v, _ in stored]
    assert [p[0] for p in stored] == sorted(p[0] for p in stored)
    # Summaries are exact over every point, not the thinned ones.
    assert state.count == 1_000_000
    assert state.high == [123_457.0, 50.0] and state.low == [876_543.0, -3.0]
    assert state.last == [999_999.0, values[-1], 999_999]
    # The history still ends at the latest value.
    assert state.tail()[-1] == (999_999.0, values[-1], 999_999)
    # Thinned, it still follows the curve: each stored point is a real point.
    assert all(values[int(s)] == v for s, v, _ in stored)


def test_wall_times_are_worked_out_only_for_the_points_kept() -> None:
    offsets = [99, 199, 299, 399, 499, 599, 699, 799]
    times = WallTimes(offsets, 1_700_000_000_000.0, 0.5)
    eager = [round(1_700_000_000_000.0 + 0.5 * o) for o in offsets]
    view = times[2:6]  # a view: nothing computed yet
    assert isinstance(view, WallTimes) and len(view) == 4 and view[-1] == eager[5]
    assert list(view) == eager[2:6] and list(view[1:3]) == eager[3:5]
    assert list(times) == eager and len(times) == 8 and times[-1] == eager[-1]
    assert times[::2] == eager[::2] and list(times[100:]) == []
    with pytest.raises(IndexError):
        times[8]
    # Bucketed (4 raw points per stored pair), a history gives the same points either way.
    lazy, plain = SeriesState({"bucket": 4}), SeriesState({"bucket": 4})
    steps, values = [float(i) for i in range(8)], [3.0, 1.0, 4.0, 1.5, 9.0, 2.0, 6.0, 5.0]
    assert lazy.add(steps, values, times) == plain.add(steps, values, eager)
    assert lazy.last == plain.last and all(
        isinstance(p[2], int) for p in lazy.add(steps, values, times)
    )


def test_thinning_keeps_the_low_and_high_of_each_run_in_order() -> None:
    points = [(float(i), v, 0) for i, v in enumerate([3, 1, 4, 1.5, 9, 2, 6, 5, float("nan")])]
    assert thin(points) == [points[1], points[2], points[4], points[5], points[8]]


def test_nan_is_kept_but_never_a_min_or_max() -> None:
    state = SeriesState()
    state.add([0.0, 1.0, 2.0], [1.0, float("nan"), 0.5], [0, 0, 0])
    assert state.low == [2.0, 0.5] and state.high == [0.0, 1.0]
    assert math.isnan(state.tail()[-1][1]) is False  # the last point is 0.5
    assert state.sparkline() == [1.0, None, 0.5]


def test_encoding_round_trips_and_is_small() -> None:
    # Times are milliseconds; values are exact float64 (a loss printed with 6 digits here).
    points = [
        (float(i * 10), round(1 / (i + 1), 6), 1_796_000_000_000 + i * 250) for i in range(5000)
    ]
    points.append((50_010.5, float("nan"), 1_796_001_300_125))
    points.append((50_020.0, float("inf"), 1_796_001_300_500))
    blob = encode_points(points)
    back = decode_points(blob)
    assert back[:-2] == points[:-2] and back[-2][0] == 50_010.5 and math.isnan(back[-2][1])
    assert back[-1] == points[-1]
    assert len(blob) / len(points) < 10  # bytes a point: mostly the value's 8


def test_directions_and_the_main_metric() -> None:
    assert [direction(n) for n in ("loss", "val_loss", "error", "perplexity", "wer")] == ["min"] * 5
    assert [direction(n) for n in ("acc", "val_accuracy", "f1", "auc", "bleu")] == ["max"] * 5
    assert main_metric(["acc", "val_loss", "train/loss", "lr"]) == "train/loss"
    assert main_metric(["acc", "loss", "train_loss"]) == "loss"
    assert main_metric(["acc", "lr"]) == "acc"


# -- the store -----------------------------------------------------------------------------


def _ended_experiment(manager: ExperimentManager, lines: int) -> int:
    """An ended experiment whose log holds `lines` metrics lines that nobody has read."""
    log = "".join(f"step={i} loss={1 / (i + 1):.6f} acc={i / lines:.5f}\n" for i in range(lines))
    return ended_experiment_with_log(manager, log.encode()).id


READER = """
import sys
from nbexp import ExperimentManager
manager = ExperimentManager(home=sys.argv[1])
record = manager.store.get(int(sys.argv[2]))
while not manager.service.metrics.update(record, budget=8 * 1024):
    pass
"""


def test_processes_racing_over_one_log_store_each_point_once(
    manager: ExperimentManager, home: Path
) -> None:
    experiment_id = _ended_experiment(manager, 9_000)  # under the bound: every point kept
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(home), str(experiment_id)], env=env)
        for _ in range(4)
    ]
    try:
        assert [r.wait(timeout=120) for r in readers] == [0] * 4
    finally:
        for reader in readers:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
    summaries = manager.service.metrics.summaries(experiment_id, 1)
    assert summaries["loss"].count == 9_000  # not 4 × 9,000, not fewer
    series = manager.metrics(experiment_id)
    assert [p.step for p in series["loss"]] == [float(i) for i in range(9_000)]
    assert [p.value for p in series["loss"]] == [float(f"{1 / (i + 1):.6f}") for i in range(9_000)]


def test_a_locked_store_loses_nothing_and_counts_nothing_twice(
    manager: ExperimentManager, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment_id = _ended_experiment(manager, 5_000)
    monkeypatch.setenv("NBEXP_BUSY_TIMEOUT", "0.3")
    locked = ExperimentManager(home=home)  # a fresh connection that waits only 0.3 s
    holder = sqlite3.connect(home / "nbexp.db", timeout=5)
    holder.execute("BEGIN IMMEDIATE")  # another process writes for a long time
    try:
        with pytest.raises(StoreError, match="locked"):
            locked.service.metrics.update(locked.store.get(experiment_id))
    finally:
        holder.rollback()
        holder.close()
    # The next look reads it all, once.
    assert [p.value for p in manager.metrics(experiment_id)["acc"]] == [
        float(f"{i / 5000:.5f}") for i in range(5000)
    ]
    assert manager.service.metrics.summaries(experiment_id, 1)["acc"].count == 5000


@pytest.mark.parametrize("budget", [None, 16 * 1024], ids=["whole-log", "in-parts"])
def test_a_pass_the_store_refused_is_read_again_by_the_same_process(
    manager: ExperimentManager, home: Path, monkeypatch: pytest.MonkeyPatch, budget: int | None
) -> None:
    """The process whose commit failed (a dashboard's kernel, say) goes on from the stored
    cursor: it neither skips the refused pass's points nor stores a position past them.
    In parts of 16 KiB (~450 lines), the refused pass fills a stored chunk (512 points)."""
    experiment_id = _ended_experiment(manager, 5_000)
    monkeypatch.setenv("NBEXP_BUSY_TIMEOUT", "0.3")
    locked = ExperimentManager(home=home)
    record = locked.store.get(experiment_id)
    if budget is not None:
        assert locked.service.metrics.update(record, budget=budget) is False  # a first part
    holder = sqlite3.connect(home / "nbexp.db", timeout=5)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="locked"):
            locked.service.metrics.update(record, budget=budget)
    finally:
        holder.rollback()
        holder.close()
    while not locked.service.metrics.update(record, budget=budget):
        pass
    expected = [float(f"{i / 5000:.5f}") for i in range(5000)]
    fresh = ExperimentManager(home=home)  # what every other process reads from the store
    for reader in (locked, fresh):
        assert [p.value for p in reader.metrics(experiment_id)["acc"]] == expected
        assert reader.service.metrics.summaries(experiment_id, 1)["acc"].count == 5000


def test_a_chart_that_reads_during_a_pass_gets_what_is_stored(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart's request (the kernel's main thread) may come while the monitor thread is
    between counting a pass's points and storing them: it waits for the pass, so the stored
    count it is given (where its next delta starts) matches the points it got."""
    experiment_id = _ended_experiment(manager, 5_000)
    metrics = manager.service.metrics
    record = manager.store.get(experiment_id)
    assert metrics.update(record, budget=16 * 1024) is False
    got: list[tuple[int, int, list[tuple[float, float, int]]] | None] = []
    reader = threading.Thread(
        target=lambda: got.append(metrics.series_since(experiment_id, 1, "acc", 0))
    )
    commit = metrics.db.commit

    def commit_while_a_chart_reads(*args: object) -> object:
        reader.start()
        reader.join(timeout=0.5)  # the chart's read, in the middle of the pass
        return commit(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(metrics.db, "commit", commit_while_a_chart_reads)
    metrics.update(record, budget=16 * 1024)
    reader.join(timeout=10)
    assert got and got[0] is not None
    _bucket, stored, points = got[0]
    assert stored > 900 and len(points) >= stored  # both passes' points, and the tail
    assert [p[1] for p in points[:stored]] == [float(f"{i / 5000:.5f}") for i in range(stored)]


def test_a_history_read_while_another_process_stores_a_pass_is_one_history(
    manager: ExperimentManager, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exp.metrics` reads the cursor, then the chunks: a pass stored in between (another
    process, or this kernel's monitor thread) must not give the chunks of one with the tail
    of the other (the old latest point after the new ones)."""
    experiment_id = _ended_experiment(manager, 5_000)
    reader, writer = ExperimentManager(home=home), ExperimentManager(home=home)
    record = writer.store.get(experiment_id)
    assert writer.service.metrics.update(record, budget=16 * 1024) is False
    expected = [float(f"{i / 5000:.5f}") for i in range(5000)]
    store = reader.service.metrics.db
    for method in ("chunks", "chunks_from"):
        read = getattr(store, method)

        def read_after_another_pass(*args: object, read: Any = read) -> object:
            writer.service.metrics.update(record, budget=16 * 1024)  # stored in between
            return read(*args)

        monkeypatch.setattr(store, method, read_after_another_pass)
    history = reader.service.metrics.series(experiment_id, 1, ["acc"])["acc"]
    _bucket, stored, since = reader.service.metrics.series_since(experiment_id, 1, "acc", 0)
    for points in ([(p.step, p.value) for p in history], [(p[0], p[1]) for p in since]):
        assert [step for step, _ in points] == [float(i) for i in range(len(points))]
        assert [value for _, value in points] == expected[: len(points)]
    assert len(since) >= stored


def test_a_log_longer_than_a_pass_is_read_whole_when_its_history_is_asked_for(
    manager: ExperimentManager, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exp.metrics`, `nbexp metrics` and `compare` on a long log that nobody read yet (a
    pass reads at most READ_BYTES, 16 MiB) give its whole history, not its first pass'."""
    monkeypatch.setattr(metrics_module, "READ_BYTES", 32 * 1024)  # ~900 lines a pass
    experiment_id = _ended_experiment(manager, 5_000)  # ~180 KB
    fresh = ExperimentManager(home=home)
    acc = fresh.metrics(experiment_id)["acc"]
    assert [p.value for p in acc] == [float(f"{i / 5000:.5f}") for i in range(5000)]
    MetricStore(manager.store).forget(experiment_id, 1)
    (row,) = ExperimentManager(home=home).compare([experiment_id])
    assert row["metrics"]["acc"]["count"] == 5000
    assert row["metrics"]["acc"]["last_step"] == 4999


def test_the_end_step_reads_a_log_longer_than_a_pass_to_its_end(
    manager: ExperimentManager, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a runner starts when its experiment ends (here in this process) stores the whole
    history and the final progress, whatever the log's length, for a run nobody watched."""
    monkeypatch.setattr(metrics_module, "READ_BYTES", 32 * 1024)
    experiment_id = _ended_experiment(manager, 5_000)
    with open(manager.store.get(experiment_id).log_path or "", "a") as log:
        log.write("eval: 100%|##########| 10/10 [00:01<00:00,  9.50it/s]\n")
    assert queue_watcher.main([str(home), "--ended", str(experiment_id), "1"]) == 0
    assert manager.service.metrics.summaries(experiment_id, 1)["acc"].count == 5000
    final = manager.store.get(experiment_id).final_progress
    assert final is not None and (final["n"], final["total"]) == (10, 10)


@pytest.mark.parametrize("seed", [1, 24, 28, 31])
def test_readers_that_race_and_fail_store_exactly_what_the_log_says(
    manager: ExperimentManager, home: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """A mixed log (tests/log_mixes.py) grows in pieces while three readers take passes of
    random budgets; now and then one is a new process, or is refused by a locked store. What
    is stored is the whole log's history: point for point up to the bound, and past it exact
    counts, last, min and max. (Seeds 1, 24 and 28 failed while a refused pass was kept.)"""
    rng = random.Random(seed)
    data = mixed_log(seed) * rng.choice([1, 3, 40, 80])
    ended = ended_experiment_with_log(manager, b"")
    assert ended.log_path is not None
    running = replace(ended, status=Status.RUNNING)  # read as a run that still prints
    monkeypatch.setenv("NBEXP_BUSY_TIMEOUT", "0.2")
    readers = [ExperimentManager(home=home) for _ in range(3)]
    with open(ended.log_path, "ab") as log:
        written = 0
        while written < len(data):
            piece = data[written : written + rng.randint(1, 5000 + len(data) // 20)]
            log.write(piece)
            log.flush()
            written += len(piece)
            for _ in range(rng.randint(0, 2)):
                index = rng.randrange(3)
                if rng.random() < 0.1:
                    readers[index] = ExperimentManager(home=home)  # a new process
                budget = rng.choice([None, 2048, 16384])
                if rng.random() < 0.1:
                    with closing(sqlite3.connect(home / "nbexp.db", timeout=5)) as holder:
                        holder.execute("BEGIN IMMEDIATE")
                        with contextlib.suppress(StoreError):  # (a pass may store nothing)
                            readers[index].service.metrics.update(running, budget=budget)
                        holder.rollback()
                else:
                    readers[index].service.metrics.update(running, budget=budget)
    found, _ = MetricExtractor().feed(data, final=True)
    fresh = ExperimentManager(home=home)
    stored, summaries = fresh.metrics(ended.id), fresh.service.metrics.summaries(ended.id, 1)
    assert sorted(stored) == sorted(found)
    for name, (steps, values, _offsets) in found.items():
        summary = summaries[name]
        assert (summary.count, summary.last) == (len(values), values[-1])
        assert (summary.min, summary.max) == (min(values), max(values))
        points = [(p.step, p.value) for p in stored[name]]
        if len(values) <= 10_000:
            assert points == list(zip(steps, values, strict=True)), name
        else:
            assert len(points) <= 10_000 and points[-1] == (steps[-1], values[-1])


BURST_THEN_QUIET = """
import sys, time
print("".join(f"step={i} loss={1 / (i + 1):.6f}\\n" for i in range(int(sys.argv[1]))), flush=True)
time.sleep(120)
"""


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0  # the runner has not made it yet


def test_a_burst_longer_than_a_tick_is_read_to_its_end_while_the_run_is_quiet(
    manager: ExperimentManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running experiment that printed more than a tick reads and then printed nothing (a
    long evaluation, say): the next ticks go on reading, not only when the log grows again."""
    monkeypatch.setattr(metrics_module, "TICK_BYTES", 16 * 1024)  # ~700 lines a tick
    exp = manager.run([sys.executable, "-c", BURST_THEN_QUIET, "5000"])
    try:
        record = manager.store.get(exp.id)
        assert record.log_path is not None
        deadline = time.monotonic() + 30
        while _size(record.log_path) < 100_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        size = os.path.getsize(record.log_path)
        for _ in range(12):  # 16 KiB a tick: ~6 ticks for the ~100 KB burst
            manager.service.metrics.tick([manager.store.get(exp.id)])
        assert os.path.getsize(record.log_path) == size  # it stayed quiet meanwhile
        summary = manager.service.metrics.summaries(exp.id, 1)["loss"]
        assert (summary.count, summary.last_step) == (5000, 4999.0)
    finally:
        manager.stop(exp.id, grace=1)


def test_a_chart_gets_a_history_that_started_again_whole(manager: ExperimentManager) -> None:
    """A replaced log's history starts again at the same attempt and bucket size: the chart
    must take it whole, not keep its first points of the old one."""
    experiment_id = _ended_experiment(manager, 1_000)
    metrics = manager.service.metrics
    record = manager.store.get(experiment_id)
    metrics.update(record)
    rows = {experiment_id: {"id": experiment_id, "attempt": 1}}
    feed = ChartFeed(metrics)
    metrics.row_fields([record])
    reply = feed.request({"ids": [experiment_id], "metric": "loss"}, rows)  # type: ignore[arg-type]
    assert len(reply["series"][str(experiment_id)][1]) == 1_000
    assert record.log_path is not None
    Path(record.log_path).write_text("loss=5\nloss=6\n")  # shorter: rewritten by someone
    metrics.update(record)
    metrics.row_fields([record])
    part = feed.delta(rows)  # type: ignore[arg-type]
    assert part is not None
    assert part["series"][str(experiment_id)] == [0, [0, 1], [5, 6]]


def test_a_summary_is_stamped_when_it_is_stored_not_when_its_pass_asked(
    manager: ExperimentManager, home: Path
) -> None:
    """A row asks for the summaries written since its last look (less a few seconds of
    slack): a pass that waited for the write lock longer than that must not store an older
    time than the commits that went before it."""
    experiment_id = _ended_experiment(manager, 100)
    record = manager.store.get(experiment_id)
    holder = sqlite3.connect(home / "nbexp.db", timeout=5, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writes for a while
    reader = threading.Thread(target=manager.service.metrics.update, args=(record,))
    reader.start()
    time.sleep(0.5)
    released = time.time()
    holder.execute("COMMIT")
    holder.close()
    reader.join(timeout=30)
    assert manager.service.metrics.summaries(experiment_id, 1)["loss"].updated >= released


def test_a_replaced_log_is_read_again_from_its_start(manager: ExperimentManager) -> None:
    experiment_id = _ended_experiment(manager, 100)
    assert len(manager.metrics(experiment_id)["loss"]) == 100
    path = manager.store.get(experiment_id).log_path
    assert path is not None
    Path(path).write_text("loss=5\nloss=6\n")  # shorter: rewritten by someone
    assert [p.value for p in manager.metrics(experiment_id)["loss"]] == [5.0, 6.0]


def test_removing_an_experiment_removes_its_histories(manager: ExperimentManager) -> None:
    experiment_id = _ended_experiment(manager, 50)
    assert manager.metrics(experiment_id)
    manager.remove(experiment_id)
    with manager.store.read() as conn:
        rows = [
            conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()[0]
            for table in ("metric_cursors", "metric_chunks", "metric_summaries")
        ]
    assert rows == [0, 0, 0]


TQDM_HEAVY = """
import sys
from tqdm import tqdm
bar = tqdm(total=int(sys.argv[1]), mininterval=0, desc="train")
for i in range(int(sys.argv[1])):
    bar.set_postfix(loss=f"{1 / (i + 1):.5f}", acc=f"{(i % 997) / 997:.4f}", refresh=False)
    bar.update(1)
bar.close()
"""

METRIC_TABLES = ("metric_cursors", "metric_chunks", "metric_summaries")


def metric_store_bytes(database: Path) -> int:
    """Pages the metric tables take in the database file (SQLite's dbstat)."""
    with closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN (?, ?, ?) "
            "OR name LIKE 'sqlite_autoindex_metric%'",
            METRIC_TABLES,
        ).fetchone()
    return int(rows[0] or 0)


@pytest.mark.slow
def test_a_tqdm_heavy_log_costs_little_store(manager: ExperimentManager) -> None:
    """~10 MB of bar frames, each with a new postfix: 100,000 points per metric, kept as at
    most 10,000, read by the step that runs when the experiment ends (nobody watched); the
    metric tables take well under 1 MB per 100 MB of log."""
    exp = manager.run([sys.executable, "-c", TQDM_HEAVY, "100000"])
    manager.service.wait(exp.id, timeout=120)  # waits without reading any metric
    db = MetricStore(manager.store)
    deadline = time.monotonic() + 120
    while not db.cursor(exp.id, 1).state.get("final"):
        assert time.monotonic() < deadline, "the end step did not read the log"
        time.sleep(0.2)
    log_size = Path(str(exp.log_path)).stat().st_size
    summary = manager.service.metrics.summaries(exp.id, 1)
    assert summary["loss"].count == 100_000 and summary["loss"].min == 1e-05
    assert summary["loss"].last == 1e-05 and summary["acc"].max == 0.999  # 996 / 997
    series = manager.metrics(exp.id)
    assert set(series) == {"loss", "acc"}
    assert all(len(s) <= MAX_POINTS + 3 for s in series.values())
    used = metric_store_bytes(manager.home / "nbexp.db")
    per_100_mb = used * (100 << 20) / log_size
    assert per_100_mb < 1 << 20, f"{used} bytes of metric tables for {log_size} bytes of log"


def test_time_of_a_point_is_when_its_bytes_were_written(manager: ExperimentManager) -> None:
    """Read while it runs, each pass's points get times between two reads: close to when
    the script printed them."""
    code = (
        "import time\n"
        "for i in range(6):\n"
        "    print(f'step={i} loss={1 / (i + 1)} t={time.time():.3f}', flush=True)\n"
        "    time.sleep(0.4)\n"
    )
    exp = manager.run([sys.executable, "-c", code])
    while exp.status.value == "running":
        manager.service.metrics.update(exp.record)
        time.sleep(0.1)
    series = manager.metrics(exp.id)
    for point, printed in zip(series["loss"], series["t"], strict=True):
        assert abs(point.time - printed.value) < 0.6
