"""Old home of the scheduling step. Runners started by nbexp 0.1 end with
`from nbexp._scheduling import main; main()`, so it stays as a shim for
`nbexp._service.queue_watcher`."""

from ._service.queue_watcher import main

__all__ = ["main"]
