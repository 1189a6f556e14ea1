"""The `nbexp` command: the same store and actions as the Python API, from a terminal.

Refusals print one line on stderr and exit 1; usage errors exit 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ._cli_tables import format_gpu_table, format_gpus, format_runtime, pid_column, table
from ._core.errors import NbexpError, UsageError, WaitTimeout
from ._core.options import LAUNCH_OPTIONS
from ._core.records import ExperimentRecord
from ._core.states import Status
from ._core.validate import parse_status
from ._manager import ExperimentManager

EXIT_REFUSED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_launch_options(p: argparse.ArgumentParser) -> None:
    """Every launch option's flags, from the one table in `_core.options`."""
    for option in LAUNCH_OPTIONS:
        p.add_argument(*option.flags, dest=option.name, help=option.help, **option.cli)
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
    add_launch_options(p)
    p.add_argument("--queue", action="store_true", help="queue it when its GPUs are busy")
    p.add_argument("--force", action="store_true", help="start even if its GPUs look busy")
    p.add_argument(
        "--wait", action="store_true", help="wait for it to end and exit with its exit code"
    )

    p = sub.add_parser("create", help="create a pending experiment: nbexp create [options] -- CMD…")
    add_launch_options(p)

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
        manager = ExperimentManager(home=args.home)
        if args.verb not in ("gpus",):
            manager.tick()  # no daemon: every CLI call reconciles and advances the queue
        handler = HANDLERS[args.verb]
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


def command_words(args: argparse.Namespace) -> list[str]:
    """The command after `--`, as given."""
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError(f"no command given: nbexp {args.verb} [options] -- CMD ARGS…")
    return command


def launch_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The launch options the command line gave, as ExperimentManager.create() takes them."""
    return {option.name: option.from_cli(getattr(args, option.name)) for option in LAUNCH_OPTIONS}


def _exit_column(record: ExperimentRecord, manager: ExperimentManager | None = None) -> str:
    if record.status is Status.QUEUED and manager is not None:
        # Why it waits, as the last scheduling decision said (e.g. "needs 2 free GPUs").
        history = manager.history(record.id)
        return history[-1].reason or "queued" if history else "queued"
    if record.status is Status.COMPLETED:
        return "0"
    if record.status in (Status.ERROR, Status.INTERRUPTED):
        return record.error or (str(record.exit_code) if record.exit_code is not None else "-")
    return "-"


def _extra_json(manager: ExperimentManager, record: ExperimentRecord) -> dict[str, Any]:
    data = record.to_json()
    if record.log_path:
        try:
            p = manager.progress(record.id)
            data["progress"] = p.to_json() if p is not None else None
        except NbexpError:
            data["progress"] = None
    return data


# -- verbs ------------------------------------------------------------------------------------


def _run(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.run(
        command_words(args), queue=args.queue, force=args.force, **launch_kwargs(args)
    )
    print(exp.id, flush=True)
    if not args.wait:
        return 0
    return _wait_exit_code(manager, exp.id, None)


def _create(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.create(command_words(args), **launch_kwargs(args))
    print(exp.id)
    return 0


def _list(manager: ExperimentManager, args: argparse.Namespace) -> int:
    statuses = None
    if args.status:
        statuses = [parse_status(s) for s in args.status]
    records = manager.records(statuses)
    if args.json:
        print(json.dumps([_extra_json(manager, r) for r in records], indent=2))
        return 0
    rows = []
    for r in records:
        progress_text = "-"
        if r.status is Status.RUNNING:
            p = manager.progress(r.id)
            if p is not None:
                progress_text = p.short()
        rows.append(
            [
                str(r.id),
                r.name[:30],
                r.status.value,
                pid_column(r),
                format_runtime(r.runtime),
                progress_text,
                _exit_column(r, manager)[:48],
                format_gpus(r),
            ]
        )
    headers = ["ID", "NAME", "STATUS", "PID", "RUNTIME", "PROGRESS", "EXIT", "GPUS"]
    if rows:
        print(table(rows, headers))
    elif statuses:  # there may be others: "no experiments yet" would mislead
        print(f"no {' or '.join(s.value for s in statuses)} experiments")
    else:
        print("no experiments yet: start one with nbexp run -- CMD")
    return 0


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
        print(f"{'runtime':10} {format_runtime(record.runtime)}")
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


def _start(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.start(args.id, force=args.force, queue=args.queue)
    print(f"{exp.id} {exp.status.value}")
    return 0


def _stop(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.stop(args.id, grace=args.grace)
    print(f"{exp.id} {exp.status.value}")
    return 0


def _restart(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.restart(args.id, force=args.force, queue=args.queue)
    print(f"{exp.id} {exp.status.value} (attempt {exp.attempt})")
    return 0


def _logs(manager: ExperimentManager, args: argparse.Namespace) -> int:
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
        from ._ui.follow import follow_to_terminal

        def finished() -> bool:
            return bool(manager.get(args.id).status.is_terminal or args.attempt)

        follow_to_terminal(path, sys.stdout, is_finished=finished, tail=args.tail)
        return 0
    for line in manager.logs(args.id, tail=args.tail, attempt=args.attempt):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0


def _wait_exit_code(manager: ExperimentManager, experiment_id: int, timeout: float | None) -> int:
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


def _wait(manager: ExperimentManager, args: argparse.Namespace) -> int:
    return _wait_exit_code(manager, args.id, args.timeout)


def _rm(manager: ExperimentManager, args: argparse.Namespace) -> int:
    manager.remove(args.id, delete_logs=not args.keep_logs)
    return 0


def _gpus(manager: ExperimentManager, args: argparse.Namespace) -> int:
    report = manager.gpus()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    print(format_gpu_table(report, manager.gpu_holders(report), color=sys.stdout.isatty()))
    return 0


HANDLERS: dict[str, Callable[[ExperimentManager, argparse.Namespace], int]] = {
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
