"""The dashboard in a real JupyterLab and Chromium: rows and badges, a progress bar redrawn in
place, stopping from the page, simulated GPU meters and a million-line log that stays light.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _lab import SCREENSHOTS, assert_gone, run_cell

from nbexp import ExperimentManager, Status

pytestmark = pytest.mark.ui

HERE = Path(__file__).parent
EXAMPLES = Path(__file__).parents[2] / "examples"
PY = sys.executable
OUT = Path(__file__).parents[2] / "benchmarks" / "out"


# Record, in the page, when each "stamp <time>" line first shows up in the log view.
WATCH_STAMPS_JS = r"""root => {
    window.__nbexpLatency = [];
    const seen = new Set();
    const viewport = root.querySelector('.nbexp-log-viewport');
    const stampOf = (row) => /^stamp (\d+\.\d+)/.exec(row.textContent);
    for (const r of viewport.querySelectorAll('.nbexp-log-row')) {
        const m = stampOf(r);
        if (m) seen.add(m[1]);
    }
    const check = () => {
        const now = Date.now() / 1000;
        for (const r of viewport.querySelectorAll('.nbexp-log-row')) {
            const m = stampOf(r);
            if (m && !seen.has(m[1])) {
                seen.add(m[1]);
                window.__nbexpLatency.push(now - Number(m[1]));
            }
        }
    };
    new MutationObserver(check).observe(
        viewport, {subtree: true, childList: true, characterData: true});
}"""


def row(root: Any, experiment_id: int) -> Any:
    return root.locator(f"tr.nbexp-row[data-id='{experiment_id}']")


def wait_status(root: Any, experiment_id: int, status: str, timeout_ms: int = 20_000) -> None:
    row(root, experiment_id).and_(root.locator(f"[data-status='{status}']")).wait_for(
        timeout=timeout_ms
    )


def visible_log_rows(root: Any) -> Any:
    return root.locator(".nbexp-log-row:not([hidden])")


def test_rows_and_badges(home: Path, show_dashboard: Any) -> None:
    manager = ExperimentManager(home=home)
    done = manager.run([PY, "-c", "print('hello')"], name="finishes")
    failed = manager.run([PY, "-c", "import sys; sys.exit(3)"], name="fails")
    waiting = manager.create([PY, "-c", "pass"], name="not started")
    running = manager.run([PY, "-c", "import time; time.sleep(60)"], name="sleeps", timeout=600)
    done.wait(timeout=20)
    failed.wait(timeout=20)

    root = show_dashboard(home)
    wait_status(root, done.id, "completed")
    wait_status(root, failed.id, "error")
    wait_status(root, waiting.id, "pending")
    wait_status(root, running.id, "running")
    assert (
        row(root, done.id)
        .locator(".nbexp-badge.nbexp-status-completed")
        .inner_text()
        .endswith("completed")
    )
    assert "exit code 3" in row(root, failed.id).locator(".nbexp-reason").inner_text()
    assert row(root, running.id).locator(".nbexp-spinner").count() == 1
    # Only the actions the state allows are offered.
    assert row(root, running.id).locator("button.nbexp-action").all_inner_texts() == [
        "pause",
        "stop",
    ]
    assert row(root, waiting.id).locator("button.nbexp-action").all_inner_texts() == [
        "start",
        "force start",
        "remove",
    ]
    # The runtime ticks in the browser between pushes.
    first = row(root, running.id).locator(".nbexp-runtime").inner_text()
    time.sleep(2.2)
    assert row(root, running.id).locator(".nbexp-runtime").inner_text() != first
    # A run with a time limit shows elapsed / limit.
    assert first.endswith(" / 10m 00s"), first
    assert row(root, done.id).locator(".nbexp-runtime").inner_text().count("/") == 0

    # Filter by status, then search by name.
    root.locator("button.nbexp-chip[data-status='error']").click()
    row(root, done.id).wait_for(state="hidden")
    assert row(root, failed.id).is_visible()
    root.locator("button.nbexp-chip[data-status='error']").click()
    root.locator("input.nbexp-search").fill("sleep")
    row(root, failed.id).wait_for(state="hidden")
    assert row(root, running.id).is_visible()


def test_progress_line_updates_in_place(home: Path, show_dashboard: Any) -> None:
    manager = ExperimentManager(home=home)
    exp = manager.run([PY, str(HERE / "slow_tqdm.py"), "400", "0.1"], name="tqdm bar")
    root = show_dashboard(home)
    wait_status(root, exp.id, "running")
    row(root, exp.id).locator(".nbexp-name").click()
    bar = root.locator(".nbexp-log-row[data-line='1']")
    bar.wait_for(timeout=20_000)
    root.locator(".nbexp-log-row", has_text="%|").first.wait_for(timeout=20_000)
    before_text = bar.inner_text()
    before_rows = visible_log_rows(root).count()
    deadline = time.monotonic() + 15
    while bar.inner_text() == before_text and time.monotonic() < deadline:
        time.sleep(0.2)
    assert bar.inner_text() != before_text, "the progress line never changed"
    assert "%|" in bar.inner_text()
    assert visible_log_rows(root).count() == before_rows  # redrawn, not appended
    assert root.locator(".nbexp-log-info").inner_text().startswith("2 lines")
    # The table's progress bar follows the same line.
    row(root, exp.id).locator(".nbexp-progress-fill").wait_for(timeout=10_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    root.screenshot(path=str(SCREENSHOTS / "dashboard-light.png"))


def test_stop_from_the_page(home: Path, show_dashboard: Any) -> None:
    manager = ExperimentManager(home=home)
    # A parent with a child: stopping must end the whole tree.
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    exp = manager.run([PY, "-c", script], name="stop me")
    deadline = time.monotonic() + 20
    while not any(line.startswith("child ") for line in exp.logs()):
        assert time.monotonic() < deadline, "the experiment never started its child"
        time.sleep(0.1)
    child_pid = int(next(x for x in exp.logs() if x.startswith("child ")).split()[1])
    main_pid = exp.pid
    root = show_dashboard(home)
    wait_status(root, exp.id, "running")
    row(root, exp.id).locator("button[data-action='stop']").click()
    # Destructive: the first click only asks.
    confirm = row(root, exp.id).locator("button.nbexp-confirm")
    confirm.wait_for()
    assert manager.get(exp.id).status is Status.RUNNING
    confirm.click()
    wait_status(root, exp.id, "interrupted", timeout_ms=30_000)
    assert manager.get(exp.id).status is Status.INTERRUPTED
    assert_gone(main_pid)
    assert_gone(child_pid)


def test_refusal_shows_inline(home: Path, show_dashboard: Any, notebook_page: Any) -> None:
    manager = ExperimentManager(home=home)
    exp = manager.create([PY, "-c", "pass"], name="removed elsewhere")
    root = show_dashboard(home, interval=60.0)  # no tick will remove the row before the click
    wait_status(root, exp.id, "pending")
    manager.remove(exp.id)  # from "another terminal"
    row(root, exp.id).locator("button[data-action='remove']").click()
    row(root, exp.id).locator("button.nbexp-confirm").click()
    notice = root.locator(".nbexp-notice-error")
    notice.wait_for(timeout=10_000)
    assert f"no experiment with id {exp.id}" in notice.inner_text()
    assert notebook_page.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0


def test_gpu_panel_shows_simulated_meters(
    home: Path, show_dashboard: Any, notebook_page: Any
) -> None:
    manager = ExperimentManager(home=home)
    exp = manager.run([PY, "-c", "import time; time.sleep(60)"], name="holds gpu 1", gpus=[1])
    root = show_dashboard(home)
    gpus = root.locator(".nbexp-gpu")
    gpus.nth(1).wait_for(timeout=20_000)
    assert gpus.count() == 2
    assert root.locator(".nbexp-gpus .nbexp-simulated").first.is_visible()
    assert "GiB" in gpus.nth(0).locator(".nbexp-meter-row").first.inner_text()
    root.locator(".nbexp-gpu[data-index='1'] .nbexp-gpu-holders", has_text=f"#{exp.id}").wait_for(
        timeout=10_000
    )
    # Sparklines fill in as readings arrive.
    spark = root.locator(".nbexp-gpu[data-index='1'] .nbexp-spark-util polyline")
    spark.wait_for(state="attached", timeout=10_000)
    time.sleep(1.5)
    assert len((spark.get_attribute("points") or "").split()) >= 2
    # Simulated GPUs hold only our experiments: a stranger's process is sent by hand, as the
    # monitor would send it, and must read as someone else's next to our own holder.
    stranger = '{"0": [], "1": [{"pid": 4321, "user": "alice", "mem": 9318}]}'
    run_cell(notebook_page, f"dash0.send({{'type': 'tick', 'gpu_foreign': {stranger}}})")
    foreign = root.locator(".nbexp-gpu[data-index='1'] .nbexp-gpu-foreign")
    foreign.wait_for(timeout=10_000)
    assert foreign.inner_text() == "pid 4321 (alice) \u00b7 9.1 GiB"
    holders = root.locator(".nbexp-gpu[data-index='1'] .nbexp-gpu-holders")
    assert holders.inner_text().startswith(f"held by #{exp.id} holds gpu 1, pid 4321")
    color = "(e) => getComputedStyle(e).color"
    assert foreign.evaluate(color) != holders.evaluate(color)
    assert root.locator(".nbexp-gpu[data-index='0'] .nbexp-gpu-foreign").count() == 0
    SCREENSHOTS.mkdir(exist_ok=True)
    root.screenshot(path=str(SCREENSHOTS / "dashboard-gpus.png"))


def test_million_line_log_stays_bounded(home: Path, show_dashboard: Any) -> None:
    manager = ExperimentManager(home=home)
    write = (
        "import sys\n"
        "out = sys.stdout\n"
        "for start in range(0, 1_000_000, 10_000):\n"
        "    out.write(''.join(f'line {i}\\n' for i in range(start, start + 10_000)))\n"
    )
    exp = manager.run([PY, "-c", write], name="million lines")
    exp.wait(timeout=60)
    root = show_dashboard(home)
    wait_status(root, exp.id, "completed")
    row(root, exp.id).locator(".nbexp-name").click()
    root.locator(".nbexp-log-row", has_text="line 999999").wait_for(timeout=60_000)
    assert root.locator(".nbexp-log-info").inner_text().startswith("1,000,000 lines")
    bounded = root.locator(".nbexp-log-row").count()
    assert bounded < 100
    viewport = root.locator(".nbexp-log-viewport")
    # Scroll back to the middle: those lines are fetched on demand, the DOM stays bounded.
    viewport.evaluate("v => { v.scrollTop = v.scrollHeight / 2; }")
    root.locator(".nbexp-log-row", has_text="line 5").first.wait_for(timeout=20_000)
    middle = [
        int(t.split()[1])
        for t in root.locator(
            ".nbexp-log-row:not([hidden]):not(.nbexp-log-missing)"
        ).all_inner_texts()
        if t.startswith("line ")
    ]
    assert middle and 400_000 < statistics.median(middle) < 600_000
    assert root.locator(".nbexp-log-row").count() < 100
    # Scrolled up: follow mode pauses, and "jump to end" brings the end back.
    assert root.locator(".nbexp-jump").is_visible()
    root.locator(".nbexp-jump").click()
    root.locator(".nbexp-log-row", has_text="line 999999").wait_for(timeout=10_000)
    # Many scroll steps later the DOM is still bounded.
    for fraction in (0.1, 0.3, 0.7, 0.9):
        viewport.evaluate(f"v => {{ v.scrollTop = v.scrollHeight * {fraction}; }}")
        time.sleep(0.1)
    assert root.locator(".nbexp-log-row").count() < 100


def test_line_to_dom_latency(home: Path, show_dashboard: Any, notebook_page: Any) -> None:
    """Seconds from a line written by an experiment to the DOM showing it (1 s ticks)."""
    manager = ExperimentManager(home=home)
    script = (
        "import time\n"
        "for i in range(200):\n"
        "    print(f'stamp {time.time():.3f}', flush=True)\n"
        "    time.sleep(0.27)\n"
    )
    exp = manager.run([PY, "-c", script], name="stamps")
    root = show_dashboard(home, interval=1.0)
    wait_status(root, exp.id, "running")
    row(root, exp.id).locator(".nbexp-name").click()
    root.locator(".nbexp-log-row", has_text="stamp").first.wait_for(timeout=20_000)
    # Record, in the page, when each stamp first appears in the log view.
    root.evaluate(WATCH_STAMPS_JS)
    time.sleep(20)
    samples = sorted(notebook_page.evaluate("() => window.__nbexpLatency"))
    assert len(samples) >= 40
    median = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "dashboard_latency.json").write_text(
        json.dumps(
            {
                "interval_s": 1.0,
                "samples": len(samples),
                "median_s": round(median, 3),
                "p99_s": round(p99, 3),
                "max_s": round(samples[-1], 3),
            },
            indent=2,
        )
    )
    print(f"line->DOM latency: median {median:.3f} s, p99 {p99:.3f} s over {len(samples)} lines")
    # The goal is p99 <= 1.5 s; on 2 shared cores the test leaves room for a slow tick.
    assert median <= 1.5
    assert p99 <= 2.5
    manager.stop(exp.id, grace=1)


def test_dark_theme_screenshot(home: Path, show_dashboard: Any, notebook_page: Any) -> None:
    manager = ExperimentManager(home=home)
    train = EXAMPLES / "train_tqdm.py"
    script = (
        [str(train), "--epochs", "3", "--steps", "300", "--delay", "0.1"]
        if train.exists()
        else [str(HERE / "slow_tqdm.py"), "400", "0.1"]
    )
    manager.run([PY, *script], name="train resnet", gpus=[0])
    coloured = "print('\\x1b[1;31mERROR\\x1b[0m loss is \\x1b[33mnan\\x1b[0m'); raise SystemExit(1)"
    broken = manager.run([PY, "-c", coloured], name="broken")
    broken.wait(timeout=20)
    manager.create([PY, "-c", "pass"], name="later")
    notebook_page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme',"
        " {theme: 'JupyterLab Dark'})"
    )
    try:
        root = show_dashboard(home)
        # Colours from the log survive as styled spans.
        row(root, broken.id).locator(".nbexp-name").click()
        red = root.locator(".nbexp-log-row span", has_text="ERROR")
        red.wait_for(timeout=20_000)
        assert red.evaluate("el => getComputedStyle(el).fontWeight") == "700"
        assert "var(--nbexp-ansi-red)" in (red.get_attribute("style") or "")  # the theme's red
        root.locator("tr.nbexp-row[data-status='running'] .nbexp-name").click()
        root.locator(".nbexp-log-row", has_text="%|").first.wait_for(timeout=20_000)
        root.locator(".nbexp-gpu").nth(1).wait_for(timeout=20_000)
        time.sleep(1.5)
        # Dark theme: the widget's text is light on a dark background.
        color = root.evaluate("el => getComputedStyle(el).color")
        rgb = [int(x) for x in color[color.index("(") + 1 : color.index(")")].split(",")[:3]]
        assert sum(rgb) > 3 * 150, color
        SCREENSHOTS.mkdir(exist_ok=True)
        root.screenshot(path=str(SCREENSHOTS / "dashboard-dark.png"))
    finally:
        notebook_page.evaluate(
            "() => window.jupyterapp.commands.execute('apputils:change-theme',"
            " {theme: 'JupyterLab Light'})"
        )


def test_experiment_card_shows_progress_and_output(
    home: Path, notebook_page: Any, show_dashboard: Any
) -> None:
    from _lab import run_cell

    manager = ExperimentManager(home=home)
    exp = manager.run([PY, str(HERE / "slow_tqdm.py"), "400", "0.1"], name="card run")
    # An Experiment as a cell's result shows as its card.
    run_cell(notebook_page, f"ExperimentManager(home=r'{home}').get({exp.id})")
    card = notebook_page.locator(".jp-OutputArea-output .nbexp-card").last
    card.wait_for(timeout=30_000)
    card.locator(".nbexp-badge.nbexp-status-running").wait_for(timeout=10_000)
    card.locator(".nbexp-card-tail", has_text="starting training").wait_for(timeout=10_000)
    card.locator(".nbexp-progress-fill").wait_for(timeout=10_000)
    card.locator("button[data-action='stop']").click()
    card.locator("button.nbexp-confirm").click()
    card.locator(".nbexp-badge.nbexp-status-interrupted").wait_for(timeout=30_000)
    assert manager.get(exp.id).status is Status.INTERRUPTED
