"""`nbexp gpus`: the GPUs, their load and who holds them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._manager import ExperimentManager
from .base import Handler, add_color_option
from .tables import (
    format_gpu_table,
    wants_color,
)


def add_verbs(sub: Any, name: str) -> None:
    p = sub.add_parser("gpus", help="show the GPUs, their load and who holds them")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_color_option(p)


def _gpus(manager: ExperimentManager, args: argparse.Namespace) -> int:
    report = manager.gpus()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    color = wants_color(args.color, sys.stdout)
    print(format_gpu_table(report, manager.gpu_holders(report), color=color))
    return 0


HANDLERS: dict[str, Handler] = {"gpus": _gpus}
