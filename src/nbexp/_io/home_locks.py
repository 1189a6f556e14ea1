"""Advisory locks that keep a helper process to one per home (the queue watcher, the metrics
reader): an `flock` on a small file in the home, which the holder keeps open for its life and
writes its pid into. The file is never opened through a symlink."""

from __future__ import annotations

import fcntl
import os
import time

_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def holder(home: str | os.PathLike[str], name: str) -> int | None:
    """The pid of the process holding the home's lock `name` right now (0 if it has not
    written its pid yet), else None. Also None when the file cannot be opened (a symlink)."""
    try:
        fd = os.open(os.path.join(home, name), _FLAGS, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            return int(os.pread(fd, 32, 0) or b"0")
        except ValueError:
            return 0  # taken, its pid being written
    finally:
        os.close(fd)  # closing releases a lock we took
    return None


def hold(home: str | os.PathLike[str], name: str) -> int | None:
    """Take the home's lock `name` for good: an fd to keep open, our pid written in it; None
    when another process holds it. OSError (ELOOP for a symlink) when it cannot be opened."""
    fd = os.open(os.path.join(home, name), _FLAGS, 0o600)
    for _ in range(20):  # a `holder` call elsewhere takes the lock for a few µs now and then
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            time.sleep(0.005)
    else:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
