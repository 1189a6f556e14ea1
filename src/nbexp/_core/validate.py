"""Checks of what users pass in: each bad value becomes one UsageError (or NotFound) that names
the argument and says what to use instead. Pure functions, no I/O."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .durations import format_duration, parse_duration, parse_timeout_signal, slurm_time
from .errors import NotFound, UsageError
from .failures import rule_problem
from .launch import DEFAULT_TTY_SIZE, normalize_command
from .options import SLURM_OPTION_NAMES, with_defaults
from .slurm_jobs import REQUEUE_KINDS
from .states import Status

MAX_LABEL = 100  # characters of a group name or a tag


def default_name(argv: list[str]) -> str:
    """A short readable name: the script for `python x.py`, else the program."""
    if len(argv) >= 2 and argv[1] in ("-c", "-m"):
        return " ".join(argv[:3])[:60] if argv[1] == "-m" else f"{os.path.basename(argv[0])} -c"
    words = [os.path.basename(a) for a in argv if not a.startswith("-")]
    if len(words) >= 2 and words[0].startswith(("python", "uv", "sh", "bash")):
        return words[1][:60]
    return (words[0] if words else argv[0])[:60]


def check_executor(executor: Any) -> str:
    if executor not in ("local", "slurm"):
        raise UsageError(f"unknown executor {executor!r}: use 'local' or 'slurm'")
    return executor


def tty_options(tty: bool | tuple[int, int]) -> dict[str, Any]:
    if tty is False or tty is None:
        return {}
    size = DEFAULT_TTY_SIZE if tty is True else tty
    # The kernel keeps a terminal's size in unsigned shorts: a bigger one would crash the runner.
    if not (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 65535 for n in size)
    ):
        raise UsageError(f"tty size must be (columns, rows) of ints from 1 to 65535, not {tty!r}")
    columns, rows = size
    return {"tty": {"columns": columns, "rows": rows}}


def parse_experiment_id(value: Any) -> int:
    """An id as an int; anything that is not one is simply not found."""
    if isinstance(value, bool):
        raise NotFound(value)
    if isinstance(value, float) and not value.is_integer():
        raise NotFound(value)  # 2.5 is no id (int() would quietly make it 2)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise NotFound(value) from None
    if not -(2**63) <= number < 2**63:
        raise NotFound(value)  # no row can have it; SQLite could not even look
    return number


def check_ids(values: Any, what: str) -> list[int]:
    """Experiment ids given as a list (a lone int is accepted too)."""
    if values is None:
        return []
    if isinstance(values, int) and not isinstance(values, bool):
        values = [values]
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, set)):
        raise UsageError(f"{what} must be a list of experiment ids, e.g. [3, 4], not {values!r}")
    ids = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{what} must be a list of experiment ids, not {values!r}")
        ids.append(value)
    return ids


def check_env(env: Mapping[str, str] | None) -> dict[str, str]:
    overrides: dict[str, str] = {}
    if env is not None and not isinstance(env, Mapping):
        raise UsageError(f"env must be a mapping such as {{'KEY': 'value'}}, not {env!r}")
    for key, value in (env or {}).items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise UsageError(f"invalid environment variable name {key!r}")
        # Numbers and paths read naturally as text; None or b"..." would become "None", "b'...'".
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or "\0" in value:
            raise UsageError(f"environment variable {key} must be a string, not {value!r}")
        overrides[key] = value
    return overrides


def check_gpu_request(gpus: int | Sequence[int | str] | None) -> Any:
    """None (CPU only), an int (any N free GPUs), or a list of indices / UUIDs."""
    if gpus is None:
        return None
    if isinstance(gpus, bool):
        raise UsageError("gpus must be a count (gpus=2) or a list (gpus=[0, 1]), not a bool")
    if isinstance(gpus, int):
        if gpus < 0:
            raise UsageError(f"gpus must be >= 0, not {gpus}")
        return gpus if gpus > 0 else None
    if isinstance(gpus, str):
        raise UsageError(f"gpus must be a list such as [0, 1] (got the string {gpus!r})")
    if not isinstance(gpus, Iterable):  # gpus=1.5: a TypeError from deep inside otherwise
        raise UsageError(f"gpus must be a count (gpus=2) or a list (gpus=[0, 1]), not {gpus!r}")
    request: list[int | str] = []
    for g in gpus:
        if isinstance(g, bool):
            raise UsageError(f"not a GPU index or UUID: {g!r}")
        if isinstance(g, int) or (isinstance(g, str) and g.isascii() and g.isdigit()):
            request.append(int(g))
        elif isinstance(g, str) and g.startswith(("GPU-", "MIG-")):
            request.append(g)
        else:
            raise UsageError(f"not a GPU index or UUID: {g!r} (use 0, 1, … or GPU-xxxxxxxx…)")
    if len(set(map(str, request))) != len(request):
        raise UsageError(f"a GPU is listed twice in {list(gpus)!r}")
    return request


def parse_status(value: Status | str) -> Status:
    if isinstance(value, Status):
        return value
    try:
        return Status(value.lower())
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise UsageError(f"unknown status {value!r}: use one of {names}") from None


def check_seconds(value: Any, what: str, *, allow_none: bool = True) -> float | None:
    """A finite number of seconds >= 0 (NaN, infinity, strings and bools refused)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{what} must be a number of seconds, not {value!r}")
    if not 0 <= value < math.inf:  # written so that NaN is refused too
        raise UsageError(f"{what} must be a finite number of seconds >= 0, not {value!r}")
    return float(value)


def check_count(value: Any, what: str) -> int | None:
    """None or an int >= 0 (e.g. a number of lines)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{what} must be a whole number >= 0, not {value!r}")
    return value


def check_flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{what} must be True or False, not {value!r}")
    return value


@dataclass(frozen=True)
class LaunchRequest:
    """A new experiment's launch options, checked: what the store keeps of it."""

    argv: list[str]
    name: str
    cwd: str | None  # as given; the service makes it absolute and checks that it exists
    env: dict[str, str]
    gpus: Any  # None, a count, or a list of indices / UUIDs
    uv: bool
    shell: bool
    priority: int
    after: list[int]
    executor: str
    options: dict[str, Any] = field(default_factory=dict)  # tty, GPU sharing, Slurm, …
    group: str | None = None  # the group it belongs to (a sweep is one)
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    params: dict[str, Any] | None = None  # a sweep run's parameters
    # retries, retry_on, retry_delay, timeout, timeout_signal, on_end: the store's columns
    endings: dict[str, Any] = field(default_factory=dict)


def check_launch(command: Any, given: Mapping[str, Any], default_executor: str) -> LaunchRequest:
    """Every launch option checked (see `options.LAUNCH_OPTIONS`); UsageError names the first
    bad one."""
    values = with_defaults(given)
    shell = check_flag(values["shell"], "shell")
    if not isinstance(command, (str, list, tuple)):
        raise UsageError(
            f"the command must be a string or a list of arguments, not {type(command).__name__}"
        )
    argv = normalize_command(command, shell)
    name = values["name"]
    if name is not None and (not isinstance(name, str) or not name.isprintable()):
        # A newline or escape breaks every table.
        raise UsageError(f"name must be one line of printable text, not {name!r}")
    cwd = values["cwd"]
    if cwd is not None and not isinstance(cwd, (str, os.PathLike)):
        raise UsageError(f"cwd must be a folder path, not {cwd!r}")
    gpus = check_gpu_request(values["gpus"])
    executor = check_executor(values["executor"] or default_executor)
    options = tty_options(values["tty"])
    if check_flag(values["share_gpus"], "share_gpus"):
        options["share_gpus"] = True
    memory = values["min_gpu_memory_mb"]
    if memory is not None:
        if not isinstance(memory, int) or isinstance(memory, bool) or memory < 0:
            raise UsageError(
                f"min_gpu_memory_mb (--min-gpu-memory) must be MB >= 0, not {memory!r}"
            )
        options["min_free_memory_mb"] = memory
    slurm_values = {k: values[k] for k in SLURM_OPTION_NAMES}
    if executor == "slurm":
        options["slurm"] = slurm_options(slurm_values, gpus)
    elif any(v is not None for v in slurm_values.values()):
        named = [k for k, v in slurm_values.items() if v is not None]
        given_names, verb = ", ".join(named), "applies" if len(named) == 1 else "apply"
        raise UsageError(
            f"{given_names} only {verb} to Slurm experiments: add executor='slurm' "
            "(--executor slurm)"
        )
    priority = values["priority"]
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise UsageError(f"priority must be an integer, not {priority!r}")
    if not -(2**63) <= priority < 2**63:
        raise UsageError(f"priority must be below 2**63 in size, not {priority}")
    return LaunchRequest(
        argv=argv,
        name=name or default_name(argv),
        cwd=os.fspath(cwd) if cwd is not None else None,
        env=check_env(values["env"]),
        gpus=gpus,
        uv=check_flag(values["uv"], "uv"),
        shell=shell,
        priority=priority,
        after=check_ids(values["after"], "after"),
        executor=executor,
        options=options,
        **check_labels(values),
        endings=check_endings(values, options),
    )


def check_group_name(group: Any, what: str = "group") -> str:
    """A group's name: one line of printable text, as the tables and `--group G` show it."""
    if not isinstance(group, str) or not group.strip() or not group.isprintable():
        raise UsageError(f"{what} must be a name (one line of printable text), not {group!r}")
    if group != group.strip() or len(group) > MAX_LABEL:
        raise UsageError(
            f"{what} must have no spaces around it and at most {MAX_LABEL} characters, "
            f"not {group!r}"
        )
    return group


def check_tag(tag: Any) -> str:
    """A tag: a word without spaces or commas that does not start with + or - (`nbexp tag ID
    +best -old` adds and removes them)."""
    if (
        not isinstance(tag, str)
        or not tag
        or not tag.isprintable()
        or any(c.isspace() or c == "," for c in tag)
        or tag[0] in "+-"
        or len(tag) > MAX_LABEL
    ):
        raise UsageError(
            f"a tag must be a word (no spaces or commas, not starting with + or -, at most "
            f"{MAX_LABEL} characters), not {tag!r}"
        )
    return tag


def check_tags(tags: Any) -> list[str]:
    """Tags as a list without repeats (a lone string is one tag)."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, (list, tuple, set, frozenset)):
        raise UsageError(f"tags must be a list of words such as ['best'], not {tags!r}")
    return list(dict.fromkeys(check_tag(tag) for tag in tags))


def check_note(note: Any) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str) or len(note) > 10_000 or "\0" in note:
        raise UsageError(f"note must be text (at most 10,000 characters), not {note!r}")
    return note or None


def check_labels(values: Mapping[str, Any]) -> dict[str, Any]:
    """The group, tags and note of a launch, checked."""
    group = values.get("group")
    return {
        "group": check_group_name(group) if group is not None else None,
        "tags": check_tags(values.get("tags")),
        "note": check_note(values.get("note")),
    }


def check_endings(values: Mapping[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Retries, the time limit and the on_end hook, checked, as the store's columns. On Slurm
    the time limit becomes the job's --time (written into `options`)."""
    retries = values["retries"]
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 1000:
        raise UsageError(
            f"retries (--retries) must be a whole number from 0 to 1000, not {retries!r}"
        )
    retry_on = values["retry_on"]
    if retry_on is not None:
        if isinstance(retry_on, str):
            retry_on = [retry_on]
        if not isinstance(retry_on, (list, tuple)):
            raise UsageError(
                f"retry_on must be a list such as ['cuda-oom', 'exit:137'], not {retry_on!r}"
            )
        for rule in retry_on:
            problem = rule_problem(rule)
            if problem is not None:
                raise UsageError(f"retry_on (--retry-on): {problem}")
        retry_on = list(retry_on)
    delay = values["retry_delay"]
    no_delay = not isinstance(delay, bool) and (delay == 0 or delay in ("0", "0s"))
    retry_delay = 0.0 if no_delay else parse_duration(delay, "retry_delay")
    timeout = values["timeout"]
    timeout_seconds = None if timeout is None else parse_duration(timeout, "timeout")
    timeout_signal = values["timeout_signal"]
    if timeout_signal is not None:
        if timeout_seconds is None:
            raise UsageError("timeout_signal (--timeout-signal) needs a time limit: add timeout=")
        _, lead = parse_timeout_signal(timeout_signal)
        if lead >= timeout_seconds:
            raise UsageError(
                f"timeout_signal {timeout_signal!r} would come before the attempt starts: its "
                f"lead must be shorter than the time limit ({format_duration(timeout_seconds)})"
            )
    on_end = values["on_end"]
    if on_end is not None and (not isinstance(on_end, str) or "\0" in on_end):
        raise UsageError(f"on_end (--on-end) must be a shell command line, not {on_end!r}")
    slurm = options.get("slurm")
    requeue_on = check_requeue_on(values.get("requeue_on"), slurm is not None, retries, retry_on)
    if slurm is not None and timeout_seconds is not None:
        if slurm.get("time") is not None:
            raise UsageError("give the time limit once: timeout= (--timeout) or time= (--time)")
        slurm["time"] = slurm_time(timeout_seconds)
    return {
        "retries": retries,
        "retry_on": retry_on,
        "retry_delay": retry_delay,
        "timeout": timeout_seconds,
        "timeout_signal": timeout_signal.strip() if timeout_signal is not None else None,
        "on_end": on_end,
        "requeue_on": requeue_on,
    }


def check_requeue_on(
    value: Any, slurm: bool, retries: int, retry_on: list[str] | None
) -> list[str] | None:
    """The Slurm endings that resubmit an experiment as a new attempt, up to `retries` times
    (None: none). On Slurm, these are what retries apply to (retry_on is for local runs)."""
    if slurm and retry_on is not None:
        raise UsageError(
            "retry_on (--retry-on) applies to local runs; on Slurm, requeue_on (--requeue-on) "
            "says which endings resubmit"
        )
    if slurm and retries and value is None:
        raise UsageError(
            "on Slurm, retries (--retries) resubmit the endings requeue_on names: add "
            "requeue_on=['timeout', 'preempted', 'node-fail'] (--requeue-on "
            "timeout,preempted,node-fail)"
        )
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise UsageError(
            f"requeue_on must be a list such as ['timeout', 'preempted'], not {value!r}"
        )
    for kind in value:
        if kind not in REQUEUE_KINDS:
            raise UsageError(
                f"requeue_on (--requeue-on): unknown ending {kind!r} "
                f"(use {', '.join(REQUEUE_KINDS)})"
            )
    if not slurm:
        raise UsageError(
            "requeue_on (--requeue-on) applies to Slurm experiments: add executor='slurm' "
            "(--executor slurm)"
        )
    return list(dict.fromkeys(value))


def slurm_options(values: dict[str, Any], gpus: Any) -> dict[str, Any]:
    """Checked per-experiment Slurm options (stored in the record's options)."""
    if isinstance(gpus, list):
        raise UsageError(
            "on Slurm, ask for a number of GPUs (gpus=2, --gpus 2): Slurm chooses which ones"
        )
    options = {k: v for k, v in values.items() if v is not None}
    cpus = options.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1):
        raise UsageError(f"cpus must be a positive integer, not {cpus!r}")
    for key in ("partition", "time", "mem"):
        value = options.get(key)
        if value is None:
            continue
        # sbatch reads its options from #SBATCH lines: a quote or a line break cannot be written.
        if (
            not isinstance(value, str)
            or not value.strip()
            or not value.isprintable()
            or '"' in value
        ):
            raise UsageError(
                f"{key} must be one line of text without quotes for sbatch, not {value!r}"
            )
    return options
