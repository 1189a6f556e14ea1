"""The transition table as data: what each action allows, and outcomes in words."""

import signal

import pytest

from nbexp.states import (
    TERMINAL,
    TRANSITIONS,
    Action,
    Status,
    allowed_actions,
    is_allowed,
    outcome_reason,
    outcome_status,
)


def test_seven_states() -> None:
    assert [s.value for s in Status] == [
        "pending",
        "queued",
        "running",
        "paused",
        "interrupted",
        "error",
        "completed",
    ]
    assert {Status.INTERRUPTED, Status.ERROR, Status.COMPLETED} == TERMINAL


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (Action.START, {Status.PENDING}),
        (Action.FORCE_START, {Status.PENDING, Status.QUEUED}),
        (Action.STOP, {Status.RUNNING, Status.PAUSED, Status.QUEUED}),
        (Action.PAUSE, {Status.RUNNING}),
        (Action.RESUME, {Status.PAUSED}),
        (Action.RESTART, {Status.INTERRUPTED, Status.ERROR, Status.COMPLETED}),
        (Action.REMOVE, set(Status) - {Status.RUNNING, Status.PAUSED}),
    ],
)
def test_user_actions_follow_the_design(action: Action, allowed: set[Status]) -> None:
    assert {s for s in Status if is_allowed(action, s)} == allowed


def test_every_action_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(Action)


def test_allowed_actions_in_words() -> None:
    assert allowed_actions(Status.RUNNING) == ["pause", "stop"]
    assert allowed_actions(Status.PAUSED) == ["resume", "stop"]
    assert allowed_actions(Status.COMPLETED) == ["restart", "remove"]
    assert allowed_actions(Status.QUEUED) == ["force start", "stop", "remove"]


@pytest.mark.parametrize(
    ("code", "sig", "stopped", "status", "reason"),
    [
        (0, None, False, Status.COMPLETED, None),
        (3, None, False, Status.ERROR, "exit code 3"),
        (None, signal.SIGSEGV, False, Status.ERROR, "killed by SIGSEGV"),
        (None, signal.SIGKILL, True, Status.INTERRUPTED, "stopped by user"),
        (0, None, True, Status.INTERRUPTED, "stopped by user"),
    ],
)
def test_outcomes(code, sig, stopped, status, reason) -> None:  # type: ignore[no-untyped-def]
    assert outcome_status(code, sig, stopped) is status
    assert outcome_reason(code, sig, stopped) == reason


def test_public_names() -> None:
    import nbexp

    for name in nbexp.__all__:
        assert getattr(nbexp, name) is not None


def test_run_takes_exactly_what_create_takes_plus_start_options() -> None:
    # run() spells out create()'s keywords (for help() and editors); keep the two in step.
    import inspect

    from nbexp import ExperimentManager

    create = inspect.signature(ExperimentManager.create).parameters
    run = inspect.signature(ExperimentManager.run).parameters
    assert {k: v.default for k, v in run.items() if k not in ("queue", "force")} == {
        k: v.default for k, v in create.items()
    }
