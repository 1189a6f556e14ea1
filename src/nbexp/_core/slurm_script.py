"""The text of nbexp's Slurm batch scripts: one job per attempt, or one job array for a sweep
whose task i runs member i's command. Pure: `_exec.slurm_client` writes and submits them.

Every command is exec'd, so that Slurm's signals (scancel, `--signal=B:USR1@90` before the time
limit) reach the command itself rather than a shell in between. A GPU job may start the
telemetry sidecar first, in the background: it watches the batch shell's pid (which the exec
keeps) and ends with it.
"""

from __future__ import annotations

import re
import shlex
import signal as _signal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .errors import UsageError

__all__ = ["Task", "array_script", "batch_script", "slurm_signal"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Slurm's --signal takes the lead in seconds, at most 65535.
MAX_SIGNAL_LEAD_S = 65535
# The largest array index a default Slurm accepts is MaxArraySize - 1 (1000 - 1).
DEFAULT_MAX_ARRAY_SIZE = 1000


@dataclass(frozen=True)
class Task:
    """One command of a job: what runs, where, with which variables, and its sidecar."""

    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str] = field(default_factory=dict)
    # The telemetry sidecar's argv (its --pid is added here) and where its complaints go.
    sidecar: Sequence[str] | None = None
    sidecar_log: str | None = None


def slurm_signal(timeout_signal: tuple[int, float] | None) -> str | None:
    """`--signal`'s value for nbexp's early signal (signal number, seconds before the limit):
    B: sends it to the batch shell only, which is the exec'd command itself."""
    if timeout_signal is None:
        return None
    number, lead = timeout_signal
    name = _signal.Signals(number).name.removeprefix("SIG")
    seconds = min(MAX_SIGNAL_LEAD_S, max(1, round(lead)))
    return f"B:{name}@{seconds}"


def batch_script(
    *,
    argv: Sequence[str],
    cwd: str,
    env: Mapping[str, str],
    log_path: str,
    job_name: str,
    partition: str | None = None,
    time: str | None = None,
    cpus: int | None = None,
    mem: str | None = None,
    gpus: int | None = None,
    signal: str | None = None,
    begin: str | None = None,
    extra: Iterable[str] = (),
    sidecar: Sequence[str] | None = None,
    sidecar_log: str | None = None,
) -> str:
    """A bash batch script that runs `argv` in `cwd` with `env` added.

    stdout and stderr both go to `log_path` (appended, byte for byte).
    """
    if not argv:
        raise UsageError("the Slurm job needs a command (argv is empty)")
    options = [
        *_common_options(job_name, partition, time, cpus, mem, gpus, signal, begin, extra),
        f"--output={_sbatch_value(log_path)}",  # no --error: stderr joins stdout in one log
        f"--chdir={_sbatch_value(cwd)}",
    ]
    lines = ["#!/bin/bash", *(f"#SBATCH {option}" for option in options), ""]
    lines += _task_lines(Task(argv, cwd, env, sidecar, sidecar_log))
    return "\n".join([*lines, ""])


def array_script(
    tasks: Sequence[Task],
    *,
    output_pattern: str,
    job_name: str,
    max_parallel: int | None = None,
    partition: str | None = None,
    time: str | None = None,
    cpus: int | None = None,
    mem: str | None = None,
    gpus: int | None = None,
    signal: str | None = None,
    extra: Iterable[str] = (),
) -> str:
    """One job array (`--array=0-(N-1)%K`) whose task i runs `tasks[i]`, dispatched on
    SLURM_ARRAY_TASK_ID. `output_pattern` holds `%a` (the task index): each task's output
    path, which nbexp links to that member's attempt log before submitting."""
    if not tasks:
        raise UsageError("a job array needs at least one task")
    if len(tasks) > DEFAULT_MAX_ARRAY_SIZE:
        raise UsageError(
            f"a Slurm job array holds at most {DEFAULT_MAX_ARRAY_SIZE} tasks by default "
            f"(MaxArraySize), not {len(tasks)}: split the sweep"
        )
    if "%a" not in output_pattern:
        raise UsageError(f"the array's output pattern must hold %a: {output_pattern!r}")
    spread = f"0-{len(tasks) - 1}"
    if max_parallel is not None:
        spread += f"%{_positive(max_parallel, 'max_parallel')}"
    options = [
        *_common_options(job_name, partition, time, cpus, mem, gpus, signal, None, extra),
        f"--array={spread}",
        f"--output={_sbatch_value(output_pattern)}",
        f"--chdir={_sbatch_value(tasks[0].cwd)}",
    ]
    lines = ["#!/bin/bash", *(f"#SBATCH {option}" for option in options), ""]
    lines.append('case "$SLURM_ARRAY_TASK_ID" in')
    for index, task in enumerate(tasks):
        lines.append(f"{index})")
        lines += [f"    {line}" for line in _task_lines(task)]
        lines.append("    ;;")
    lines.append("esac")
    # Only reached for an index the script has no command for (never, unless edited).
    lines.append('echo "nbexp: no command for array task $SLURM_ARRAY_TASK_ID" >&2')
    lines.append("exit 1")
    return "\n".join([*lines, ""])


def _task_lines(task: Task) -> list[str]:
    if not task.argv:
        raise UsageError("the Slurm job needs a command (argv is empty)")
    lines = [f"export {name}={shlex.quote(value)}" for name, value in _checked_env(task.env)]
    lines += ["export PYTHONUNBUFFERED=1", f"cd {shlex.quote(task.cwd)} || exit 1"]
    if task.sidecar:
        # $$ is this shell, which becomes the command at the exec below: the sidecar ends when
        # it does (Slurm also ends every process of the job).
        log = shlex.quote(task.sidecar_log or "/dev/null")
        lines.append(f"{shlex.join(task.sidecar)} --pid $$ </dev/null >>{log} 2>&1 &")
    lines.append(f"exec {shlex.join(task.argv)}")
    return lines


def _common_options(
    job_name: str,
    partition: str | None,
    time: str | None,
    cpus: int | None,
    mem: str | None,
    gpus: int | None,
    signal: str | None,
    begin: str | None,
    extra: Iterable[str],
) -> list[str]:
    options = [
        f"--job-name={_sbatch_value(job_name)}",
        "--open-mode=append",  # a header written by nbexp, or Slurm's own messages, are kept
        # One Slurm job is one attempt: Slurm's own requeue would put a running experiment back
        # to PENDING under the same job and log. nbexp requeues as a new attempt instead
        # (requeue_on). `extra` may say --requeue to override.
        "--no-requeue",
    ]
    if partition:
        options.append(f"--partition={_sbatch_value(partition)}")
    if time:
        options.append(f"--time={_sbatch_value(time)}")
    if cpus is not None:
        options.append(f"--cpus-per-task={_positive(cpus, 'cpus')}")
    if mem:
        options.append(f"--mem={_sbatch_value(mem)}")
    if gpus is not None:
        options.append(f"--gpus={_positive(gpus, 'gpus')}")
    if signal:
        options.append(f"--signal={_sbatch_value(signal)}")
    if begin:
        options.append(f"--begin={_sbatch_value(begin)}")
    for option in extra:
        if "\n" in option or not option.startswith("-"):
            raise UsageError(f"extra sbatch option must be one option like --qos=high: {option!r}")
        options.append(option)
    return options


def _sbatch_value(value: str) -> str:
    # sbatch reads #SBATCH lines itself: double quotes group a value with spaces; there is no
    # escape for a quote or a newline, so refuse those instead of writing a broken script.
    if "\n" in value or '"' in value:
        raise UsageError(f"sbatch option values cannot hold quotes or newlines: {value!r}")
    return f'"{value}"' if (" " in value or "\t" in value) else value


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise UsageError(f"{name} must be at least 1 for a Slurm job, got {value}")
    return value


def _checked_env(env: Mapping[str, str]) -> list[tuple[str, str]]:
    for name in env:
        if not _ENV_NAME.match(name):
            raise UsageError(f"not a valid environment variable name: {name!r}")
    return sorted(env.items())
