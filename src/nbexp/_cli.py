"""The `nbexp` command: the same store and actions as the Python API, from a terminal.

Refusals print one line on stderr and exit 1; usage errors exit 2; never a traceback. The
magics (`_magics.py`) run the same parser and handlers under the name `%exp`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, NoReturn, TextIO, cast

from ._cli_tables import (
    COLOR_CHOICES,
    ColourlessTerminal,
    cell,
    format_gpu_table,
    format_gpus,
    format_runtime,
    isatty,
    json_text,
    pid_column,
    record_json,
    status_text,
    table,
    wants_color,
    write_styled_log,
)
from ._core.errors import NbexpError, UsageError, WaitTimeout
from ._core.options import LAUNCH_OPTIONS
from ._core.records import ExperimentRecord
from ._core.settings import SETTING_HELP, Settings
from ._core.states import Status
from ._core.validate import parse_status
from ._manager import ExperimentManager
from ._service.core import tty_rows

EXIT_REFUSED = 1
EXIT_USAGE = 2

SETTINGS = tuple(SETTING_HELP)  # every setting of a home, in a stable order


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


def build_parser(prog: str = "nbexp", *, magics: bool = False) -> argparse.ArgumentParser:
    """The command line of `nbexp` (or, with `prog="%exp"` and `magics`, of the magics, which
    add `dashboard`). Every message and help text names `prog`."""
    name = prog.replace("%", "%%")  # argparse %-formats help texts
    parser = _Parser(prog=prog, description="Launch and watch long-running experiments.")
    parser.add_argument("--home", help="the nbexp home folder (default: $NBEXP_HOME or ~/.nbexp)")
    parser.set_defaults(program=prog)
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_launching_verbs(sub, name)
    _add_reading_verbs(sub)
    _add_acting_verbs(sub)
    p = sub.add_parser("config", help="show or change this home's scheduling settings")
    p.add_argument("key", nargs="?", metavar="KEY", help="one setting (default: list them all)")
    p.add_argument("value", nargs="?", metavar="VALUE", help="a whole number, or none to reset")
    p.add_argument("--unset", action="store_true", help="reset KEY to its default")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    if magics:
        p = sub.add_parser("dashboard", help="the live dashboard widget for this home")
        p.add_argument("--interval", type=float, default=1.0, help="seconds between updates")
    return parser


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
    p = sub.add_parser("list", aliases=["ls"], help="list experiments")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-s", "--status", action="append", help="only this status (repeatable)")

    p = sub.add_parser("show", help="everything about one experiment")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("logs", help="print an experiment's output as a terminal would show it")
    p.add_argument("id", type=int)
    p.add_argument("-n", "--tail", type=_line_count, help="only the last N lines")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing while it runs")
    p.add_argument("--attempt", type=int, help="an earlier attempt (default: the latest)")
    _add_color_option(p)

    p = sub.add_parser("wait", help="wait until an experiment ends; exit with its exit code")
    p.add_argument("id", type=int)
    p.add_argument("--timeout", type=float, help="give up after this many seconds (exit 124)")

    p = sub.add_parser("gpus", help="show the GPUs, their load and who holds them")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_color_option(p)


def _add_color_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--color",
        "--colour",
        choices=COLOR_CHOICES,
        default="auto",
        help="colours: auto (on a terminal, unless NO_COLOR is set), always or never",
    )


def _add_acting_verbs(sub: Any) -> None:
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

    p = sub.add_parser("rm", aliases=["remove"], help="forget an experiment and its logs")
    p.add_argument("id", type=int)
    p.add_argument(
        "--keep-logs",
        action="store_true",
        help="leave the log files (and a %%%%exp cell's script) on disk",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # nbexp's warnings (a bad stored setting) as one line on stderr, like its errors.
    warnings.formatwarning = lambda message, *_args, **_kwargs: f"{message}\n"
    try:
        return run_verb(ExperimentManager(home=args.home), args)
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


def run_verb(manager: ExperimentManager, args: argparse.Namespace) -> int:
    """Carry out a parsed command line; its exit status."""
    if args.verb not in ("gpus", "config"):
        manager.tick()  # no daemon: every CLI call reconciles and advances the queue
    return HANDLERS[args.verb](manager, args)


# -- helpers ----------------------------------------------------------------------------------


def command_words(args: argparse.Namespace) -> list[str]:
    """The command after `--`, as given."""
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError(f"no command given: {args.program} {args.verb} [options] -- CMD ARGS…")
    return command


def launch_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The launch options the command line gave, as ExperimentManager.create() takes them."""
    return {option.name: option.from_cli(getattr(args, option.name)) for option in LAUNCH_OPTIONS}


def _exit_column(record: ExperimentRecord, manager: ExperimentManager | None = None) -> str:
    if record.status is Status.QUEUED:
        # Why it waits now, as the last scheduling step saw it (e.g. "needs 2 free GPUs").
        if record.waiting_for:
            return record.waiting_for
        history = manager.history(record.id) if manager is not None else []
        return history[-1].reason or "queued" if history else "queued"
    if record.status is Status.COMPLETED:
        return "0"
    if record.status in (Status.ERROR, Status.INTERRUPTED):
        return record.error or (str(record.exit_code) if record.exit_code is not None else "-")
    return "-"


def _extra_json(manager: ExperimentManager, record: ExperimentRecord) -> dict[str, Any]:
    data = record_json(record)
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
        cell(lambda: r.name[:30]),
        status_text(r),
        cell(lambda: pid_column(r)),
        cell(lambda: format_runtime(r.runtime)),
        _progress_text(manager, r),
        cell(lambda: _exit_column(r, manager)[:48]),
        cell(lambda: format_gpus(r)),
    ]


def _list(manager: ExperimentManager, args: argparse.Namespace) -> int:
    statuses = None
    if args.status:
        statuses = [parse_status(s) for s in args.status]
    records = manager.records(statuses)
    if args.json:
        print(json_text([_extra_json(manager, r) for r in records]))
        return 0
    rows = [_list_row(manager, r) for r in records]
    headers = ["ID", "NAME", "STATUS", "PID", "RUNTIME", "PROGRESS", "EXIT", "GPUS"]
    if rows:
        print(table(rows, headers))
    elif statuses:  # there may be others: "no experiments yet" would mislead
        print(f"no {' or '.join(s.value for s in statuses)} experiments")
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
    if data.get("progress"):
        progress = _progress_text(manager, record)
        if progress not in ("-", "?"):
            lines.append(f"{'progress':10} {progress}")
    if data.get("gpu_memory"):
        shown = ", ".join(f"GPU {i}: {b / 2**30:.1f} GiB" for i, b in data["gpu_memory"].items())
        lines.append(f"{'gpu memory':10} {shown}")
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
            f"{args.program}: {stored} was deleted; reading it through the running process "
            "(it is lost for good when the experiment ends)",
            file=sys.stderr,
        )
    color = wants_color(args.color, sys.stdout)
    on_terminal = isatty(sys.stdout)
    if args.follow and not (ended and color and not on_terminal):
        from ._ui.follow import follow_to_terminal

        def finished() -> bool:
            now = manager.get(args.id).record
            # The attempt followed ended, or a restart began a newer one.
            return now.status.is_terminal or args.attempt not in (None, now.attempt)

        out = sys.stdout if color or not on_terminal else ColourlessTerminal(sys.stdout)
        follow_to_terminal(path, cast(TextIO, out), is_finished=finished, tail=args.tail)
        return 0
    if color:
        write_styled_log(path, sys.stdout, tail=args.tail, rows=tty_rows(record))
    else:
        for line in manager.logs(args.id, tail=args.tail, attempt=args.attempt):
            sys.stdout.write(line + "\n")
    sys.stdout.flush()
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


def _rm(manager: ExperimentManager, args: argparse.Namespace) -> int:
    # A `%%exp run` cell's script goes with its experiment (unless the logs are kept).
    manager.remove(args.id, delete_logs=not args.keep_logs)
    return 0


def _gpus(manager: ExperimentManager, args: argparse.Namespace) -> int:
    report = manager.gpus()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    color = wants_color(args.color, sys.stdout)
    print(format_gpu_table(report, manager.gpu_holders(report), color=color))
    return 0


# -- config -----------------------------------------------------------------------------------


def _setting_name(key: str) -> str:
    if key in SETTINGS:
        return key
    close = difflib.get_close_matches(key, SETTINGS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"unknown setting {key!r}: use one of {', '.join(SETTINGS)}{hint}")


def _setting_value(key: str, text: str) -> int | None:
    if text.strip().lower() == "none":
        return None
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{key} must be a whole number >= 0 or none, not {text!r}")
    return int(text)


def _settings(manager: ExperimentManager) -> dict[str, tuple[int | None, int | None, bool]]:
    """Every setting: (value in effect, default, whether it was set)."""
    stored = manager.configure()
    found = {}
    for key in SETTINGS:
        default = getattr(Settings(), key)
        text = stored.get(key)
        value = default
        if text is not None:
            with suppress(ValueError):
                value = int(text)
        found[key] = (value, default, text is not None)
    return found


def _config_text(value: int | None) -> str:
    return "none" if value is None else str(value)


def _config(manager: ExperimentManager, args: argparse.Namespace) -> int:
    if args.key is None:
        if args.unset:
            raise UsageError(f"--unset needs a KEY: {args.program} config KEY --unset")
        settings = _settings(manager)
        if args.json:
            print(
                json.dumps(
                    {k: {"value": v, "default": d, "set": s} for k, (v, d, s) in settings.items()},
                    indent=2,
                )
            )
            return 0
        rows = [
            [key, _config_text(value), _config_text(default), SETTING_HELP[key]]
            for key, (value, default, _) in settings.items()
        ]
        print(table(rows, ["KEY", "VALUE", "DEFAULT", "MEANING"]))
        return 0
    key = _setting_name(args.key)
    if args.value is None and not args.unset:
        print(_config_text(_settings(manager)[key][0]))
        return 0
    if args.value is not None and args.unset:
        raise UsageError(f"give a VALUE or --unset, not both: {args.program} config {key} …")
    value = None if args.unset else _setting_value(key, args.value)
    manager.configure(**{key: value})
    manager.tick()  # a higher limit starts queued experiments now
    print(f"{key} {_config_text(_settings(manager)[key][0])}")
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
    "config": _config,
}


if __name__ == "__main__":
    sys.exit(main())
