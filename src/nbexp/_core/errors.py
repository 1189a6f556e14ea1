"""The exceptions nbexp raises. Every message names the experiment, its state and the way out.

NbexpError
 ├── NotFound             no experiment with that id
 ├── InvalidTransition    the action is not allowed from the current state
 ├── Busy                 the resources it needs are taken (a CPU-only slot)
 │    └── GpuConflict     the requested GPUs are held by someone else
 ├── GpuUnavailable       a requested GPU does not exist
 ├── SpawnFailed          the command could not be started (not found, bad cwd, permissions)
 ├── StoreError           the database is corrupt, locked or unreadable
 ├── UsageError           bad arguments (an empty command, a malformed option value)
 └── WaitTimeout          wait() ran out of time (also a TimeoutError)
"""

from __future__ import annotations


class NbexpError(Exception):
    """Base class of every error nbexp raises on purpose."""


class NotFound(NbexpError, LookupError):
    def __init__(self, experiment_id: object) -> None:
        super().__init__(f"no experiment with id {experiment_id!r} (see `nbexp list`)")
        self.experiment_id = experiment_id


class InvalidTransition(NbexpError):
    def __init__(self, experiment_id: int, action: str, status: str, allowed: list[str]) -> None:
        hint = f"; allowed now: {', '.join(allowed)}" if allowed else "; no action is allowed now"
        super().__init__(
            f"cannot {action} experiment {experiment_id}: {status_phrase(status)}{hint}"
        )
        self.experiment_id = experiment_id
        self.action = action
        self.status = status
        self.allowed = allowed


class Busy(NbexpError):
    """What the experiment needs to start is taken now; the message says what and by whom."""


class GpuConflict(Busy):
    """The requested GPUs are busy; the message names who holds them."""


class GpuUnavailable(NbexpError):
    """A requested GPU does not exist on this machine."""


class SpawnFailed(NbexpError):
    """The experiment's command could not be started; the store records it as an error."""


class StoreError(NbexpError):
    """The database could not be opened, read or written."""


class UsageError(NbexpError, ValueError):
    """Bad arguments; the message says what is expected."""


class WaitTimeout(NbexpError, TimeoutError):
    """wait() gave up before the experiment finished."""


def status_phrase(status: str) -> str:
    """How a sentence says where an experiment stands: "it is running", "it ended in error"."""
    return "it ended in error" if status == "error" else f"it is {status}"
