"""Metrics through the public face: exp.metrics / final_metrics / metrics_frame, mgr.compare /
to_dataframe, `nbexp metrics` and `nbexp compare`, ls and show; a run nobody watched, a kernel
killed mid-run, restarts, nested bars' progress and completed rows in the dashboard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbexp import ExperimentManager
from nbexp._core.errors import NbexpError, NotFound, UsageError
from nbexp._io.metric_store import MetricStore
from nbexp._ui.dashboard import Dashboard, json_size

from .conftest import REPO, cli, wait_for

PY = sys.executable

# Prints a metric line every `delay` seconds and says what it printed on its last line.
PRINTER = """
import json, sys, time
count, delay = int(sys.argv[1]), float(sys.argv[2])
seen = []
for i in range(count):
    loss, acc = round(2.0 / (i + 1), 6), round(i / count, 6)
    print(f"step={i * 10} loss={loss} acc={acc}", flush=True)
    seen.append([i * 10, loss, acc])
    time.sleep(delay)
print("PRINTED " + json.dumps(seen), flush=True)
"""


def printed(manager: ExperimentManager, experiment_id: int) -> list[list[float]]:
    line = next(x for x in manager.logs(experiment_id) if x.startswith("PRINTED "))
    return json.loads(line[len("PRINTED ") :])


def test_metrics_final_metrics_and_frames(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", PRINTER, "50", "0"]).wait(timeout=30)
    seen = printed(manager, exp.id)
    history = exp.metrics
    assert set(history) == {"loss", "acc"}
    assert [(p.step, p.value) for p in history["loss"]] == [(s, loss) for s, loss, _ in seen]
    assert all(p.time > 0 for p in history["loss"])
    assert exp.final_metrics == {"loss": seen[-1][1], "acc": seen[-1][2]}
    wide = exp.metrics_frame()
    assert list(wide.columns) == ["acc", "loss"] and wide.index.name == "step"
    assert wide.loc[490.0, "loss"] == seen[-1][1]
    long = exp.metrics_frame(wide=False)
    assert list(long.columns) == ["metric", "step", "value", "time"] and len(long) == 100


def test_compare_and_to_dataframe(manager: ExperimentManager) -> None:
    runs = [
        manager.run([PY, "-c", PRINTER, str(n), "0"], name=f"run {n}", group="sweep")
        for n in (5, 20)
    ]
    other = manager.run([PY, "-c", "print('cost=3'); print('cost=1')"])
    for run in [*runs, other]:
        run.wait(timeout=30)
    rows = manager.compare(group="sweep")
    assert [r["id"] for r in rows] == [r.id for r in runs]
    loss = rows[1]["metrics"]["loss"]
    assert (loss["min"], loss["max"], loss["last"]) == (0.1, 2.0, 0.1)
    assert (loss["best"], loss["best_step"], loss["direction"]) == (0.1, 190.0, "min")
    acc = rows[1]["metrics"]["acc"]
    assert (acc["direction"], acc["best"], acc["best_step"]) == ("max", 0.95, 190.0)
    # The direction is guessed from the name; an override says otherwise.
    cost = manager.compare([other.id])[0]["metrics"]["cost"]
    assert (cost["best"], cost["best_step"]) == (1.0, 1.0)
    cost = manager.compare([other.id], directions={"cost": "max"})[0]["metrics"]["cost"]
    assert (cost["best"], cost["best_step"]) == (3.0, 0.0)
    frame = manager.to_dataframe(status="completed")
    assert list(frame.index) == [r.id for r in [*runs, other]]
    assert frame.loc[runs[1].id, "loss.min"] == 0.1 and frame.loc[runs[1].id, "group"] == "sweep"


@pytest.mark.parametrize(
    ("call", "error", "names"),
    [
        (lambda m: m.compare(ids="3"), UsageError, "ids"),
        (lambda m: m.compare(group=3), UsageError, "group"),
        (lambda m: m.compare(directions={"loss": "down"}), UsageError, "directions"),
        (lambda m: m.compare(status="nope"), UsageError, "status"),
        (lambda m: m.compare([999]), NotFound, "999"),
        (lambda m: m.metrics(999), NotFound, "999"),
        (lambda m: m.metrics(1, attempt=5), UsageError, "attempt"),
        (lambda m: m.metrics_frame(1, wide="yes"), UsageError, "wide"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    manager: ExperimentManager, call: object, error: type[Exception], names: str
) -> None:
    manager.run([PY, "-c", "print('loss=1')"]).wait(timeout=30)
    with pytest.raises(error, match=names) as raised:
        call(manager)  # type: ignore[operator]
    assert "\n" not in str(raised.value)


def test_without_pandas_the_error_says_how_to_get_it(
    manager: ExperimentManager, home: Path
) -> None:
    manager.run([PY, "-c", "print('loss=1')"]).wait(timeout=30)
    code = (
        "import sys; sys.modules['pandas'] = None\n"  # as if it were not installed
        "from nbexp import ExperimentManager\n"
        f"ExperimentManager(home={str(home)!r}).to_dataframe()\n"
    )
    result = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "pandas is not installed: `pip install pandas`" in result.stderr.splitlines()[-1]
    with pytest.raises(NbexpError, match="pip install pandas"):
        subprocess_free = sys.modules.get("pandas")
        sys.modules["pandas"] = None  # type: ignore[assignment]
        try:
            manager.get(1).metrics_frame()
        finally:
            sys.modules["pandas"] = subprocess_free  # type: ignore[assignment]


def test_a_run_nobody_watched_has_its_full_history_when_it_ends(
    manager: ExperimentManager,
) -> None:
    code = (
        "from tqdm import tqdm\n"
        "for epoch in tqdm(range(2), desc='epochs', mininterval=0):\n"
        "    for b in tqdm(range(30), desc=f'batch {epoch}', leave=False, mininterval=0):\n"
        "        pass\n"
        "print('val_loss=0.25')\n"
    )
    exp = manager.run([PY, "-u", "-c", PRINTER + "\n" + code, "30", "0"])
    manager.service.wait(exp.id, timeout=30)  # waiting reads no metric
    db = MetricStore(manager.store)
    # The step that runs when an experiment ends read its log into the store.
    wait_for(lambda: db.cursor(exp.id, 1).state.get("final"), timeout=30)
    summaries = {s.name: s for s in db.summaries(exp.id, 1)}
    assert summaries["loss"].count == 30 and summaries["val_loss"].last == 0.25
    final = manager.store.get(exp.id).final_progress
    assert final is not None and (final["description"], final["n"], final["total"]) == (
        "epochs",
        2,
        2,
    )


KERNEL = """
import sys, time
from nbexp import ExperimentManager
from nbexp._ui.monitor import Monitor
manager = ExperimentManager(home=sys.argv[1])
monitor = Monitor(manager.service, interval=0.2)
while True:  # a notebook whose dashboard ticks, until it is killed
    monitor.tick()
    time.sleep(0.2)
"""


def test_a_kernel_killed_mid_run_loses_no_point(manager: ExperimentManager, home: Path) -> None:
    exp = manager.run([PY, "-c", PRINTER, "40", "0.1"])
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    kernel = subprocess.Popen([PY, "-c", KERNEL, str(home)], env=env)
    try:
        db = MetricStore(manager.store)
        wait_for(lambda: db.cursor(exp.id, 1).offset > 200, timeout=30)  # it stored some
        os.kill(kernel.pid, signal.SIGKILL)  # mid-pass, maybe mid-transaction
        kernel.wait(timeout=10)
        stored_then = db.cursor(exp.id, 1).offset
        assert stored_then > 0
    finally:
        if kernel.poll() is None:
            kernel.kill()
            kernel.wait()
    exp.wait(timeout=60)
    seen = printed(manager, exp.id)
    history = manager.metrics(exp.id)  # a new process (a restarted kernel) reads on
    assert [(p.step, p.value) for p in history["loss"]] == [(s, loss) for s, loss, _ in seen]
    assert [(p.step, p.value) for p in history["acc"]] == [(s, acc) for s, _, acc in seen]


def test_each_attempt_keeps_its_history(manager: ExperimentManager) -> None:
    exp = manager.run([PY, "-c", PRINTER, "3", "0"]).wait(timeout=30)
    manager.restart(exp.id).wait(timeout=30)
    assert exp.attempt == 2
    assert len(manager.metrics(exp.id, attempt=1)["loss"]) == 3
    assert len(exp.metrics["loss"]) == 3
    assert manager.compare([exp.id])[0]["attempt"] == 2


def test_cli_metrics_and_compare(manager: ExperimentManager, home: Path) -> None:
    a = manager.run([PY, "-c", PRINTER, "4", "0"], name="a").wait(timeout=30)
    b = manager.run([PY, "-c", PRINTER, "8", "0"], name="b").wait(timeout=30)
    out = json.loads(cli(home, "metrics", str(a.id), "--json").stdout)
    seen = printed(manager, a.id)
    assert out["id"] == a.id
    assert [[s, v] for s, v, _ in out["metrics"]["loss"]] == [[s, loss] for s, loss, _ in seen]
    csv = cli(home, "metrics", str(a.id), "--csv").stdout.splitlines()
    assert csv[0] == "metric,step,value,time" and len(csv) == 1 + 8
    text = cli(home, "metrics", str(b.id)).stdout
    assert "loss" in text and "0.25 @70" in text  # last value at its step
    rows = json.loads(cli(home, "compare", "--json").stdout)
    assert [r["id"] for r in rows] == [a.id, b.id]
    assert rows[1]["metrics"]["loss"] == {
        **rows[1]["metrics"]["loss"],
        "last": 0.25,
        "min": 0.25,
        "max": 2.0,
        "best_step": 70.0,
    }
    table = cli(home, "compare", str(b.id), "--max", "loss").stdout
    assert "loss BEST (max) @STEP" in table and "2 @0" in table
    listing = cli(home, "ls").stdout
    assert "METRICS" in listing and "loss=0.25 acc=0.875" in listing
    shown = json.loads(cli(home, "show", str(b.id), "--json").stdout)
    assert shown["metrics"]["acc"]["best"] == 0.875
    assert "metrics    loss=0.25  acc=0.875" in cli(home, "show", str(b.id)).stdout
    refused = cli(home, "compare", "--max", "loss", "--min", "loss")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    missing = cli(home, "metrics", "999")
    assert missing.returncode == 1 and "no experiment with id 999" in missing.stderr


NESTED = """
import time
from tqdm import tqdm
for epoch in tqdm(range(3), desc="epochs", mininterval=0):
    for b in tqdm(range(50), desc="batches", leave=False, mininterval=0):
        time.sleep(0.03)
"""


def test_nested_bars_show_the_outer_bar_with_the_inner_beneath(
    manager: ExperimentManager,
) -> None:
    exp = manager.run([PY, "-c", NESTED])
    progress = wait_for(
        lambda: (
            (p := exp.progress) is not None
            and p.inner is not None
            and p.inner.remaining is not None
            and p.n == 1
            and p
        ),
        timeout=30,
    )
    assert (progress.description, progress.total) == ("epochs", 3)
    assert (progress.inner.description, progress.inner.total) == ("batches", 50)
    # The ETA covers the rest of the run, not only the current epoch.
    epochs_left = 3 - progress.n - 1
    assert progress.remaining >= progress.inner.remaining + epochs_left * 50 * 0.03 * 0.5
    assert progress.short().startswith(f"epochs {progress.n:g}/3 · ")
    exp.wait(timeout=60)
    dash = Dashboard(manager=manager, live=False)
    try:
        row = dash.refresh().rows[exp.id]
        # Completed, the row keeps its final progress (the inner bar was cleared at the end).
        assert row["progress"] is not None and row["progress"]["n"] == 3
    finally:
        dash.close()


def test_rows_carry_metrics_and_a_sparkline_and_the_chart_gets_deltas(
    manager: ExperimentManager,
) -> None:
    runs = [manager.run([PY, "-c", PRINTER, "400", "0.05"]) for _ in range(3)]
    dash = Dashboard(manager=manager, live=False)
    sent: list[dict[str, object]] = []
    dash.send = sent.append  # type: ignore[method-assign]
    try:
        dash._on_message(dash, {"type": "hello"}, [])
        wait_for(lambda: all(dash.refresh().rows[r.id]["metrics"] for r in runs), timeout=30)
        row = dash.refresh().rows[runs[0].id]
        assert list(row["metrics"]) == ["loss", "acc"] and row["main_metric"] == "loss"
        assert row["spark"] and row["spark"][0] == 2.0
        ids = [r.id for r in runs]
        dash._on_message(dash, {"type": "chart", "req": 7, "ids": ids, "metric": None}, [])
        reply = next(m for m in sent if m.get("type") == "chart_data")
        assert (
            reply["req"] == 7 and reply["metric"] == "loss" and reply["metrics"] == ["acc", "loss"]
        )
        series = reply["series"]  # type: ignore[index]
        lengths = {k: len(v[1]) for k, v in series.items()}  # type: ignore[union-attr]
        time.sleep(1.0)
        before = len(sent)
        dash.refresh()
        chart = next(m["chart"] for m in sent[before:] if "chart" in m)  # type: ignore[index]
        for key, (start, steps, values) in chart["series"].items():  # type: ignore[index]
            # Only what is new: from where the browser's stored points end.
            assert start >= lengths[key] - 3 and len(steps) == len(values) < 40
        assert json_size(chart) < 300 * len(runs)
        dash._on_message(dash, {"type": "chart", "req": 8, "ids": "x"}, [])
        assert sent[-1] == {"type": "error", "req": 8, "message": sent[-1]["message"]}
    finally:
        dash.close()
        for run in runs:
            manager.stop(run.id, grace=1)
