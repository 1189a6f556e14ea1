"""Starting programs: whether a command looks startable, why an exec failed (in words), where
an executable is, and the boot line that runs one of nbexp's own modules in a new interpreter.
"""

from __future__ import annotations

import os

# The runner imports this module: only os at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Mapping

# Detached children this process started (runners, queue watchers): polled now and then so a
# long-lived kernel keeps no zombies.
_children: list[subprocess.Popen[bytes]] = []


def track_child(child: subprocess.Popen[bytes]) -> None:
    _children.append(child)
    reap_children()


def reap_children() -> None:
    """Collect the detached children that have exited."""
    _children[:] = [c for c in _children if c.poll() is None]


def python_entry(module: str) -> list[str]:
    """Arguments after the interpreter that run `module`'s main() with the remaining argv,
    wherever nbexp is importable from (an editable checkout, a wheel), site or not."""
    # this file is PARENT/nbexp/_io/spawn.py
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    boot = f"import sys; sys.path.insert(0, sys.argv.pop(1)); from {module} import main; main()"
    return ["-c", boot, package_parent]


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
