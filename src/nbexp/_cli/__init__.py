"""The `nbexp` command: the same store and actions as the Python API, from a terminal.

Refusals print one line on stderr and exit 1; usage errors exit 2; never a traceback. The
magics (`_magics.py`) run the same parser and handlers under the name `%exp`. Each module of
this package adds its verbs (`add_verbs`) and their handlers (`HANDLERS`): a new verb is a new
module listed in `VERB_MODULES`.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from .._core.errors import NbexpError, UsageError
from .._manager import ExperimentManager
from . import bulk, config, endings, experiments, gpus, groups, logs, metrics
from .base import EXIT_REFUSED, EXIT_USAGE, Handler, Parser, command_words, launch_kwargs
from .config import SETTINGS

VERB_MODULES = (experiments, groups, endings, logs, metrics, gpus, config, bulk)
HANDLERS: dict[str, Handler] = {
    verb: handler for module in VERB_MODULES for verb, handler in module.HANDLERS.items()
}
# Verbs that need no housekeeping step first (they neither read experiments nor act on them).
NO_TICK = frozenset({"gpus", "config", "du"})

__all__ = [
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "HANDLERS",
    "SETTINGS",
    "build_parser",
    "command_words",
    "launch_kwargs",
    "main",
    "run_verb",
]


def build_parser(prog: str = "nbexp", *, magics: bool = False) -> argparse.ArgumentParser:
    """The command line of `nbexp` (or, with `prog="%exp"` and `magics`, of the magics, which
    add `dashboard`). Every message and help text names `prog`."""
    name = prog.replace("%", "%%")  # argparse %-formats help texts
    parser = Parser(prog=prog, description="Launch and watch long-running experiments.")
    parser.add_argument("--home", help="the nbexp home folder (default: $NBEXP_HOME or ~/.nbexp)")
    parser.set_defaults(program=prog)
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in VERB_MODULES:
        module.add_verbs(sub, name)
    if magics:
        p = sub.add_parser("dashboard", help="the live dashboard widget for this home")
        p.add_argument("--interval", type=float, default=1.0, help="seconds between updates")
    return parser


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
    if args.verb not in NO_TICK:
        manager.tick()  # no daemon: every CLI call reconciles and advances the queue
    return HANDLERS[args.verb](manager, args)
