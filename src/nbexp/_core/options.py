"""The launch options of an experiment, declared once.

`LaunchOptions` gives their Python types; `LAUNCH_OPTIONS` gives, per option, its default, its
command-line flags and help, and how command-line text becomes a Python value. The manager's
`create()`/`run()` signatures, the CLI parser and the magics are all built from this one table.
Pure: no I/O.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from .errors import UsageError
from .launch import DEFAULT_TTY_SIZE


class LaunchOptions(TypedDict, total=False):
    """Keyword arguments of `ExperimentManager.create()` and `run()` (all optional)."""

    name: str | None
    cwd: str | os.PathLike[str] | None
    env: Mapping[str, str] | None
    gpus: int | Sequence[int | str] | None
    uv: bool
    shell: bool
    priority: int
    after: Sequence[int] | None
    tty: bool | tuple[int, int]
    share_gpus: bool
    min_gpu_memory_mb: int | None
    executor: str | None
    partition: str | None
    time: str | None
    cpus: int | None
    mem: str | None
    retries: int
    retry_on: Sequence[str] | None
    retry_delay: float | str
    timeout: float | str | None
    timeout_signal: str | None
    on_end: str | None
    requeue_on: Sequence[str] | None
    group: str | None
    tags: Sequence[str] | None
    note: str | None


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Option:
    """One launch option: its keyword, default, and command-line form."""

    name: str
    default: Any
    flags: tuple[str, ...]
    help: str
    cli: dict[str, Any] = field(default_factory=dict)  # further argparse arguments
    from_cli: Callable[[Any], Any] = _identity  # parsed argparse value -> Python value

    @property
    def dest(self) -> str:
        return self.flags[-1].lstrip("-").replace("-", "_")


# -- command-line text to Python values (pure) --------------------------------------------------


def parse_gpus_text(text: str | None) -> int | list[int | str] | None:
    """`2` = any two free GPUs; `0,1` (or `3,`) = these GPUs; `0` = GPU 0; UUIDs allowed."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.isascii() and text.isdigit():
        return [0] if int(text) == 0 else int(text)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError(f"bad --gpus value {text!r}: use 0,1 (these GPUs) or 2 (any two)")
    gpus: list[int | str] = []
    for part in parts:
        if part.isascii() and part.isdigit():
            gpus.append(int(part))
        elif part.startswith(("GPU-", "MIG-")):
            gpus.append(part)
        else:
            raise UsageError(
                f"bad --gpus value {text!r}: {part!r} is neither a GPU index nor a UUID "
                "(use 0,1 for these GPUs, 2 for any two, or GPU-xxxxxxxx…)"
            )
    return gpus


def parse_tty_text(text: str | None) -> bool | tuple[int, int]:
    if text is None:
        return False
    columns, sep, rows = text.lower().partition("x")
    if not (sep and columns.isascii() and columns.isdigit() and rows.isascii() and rows.isdigit()):
        raise UsageError(f"bad --tty size {text!r}: use COLUMNSxROWS, e.g. 120x40")
    return int(columns), int(rows)


def _split_rules(text: str) -> list[str]:
    """`--retry-on cuda-oom,exit:137`: commas separate rules, except inside a regex: (the
    rest of the text is its pattern)."""
    rules: list[str] = []
    for part in text.split(","):
        if rules and rules[-1].startswith("regex:"):
            rules[-1] += "," + part
        elif part.strip():
            rules.append(part.strip())
    return rules


def parse_env_pairs(pairs: list[str] | None) -> dict[str, str]:
    env = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"bad --env {pair!r}: use KEY=VALUE")
        env[key] = value
    return env


LAUNCH_OPTIONS: tuple[Option, ...] = (
    Option("name", None, ("-n", "--name"), "a name to recognise it by (default: the script's)"),
    Option("cwd", None, ("--cwd",), "working directory (default: the current one)"),
    Option(
        "env",
        None,
        ("-e", "--env"),
        "set an environment variable for the command (repeatable)",
        {"action": "append", "default": [], "metavar": "K=V"},
        parse_env_pairs,
    ),
    Option(
        "gpus",
        None,
        ("-g", "--gpus"),
        "GPUs: a list like 0,1 (or UUIDs), or a count like 2",
        from_cli=parse_gpus_text,
    ),
    Option(
        "uv",
        False,
        ("--uv",),
        "run the command through `uv run` in its cwd",
        {"action": "store_true"},
    ),
    Option(
        "shell", False, ("--shell",), "run the command through /bin/sh -c", {"action": "store_true"}
    ),
    Option(
        "priority",
        0,
        ("--priority",),
        "higher starts first from the queue",
        {"type": int, "default": 0},
    ),
    Option(
        "after",
        None,
        ("--after",),
        "start only after experiment ID completed (repeatable)",
        {"type": int, "action": "append", "default": [], "metavar": "ID"},
    ),
    Option(
        "tty",
        False,
        ("--tty",),
        f"run on a pseudo-terminal (default size {DEFAULT_TTY_SIZE[0]}x{DEFAULT_TTY_SIZE[1]}) "
        "for colours and live bars",
        {
            "nargs": "?",
            "const": f"{DEFAULT_TTY_SIZE[0]}x{DEFAULT_TTY_SIZE[1]}",
            "metavar": "COLSxROWS",
        },
        parse_tty_text,
    ),
    Option(
        "share_gpus",
        False,
        ("--share-gpus",),
        "may share its GPUs with other experiments that allow it",
        {"action": "store_true"},
    ),
    Option(
        "min_gpu_memory_mb",
        None,
        ("--min-gpu-memory",),
        "only GPUs with at least this much free memory",
        {"type": int, "metavar": "MB"},
    ),
    Option(
        "executor",
        None,
        ("--executor",),
        "where it runs (default local)",
        {"choices": ["local", "slurm"]},
    ),
    Option("partition", None, ("--partition",), "Slurm partition"),
    Option("time", None, ("--time",), "Slurm time limit, e.g. 2:00:00"),
    Option("cpus", None, ("--cpus",), "Slurm CPUs per task", {"type": int}),
    Option("mem", None, ("--mem",), "Slurm memory, e.g. 16G"),
    Option(
        "retries",
        0,
        ("--retries",),
        "run a failed attempt again up to N times (see --retry-on)",
        {"type": int, "default": 0, "metavar": "N"},
    ),
    Option(
        "retry_on",
        None,
        ("--retry-on",),
        "which failures are retried: a kind (cuda-oom, oom-killed, nccl, segfault, timeout, "
        "signal, exit, exception), exit:N, signal:NAME or regex:PATTERN (repeatable, or "
        "comma-separated; default: every kind but exception)",
        {"action": "append", "default": [], "metavar": "KIND"},
        lambda rules: [r for text in rules for r in _split_rules(text)] or None,
    ),
    Option(
        "retry_delay",
        0.0,
        ("--retry-delay",),
        "wait this long before a retry starts, e.g. 30s or 5m",
        {"default": 0.0, "metavar": "DURATION"},
    ),
    Option(
        "timeout",
        None,
        ("--timeout",),
        "time limit of each attempt, e.g. 2h, 90m or 3600 (seconds); on Slurm, its --time",
        {"metavar": "DURATION"},
    ),
    Option(
        "timeout_signal",
        None,
        ("--timeout-signal",),
        "send this signal that long before the time limit, e.g. USR1@60 (to checkpoint)",
        {"metavar": "SIG@DURATION"},
    ),
    Option(
        "on_end",
        None,
        ("--on-end",),
        "a shell command run when an attempt ends (NBEXP_STATUS, NBEXP_SUMMARY… set; "
        "default: the home's `nbexp config on_end`)",
        {"metavar": "CMD"},
    ),
    Option(
        "requeue_on",
        None,
        ("--requeue-on",),
        "Slurm endings that resubmit it as a new attempt, up to --retries times: timeout, "
        "preempted, node-fail (repeatable, or comma-separated)",
        {"action": "append", "default": [], "metavar": "ENDING"},
        lambda texts: [k.strip() for text in texts for k in text.split(",") if k.strip()] or None,
    ),
    Option("group", None, ("--group",), "the group it belongs to (a sweep is one)"),
    Option(
        "tags",
        None,
        ("--tag",),
        "a tag to find it by (repeatable)",
        {"action": "append", "default": [], "metavar": "TAG"},
        lambda tags: list(tags) or None,
    ),
    Option("note", None, ("--note",), "a line of text to remember it by"),
)
OPTION_NAMES = tuple(option.name for option in LAUNCH_OPTIONS)
SLURM_OPTION_NAMES = ("partition", "time", "cpus", "mem")

# Options of run() and start(), beyond the launch options.
START_OPTIONS: tuple[tuple[str, Any, str], ...] = (
    ("queue", False, "bool"),
    ("force", False, "bool"),
)


def check_option_names(given: Mapping[str, Any], function: str, extra: Sequence[str] = ()) -> None:
    """An unknown keyword is a TypeError that suggests the closest right name."""
    for name in given:
        if name not in OPTION_NAMES and name not in extra:
            close = difflib.get_close_matches(name, (*OPTION_NAMES, *extra), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r}{hint}")


def with_defaults(given: Mapping[str, Any]) -> dict[str, Any]:
    """Every launch option, taking the given value or the default."""
    return {o.name: given.get(o.name, o.default) for o in LAUNCH_OPTIONS}


def launch_signature(
    *, first: Sequence[str], extra: Sequence[tuple[str, Any, str]] = ()
) -> inspect.Signature:
    """The signature `help()` and editors show for create()/run(): positional `first`, then
    every launch option as a keyword with its default and type, then `extra`."""
    # The TypedDict's annotations, as the text they were written as (ForwardRefs at run time).
    annotations = {
        name: getattr(hint, "__forward_arg__", hint)
        for name, hint in LaunchOptions.__annotations__.items()
    }
    parameters = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in first
    ]
    for option in LAUNCH_OPTIONS:
        parameters.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option.default,
                annotation=annotations[option.name],
            )
        )
    for name, default, annotation in extra:
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
    return inspect.Signature(parameters)
