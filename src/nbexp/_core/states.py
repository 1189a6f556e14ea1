"""Experiment states and the one table of transitions between them.

Pure data and predicates, no I/O. Every writer changes a status with a compare-and-set whose
`WHERE status IN (...)` comes from `sources(action)`, so the table here is the only authority.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Status(str, enum.Enum):
    PENDING = "pending"  # created, not started
    QUEUED = "queued"  # waiting for GPUs, a slot or a dependency
    RUNNING = "running"
    PAUSED = "paused"  # its process tree is stopped (SIGSTOP); it keeps its GPUs
    INTERRUPTED = "interrupted"  # stopped by a user
    ERROR = "error"  # non-zero exit, signal, failed to spawn, or lost
    COMPLETED = "completed"  # exit code 0

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_active(self) -> bool:
        """Running, paused or waiting to run: its processes exist (or will), so it must be
        watched for its end."""
        return self in (Status.QUEUED, Status.RUNNING, Status.PAUSED)


TERMINAL = frozenset({Status.INTERRUPTED, Status.ERROR, Status.COMPLETED})
# States whose processes exist and hold what they were given (GPUs, a CPU slot, a group slot):
# a paused experiment keeps its GPUs, so nothing else may be scheduled onto them.
HOLDING = (Status.RUNNING, Status.PAUSED)


class Action(str, enum.Enum):
    """Things a user (or nbexp itself) can do to an experiment."""

    START = "start"
    FORCE_START = "force start"
    QUEUE = "queue"
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    RESTART = "restart"
    REMOVE = "remove"
    # Internal events, not offered to users:
    LAUNCH = "launch"  # the scheduler starts a queued experiment
    FINISH = "finish"  # the process ended (or could not be spawned, or was lost)
    DEQUEUE = "dequeue"  # a queued experiment leaves the queue (stop while queued)
    RETRY = "retry"  # a failed attempt earned a retry: it waits in the queue for its time

    def __str__(self) -> str:
        return self.value


# action -> (states it is allowed from, state it leads to; None where the outcome decides)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.START: (frozenset({Status.PENDING}), Status.RUNNING),
    Action.QUEUE: (frozenset({Status.PENDING}), Status.QUEUED),
    Action.FORCE_START: (frozenset({Status.PENDING, Status.QUEUED}), Status.RUNNING),
    Action.LAUNCH: (frozenset({Status.QUEUED}), Status.RUNNING),
    Action.STOP: (frozenset({Status.RUNNING, Status.PAUSED}), Status.INTERRUPTED),
    Action.PAUSE: (frozenset({Status.RUNNING}), Status.PAUSED),
    Action.RESUME: (frozenset({Status.PAUSED}), Status.RUNNING),
    Action.DEQUEUE: (frozenset({Status.QUEUED}), Status.PENDING),
    Action.RESTART: (TERMINAL, Status.RUNNING),
    Action.REMOVE: (frozenset(Status) - {Status.RUNNING, Status.PAUSED}, None),
    # A batch-scheduler job can also end while it waits (cancelled by an administrator), and a
    # paused tree can still be killed (the OOM killer, a stop).
    Action.FINISH: (frozenset({Status.RUNNING, Status.QUEUED, Status.PAUSED}), None),
    # Only an error is retried: a stop (interrupted) never is.
    Action.RETRY: (frozenset({Status.ERROR}), Status.QUEUED),
}

USER_ACTIONS = (
    Action.START,
    Action.FORCE_START,
    Action.PAUSE,
    Action.RESUME,
    Action.STOP,
    Action.RESTART,
    Action.REMOVE,
)


def sources(action: Action) -> frozenset[Status]:
    """The states from which `action` is allowed."""
    return TRANSITIONS[action][0]


def is_allowed(action: Action, status: Status) -> bool:
    if action is Action.STOP and status is Status.QUEUED:
        return True  # stopping a queued experiment takes it out of the queue
    return status in sources(action)


def allowed_actions(status: Status, actions: Iterable[Action] = USER_ACTIONS) -> list[str]:
    """The user-facing actions the state allows, in a stable order, as words."""
    return [a.value for a in actions if is_allowed(a, status)]


def outcome_status(
    exit_code: int | None, signal_number: int | None, stop_requested: bool
) -> Status:
    """The final state of a process that ended with this exit code or signal."""
    if stop_requested:
        return Status.INTERRUPTED
    if exit_code == 0 and signal_number is None:
        return Status.COMPLETED
    return Status.ERROR


def outcome_reason(
    exit_code: int | None, signal_number: int | None, stop_requested: bool
) -> str | None:
    """Why it ended, in words; None for a clean exit."""
    if stop_requested:
        return "stopped by user"
    if signal_number is not None:
        return f"killed by {signal_name(signal_number)}"
    if exit_code not in (0, None):
        return f"exit code {exit_code}"
    return None


def signal_name(number: int) -> str:
    """SIGTERM for 15; "signal 99" for a number this system does not name."""
    import signal as _signal

    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
