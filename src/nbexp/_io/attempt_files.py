"""Small files beside an attempt's log, written by its runner: a second record of what the store
also holds, for when the store cannot be written (locked for long, read-only, replaced).

- `attempt-N.pid`: the runner's and the command's pid and identity, written before the store is
  told, so that a stop or a reconcile finds the processes even while the store is locked.
- `attempt-N.exit`: the outcome (exit code or signal, status, reason, end time).

Files are created with O_NOFOLLOW (a symlink planted there is refused, never written through)
and written whole to a temporary name, then renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # the runner imports this module: no typing at run time
if TYPE_CHECKING:
    from typing import Any


def exit_file_path(log_path: str) -> str:
    return log_path[: -len(".log")] + ".exit"


def pid_file_path(log_path: str) -> str:
    return log_path[: -len(".log")] + ".pid"


def write_json(path: str, data: dict[str, Any]) -> None:
    """Write `data` to `path` atomically (temporary file, fsync-free rename), mode 0600.
    Raises OSError (a full disk, a deleted folder) for the caller to weigh."""
    temporary = f"{path}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.rename(temporary, path)  # rename replaces a planted symlink itself, not its target
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def read_json(path: str) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when missing, unreadable or not an object."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
