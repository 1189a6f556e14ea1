"""Actions from the browser: the one validated path back. A message names an experiment id and
a verb; both are checked against the store and the transition table before anything runs, and
any refusal becomes an error message for the page, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._core.errors import Busy, NbexpError, NotFound, UsageError, status_phrase
from .._core.records import ExperimentRecord
from .._core.states import USER_ACTIONS, Status, allowed_actions
from .._service.core import Service
from . import protocol
from .protocol import (
    ActionDoneMessage,
    ActionRefusedMessage,
    ErrorMessage,
    ProgressJson,
    RowJson,
    reply_to,
)

# Names of the actions the browser may ask for: the user actions, and what a refusal for busy
# GPUs offers (queue it, or force it), each checked as the action it retries.
RETRIES = {"queue start": "start", "queue restart": "restart", "force restart": "restart"}
ACTIONS = tuple(a.value for a in USER_ACTIONS) + tuple(RETRIES)
OFFERS = {"start": ["queue start", "force start"], "restart": ["queue restart", "force restart"]}


def check_action(service: Service, content: Any) -> tuple[int, str]:
    """The (experiment id, action) a browser message asks for, or a UsageError saying why not."""
    if not isinstance(content, dict):
        raise UsageError("an action message must be an object")
    experiment_id = content.get("id")
    action = content.get("action")
    if isinstance(experiment_id, bool) or not isinstance(experiment_id, int):
        raise UsageError(f"an action needs an integer experiment id, not {experiment_id!r}")
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    record = service.store.get(experiment_id)  # NotFound names the id
    allowed = allowed_actions(record.status)
    if RETRIES.get(action, action) not in allowed:
        now = ", ".join(allowed) if allowed else "nothing"
        raise UsageError(
            f"cannot {action} experiment {experiment_id}: {status_phrase(record.status.value)} "
            f"(allowed now: {now})"
        )
    return experiment_id, action


def run_action(service: Service, experiment_id: int, action: str, stop_grace: float) -> str:
    """Do a checked action; what happened, in words. Stop does not wait for the grace period:
    this runs on the kernel's comm thread, which must stay free for other messages."""
    lifecycle = service.lifecycle
    if action == "start":
        lifecycle.start(experiment_id, force=False, queue=False)
    elif action == "force start":
        lifecycle.start(experiment_id, force=True, queue=False)
    elif action == "stop":
        lifecycle.stop(experiment_id, stop_grace)
    elif action == "pause":
        lifecycle.pause(experiment_id)
        return f"paused experiment {experiment_id} (its GPUs stay held)"
    elif action == "resume":
        lifecycle.resume(experiment_id)
    elif action == "restart":
        lifecycle.restart(experiment_id, force=False, queue=False)
    elif action in ("queue start", "queue restart", "force restart"):
        retry = lifecycle.start if action == "queue start" else lifecycle.restart
        retry(experiment_id, force=action == "force restart", queue=action != "force restart")
    elif action == "remove":
        lifecycle.remove(experiment_id, delete_logs=True)
    return f"{action}: experiment {experiment_id}"


def handle_action(
    service: Service,
    content: Any,
    stop_grace: float,
    row_of: Callable[[int], RowJson | None],
) -> ActionDoneMessage | ActionRefusedMessage | ErrorMessage:
    """The reply to an action message: the fresh row on success, an error message otherwise
    (a refusal for busy GPUs offers to queue or force it)."""
    req = content.get("req") if isinstance(content, dict) else None
    try:
        experiment_id, action = check_action(service, content)
        message = run_action(service, experiment_id, action, stop_grace)
    except Busy as e:  # its GPUs (or a CPU slot) are taken: offer to queue it or force it
        if isinstance(content, dict) and content.get("action") in OFFERS:
            return refused(req, content, str(e))
        return protocol.error(req, str(e))
    except NbexpError as e:
        return protocol.error(req, str(e))
    except Exception as e:  # never a traceback in the page; the message still says what failed
        return protocol.error(req, f"{type(e).__name__}: {e}")
    return {
        "type": "action_done",
        "req": reply_to(req),
        "id": experiment_id,
        "action": action,
        "message": message,
        "row": row_of(experiment_id),
    }


def refused(req: Any, content: dict[str, Any], message: str) -> ActionRefusedMessage:
    return {
        "type": "refused",
        "req": reply_to(req),
        "id": content["id"],
        "action": content["action"],
        "message": message,
        "offers": OFFERS[content["action"]],
    }


def current_row(service: Service, experiment_id: int) -> RowJson | None:
    """One experiment's row as the table shows it, read afresh (None once removed)."""
    try:
        record = service.fresh_record(experiment_id)
    except NotFound:
        return None
    return protocol.row_json(record, row_progress(service, record))


def row_progress(service: Service, record: ExperimentRecord) -> ProgressJson | None:
    """The progress a row shows: its log's current bar once it has run; once it ended, the
    final progress its last look recorded (a bar cleared at the end still shows)."""
    if not record.log_path or record.status in (Status.PENDING, Status.QUEUED):
        return None
    if record.status.is_terminal and record.final_progress:
        return record.final_progress  # type: ignore[return-value]
    return service.watches.progress_json(record.log_path)  # type: ignore[return-value]
