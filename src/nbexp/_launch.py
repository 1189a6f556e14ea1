"""What exactly gets executed for an experiment: argv, environment and working directory.

Shared by the manager (to check a command before launching) and the runner (to launch it).
"""

from __future__ import annotations

import os

from ._errors import UsageError

# The runner imports this module: only os at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

EXPERIMENT_ID_ENV = "NBEXP_EXPERIMENT_ID"
ATTEMPT_ENV = "NBEXP_ATTEMPT"


def python_entry(module: str) -> list[str]:
    """Arguments after the interpreter that run `module`'s main() with the remaining argv,
    wherever nbexp is importable from (an editable checkout, a wheel), site or not."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    boot = f"import sys; sys.path.insert(0, sys.argv.pop(1)); from {module} import main; main()"
    return ["-c", boot, package_parent]


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
) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
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


def spawn_problem(argv: list[str], cwd: str, env: Mapping[str, str]) -> str | None:
    """Why `argv` could not be started in `cwd`, in words; None if it looks startable."""
    if not os.path.isdir(cwd):
        return f"working directory does not exist: {cwd}"
    if not os.access(cwd, os.X_OK):
        return f"permission denied: cannot enter working directory {cwd}"
    program = argv[0]
    if os.sep in program:
        path = program if os.path.isabs(program) else os.path.join(cwd, program)
        if not os.path.exists(path):
            return f"command not found: {program}"
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            return f"permission denied: {program} is not executable"
        return None
    if _which(program, env.get("PATH")) is None:
        hint = " (install uv: pip install uv)" if program == "uv" else ""
        return f"command not found: {program}{hint}"
    return None


def describe_os_error(error: OSError, argv: list[str], cwd: str) -> str:
    """Turn a failed exec/chdir into words a person can act on."""
    import errno

    if error.errno == errno.ENOENT:
        if error.filename == cwd or not os.path.isdir(cwd):
            return f"working directory does not exist: {cwd}"
        return f"command not found: {argv[0]}"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: {error.filename or argv[0]}"
    if error.errno == errno.ENOEXEC:
        return f"not an executable (missing #! line?): {argv[0]}"
    return f"failed to start {argv[0]}: {error.strerror or error}"


def _which(program: str, path: str | None) -> str | None:
    for folder in (path if path is not None else os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or ".", program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_executable(program: str, path: str | None) -> str:
    """The file to exec for `program`, searched in the child's PATH (as execvpe would)."""
    if os.sep in program:
        return program
    found = _which(program, path)
    if found is None:
        raise FileNotFoundError(2, "No such file or directory", program)
    return found
