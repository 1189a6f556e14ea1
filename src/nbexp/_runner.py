"""Old home of the runner. Command lines spawned by nbexp 0.1 (`from nbexp._runner import main`)
still name it, so it stays as a shim: the runner is `nbexp._exec.runner`."""

from ._exec.runner import main

__all__ = ["main"]
