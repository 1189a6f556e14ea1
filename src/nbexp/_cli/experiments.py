"""The verbs on experiments themselves: run, create, list, show, start, stop, restart, wait, rm."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .._core.durations import format_duration
from .._core.errors import NbexpError, UsageError, WaitTimeout
from .._core.records import ExperimentRecord
from .._core.states import Status
from .._core.validate import parse_status
from .._manager import ExperimentManager
from . import bulk
from .base import EXIT_REFUSED, Handler, add_launch_options, command_words, launch_kwargs
from .metrics import list_cells as list_metric_cells
from .metrics import show_json as metrics_json
from .metrics import show_line as metrics_line
from .tables import (
    cell,
    clip,
    format_gpus,
    format_runtime,
    json_text,
    pid_column,
    record_json,
    status_text,
    table,
)


def add_verbs(sub: Any, name: str) -> None:
    _add_launching_verbs(sub, name)
    _add_reading_verbs(sub)
    _add_acting_verbs(sub)


def _add_launching_verbs(sub: Any, name: str) -> None:
    p = sub.add_parser("run", help=f"start an experiment: {name} run [options] -- CMD ARGS…")
    add_launch_options(p)
    p.add_argument("--queue", action="store_true", help="queue it when its GPUs are busy")
    p.add_argument("--force", action="store_true", help="start even if its GPUs look busy")
    p.add_argument(
        "--wait", action="store_true", help="wait for it to end and exit with its exit code"
    )
    p = sub.add_parser(
        "create", help=f"create a pending experiment: {name} create [options] -- CMD…"
    )
    add_launch_options(p)


def _add_reading_verbs(sub: Any) -> None:
    p = sub.add_parser("list", aliases=["ls"], help="list experiments (the newest 50)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-s", "--status", action="append", help="only this status (repeatable)")
    bulk.add_list_options(p)

    p = sub.add_parser("show", help="everything about one experiment")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("wait", help="wait until an experiment ends; exit with its exit code")
    p.add_argument("id", type=int)
    p.add_argument("--timeout", type=float, help="give up after this many seconds (exit 124)")


def _add_acting_verbs(sub: Any) -> None:
    p = sub.add_parser("start", help="start a pending (or, with --force, a queued) experiment")
    p.add_argument("id", type=int)
    p.add_argument("--force", action="store_true", help="start now, ignoring GPU checks")
    p.add_argument("--queue", action="store_true", help="queue it when its GPUs are busy")

    p = sub.add_parser("stop", help="stop a running experiment's process tree (or dequeue it)")
    p.add_argument("id", type=int, nargs="?")
    p.add_argument("--grace", type=float, help="seconds between SIGTERM and SIGKILL (default 10)")
    p.add_argument("-g", "--group", help="every member of this group instead of one")

    p = sub.add_parser("restart", help="run an ended experiment again as a new attempt")
    p.add_argument("id", type=int, nargs="?")
    p.add_argument("--force", action="store_true", help="start now, ignoring GPU checks")
    p.add_argument("--queue", action="store_true", help="queue it when its GPUs are busy")
    p.add_argument("-g", "--group", help="the ended members of this group (they queue)")
    p.add_argument("--failed", action="store_true", help="with --group: only those that failed")

    p = sub.add_parser("rm", aliases=["remove"], help="forget experiments and their logs")
    p.add_argument("id", type=int, nargs="?")
    bulk.add_cleanup_options(p)
    p.add_argument(
        "--keep-logs",
        action="store_true",
        help="leave the log files (and a %%%%exp cell's script) on disk",
    )


def _reason_column(record: ExperimentRecord, manager: ExperimentManager | None = None) -> str:
    """Why it is where it is: its failure's summary, why it waits, which attempt of how many."""
    attempts = f"{record.attempt_text}: " if record.retries else ""
    if record.status is Status.QUEUED:
        # Why it waits now, as the last scheduling step saw it (e.g. "needs 2 free GPUs").
        if record.waiting_for:
            why = record.waiting_for
        else:
            history = manager.history(record.id) if manager is not None else []
            why = history[-1].reason or "queued" if history else "queued"
        if record.retried and record.failure_kind and "after" not in why:
            why += f" after {record.failure_kind}"  # a retry waits: after what
        return why
    if record.status is Status.COMPLETED:
        return record.attempt_text if record.retries else "0"
    if record.status in (Status.ERROR, Status.INTERRUPTED):
        ended = record.failure_summary or record.error
        code = str(record.exit_code) if record.exit_code is not None else "-"
        return attempts + (ended or code)
    if record.status is Status.PAUSED:
        return f"{attempts}paused (keeps its GPUs)"
    return record.attempt_text if record.retries else "-"


def _extra_json(manager: ExperimentManager, record: ExperimentRecord) -> dict[str, Any]:
    data = record_json(record)
    if record.log_path:
        try:
            p = manager.progress(record.id)
            data["progress"] = p.to_json() if p is not None else None
        except NbexpError:
            data["progress"] = None
    return data


def _run(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.run(
        command_words(args), queue=args.queue, force=args.force, **launch_kwargs(args)
    )
    print(exp.id, flush=True)
    if not args.wait:
        return 0
    return _wait_exit_code(manager, exp.id, None, args.program)


def _create(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.create(command_words(args), **launch_kwargs(args))
    print(exp.id)
    return 0


def _progress_text(manager: ExperimentManager, record: ExperimentRecord) -> str:
    if record.status is not Status.RUNNING:
        return "-"
    try:
        progress = manager.progress(record.id)
    except NbexpError:
        return "?"
    return progress.short() if progress is not None else "-"


def _list_row(manager: ExperimentManager, r: ExperimentRecord) -> list[str]:
    return [
        cell(lambda: str(r.id)),
        cell(lambda: clip(r.name, 30)),
        status_text(r),
        cell(lambda: pid_column(r)),
        cell(lambda: format_runtime(r.runtime)),
        _progress_text(manager, r),
        cell(lambda: clip(_reason_column(r, manager), 60)),
        cell(lambda: format_gpus(r)),
    ]


def _rows(
    manager: ExperimentManager, records: list[ExperimentRecord]
) -> list[tuple[ExperimentRecord, list[str]]]:
    return [(r, _list_row(manager, r)) for r in records]


def _list(manager: ExperimentManager, args: argparse.Namespace) -> int:
    statuses = None
    if args.status:
        statuses = [parse_status(s) for s in args.status]
    found = bulk.list_page(manager, args, statuses)
    records = found.records
    if args.json:
        print(json_text([_extra_json(manager, r) for r in records]))
        return 0
    metric_cells = list_metric_cells(manager, records)
    # The latest values of up to three metrics, before the GPUs (which stay the last column).
    rows = [[*row[:-1], metric_cells.get(r.id, "-"), row[-1]] for r, row in _rows(manager, records)]
    headers = ["ID", "NAME", "STATUS", "PID", "RUNTIME", "PROGRESS", "REASON", "METRICS", "GPUS"]
    if rows:
        print(table(rows, headers))
        more = bulk.more_line(found, args)
        if more:
            print(more, file=sys.stderr)  # for the reader; a pipe gets the rows only
    elif statuses or args.group:  # there may be others: "no experiments yet" would mislead
        which = " or ".join(s.value for s in statuses or [])
        print(f"no {which} experiments" + (f" in group {args.group}" if args.group else ""))
    else:
        print(f"no experiments yet: start one with {args.program} run -- CMD")
    return 0


_SHOWN_KEYS = (
    "id", "name", "status", "command", "cwd", "pid", "exit_code", "error", "attempt", "gpus",
    "executor", "job_id", "log_path",
)  # fmt: skip


def _show(manager: ExperimentManager, args: argparse.Namespace) -> int:
    record = manager.get(args.id).record
    data = _extra_json(manager, record)
    data["history"] = [
        {
            "at": h.at,
            "from": h.from_status.value if h.from_status else None,
            "to": h.to_status.value,
            "reason": h.reason,
        }
        for h in manager.history(args.id)
    ]
    if record.status is Status.RUNNING and record.executor == "local" and record.gpus is not None:
        used = manager.gpu_memory(record.id)
        data["gpu_memory"] = {str(index): used_bytes for index, used_bytes in used.items()}
    data["metrics"] = metrics_json(manager, record)
    if record.executor == "slurm":
        # Where it runs, and its node's GPUs as the job's telemetry sidecar last read them.
        data["node"] = record.node
        data["array_job"] = record.array_job
        data["telemetry"] = manager.service.telemetry.of(record, history=60)
        if record.gpus is not None and record.status is Status.RUNNING:
            used = manager.gpu_memory(record.id)
            data["gpu_memory"] = {str(index): used_bytes for index, used_bytes in used.items()}
    if args.json:
        print(json_text(data))
        return 0
    for line in _show_lines(manager, record, data):
        print(line)
    return 0


def _stamp(at: Any, form: str) -> str:
    return cell(lambda: time.strftime(form, time.localtime(at)))


def _show_lines(
    manager: ExperimentManager, record: ExperimentRecord, data: dict[str, Any]
) -> list[str]:
    lines = []
    for key in _SHOWN_KEYS:
        value = data.get(key)
        if value is None or value == []:
            continue
        if key == "command" and isinstance(value, list):
            value = " ".join(str(word) for word in value)
        lines.append(f"{key:10} {value}")
    for key in ("created", "started", "ended"):
        if data.get(key):
            lines.append(f"{key:10} {_stamp(data[key], '%Y-%m-%d %H:%M:%S')}")
    runtime = cell(lambda: format_runtime(record.runtime))
    if runtime != "-":
        lines.append(f"{'runtime':10} {runtime}")
    if record.failure_kind:
        lines.append(f"{'failure':10} {record.failure_kind}: {record.failure_summary}")
    if record.retries:
        lines.append(f"{'retries':10} {record.attempt_text} ({record.retried} used)")
    if record.timeout:
        lines.append(f"{'timeout':10} {format_duration(record.timeout)}")
    if data.get("progress"):
        progress = _progress_text(manager, record)
        if progress not in ("-", "?"):
            lines.append(f"{'progress':10} {progress}")
    if data.get("gpu_memory"):
        shown = ", ".join(f"GPU {i}: {b / 2**30:.1f} GiB" for i, b in data["gpu_memory"].items())
        lines.append(f"{'gpu memory':10} {shown}")
    metrics = metrics_line(data.get("metrics") or {})
    if metrics:
        lines.append(f"{'metrics':10} {metrics}")
    lines.append("history:")
    for h in data["history"]:
        stamp = _stamp(h["at"], "%H:%M:%S")
        reason = f" ({h['reason']})" if h["reason"] else ""
        lines.append(f"  {stamp}  {h['from'] or '-'} -> {h['to']}{reason}")
    return lines


def _start(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.start(args.id, force=args.force, queue=args.queue)
    print(f"{exp.id} {exp.status.value}")
    return 0


def _stop(manager: ExperimentManager, args: argparse.Namespace) -> int:
    if _one_or_group(args):
        return bulk.stop_group(manager, args)
    exp = manager.stop(args.id, grace=args.grace)
    print(f"{exp.id} {exp.status.value}")
    return 0


def _restart(manager: ExperimentManager, args: argparse.Namespace) -> int:
    if _one_or_group(args):
        return bulk.restart_group(manager, args)
    exp = manager.restart(args.id, force=args.force, queue=args.queue)
    print(f"{exp.id} {exp.status.value} (attempt {exp.attempt})")
    return 0


def _wait_exit_code(
    manager: ExperimentManager, experiment_id: int, timeout: float | None, program: str
) -> int:
    try:
        exp = manager.wait(experiment_id, timeout=timeout)
    except WaitTimeout as e:
        print(f"{program}: {e}", file=sys.stderr)
        return 124
    except KeyboardInterrupt:
        # Only the waiting ends: the experiment is detached and keeps running. Say so.
        print(
            f"{program}: stopped waiting; experiment {experiment_id} keeps running "
            f"({program} stop {experiment_id} ends it)",
            file=sys.stderr,
        )
        return 130
    record = exp.record
    if record.status is Status.COMPLETED:
        return 0
    if record.exit_code is not None:
        return int(record.exit_code)
    if record.signal is not None:
        return 128 + int(record.signal)
    print(
        f"{program}: experiment {record.id} is {record.status.value}: {record.error}",
        file=sys.stderr,
    )
    return EXIT_REFUSED


def _wait(manager: ExperimentManager, args: argparse.Namespace) -> int:
    return _wait_exit_code(manager, args.id, args.timeout, args.program)


def _one_or_group(args: argparse.Namespace) -> bool:
    """Whether the command names a group (True) or one experiment (False)."""
    if args.id is not None and args.group is not None:
        raise UsageError(f"give an experiment id or --group G, not both ({args.program} --help)")
    if args.id is None and args.group is None:
        raise UsageError(f"which experiment? {args.program} {args.verb} ID (or --group G)")
    if args.id is not None and getattr(args, "failed", False):
        raise UsageError("--failed goes with --group G (one experiment restarts as it is)")
    return args.group is not None


def _rm(manager: ExperimentManager, args: argparse.Namespace) -> int:
    if args.id is None:
        return bulk.remove_many(manager, args)
    if args.group or args.status or args.older_than or args.dry_run:
        raise UsageError("rm ID takes no filter: use rm --status S --older-than AGE [--group G]")
    # A `%%exp run` cell's script goes with its experiment (unless the logs are kept).
    manager.remove(args.id, delete_logs=not args.keep_logs)
    return 0


HANDLERS: dict[str, Handler] = {
    "run": _run,
    "create": _create,
    "list": _list,
    "ls": _list,
    "show": _show,
    "start": _start,
    "stop": _stop,
    "restart": _restart,
    "wait": _wait,
    "rm": _rm,
    "remove": _rm,
}
