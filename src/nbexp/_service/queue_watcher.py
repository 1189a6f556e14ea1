"""Entry point of the processes that keep the queue moving when no notebook or CLI is alive.

`… HOME [--ended ID ATTEMPT]` runs one step (what a runner starts when its experiment ends; it
first reads the ended attempt's metrics to the end of its log); `… --watch HOME` runs steps
every few seconds until no local experiment waits (one watcher per home: a lock file).
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
    service = Service(args[0])
    if len(args) >= 4 and args[1] == "--ended":
        _read_metrics(service, int(args[2]), int(args[3]))
    service.tick()
    return 0


def _read_metrics(service: Service, experiment_id: int, attempt: int) -> None:
    """Read the ended attempt's log to its end into the store (its metric history and final
    progress), so a run nobody watched has them. Never fails the step that follows."""
    try:
        record = service.store.get(experiment_id)
        service.metrics.caught_up(record, attempt)  # pass after pass: a log can be long
    except Exception as e:  # a vanished experiment, a locked store: the next look catches up
        print(f"nbexp: could not read experiment {experiment_id}'s metrics: {e}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
