"""What every verb of the `nbexp` command shares: exit codes, the parser class, launch and colour
options, and turning parsed arguments into the Python API's."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from .._core.errors import UsageError
from .._core.options import LAUNCH_OPTIONS
from .._manager import ExperimentManager
from .tables import (
    COLOR_CHOICES,
)

EXIT_REFUSED = 1
EXIT_USAGE = 2

Handler = Callable[[ExperimentManager, argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_launch_options(p: argparse.ArgumentParser) -> None:
    """Every launch option's flags, from the one table in `_core.options`."""
    for option in LAUNCH_OPTIONS:
        p.add_argument(*option.flags, dest=option.name, help=option.help, **option.cli)
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- the command and its arguments")


def line_count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"needs a number of lines >= 0, not {text!r}")
    return int(text)


def add_color_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--color",
        "--colour",
        choices=COLOR_CHOICES,
        default="auto",
        help="colours: auto (on a terminal, unless NO_COLOR is set), always or never",
    )


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
