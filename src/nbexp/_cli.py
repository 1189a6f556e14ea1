"""The `nbexp` command: the same store and actions as the Python API, from a terminal.

Refusals print one line on stderr and exit 1; usage errors exit 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from ._errors import NbexpError, UsageError
from ._records import ExperimentRecord
from .states import Status

EXIT_REFUSED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_launch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--name", help="a name to recognise it by (default: the script's name)")
    p.add_argument("--cwd", help="working directory (default: the current one)")
    p.add_argument("-g", "--gpus", help="GPUs: a list like 0,1 (or UUIDs), or a count like 2")
    p.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="set an environment variable for the command (repeatable)",
    )
    p.add_argument("--uv", action="store_true", help="run the command through `uv run` in its cwd")
    p.add_argument("--shell", action="store_true", help="run the command through /bin/sh -c")
    p.add_argument(
        "--tty",
        nargs="?",
        const="120x40",
        metavar="COLSxROWS",
        help="run on a pseudo-terminal (default size 120x40) for colours and live bars",
    )
    p.add_argument("--priority", type=int, default=0, help="higher starts first from the queue")
    p.add_argument(
        "--after",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="start only after experiment ID completed (repeatable)",
    )
    p.add_argument(
        "--share-gpus",
        action="store_true",
        help="may share its GPUs with other experiments that allow it",
    )
    p.add_argument(
        "--min-gpu-memory",
        type=int,
        metavar="MB",
        help="only GPUs with at least this much free memory",
    )
    p.add_argument("--executor", choices=["local", "slurm"], help="where it runs (default local)")
    p.add_argument("--partition", help="Slurm partition")
    p.add_argument("--time", help="Slurm time limit, e.g. 2:00:00")
    p.add_argument("--cpus", type=int, help="Slurm CPUs per task")
    p.add_argument("--mem", help="Slurm memory, e.g. 16G")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- the command and its arguments")


def _line_count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"needs a number of lines >= 0, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nbexp", description="Launch and watch long-running experiments.")
    parser.add_argument("--home", help="the nbexp home folder (default: $NBEXP_HOME or ~/.nbexp)")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("run", help="start an experiment: nbexp run [options] -- CMD ARGS…")
    _add_launch_options(p)
    p.add_argument("--queue", action="store_true", help="queue it when its GPUs are busy")
    p.add_argument("--force", action="store_true", help="start even if its GPUs look busy")
    p.add_argument(
        "--wait", action="store_true", help="wait for it to end and exit with its exit code"
    )

    p = sub.add_parser("create", help="create a pending experiment: nbexp create [options] -- CMD…")
    _add_launch_options(p)

    p = sub.add_parser("list", aliases=["ls"], help="list experiments")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-s", "--status", action="append", help="only this status (repeatable)")

    p = sub.add_parser("show", help="everything about one experiment")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("start", help="start a pending (or, with --force, a queued) experiment")
    p.add_argument("id", type=int)
    p.add_argument("--force", action="store_true", help="start now, ignoring GPU checks")
    p.add_argument("--queue", action="store_true", help="queue it when its GPUs are busy")

    p = sub.add_parser("stop", help="stop a running experiment's process tree (or dequeue it)")
    p.add_argument("id", type=int)
    p.add_argument("--grace", type=float, help="seconds between SIGTERM and SIGKILL (default 10)")

    p = sub.add_parser("restart", help="run an ended experiment again as a new attempt")
    p.add_argument("id", type=int)
    p.add_argument("--force", action="store_true", help="start now, ignoring GPU checks")
    p.add_argument("--queue", action="store_true", help="queue it when its GPUs are busy")

    p = sub.add_parser("logs", help="print an experiment's output as a terminal would show it")
    p.add_argument("id", type=int)
    p.add_argument("-n", "--tail", type=_line_count, help="only the last N lines")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing while it runs")
    p.add_argument("--attempt", type=int, help="an earlier attempt (default: the latest)")

    p = sub.add_parser("wait", help="wait until an experiment ends; exit with its exit code")
    p.add_argument("id", type=int)
    p.add_argument("--timeout", type=float, help="give up after this many seconds (exit 124)")

    p = sub.add_parser("rm", aliases=["remove"], help="forget an experiment and its logs")
    p.add_argument("id", type=int)
    p.add_argument("--keep-logs", action="store_true", help="leave the log files on disk")

    p = sub.add_parser("gpus", help="show the GPUs, their load and who holds them")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from ._manager import ExperimentManager

        manager = ExperimentManager(home=args.home)
        if args.verb not in ("gpus",):
            manager.tick()  # no daemon: every CLI call reconciles and advances the queue
        handler = _HANDLERS[args.verb]
        return handler(manager, args)
    except UsageError as e:
        print(f"nbexp: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except NbexpError as e:
        print(f"nbexp: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `nbexp logs 3 | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


# -- helpers ----------------------------------------------------------------------------------


def _command(args: argparse.Namespace) -> list[str]:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError(f"no command given: nbexp {args.verb} [options] -- CMD ARGS…")
    return command


def _parse_gpus(text: str | None) -> int | list[int | str] | None:
    """`2` = any two free GPUs; `0,1` (or `3,`) = these GPUs; `0` = GPU 0; UUIDs allowed."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.isdigit():
        return [0] if int(text) == 0 else int(text)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError(f"bad --gpus value {text!r}: use 0,1 (these GPUs) or 2 (any two)")
    return [int(p) if p.isdigit() else p for p in parts]


def _parse_tty(text: str | None) -> bool | tuple[int, int]:
    if text is None:
        return False
    columns, sep, rows = text.lower().partition("x")
    if not (sep and columns.isdigit() and rows.isdigit()):
        raise UsageError(f"bad --tty size {text!r}: use COLUMNSxROWS, e.g. 120x40")
    return int(columns), int(rows)


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"bad --env {pair!r}: use KEY=VALUE")
        env[key] = value
    return env


def _launch_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return dict(
        name=args.name,
        cwd=args.cwd,
        env=_parse_env(args.env),
        gpus=_parse_gpus(args.gpus),
        uv=args.uv,
        shell=args.shell,
        priority=args.priority,
        after=args.after,
        tty=_parse_tty(args.tty),
        share_gpus=args.share_gpus,
        min_gpu_memory_mb=args.min_gpu_memory,
        executor=args.executor,
        partition=args.partition,
        time=args.time,
        cpus=args.cpus,
        mem=args.mem,
    )


def _format_runtime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _format_gpus(record: ExperimentRecord) -> str:
    gpus = record.assigned_gpus if record.assigned_gpus is not None else record.gpus
    if gpus is None:
        return "-"
    if isinstance(gpus, int):
        return f"any {gpus}"
    return ",".join(str(g) for g in gpus)


def _pid_column(record: ExperimentRecord) -> str:
    if record.executor == "slurm":
        return f"slurm:{record.job_id}" if record.job_id else "slurm"
    return str(record.pid or "-") if record.status is Status.RUNNING else "-"


def _exit_column(record: ExperimentRecord, manager: Any = None) -> str:
    if record.status is Status.QUEUED and manager is not None:
        # Why it waits, as the last scheduling decision said (e.g. "needs 2 free GPUs").
        history = manager.history(record.id)
        return history[-1].reason or "queued" if history else "queued"
    if record.status is Status.COMPLETED:
        return "0"
    if record.status in (Status.ERROR, Status.INTERRUPTED):
        return record.error or (str(record.exit_code) if record.exit_code is not None else "-")
    return "-"


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _extra_json(manager: Any, record: ExperimentRecord) -> dict[str, Any]:
    data = record.to_json()
    progress = getattr(manager, "progress", None)
    if progress is not None and record.log_path:
        try:
            p = progress(record.id)
            data["progress"] = p.to_json() if p is not None else None
        except NbexpError:
            data["progress"] = None
    return data


# -- verbs ------------------------------------------------------------------------------------


def _run(manager: Any, args: argparse.Namespace) -> int:
    exp = manager.run(_command(args), queue=args.queue, force=args.force, **_launch_kwargs(args))
    print(exp.id, flush=True)
    if not args.wait:
        return 0
    return _wait_exit_code(manager, exp.id, None)


def _create(manager: Any, args: argparse.Namespace) -> int:
    exp = manager.create(_command(args), **_launch_kwargs(args))
    print(exp.id)
    return 0


def _list(manager: Any, args: argparse.Namespace) -> int:
    statuses = None
    if args.status:
        from ._validate import parse_status as _parse_status

        statuses = [_parse_status(s) for s in args.status]
    records = manager.records(statuses)
    if args.json:
        print(json.dumps([_extra_json(manager, r) for r in records], indent=2))
        return 0
    progress = getattr(manager, "progress", None)
    rows = []
    for r in records:
        progress_text = "-"
        if progress is not None and r.status is Status.RUNNING:
            p = progress(r.id)
            if p is not None:
                progress_text = p.short()
        rows.append(
            [
                str(r.id),
                r.name[:30],
                r.status.value,
                _pid_column(r),
                _format_runtime(r.runtime),
                progress_text,
                _exit_column(r, manager)[:48],
                _format_gpus(r),
            ]
        )
    headers = ["ID", "NAME", "STATUS", "PID", "RUNTIME", "PROGRESS", "EXIT", "GPUS"]
    if rows:
        print(_table(rows, headers))
    elif statuses:  # there may be others: "no experiments yet" would mislead
        print(f"no {' or '.join(s.value for s in statuses)} experiments")
    else:
        print("no experiments yet: start one with nbexp run -- CMD")
    return 0


def _show(manager: Any, args: argparse.Namespace) -> int:
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
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for key in (
        "id",
        "name",
        "status",
        "command",
        "cwd",
        "pid",
        "exit_code",
        "error",
        "attempt",
        "gpus",
        "executor",
        "job_id",
        "log_path",
    ):
        value = data.get(key)
        if value is None or value == []:
            continue
        if key == "command":
            value = " ".join(value)
        print(f"{key:10} {value}")
    for key in ("created", "started", "ended"):
        if data.get(key):
            print(f"{key:10} {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(data[key]))}")
    if record.runtime is not None:
        print(f"{'runtime':10} {_format_runtime(record.runtime)}")
    if data.get("progress"):
        progress = manager.progress(record.id)
        if progress is not None:
            print(f"{'progress':10} {progress.short()}")
    if data.get("gpu_memory"):
        shown = ", ".join(f"GPU {i}: {b / 2**30:.1f} GiB" for i, b in data["gpu_memory"].items())
        print(f"{'gpu memory':10} {shown}")
    print("history:")
    for h in data["history"]:
        stamp = time.strftime("%H:%M:%S", time.localtime(h["at"]))
        reason = f" ({h['reason']})" if h["reason"] else ""
        print(f"  {stamp}  {h['from'] or '-'} -> {h['to']}{reason}")
    return 0


def _start(manager: Any, args: argparse.Namespace) -> int:
    exp = manager.start(args.id, force=args.force, queue=args.queue)
    print(f"{exp.id} {exp.status.value}")
    return 0


def _stop(manager: Any, args: argparse.Namespace) -> int:
    exp = manager.stop(args.id, grace=args.grace)
    print(f"{exp.id} {exp.status.value}")
    return 0


def _restart(manager: Any, args: argparse.Namespace) -> int:
    exp = manager.restart(args.id, force=args.force, queue=args.queue)
    print(f"{exp.id} {exp.status.value} (attempt {exp.attempt})")
    return 0


def _logs(manager: Any, args: argparse.Namespace) -> int:
    stored = manager.log_path(args.id, args.attempt)
    path = manager.readable_log_path(args.id, args.attempt)
    record = manager.get(args.id).record
    ended = record.status.is_terminal or args.attempt not in (None, record.attempt)
    # A running one may not have created its log yet, but once its process exists it has.
    spawned = record.pid is not None and record.executor == "local"
    if (ended or spawned) and not os.path.exists(path):
        raise NbexpError(f"experiment {record.id}'s log {stored} is gone (deleted or moved)")
    if path != stored:
        print(
            f"nbexp: {stored} was deleted; reading it through the running process "
            "(it is lost for good when the experiment ends)",
            file=sys.stderr,
        )
    if args.follow:
        from ._follow import follow_to_terminal

        def finished() -> bool:
            return bool(manager.get(args.id).status.is_terminal or args.attempt)

        follow_to_terminal(path, sys.stdout, is_finished=finished, tail=args.tail)
        return 0
    for line in manager.logs(args.id, tail=args.tail, attempt=args.attempt):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0


def _wait_exit_code(manager: Any, experiment_id: int, timeout: float | None) -> int:
    from ._errors import WaitTimeout

    try:
        exp = manager.wait(experiment_id, timeout=timeout)
    except WaitTimeout as e:
        print(f"nbexp: {e}", file=sys.stderr)
        return 124
    except KeyboardInterrupt:
        # Only the waiting ends: the experiment is detached and keeps running. Say so.
        print(
            f"nbexp: stopped waiting; experiment {experiment_id} keeps running "
            f"(nbexp stop {experiment_id} ends it)",
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
        f"nbexp: experiment {record.id} is {record.status.value}: {record.error}", file=sys.stderr
    )
    return EXIT_REFUSED


def _wait(manager: Any, args: argparse.Namespace) -> int:
    return _wait_exit_code(manager, args.id, args.timeout)


def _rm(manager: Any, args: argparse.Namespace) -> int:
    manager.remove(args.id, delete_logs=not args.keep_logs)
    return 0


def _gpus(manager: Any, args: argparse.Namespace) -> int:
    report = manager.gpus()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    from .gpu import format_gpu_table

    print(format_gpu_table(report, manager.gpu_holders(report), color=sys.stdout.isatty()))
    return 0


_HANDLERS = {
    "run": _run,
    "create": _create,
    "list": _list,
    "ls": _list,
    "show": _show,
    "start": _start,
    "stop": _stop,
    "restart": _restart,
    "logs": _logs,
    "wait": _wait,
    "rm": _rm,
    "remove": _rm,
    "gpus": _gpus,
}


if __name__ == "__main__":
    sys.exit(main())
