"""Where nbexp keeps its state: NBEXP_HOME (default ~/.nbexp), private to the user.

A home, and every folder nbexp makes in it, must be the user's own and writable by nobody else:
on a shared server another user could otherwise plant symlinks where nbexp is about to write a log
and make a root-run experiment overwrite any file through them. Each store's logs live under its
own random id (`logs/<store id>/<experiment id>/`), so a folder is never reused by another store.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .._core.errors import StoreError

HOME_ENV = "NBEXP_HOME"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The nbexp home folder, created with mode 0700 when missing; refused when it is not
    private (another user's, or writable by others)."""
    if home is None or home == "":  # an empty --home means the default, as NBEXP_HOME= does
        home = os.environ.get(HOME_ENV) or Path.home() / ".nbexp"
    path = Path(home).expanduser().absolute()
    try:
        if not path.exists():
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path, 0o700)  # mkdir's mode is masked by the umask
    except OSError as e:
        raise StoreError(f"cannot create the nbexp home {path}: {e.strerror}") from None
    if not path.is_dir():
        raise StoreError(f"the nbexp home {path} is not a folder: set --home or NBEXP_HOME to one")
    check_private(path, os.stat(path), f"the nbexp home {path}")
    return path


def check_private(path: Path, info: os.stat_result, what: str) -> None:
    """Refuse a folder that another user owns or may write to, saying how to fix it."""
    if info.st_uid != os.geteuid():
        owner = _user_name(info.st_uid)
        raise StoreError(
            f"{what} belongs to another user ({owner}): nbexp only writes into folders of your "
            "own; set NBEXP_HOME (or --home) to a folder of yours"
        )
    if info.st_mode & 0o022:
        raise StoreError(
            f"{what} can be written by other users (mode {stat.S_IMODE(info.st_mode):04o}): "
            f"nbexp refuses to use it; run `chmod go-w {path}` (or chmod 700), or set "
            "NBEXP_HOME to a private folder"
        )


def database_path(home: Path) -> Path:
    return home / "nbexp.db"


def logs_root(home: Path, store_id: str) -> Path:
    """The folder of one store's logs."""
    return home / "logs" / store_id


def log_path(home: Path, store_id: str, experiment_id: int, attempt: int) -> Path:
    """The log file of one attempt; every attempt keeps its own."""
    return logs_root(home, store_id) / str(experiment_id) / f"attempt-{attempt}.log"


def runner_log_path(log: str) -> str:
    """Where the runner of the attempt logging to `log` writes if something goes wrong in it."""
    return log[: -len(".log")] + ".runner.log"


def ensure_private_dir(path: Path, home: Path) -> None:
    """Create `path` and any missing parents below `home`, each with mode 0700; refuse one that
    exists but is a symlink, another user's, or writable by others."""
    missing = []
    folder = path
    while folder != home and folder != folder.parent:
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            missing.append(folder)
            folder = folder.parent
            continue
        if not stat.S_ISDIR(info.st_mode):
            kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a folder"
            raise StoreError(
                f"{folder} is {kind}: nbexp will not write through it; remove it (rm {folder})"
            )
        check_private(folder, info, f"the log folder {folder}")
        break
    for new in reversed(missing):
        try:
            new.mkdir(mode=0o700)
        except FileExistsError:
            ensure_private_dir(new, home)  # made meanwhile (by another process?): check it
        except OSError as e:
            raise StoreError(f"cannot create the log folder {new}: {e.strerror}") from None


def _user_name(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name}, uid {uid}"
    except KeyError:
        return f"uid {uid}"
