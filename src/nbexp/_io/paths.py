"""Where nbexp keeps its state: NBEXP_HOME (default ~/.nbexp), private to the user."""

from __future__ import annotations

import os
from pathlib import Path

from .._core.errors import StoreError

HOME_ENV = "NBEXP_HOME"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The nbexp home folder, created with mode 0700 when missing."""
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
    return path


def database_path(home: Path) -> Path:
    return home / "nbexp.db"


def log_path(home: Path, experiment_id: int, attempt: int) -> Path:
    """The log file of one attempt; every attempt keeps its own."""
    return home / "logs" / str(experiment_id) / f"attempt-{attempt}.log"


def runner_log_path(home: Path, experiment_id: int, attempt: int) -> Path:
    """Where the runner itself writes if something goes wrong inside it."""
    return home / "logs" / str(experiment_id) / f"attempt-{attempt}.runner.log"


def ensure_private_dir(path: Path) -> None:
    """Create `path` and any missing parents, each with mode 0700."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
