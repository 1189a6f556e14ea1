"""One process per home that reads running local experiments' logs into their metric histories,
so that a notebook kernel watching them does not: a dashboard's monitor asks
`ReaderStarter.ensure` at each tick and, while a reader holds the home's lock, leaves the
running experiments' passes to it (table rows and charts read the store either way). Any
number of kernels then share one reader instead of each extracting the same bytes, and
histories keep growing after the kernel is gone.

`… --watch HOME [IDLE_EXIT_S]` reads every READ_INTERVAL_S until no local experiment has run
for IDLE_EXIT_S seconds.
It is started as `python -c "… from nbexp._service.metrics_reader import main; main()" …`,
detached, so it outlives the kernel that started it. If it dies, the kernel's next tick finds
the lock free and reads the logs itself again (and starts another, at most once per
RESTART_AFTER_S): nothing is lost, the cursor in the store says where reading stands.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .._core.states import Status
from .._io.home_locks import hold, holder
from .._io.spawn import python_entry, track_child
from .._io.store import Store
from .metrics import Metrics

READER_LOCK = "metrics-reader.lock"
READER_LOG = "metrics-reader.log"
READER_LOG_BYTES = 1 << 20
READ_INTERVAL_S = 1.0
IDLE_EXIT_S = 10.0
RESTART_AFTER_S = 30.0  # a reader that keeps dying is not restarted at every tick
READ_BY_READER = (Status.RUNNING, Status.PAUSED)  # of local experiments


def reader_pid(home: str | os.PathLike[str]) -> int | None:
    """The pid of the reader holding this home's lock right now (0 if it has not written its
    pid yet), else None."""
    return holder(home, READER_LOCK)


class ReaderStarter:
    """Starts a home's reader when none holds the lock (from a dashboard's monitor)."""

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.home = str(home)
        self._last_start = -RESTART_AFTER_S

    def ensure(self) -> bool:
        """Whether a reader holds the lock now; if not, start one (it takes over from a later
        tick on: until then the caller reads the logs itself)."""
        if reader_pid(self.home) is not None:
            return True
        if time.monotonic() - self._last_start >= RESTART_AFTER_S:
            self._last_start = time.monotonic()
            try:
                log = _open_reader_log(self.home)
            except OSError:
                return False  # a symlink planted there, a full disk: the caller reads itself
            try:
                reader = subprocess.Popen(
                    [sys.executable, *python_entry(__name__), "--watch", self.home],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError:
                return False  # the caller keeps reading the logs itself
            finally:
                os.close(log)
            track_child(reader)
        return False


def _open_reader_log(home: str) -> int:
    """The reader's own log (what failed, and when), started afresh past READER_LOG_BYTES."""
    path = os.path.join(home, READER_LOG)
    try:
        too_big = os.lstat(path).st_size > READER_LOG_BYTES
    except FileNotFoundError:
        too_big = False
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(path, flags | (os.O_TRUNC if too_big else 0), 0o600)


def _hold_lock(home: str) -> int | None:
    """Take the home's reader lock for good (an fd to keep open), or None."""
    try:
        return hold(home, READER_LOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            print(f"nbexp: {home}/{READER_LOCK} is a symlink: not reading metrics", file=sys.stderr)
            sys.stderr.flush()
        return None


def read_while_running(
    metrics: Metrics,
    store: Store,
    interval: float = READ_INTERVAL_S,
    idle_exit: float = IDLE_EXIT_S,
) -> None:
    """Read the running local experiments' new output every `interval` seconds (at most
    TICK_BYTES each, as a monitor tick does) until none has run for `idle_exit` seconds, or
    every round has failed for 3 x `idle_exit` (a store locked for that long, or broken: a
    kernel's next tick reads the logs itself and starts another reader later)."""
    idle_since: float | None = None
    failing_since: float | None = None
    while True:
        began = time.monotonic()
        try:
            running = [r for r in store.list(READ_BY_READER) if r.executor == "local"]
            metrics.forget_except({(r.id, r.attempt) for r in running})
            metrics.tick(running)
            failing_since = None
        except Exception as e:  # a locked store, a full disk: the stored cursor says where to go on
            when = time.strftime("%Y-%m-%d %H:%M:%S")
            print(f"{when} nbexp: reading metrics failed: {e}", file=sys.stderr, flush=True)
            failing_since = began if failing_since is None else failing_since
            if began - failing_since >= 3 * idle_exit:
                return
            running = None
        if running == []:
            idle_since = began if idle_since is None else idle_since
            if began - idle_since >= idle_exit:
                return
        elif running:
            idle_since = None
        time.sleep(max(0.0, interval - (time.monotonic() - began)))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3) or args[0] != "--watch":
        print("usage: … metrics_reader --watch HOME [IDLE_EXIT_S]", file=sys.stderr)
        return 2
    home = str(Path(args[1]))
    idle_exit = float(args[2]) if len(args) == 3 else IDLE_EXIT_S
    fd = _hold_lock(home)
    if fd is None:
        return 0  # another reader has it
    store = None
    try:
        store = Store(home)
        read_while_running(Metrics(store), store, idle_exit=idle_exit)
    finally:
        if store is not None:
            store.close()
        os.close(fd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
