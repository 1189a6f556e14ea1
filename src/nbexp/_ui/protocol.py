"""The wire format between the kernel and the widget's JS (js/src), declared once.

Every message either way is one of the TypedDicts below; js/src/protocol.js declares the same
shapes as JSDoc `@typedef`s (checked by `// @ts-check`), and docs/dashboard.md lists them.
Builders for the row and GPU parts live here too, so no other module writes these dicts by hand.

Kernel → browser: `SnapshotMessage` (everything, in reply to hello), `TickMessage` (what changed),
`LogLinesMessage` (a requested range), `ChartDataMessage`, `ActionDoneMessage`, `ErrorMessage`.
Browser → kernel: `HelloMessage`, `ByeMessage`, `ActionRequest`, `LogRangeRequest`,
`ChartRequest`.
The runs table's windows, bulk actions and the log view's search and exports are declared in
`protocol_table.py` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypedDict

from .._core.records import ExperimentRecord
from .._core.slurm_jobs import parse_time_limit
from .._core.states import HOLDING, Status, allowed_actions
from .._io.gpus import GpuReport, GpuSample, GpuSnapshot
from .protocol_table import (
    ActionRefusedMessage,
    AttemptJson,
    BulkDoneMessage,
    BulkRequest,
    CountsJson,
    GroupLineJson,
    LogChunkMessage,
    LogExportRequest,
    LogMatchesMessage,
    LogSearchRequest,
    RefusalJson,
    RowsMessage,
    WindowJson,
    WindowRequest,
)

# The runs table's and the log tools' shapes, declared in protocol_table.py: part of the protocol.
TABLE_PROTOCOL = (
    ActionRefusedMessage,
    AttemptJson,
    BulkDoneMessage,
    BulkRequest,
    CountsJson,
    GroupLineJson,
    LogChunkMessage,
    LogExportRequest,
    LogMatchesMessage,
    LogSearchRequest,
    RefusalJson,
    RowsMessage,
    WindowJson,
    WindowRequest,
)


# -- parts ------------------------------------------------------------------------------------


class ProgressJson(TypedDict):
    """nbexp.progress.Progress.to_json(): a bar's reading; absent values are null."""

    kind: str  # "tqdm", "rich" or "keras"
    description: str | None
    n: float | None
    total: float | None
    percent: float | None
    elapsed: float | None  # seconds
    remaining: float | None  # seconds: the ETA
    rate: float | None  # units per second
    unit: str | None
    # Counts as the bar printed them, with their unit: "4.5", "10.0", "MB" (null for plain counts).
    n_text: str | None
    total_text: str | None
    count_unit: str | None
    metrics: dict[str, float]
    # Nested bars: this reading is the outer bar's (epoch 2/3, `percent` and `remaining` for
    # the whole run) and `inner` the bar beneath it (batch 57/100); null for a single bar.
    inner: ProgressJson | None


class RowJson(TypedDict):
    """One experiment in the table. Only what changes when the experiment does: the browser
    ticks the runtime itself from `started`/`ended`."""

    id: int
    name: str
    status: str
    gpus: Any  # assigned indices once started, else the request (a count, a list, or null)
    assigned: list[int] | None  # GPUs held now (running only)
    pid: int | None
    executor: str
    job_id: str | None
    started: float | None
    ended: float | None
    exit_code: int | None
    reason: str | None
    attempt: int
    actions: list[str]  # what the state allows, e.g. ["stop"]
    progress: ProgressJson | None
    group: str | None  # its group (a sweep is one)
    params: dict[str, Any] | None  # a sweep run's parameters
    tags: list[str]
    failure: FailureJson | None  # why the current attempt failed
    attempts: str | None  # "attempt 2/3" when retries are allowed
    paused_seconds: float  # time the current attempt spent paused (left out of its runtime)
    paused_at: float | None  # when it was paused, while it is
    # The current attempt's metric histories (docs/metrics.md), for metric columns and the
    # row's sparkline: see RowMetricsJson. Empty / None / [] before any metric was printed.
    metrics: dict[str, float | None]
    main_metric: str | None
    spark: list[float | None]
    node: str | None  # the node a Slurm job runs (or ran) on
    time_limit: float | None  # seconds an attempt may run (timeout= or Slurm's --time): the
    # page shows elapsed / limit from `started`


class RowMetricsJson(TypedDict):
    """A row's metric fields (kept exact in the store; rounded to 5 significant digits here)."""

    metrics: dict[str, float | None]  # latest value per metric, the main one first (at most 8);
    # None for NaN/inf. Sortable table columns read these.
    main_metric: str | None  # what the sparkline shows: "loss" if printed, else a loss, else first
    spark: list[float | None]  # ≤ 32 values of main_metric over the whole attempt, oldest first


class FailureJson(TypedDict):
    kind: str  # exception, cuda-oom, oom-killed, nccl, segfault, timeout, signal, exit
    summary: str  # one line, e.g. "ValueError: batch 0 has NaN in column 'loss'"


class EndedJson(TypedDict):
    """A run that just ended (or failed and will be retried): what its toast says."""

    id: int
    name: str
    status: str  # completed, error, interrupted; queued when a retry waits
    summary: str | None  # the failure's summary, or why it ended
    attempts: str | None  # "attempt 2/3" when retries are allowed


class GpuProcessJson(TypedDict):
    pid: int
    user: str | None
    mem: float | None  # MiB


class GpuInfoEntry(TypedDict):
    """What rarely changes about one GPU."""

    index: int
    uuid: str | None
    name: str | None
    mem_total: float | None  # MiB
    power_limit: float | None  # W
    pids: list[int]
    problem: str | None


class GpuInfo(TypedDict):
    available: bool
    simulated: bool
    reason: str | None  # why there are no GPUs
    gpus: list[GpuInfoEntry]


# One reading of one GPU: [memory used MiB, utilisation %, temperature °C, power W].
GpuReading = list[float | int | None]


class NodeGpuJson(TypedDict):
    """One GPU of a Slurm node, given to a job, as the job's telemetry sidecar read it."""

    index: int  # the node's GPU index
    uuid: str | None
    name: str | None
    mem_total: float | None  # MiB
    power_limit: float | None  # W
    reading: GpuReading  # the latest: [memory used MiB, utilisation %, temperature °C, power W]
    history: list[GpuReading]  # recent readings, oldest first (one per sidecar interval)
    job_mem: float | None  # MiB held by the job's own processes (None: NVML does not say)
    problem: str | None


class NodeGpusJson(TypedDict):
    """The GPUs a running Slurm experiment was given, on its node."""

    id: int  # the experiment
    name: str
    node: str | None
    job_id: str | None
    simulated: bool
    stale: bool  # the sidecar has not written for three of its intervals
    updated: float | None  # when it last read them (seconds since the epoch)
    interval: float  # seconds between its readings
    reason: str | None  # why there are no GPUs to show
    gpus: list[NodeGpuJson]


class LogPart(TypedDict, total=False):
    """Lines of the selected experiment's log. With `reset`, the browser drops what it had and
    `lines` is a list starting at line `start`; otherwise `lines` maps line numbers (as strings)
    to new contents and `stale` is a range of lines to drop and fetch again if shown."""

    reset: bool
    id: int
    attempt: int
    total: int
    start: int
    lines: Any  # list[LineJson] (reset) or dict[str, LineJson] (delta)
    stale: list[int]  # [from, to)
    note: str  # why there is no log to show
    attempts: list[AttemptJson]  # every attempt (the attempt picker), with `reset`
    end: str  # the shown attempt ended: how, in words (the view draws it below the last line)


# A log line: plain text, or [text, [[start, end, css], ...]] when it has colours.
LineJson = str | list[Any]

# One run's points for the chart: [start, [step, ...], [value, ...]]. The browser keeps the
# points it has before index `start` and replaces the rest with these (a value is null for
# NaN/inf: a gap). Three plain lists keep a tick that adds one point per run small.
ChartPoints = list[Any]


class ChartPart(TypedDict):
    """What the plotted runs printed since the last push (docs/metrics.md, "Chart")."""

    metric: str
    series: dict[str, ChartPoints]  # experiment id -> its new points


# -- kernel → browser -------------------------------------------------------------------------


class TickMessage(TypedDict, total=False):
    type: Literal["tick"]
    now: float  # the kernel's clock (seconds since the epoch)
    rows: list[RowJson]  # new or changed rows
    removed: list[int]
    gpu_info: GpuInfo
    gpu: list[GpuReading]
    gpu_foreign: dict[str, list[GpuProcessJson]]  # GPU index -> someone else's processes
    log: LogPart
    problems: list[str]  # what went wrong this tick, in words
    windows: dict[str, WindowJson]  # view -> its window, when it changed
    counts: CountsJson  # when they changed
    forget: list[int]  # rows no view shows any more: the page may drop them
    gpu_holders: dict[str, list[list[Any]]]  # GPU index -> [[id, name], …] of ours holding it
    node_gpus: list[NodeGpusJson]  # running Slurm experiments' node GPUs (when they changed)
    ended: list[EndedJson]  # runs that ended since the last push (toasts)
    chart: ChartPart  # the chart's runs' new points


class SnapshotMessage(TypedDict, total=False):
    type: Literal["snapshot"]
    now: float
    rows: list[RowJson]
    gpu_info: GpuInfo
    gpu: list[GpuReading]
    gpu_foreign: dict[str, list[GpuProcessJson]]
    gpu_history: list[list[GpuReading]]  # per GPU, oldest first
    node_gpus: list[NodeGpusJson]
    log: LogPart
    view: str  # the view that said hello (others keep their state)
    windows: dict[str, WindowJson]  # its window (`rows` holds that window's rows)
    counts: CountsJson
    gpu_holders: dict[str, list[list[Any]]]


class LogLinesMessage(TypedDict):
    type: Literal["log_lines"]
    req: int | None
    id: int
    attempt: int
    start: int
    total: int
    lines: list[LineJson]


class ActionDoneMessage(TypedDict):
    type: Literal["action_done"]
    req: int | None
    id: int
    action: str
    message: str
    row: RowJson | None  # None once removed


class ChartDataMessage(TypedDict):
    """The reply to a ChartRequest: the runs' whole histories of the metric shown."""

    type: Literal["chart_data"]
    req: int | None
    metric: str | None  # the metric shown: the one asked for, else the runs' main metric
    metrics: list[str]  # every metric the runs have (the panel's choice)
    series: dict[str, ChartPoints]  # experiment id -> [0, steps, values]


class ErrorMessage(TypedDict):
    type: Literal["error"]
    req: int | None
    message: str


# -- browser → kernel -------------------------------------------------------------------------


class HelloMessage(TypedDict, total=False):
    type: Literal["hello"]  # a view was drawn: send it everything
    view: str  # its id, for its windows of the table
    limit: int  # the rows it shows at once


class ByeMessage(TypedDict, total=False):
    type: Literal["bye"]  # a view was removed
    view: str  # which (its windows of the table are dropped)


class ActionRequest(TypedDict):
    type: Literal["action"]
    req: int
    id: int
    action: str  # one of states.USER_ACTIONS


class ChartRequest(TypedDict):
    type: Literal["chart"]
    req: int
    ids: list[int]  # the runs to overlay (at most 50)
    metric: str | None  # None: their main metric


class LogRangeRequest(TypedDict):
    type: Literal["log_range"]
    req: int
    id: int
    attempt: int
    start: int
    end: int


def reply_to(req: Any) -> int | None:
    """The request number a reply repeats: the request's `req`, None when it gave no number."""
    return req if isinstance(req, int) else None


def error(req: Any, message: str) -> ErrorMessage:
    return {"type": "error", "req": reply_to(req), "message": message}


# -- builders ---------------------------------------------------------------------------------


def row_json(
    record: ExperimentRecord,
    progress: ProgressJson | dict[str, Any] | None,
    metrics: RowMetricsJson | None = None,
) -> RowJson:
    gpus = record.assigned_gpus if record.assigned_gpus is not None else record.gpus
    return {
        "id": record.id,
        "name": record.name,
        "status": record.status.value,
        "gpus": gpus,
        "assigned": record.assigned_gpus if record.status in HOLDING else None,
        "pid": record.pid,
        "executor": record.executor,
        "job_id": record.job_id,
        "started": record.started,
        "ended": record.ended,
        "exit_code": record.exit_code,
        "reason": row_reason(record),
        "attempt": record.attempt,
        "actions": allowed_actions(record.status),
        "progress": progress,  # type: ignore[typeddict-item]
        "group": record.group_name,
        "params": record.params,
        "tags": list(record.tags),
        "failure": record.failure,  # type: ignore[typeddict-item]
        "attempts": record.attempt_text if record.retries else None,
        "paused_seconds": record.paused_seconds or 0.0,
        "paused_at": record.paused_at,
        "metrics": metrics["metrics"] if metrics else {},
        "main_metric": metrics["main_metric"] if metrics else None,
        "spark": metrics["spark"] if metrics else [],
        "node": record.node,
        "time_limit": time_limit(record),
    }


def time_limit(record: ExperimentRecord) -> float | None:
    """Seconds the experiment's attempts may run: timeout=, or the Slurm --time it was given."""
    if record.timeout:
        return record.timeout
    text = (record.options or {}).get("slurm", {}).get("time")
    return parse_time_limit(text) if isinstance(text, str) else None


def row_reason(record: ExperimentRecord) -> str | None:
    """The reason cell (full: the page truncates it and shows it all on hover): the failure's
    summary, or why a retry waits and after what."""
    if record.status is Status.QUEUED and record.retried and record.failure_kind:
        waiting = record.waiting_for or "retry"
        return f"{waiting} after {record.failure_kind}: {record.failure_summary}"
    if record.status is Status.QUEUED:
        return record.waiting_for or record.error
    return record.failure_summary or record.error


# A run that leaves these states has ended (or failed and waits for a retry): a toast.
_RUNS = frozenset({Status.RUNNING.value, Status.PAUSED.value})


def ended_rows(before: dict[int, RowJson], changed: list[RowJson]) -> list[EndedJson]:
    """The changed rows whose run ended since `before` was pushed."""
    ended: list[EndedJson] = []
    for row in changed:
        old = before.get(row["id"])
        if old is None or row["status"] in _RUNS or row["ended"] is None:
            continue
        if old["status"] in _RUNS or (
            old["ended"] != row["ended"] and old["attempt"] != row["attempt"]
        ):
            ended.append(
                {
                    "id": row["id"],
                    "name": row["name"],
                    "status": row["status"],
                    "summary": row["reason"],
                    "attempts": row["attempts"],
                }
            )
    return ended


_MIB = 1024**2


def number(value: Any, scale: float = 1.0) -> float | int | None:
    """A reading for the wire: scaled, integral when it is, one decimal otherwise."""
    if value is None or isinstance(value, bool):
        return None
    try:
        scaled = float(value) / scale
    except (TypeError, ValueError):
        return None
    return int(scaled) if scaled.is_integer() else round(scaled, 1)


def gpu_info(report: GpuReport | None, reason: str | None = None) -> GpuInfo:
    gpus = list(report.gpus) if report is not None else []
    return {
        "available": bool(gpus),
        "simulated": bool(report.simulated) if report is not None else False,
        "reason": reason if report is None else report.reason,
        "gpus": [_info_entry(g) for g in gpus],
    }


def _info_entry(gpu: GpuSnapshot) -> GpuInfoEntry:
    return {
        "index": gpu.index,
        "uuid": gpu.uuid,
        "name": gpu.name,
        "mem_total": number(gpu.memory_total, _MIB),
        "power_limit": number(gpu.power_limit),
        "pids": [p.pid for p in gpu.processes or ()],
        "problem": gpu.problem,
    }


def gpu_readings(report: GpuReport | None) -> list[GpuReading]:
    return [
        [
            number(g.memory_used, _MIB),
            number(g.utilization_gpu),
            number(g.temperature),
            number(g.power_draw),
        ]
        for g in (report.gpus if report is not None else ())
    ]


def node_gpus_json(record: ExperimentRecord, telemetry: dict[str, Any]) -> NodeGpusJson:
    """A running Slurm experiment's node GPUs from its telemetry summary
    (`_core.telemetry.summary`, with history)."""
    gpus: list[NodeGpuJson] = []
    for gpu in telemetry.get("gpus") or []:
        processes = gpu.get("processes") or []
        held = [p.get("used_memory") for p in processes]
        gpus.append(
            {
                "index": int(gpu["index"]),
                "uuid": gpu.get("uuid"),
                "name": gpu.get("name"),
                "mem_total": number(gpu.get("memory_total"), _MIB),
                "power_limit": number(gpu.get("power_limit")),
                "reading": [
                    number(gpu.get("memory_used"), _MIB),
                    number(gpu.get("utilization_gpu")),
                    number(gpu.get("temperature")),
                    number(gpu.get("power_draw")),
                ],
                "history": [[number(v) for v in h[1:5]] for h in gpu.get("history") or []],
                "job_mem": number(sum(h or 0 for h in held), _MIB) if held else None,
                "problem": gpu.get("problem"),
            }
        )
    return {
        "id": record.id,
        "name": record.name,
        "node": telemetry.get("node") or record.node,
        "job_id": record.job_id,
        "simulated": bool(telemetry.get("simulated")),
        "stale": bool(telemetry.get("stale")),
        "updated": telemetry.get("updated"),
        "interval": float(telemetry.get("interval") or 0.0),
        "reason": telemetry.get("reason"),
        "gpus": gpus,
    }


def sample_reading(sample: GpuSample) -> GpuReading:
    """One history sample as the reading the browser plots."""
    return [
        number(sample.memory_used, _MIB),
        number(sample.utilization_gpu),
        number(sample.temperature),
        number(sample.power_draw),
    ]


def process_json(pid: int, user: str | None, used_memory: int | None) -> GpuProcessJson:
    return {"pid": pid, "user": user, "mem": number(used_memory, _MIB)}


def line_json(line: Any) -> LineJson:
    """A log line on the wire: plain text, or [text, [[start, end, style], ...]] with colours,
    each style as words the view turns into the theme's colours (see `style_words`)."""
    if isinstance(line, str):
        return line
    text, spans = line
    styled = []
    for start, end, style in spans:
        words = style_words(style) if hasattr(style, "fg") else str(style)
        if words:
            styled.append([int(start), int(end), words])
    return [text, styled] if styled else text


_STYLE_FLAGS = ("bold", "dim", "italic", "underline", "inverse", "strike")


def style_words(style: Any) -> str:
    """A span's style as words: `f:red`, `b:bright_blue` or `f:#rrggbb` for colours, then the
    flags (bold, dim, italic, underline, inverse, strike) and `link:URL`. Named colours stay
    names, so the view draws them in the theme's ANSI palette (readable in light and dark),
    and inverse stays a flag, swapped once, by the view."""
    words = [f"f:{style.fg}"] if style.fg else []
    if style.bg:
        words.append(f"b:{style.bg}")
    words += [flag for flag in _STYLE_FLAGS if getattr(style, flag)]
    link = getattr(style, "link", None)
    if link and not any(c.isspace() for c in link):
        words.append(f"link:{link}")
    return " ".join(words)


def lines_json(lines: Iterable[Any]) -> list[LineJson]:
    return [line_json(line) for line in lines]
