"""The verbs on many experiments at once: the page `nbexp ls` shows (the newest 50 unless asked,
sorted and filtered in SQL, so a store of 10,000 lists as fast as one of 10), `stop` / `restart`
/ `rm` of a whole group, cleanup (`rm --status S --older-than 7d`) and `nbexp du`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from .._core.errors import NbexpError, UsageError
from .._core.records import ExperimentRecord
from .._core.states import TERMINAL, Status
from .._core.validate import check_tag, parse_status
from .._io import listing
from .._manager import ExperimentManager
from .._service.lifecycle import cell_script
from .base import EXIT_REFUSED, Handler
from .tables import json_text, table

DEFAULT_LIMIT = 50
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def add_list_options(p: argparse.ArgumentParser) -> None:
    """`ls`'s options beyond --json and --status."""
    p.add_argument("-g", "--group", help="only this group's experiments")
    p.add_argument("-t", "--tag", help="only experiments with this tag")
    p.add_argument(
        "-n", "--limit", type=int, metavar="N", help=f"show N experiments (default {DEFAULT_LIMIT})"
    )
    p.add_argument("-a", "--all", action="store_true", help="show every experiment")
    p.add_argument(
        "--sort",
        choices=sorted(listing.SORT_COLUMNS),
        default="id",
        metavar="COL",
        help="the highest N by this column: " + ", ".join(sorted(listing.SORT_COLUMNS)),
    )
    p.add_argument("-r", "--reverse", action="store_true", help="the highest first")


def list_page(
    manager: ExperimentManager, args: argparse.Namespace, statuses: list[Status] | None
) -> listing.Page:
    """The experiments `ls` shows, in the order it prints them (the highest last, nearest the
    prompt, unless --reverse)."""
    if args.all and args.limit is not None:
        raise UsageError("give --all or --limit N, not both")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be a number >= 1, not {args.limit}")
    group = manager.service.groups.known(args.group) if args.group is not None else None
    limit = None if args.all else (args.limit or DEFAULT_LIMIT)
    tag = check_tag(args.tag) if args.tag is not None else None
    found = listing.page(
        manager.store,
        statuses=statuses,
        group=group,
        sort=args.sort,
        descending=True,
        limit=limit,
        tag=tag,
    )
    if not args.reverse:
        found.records.reverse()
    return found


def more_line(found: listing.Page, args: argparse.Namespace) -> str | None:
    """What `ls` left out, when it did."""
    shown = len(found.records)
    if shown >= found.total:
        return None
    which = "the newest" if args.sort == "id" else f"the last by {args.sort},"
    return (
        f"({shown} of {found.total:,} shown: {which}; {args.program} ls --all for every one, "
        "--limit N for more)"
    )


# -- a whole group ------------------------------------------------------------------------------


def stop_group(manager: ExperimentManager, args: argparse.Namespace) -> int:
    stopped = manager.group(args.group).stop(grace=args.grace)
    if not stopped:
        print(f"{args.group}: nothing queued or running to stop")
        return 0
    print(f"{args.group}: stopped {len(stopped)} ({_ids(e.id for e in stopped)})")
    return 0


def restart_group(manager: ExperimentManager, args: argparse.Namespace) -> int:
    restarted = manager.group(args.group).restart(failed_only=args.failed)
    which = "failed " if args.failed else ""
    if not restarted:
        print(f"{args.group}: no {which}experiment to restart")
        return 0
    print(f"{args.group}: restarted {len(restarted)} {which}({_ids(e.id for e in restarted)})")
    return 0


def _ids(ids: Any) -> str:
    shown = [str(i) for i in ids]
    return " ".join(shown[:20]) + (f" … {len(shown) - 20} more" if len(shown) > 20 else "")


# -- cleanup ------------------------------------------------------------------------------------


def add_cleanup_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-g", "--group", help="the group's experiments (with no filter: all of them)")
    p.add_argument(
        "-s", "--status", action="append", help="only this status (repeatable; default: ended)"
    )
    p.add_argument("--older-than", metavar="AGE", help="ended (or made) before: 7d, 12h, 30m")
    p.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")


def parse_age(text: str) -> float:
    """`7d` -> seconds (s, m, h, d and w; a unit is required: `7` could mean anything)."""
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _AGE_UNITS or not value >= 0:
        raise UsageError(f"bad --older-than {text!r}: use a number and a unit, e.g. 7d, 12h, 30m")
    return value * _AGE_UNITS[unit]


def remove_many(manager: ExperimentManager, args: argparse.Namespace) -> int:
    """`rm` without an id: every experiment the filters pick (ended ones unless --status says
    otherwise), with its logs and %%exp script; --dry-run only says what would go."""
    filtered = args.status or args.older_than is not None
    if args.group is None and not filtered:
        raise UsageError(
            f"say what to remove: an id, --group G, or filters ({args.program} rm --status error "
            "--older-than 7d)"
        )
    if args.group is not None and not filtered and not args.dry_run:
        removed = manager.group(args.group).remove(delete_logs=not args.keep_logs)
        print(f"{args.group}: removed {len(removed)} experiments and the group")
        return 0
    statuses = [parse_status(s) for s in args.status] if args.status else sorted(TERMINAL)
    before = time.time() - parse_age(args.older_than) if args.older_than is not None else None
    group = manager.service.groups.known(args.group) if args.group is not None else None
    manager.service.reconcile()
    chosen = listing.matching(manager.store, statuses=statuses, group=group, ended_before=before)
    sizes = {r.id: _log_bytes(manager, r) for r in chosen}
    scripts = {s for r in chosen if (s := cell_script(manager.home, r)) is not None}
    total = _size(sum(sizes.values()))
    if args.dry_run:
        print(f"would remove {len(chosen)} experiments ({total} of logs, {len(scripts)} scripts)")
        if chosen:
            print(_ids(r.id for r in chosen))
        return 0
    refused = []
    for record in chosen:
        try:
            manager.remove(record.id, delete_logs=not args.keep_logs)
        except NbexpError as e:
            refused.append(f"{record.id}: {e}")
    done = len(chosen) - len(refused)
    print(f"removed {done} experiments ({total} of logs, {len(scripts)} %%exp scripts)")
    for line in refused[:10]:
        print(f"{args.program}: {line}", file=sys.stderr)
    return EXIT_REFUSED if refused else 0


def _log_bytes(manager: ExperimentManager, record: ExperimentRecord) -> int:
    folders = {Path(p).parent for p in manager.store.attempt_log_paths(record.id)}
    return sum(_folder_bytes(folder) for folder in folders)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


# -- du -----------------------------------------------------------------------------------------


def add_verbs(sub: Any, name: str) -> None:
    p = sub.add_parser("du", help="how much room the store, the logs and the scripts take")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def du(manager: ExperimentManager, args: argparse.Namespace) -> int:
    """How much the home takes: the store, the logs (the largest experiments' first), scripts."""
    home = manager.home
    database = listing.database_bytes(manager.store)
    side = sum(_file_bytes(Path(f"{manager.store.path}{s}")) for s in ("-wal", "-shm"))
    logs = home / "logs"
    per_experiment: dict[int, int] = {}
    if logs.is_dir():
        for store_folder in logs.iterdir():
            for folder in store_folder.iterdir() if store_folder.is_dir() else ():
                if folder.name.isdigit():
                    per_experiment[int(folder.name)] = _folder_bytes(folder)
    scripts = _folder_bytes(home / "scripts")
    counts = listing.status_counts(manager.store)
    largest = sorted(per_experiment.items(), key=lambda item: -item[1])[:5]
    data: dict[str, Any] = {
        "home": str(home),
        "experiments": sum(counts.values()),
        "store_bytes": database + side,
        "log_bytes": sum(per_experiment.values()),
        "script_bytes": scripts,
        "largest": [{"id": i, "bytes": n} for i, n in largest],
    }
    if args.json:
        print(json_text(data))
        return 0
    rows = [
        ["store", _size(database + side), f"{data['experiments']:,} experiments"],
        ["logs", _size(data["log_bytes"]), f"{len(per_experiment):,} experiments' folders"],
        ["scripts", _size(scripts), "%%exp cells"],
    ]
    print(f"{home}")
    print(table(rows, ["", "SIZE", ""]))
    if largest:
        biggest = [f"#{i} {_name(manager, i)} {_size(n)}" for i, n in largest]
        print("largest logs: " + ", ".join(biggest))
    print(f"free space with: {args.program} rm --status error --older-than 7d --dry-run")
    return 0


def _file_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


HANDLERS: dict[str, Handler] = {"du": du}


def _name(manager: ExperimentManager, experiment_id: int) -> str:
    try:
        return manager.store.get(experiment_id).name
    except NbexpError:
        return "(removed)"
