"""What exactly gets executed for an experiment: its argv and its environment (pure).

Shared by the service (to check a command before launching) and the runner (to launch it).
"""

from __future__ import annotations

import os

from .errors import UsageError

# The runner imports this module: only os at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

EXPERIMENT_ID_ENV = "NBEXP_EXPERIMENT_ID"
ATTEMPT_ENV = "NBEXP_ATTEMPT"
DEFAULT_TTY_SIZE = (120, 40)  # columns, rows: what `tty=True` and a bare `--tty` mean


def normalize_command(command: str | Sequence[str], shell: bool) -> list[str]:
    """An argv list from what the user gave; a shell only when asked for."""
    import shlex

    if isinstance(command, str):
        if shell:
            argv = [command] if command.strip() else []
        else:
            try:
                argv = shlex.split(command)
            except ValueError as e:
                raise UsageError(f"cannot parse the command {command!r}: {e}") from None
    else:
        argv = [str(part) for part in command]
        if shell and len(argv) > 1:
            # A list is words, never shell text: each one quoted, so ["echo", "a;b"] prints a;b.
            argv = [shlex.join(argv)]
    if not argv or not argv[0]:
        raise UsageError("no command given: pass the program to run, e.g. 'python train.py'")
    return argv


def effective_argv(command: list[str], *, shell: bool, uv: bool) -> list[str]:
    """The argv the runner executes: through /bin/sh -c or `uv run` when asked."""
    argv = ["/bin/sh", "-c", " ".join(command)] if shell else list(command)
    if uv:
        argv = ["uv", "run", "--", *argv]
    return argv


def child_environment(
    overrides: Mapping[str, str],
    *,
    home: str | os.PathLike[str],
    experiment_id: int,
    attempt: int,
    gpus: Sequence[int | str] | None,
    base: Mapping[str, str] | None = None,
    uv: bool = False,
) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    if uv:
        # `uv run` picks the project's own environment; the launcher's (a kernel started with
        # `uv run`, an activated venv) would only make uv warn that it does not match.
        _leave_virtualenv(env)
    env.update(overrides)
    env["PYTHONUNBUFFERED"] = "1"
    env[EXPERIMENT_ID_ENV] = str(experiment_id)
    env[ATTEMPT_ENV] = str(attempt)
    env["NBEXP_HOME"] = str(home)
    if gpus is not None:
        # CUDA's own default order is "fastest first"; PCI order matches NVML and nvidia-smi.
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
    return env


def _leave_virtualenv(env: dict[str, str]) -> None:
    """Drop an activated virtualenv from `env`: VIRTUAL_ENV and its bin folder on PATH."""
    venv = env.pop("VIRTUAL_ENV", None)
    env.pop("VIRTUAL_ENV_PROMPT", None)
    env.pop("UV_PROJECT_ENVIRONMENT", None)  # would point `uv run` at the launcher's venv
    if venv and "PATH" in env:
        venv_bin = os.path.join(venv, "bin")
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
