"""`nbexp logs`: an experiment's output as a terminal would show it, now or as it grows."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .._core.errors import NbexpError
from .._manager import ExperimentManager
from .._service.core import no_output, tty_rows
from .base import Handler, add_color_option, line_count
from .tables import wants_color, write_plain_log, write_styled_log


def add_verbs(sub: Any, name: str) -> None:
    p = sub.add_parser("logs", help="print an experiment's output as a terminal would show it")
    p.add_argument("id", type=int)
    p.add_argument("-n", "--tail", type=line_count, help="only the last N lines")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing while it runs")
    p.add_argument("--attempt", type=int, help="an earlier attempt (default: the latest)")
    add_color_option(p)


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
    if args.follow:
        from .._ui.follow import follow_to_terminal

        def finished() -> bool:
            now = manager.get(args.id).record
            # The attempt followed ended, or a restart began a newer one.
            return now.status.is_terminal or args.attempt not in (None, now.attempt)

        follow_to_terminal(path, sys.stdout, is_finished=finished, tail=args.tail, color=color)
        _note_log_problem(manager, args)
        return 0
    if color:
        write_styled_log(path, sys.stdout, tail=args.tail, rows=tty_rows(record))
    else:
        had_text = write_plain_log(path, sys.stdout, tail=args.tail, rows=tty_rows(record))
        if not had_text and args.attempt in (None, record.attempt):
            now = manager.get(args.id).record  # its runner may have recorded a problem since
            if now.log_problem:
                sys.stdout.flush()
                raise no_output(now)
    sys.stdout.flush()
    _note_log_problem(manager, args)
    return 0


def _note_log_problem(manager: ExperimentManager, args: argparse.Namespace) -> None:
    """Say on stderr when the attempt's output could not all be written (a full disk)."""
    record = manager.get(args.id).record
    if record.log_problem and args.attempt in (None, record.attempt):
        print(f"{args.program}: the log may be incomplete: {record.log_problem}", file=sys.stderr)


HANDLERS: dict[str, Handler] = {"logs": _logs}
