"""Experiment states and the one table of transitions between them (public; see `_core.states`)."""

from ._core.states import (
    TERMINAL,
    TRANSITIONS,
    USER_ACTIONS,
    Action,
    Status,
    allowed_actions,
    is_allowed,
    outcome_reason,
    outcome_status,
    signal_name,
    sources,
)

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "USER_ACTIONS",
    "Action",
    "Status",
    "allowed_actions",
    "is_allowed",
    "outcome_reason",
    "outcome_status",
    "signal_name",
    "sources",
]
