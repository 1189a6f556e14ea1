"""Sweeps and groups from a terminal: `nbexp sweep`, `nbexp group ls|pause|resume|wait|set`,
`nbexp tag ID +best -old` and `nbexp note ID TEXT`. The verbs on a group's members (`ls`,
`stop`, `restart`, `rm` with `--group G`) live with the other verbs on experiments."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._core.errors import UsageError, WaitTimeout
from .._core.options import LAUNCH_OPTIONS
from .._manager import ExperimentManager
from .._service.groups import SweepOptions
from .base import EXIT_REFUSED, Handler, command_words
from .tables import json_text, table

# Run options a sweep's runs take from the command line: all but the name (the sweep has one;
# its runs are named after it and their params) and the group (the sweep is the group).
SWEEP_RUN_OPTIONS = [o for o in LAUNCH_OPTIONS if o.name not in ("name", "group")]


def add_verbs(sub: Any, name: str) -> None:
    _add_sweep(sub, name)
    p = sub.add_parser("group", help="groups of experiments (a sweep is one)")
    verbs = p.add_subparsers(dest="group_verb", metavar="ACTION")
    verbs.required = True
    q = verbs.add_parser("ls", aliases=["list"], help="every group and its members' states")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    for verb, text in (
        ("pause", "hold the group's queue: queued members wait, running ones go on"),
        ("resume", "let the group's queue go on"),
    ):
        verbs.add_parser(verb, help=text).add_argument("group")
    q = verbs.add_parser("wait", help="wait until no member is queued or running")
    q.add_argument("group")
    q.add_argument("--timeout", type=float, help="give up after this many seconds (exit 124)")
    q = verbs.add_parser("set", help="change a group's settings")
    q.add_argument("group")
    q.add_argument(
        "--max-parallel", required=True, metavar="K", help="at most K members run (none: no limit)"
    )

    p = sub.add_parser("tag", help=f"add and remove tags: {name} tag ID +best -old")
    p.add_argument("id", type=int)
    # REMAINDER: "-old" is a change, not an option
    p.add_argument("changes", nargs=argparse.REMAINDER, metavar="+TAG|-TAG", help="+tag adds")
    p = sub.add_parser("note", help="set an experiment's note (none: show it)")
    p.add_argument("id", type=int)
    p.add_argument("text", nargs="*", help="the note (all remaining words)")
    p.add_argument("--clear", action="store_true", help="remove the note")


def _add_sweep(sub: Any, name: str) -> None:
    p = sub.add_parser(
        "sweep",
        help=f"one run per parameter combination: {name} sweep -p lr=1e-3,3e-4 -- CMD --lr {{lr}}",
    )
    p.add_argument("--name", dest="sweep_name", metavar="G", help="the sweep's (group's) name")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a parameter and its values (repeatable); {KEY} in the command takes each value",
    )
    p.add_argument("--zip", action="store_true", help="pair the values up instead of a grid")
    p.add_argument("--samples", type=int, metavar="N", help="N random combinations of the grid")
    p.add_argument("--seed", type=int, help="the seed of --samples (default: a random one)")
    p.add_argument("--max-parallel", type=int, metavar="K", help="at most K runs at once")
    p.add_argument("--json", action="store_true", help='print {"group": G, "ids": [...]}')
    p.add_argument("--queue", action="store_true", help="queue the runs that cannot start now")
    p.add_argument("--force", action="store_true", help="start every run now, ignoring GPUs")
    p.add_argument("--wait", action="store_true", help="wait for every run to end")
    for option in SWEEP_RUN_OPTIONS:
        p.add_argument(*option.flags, dest=option.name, help=option.help, **option.cli)
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- the command, with {KEY}s")


def parse_param(text: str) -> tuple[str, list[str]]:
    """`lr=1e-3,3e-4` -> ("lr", ["1e-3", "3e-4"]): values stay text, as typed."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"bad --param {text!r}: use KEY=V1,V2,… e.g. lr=1e-3,3e-4")
    return key.strip(), [v for v in values.split(",")]


def sweep_from_args(manager: ExperimentManager, args: argparse.Namespace) -> Any:
    """The Group a `sweep` command line makes (the magics show it; the CLI prints it)."""
    params: dict[str, list[str]] = {}
    for text in args.param:
        key, values = parse_param(text)
        if key in params:
            raise UsageError(f"--param {key} is given twice: list its values once, comma-separated")
        params[key] = values
    if not params:
        raise UsageError(f"a sweep needs --param KEY=V1,V2 (see {args.program} sweep --help)")
    options = {o.name: o.from_cli(getattr(args, o.name)) for o in SWEEP_RUN_OPTIONS}
    how = SweepOptions(
        mode="zip" if args.zip else "grid",
        samples=args.samples,
        seed=args.seed,
        max_parallel=args.max_parallel,
        force=args.force,
        typed=True,  # "1e-3" stays the command's text, and is stored as the number it reads as
    )
    name, _ = manager.service.groups.sweep(
        command_words(args), params, args.sweep_name, how, options, manager.executor
    )
    return manager.group(name)


def _sweep(manager: ExperimentManager, args: argparse.Namespace) -> int:
    group = sweep_from_args(manager, args)
    ids = group.ids
    if args.json:
        print(json.dumps({"group": group.name, "ids": ids}))
    else:
        print(group.name)
        print(" ".join(map(str, ids)), flush=True)
    if not args.wait:
        return 0
    return _wait_for_group(manager, group.name, None, args.program)


def _wait_for_group(
    manager: ExperimentManager, name: str, timeout: float | None, program: str
) -> int:
    """Wait for a group; 0 when every member completed, 1 otherwise, 124 on a timeout."""
    try:
        group = manager.group(name).wait(timeout=timeout)
    except WaitTimeout as e:
        print(f"{program}: {e}", file=sys.stderr)
        return 124
    except KeyboardInterrupt:
        print(f"{program}: stopped waiting; the group's runs go on", file=sys.stderr)
        return 130
    counts = group.counts
    failed = {s: n for s, n in counts.items() if s != "completed"}
    if failed:
        shown = ", ".join(f"{n} {s}" for s, n in failed.items())
        print(f"{program}: group {name!r}: {shown}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


GROUP_COLUMNS = ["GROUP", "RUNS", "RUNNING", "QUEUED", "COMPLETED", "FAILED", "OTHER", "LIMIT"]


def _group(manager: ExperimentManager, args: argparse.Namespace) -> int:
    verb = args.group_verb
    if verb in ("ls", "list"):
        return _group_ls(manager, args)
    if verb == "wait":
        return _wait_for_group(manager, args.group, args.timeout, args.program)
    group = manager.group(args.group)
    if verb == "pause":
        group.pause()
        print(
            f"{group.name} paused: queued members wait ({args.program} group resume {group.name})"
        )
    elif verb == "resume":
        group.resume()
        print(f"{group.name} resumed")
    elif verb == "set":
        text = args.max_parallel.strip().lower()
        if text in ("none", "-", ""):
            group.max_parallel = None
        elif text.isdigit():
            group.max_parallel = int(text)
        else:
            raise UsageError(f"bad --max-parallel {args.max_parallel!r}: a number >= 1, or none")
        print(f"{group.name}: max_parallel {group.max_parallel or 'none'}")
    return 0


def _group_ls(manager: ExperimentManager, args: argparse.Namespace) -> int:
    summaries = manager.service.groups.summaries()
    if args.json:
        print(json_text([{"group": name, **info} for name, info in summaries.items()]))
        return 0
    if not summaries:
        print(f"no groups yet: {args.program} sweep … or {args.program} run --group G …")
        return 0
    rows = []
    for name, info in summaries.items():
        counts = info["statuses"]
        known = sum(counts.get(s, 0) for s in ("running", "queued", "completed", "error"))
        limit = str(info["max_parallel"] or "-") + (" paused" if info["paused"] else "")
        total = sum(counts.values())
        rows.append(
            [name, str(total)]
            + [str(counts.get(s, 0)) for s in ("running", "queued", "completed", "error")]
            + [str(total - known), limit]
        )
    print(table(rows, GROUP_COLUMNS))
    return 0


def _tag(manager: ExperimentManager, args: argparse.Namespace) -> int:
    add = [c[1:] if c.startswith("+") else c for c in args.changes if not c.startswith("-")]
    remove = [c[1:] for c in args.changes if c.startswith("-")]
    tags = (
        manager.tag(args.id, add=add, remove=remove) if args.changes else manager.get(args.id).tags
    )
    print(f"{args.id}: {' '.join(tags) if tags else '(no tags)'}")
    return 0


def _note(manager: ExperimentManager, args: argparse.Namespace) -> int:
    if args.clear and args.text:
        raise UsageError("give a note or --clear, not both")
    if args.clear or args.text:
        manager.note(args.id, None if args.clear else " ".join(args.text))
    note = manager.get(args.id).note
    print(f"{args.id}: {note}" if note else f"{args.id}: (no note)")
    return 0


HANDLERS: dict[str, Handler] = {
    "sweep": _sweep,
    "group": _group,
    "tag": _tag,
    "note": _note,
}
