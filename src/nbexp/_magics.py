"""IPython magics: `%load_ext nbexp`, then `%exp run -g 0 -- python train.py`, `%exp ls`, …

Every verb takes the same options as the `nbexp` command, `--home` included (one manager per
home, and the current NBEXP_HOME at each call); errors are one line, never a traceback, and
name `%exp`. The line is not expanded: `{lr}` and `$HOME` reach the command as typed
(`%exp sweep -p lr=1e-3,3e-4 -- python train.py --lr {lr}`). `%%exp run [options]` runs the
cell's body as a Python script in the background: the options are checked first, then the
script is written under NBEXP_HOME/scripts (one file per cell) and removed with its
experiment (`%exp rm` / `nbexp rm`).
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import re
import shlex
import sys
import time
from contextlib import redirect_stdout, suppress
from pathlib import Path
from typing import Any

from ._cli import HANDLERS, build_parser, command_words, launch_kwargs, run_verb
from ._cli.groups import sweep_from_args
from ._core.errors import NbexpError, UsageError
from ._core.states import Status
from ._core.validate import check_launch
from ._io.paths import resolve_home
from ._manager import Experiment, ExperimentManager

PROGRAM = "%exp"

_managers: dict[Path, ExperimentManager] = {}


def manager_for(home: str | None) -> ExperimentManager:
    """The manager of `home` (default: NBEXP_HOME as it is now, else ~/.nbexp), one per home."""
    path = resolve_home(home)
    if path not in _managers:
        _managers[path] = ExperimentManager(home=path)
    return _managers[path]


def in_notebook(shell: object) -> bool:
    """Whether `shell` is a Jupyter kernel's (ipykernel's ZMQInteractiveShell), whose output
    goes to a front end that shows widgets, rather than a terminal IPython's."""
    return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__)


def _current_shell() -> object:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _parse(words: list[str]) -> argparse.Namespace:
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            return build_parser(PROGRAM, magics=True).parse_args(words)
    except SystemExit as e:
        text = out.getvalue()
        if text:  # --help
            print(text, end="")
            raise _Handled() from None
        raise _Handled(int(e.code or 0)) from None


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as e:
        raise UsageError(f"cannot parse {line!r}: {e}") from None


class _Handled(Exception):
    """Argparse already printed what the user needs (help, or its one-line error)."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(code)


# "nbexp stop 3", "`nbexp list`": a command a message suggests; not "the nbexp home".
_SUGGESTED_COMMAND = re.compile(rf"\bnbexp (?=(?:{'|'.join(map(re.escape, HANDLERS))})\b)")


def in_magics(message: object) -> str:
    """A message as `%exp` users need it: the commands it suggests are magics."""
    return _SUGGESTED_COMMAND.sub(f"{PROGRAM} ", str(message))


def exp(line: str, cell: str | None = None) -> Any:
    """%exp VERB [options]: run / ls / stop / start / restart / logs / gpus / dashboard …"""
    try:
        return _dispatch(line, cell)
    except _Handled:
        return None
    except UsageError as e:
        print(f"{PROGRAM}: error: {in_magics(e)}", file=sys.stderr)
        return None
    except NbexpError as e:
        print(f"{PROGRAM}: {in_magics(e)}", file=sys.stderr)
        return None
    except KeyboardInterrupt:
        # Interrupting the kernel (e.g. during `%exp logs -f`) stops following, not the job.
        print(f"{PROGRAM}: interrupted; experiments keep running", file=sys.stderr)
        return None


def _dispatch(line: str, cell: str | None) -> Any:
    if cell is not None:
        return _run_cell(line, cell)
    args = _parse(_split(line))
    manager = manager_for(args.home)
    if args.verb == "dashboard":
        return manager.dashboard(interval=args.interval)
    if args.verb == "run":
        exp = manager.run(
            command_words(args), queue=args.queue, force=args.force, **launch_kwargs(args)
        )
        return exp.wait() if args.wait else exp
    if args.verb == "logs":
        return _logs(manager, args)
    if args.verb == "sweep":
        group = sweep_from_args(manager, args)  # shown as a Group; the CLI prints its ids
        return group.wait() if args.wait else group
    if args.verb == "start":
        return manager.start(args.id, force=args.force, queue=args.queue)
    if args.verb == "stop" and args.id is not None and args.group is None:
        return manager.stop(args.id, grace=args.grace)
    if args.verb == "restart" and args.id is not None and args.group is None and not args.failed:
        return manager.restart(args.id, force=args.force, queue=args.queue)
    run_verb(manager, args)
    return None


def _logs(manager: ExperimentManager, args: argparse.Namespace) -> Experiment | None:
    if args.follow:
        record = manager.get(args.id).record
        if args.attempt in (None, record.attempt) and in_notebook(_current_shell()):
            # A notebook shows the experiment's live card: bars redraw there, the cell is free.
            manager.log_path(args.id)  # one that has not run yet is refused, as in a terminal
            return manager.get(args.id)
        run_verb(manager, args)  # a terminal IPython follows, as `nbexp logs -f` does
        return None
    tail = 50 if args.tail is None else args.tail  # -n 0 means none, as in the terminal
    print("\n".join(manager.logs(args.id, tail=tail, attempt=args.attempt)))
    return None


def _verb_of(words: list[str]) -> str | None:
    """The verb of a magic's words (the first that is neither an option nor --home's value)."""
    after_home = False
    for word in words:
        if not after_home and not word.startswith("-"):
            return word
        after_home = word == "--home"
    return None


def _run_cell(line: str, cell: str) -> Experiment:
    words = _split(line)
    if _verb_of(words) != "run":
        raise UsageError("%%exp only supports `run`: %%exp run [options], then Python code")
    if "--" in words:
        raise UsageError("%%exp run takes options only; the cell body is the script")
    args = _parse([*words, "--", sys.executable, "cell.py"])
    manager = manager_for(args.home)
    options = launch_kwargs(args)
    options["name"] = options["name"] or "cell"
    check_launch([sys.executable, "cell.py"], options, manager.executor)  # before any file
    script = _write_script(manager.home / "scripts", cell)
    try:
        exp = manager.create([sys.executable, str(script)], **options)
    except BaseException:
        script.unlink(missing_ok=True)
        raise
    try:
        manager.start(exp.id, force=args.force, queue=args.queue)
    except BaseException:
        # Refused or interrupted before it ran: like run(), it leaves nothing behind.
        with suppress(NbexpError):
            if exp.status is Status.PENDING:
                manager.remove(exp.id)
                script.unlink(missing_ok=True)
        raise
    return exp.wait() if args.wait else exp


def _write_script(folder: Path, text: str) -> Path:
    """A new file in `folder` holding `text`: never one another cell (in this kernel or
    another, in the same second) already wrote."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    for number in itertools.count(1):
        path = folder / f"cell-{stamp}-{number}.py"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with open(descriptor, "w", encoding="utf-8") as script:
            script.write(text)
        return path
    raise AssertionError("unreachable")  # itertools.count never ends


def load_ipython_extension(ipython: Any) -> None:
    from IPython.core.magic import no_var_expand

    # The line reaches nbexp as typed, like a shell line: a sweep's {lr} must not be filled in
    # from a notebook variable, nor a command's $HOME from a Python one.
    ipython.register_magic_function(no_var_expand(exp), magic_kind="line_cell", magic_name="exp")


def unload_ipython_extension(ipython: Any) -> None:
    """Stop the monitor threads this session started; experiments keep running."""
    from ._ui.monitor import stop_shared_monitors

    for home in list(_managers):
        with suppress(Exception):
            stop_shared_monitors(str(home))
    _managers.clear()
    magics = ipython.magics_manager.magics
    for kind in ("line", "cell"):
        magics[kind].pop("exp", None)
