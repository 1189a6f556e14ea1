"""IPython magics: `%load_ext nbexp`, then `%exp run -g 0 -- python train.py`, `%exp ls`, …

Every verb takes the same options as the `nbexp` command; errors are one line, never a
traceback. `%%exp run [options]` runs the cell's body as a Python script in the background
(the script is kept under NBEXP_HOME/scripts).
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import sys
import time
from contextlib import redirect_stdout
from typing import Any

from ._cli import HANDLERS, build_parser, command_words, launch_kwargs
from ._core.errors import NbexpError, UsageError
from ._manager import ExperimentManager

_manager: ExperimentManager | None = None


def _get_manager() -> ExperimentManager:
    global _manager
    if _manager is None:
        _manager = ExperimentManager()
    return _manager


def _parser() -> argparse.ArgumentParser:
    parser = build_parser()
    parser.prog = "%exp"
    return parser


def _parse(line: str) -> argparse.Namespace:
    try:
        words = shlex.split(line)
    except ValueError as e:
        raise UsageError(f"cannot parse {line!r}: {e}") from None
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            return _parser().parse_args(words)
    except SystemExit as e:
        text = out.getvalue()
        if text:  # --help
            print(text.replace("nbexp", "%exp"), end="")
            raise _Handled() from None
        raise _Handled(int(e.code or 0)) from None


class _Handled(Exception):
    """Argparse already printed what the user needs (help, or its one-line error)."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(code)


def exp(line: str, cell: str | None = None) -> Any:
    """%exp VERB [options]: run / ls / stop / start / restart / logs / gpus / dashboard …"""
    try:
        return _dispatch(line, cell)
    except _Handled:
        return None
    except NbexpError as e:
        print(f"nbexp: {e}", file=sys.stderr)
        return None
    except KeyboardInterrupt:
        # Interrupting the kernel (e.g. during `%exp logs -f`) stops following, not the job.
        print("nbexp: interrupted; experiments keep running", file=sys.stderr)
        return None


def _dispatch(line: str, cell: str | None) -> Any:
    manager = _get_manager()
    words = line.split(maxsplit=1)
    verb = words[0] if words else ""
    if verb == "dashboard":
        return manager.dashboard()
    if cell is not None:
        if verb != "run":
            raise UsageError("%%exp only supports `run`: %%exp run [options], then Python code")
        return _run_cell(manager, line, cell)
    args = _parse(line)
    if args.verb in ("run",):
        exp = manager.run(
            command_words(args), queue=args.queue, force=args.force, **launch_kwargs(args)
        )
        return exp.wait() if args.wait else exp
    if args.verb in ("logs",) and not args.follow:
        tail = 50 if args.tail is None else args.tail  # -n 0 means none, as in the terminal
        print("\n".join(manager.logs(args.id, tail=tail, attempt=args.attempt)))
        return None
    if args.verb == "start":
        return manager.start(args.id, force=args.force, queue=args.queue)
    if args.verb == "stop":
        return manager.stop(args.id, grace=args.grace)
    if args.verb == "restart":
        return manager.restart(args.id, force=args.force, queue=args.queue)
    manager.tick()
    HANDLERS[args.verb](manager, args)
    return None


def _run_cell(manager: Any, line: str, cell: str) -> Any:
    scripts = os.path.join(manager.home, "scripts")
    os.makedirs(scripts, mode=0o700, exist_ok=True)
    path = os.path.join(scripts, f"cell-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.py")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(cell)
    rest = line.split(maxsplit=1)[1] if len(line.split(maxsplit=1)) > 1 else ""
    if " -- " in f" {rest} ":
        raise UsageError("%%exp run takes options only; the cell body is the script")
    args = _parse(f"run {rest} -- {shlex.quote(sys.executable)} {shlex.quote(path)}")
    kwargs = launch_kwargs(args)
    kwargs["name"] = kwargs["name"] or "cell"
    return manager.run(command_words(args), queue=args.queue, force=args.force, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magic_function(exp, magic_kind="line_cell", magic_name="exp")


def unload_ipython_extension(ipython: Any) -> None:
    """Stop the monitor threads this session started; experiments keep running."""
    global _manager
    if _manager is not None:
        try:
            from ._ui.monitor import stop_shared_monitors

            stop_shared_monitors(str(_manager.home))
        except Exception:
            pass
    _manager = None
    magics = ipython.magics_manager.magics
    for kind in ("line", "cell"):
        magics[kind].pop("exp", None)
