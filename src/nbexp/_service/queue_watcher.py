"""Entry point of the processes that keep the queue moving when no notebook or CLI is alive.

`… HOME` runs one step (what a runner starts when its experiment ends); `… --watch HOME` runs
steps every few seconds until no local experiment waits (one watcher per home: a lock file).
Both are started as `python -c "… from nbexp._service.queue_watcher import main; main()" …`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .core import Service
from .scheduling import hold_watcher_lock, watch


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--watch":
        fd = hold_watcher_lock(args[1])
        if fd is None:
            return 0  # another watcher has it
        try:
            service = Service(args[1], watch_queue=False)
            watch(service.tick, service.store)
        finally:
            os.close(fd)
        return 0
    Service(args[0]).tick()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
