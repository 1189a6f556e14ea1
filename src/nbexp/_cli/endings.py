"""`nbexp pause ID` and `nbexp resume ID`: stop an experiment's whole process tree where it is
(SIGSTOP; its GPUs stay held) and let it run on (SIGCONT)."""

from __future__ import annotations

import argparse
from typing import Any

from .._manager import ExperimentManager
from .base import Handler


def add_verbs(sub: Any, name: str) -> None:
    p = sub.add_parser(
        "pause", help="stop a running experiment's process tree where it is (keeps its GPUs)"
    )
    p.add_argument("id", type=int)
    p = sub.add_parser("resume", help="let a paused experiment run on")
    p.add_argument("id", type=int)


def _pause(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.pause(args.id)
    print(f"{exp.id} {exp.status.value} (its GPUs stay held; {args.program} resume {exp.id})")
    return 0


def _resume(manager: ExperimentManager, args: argparse.Namespace) -> int:
    exp = manager.resume(args.id)
    print(f"{exp.id} {exp.status.value}")
    return 0


HANDLERS: dict[str, Handler] = {"pause": _pause, "resume": _resume}
