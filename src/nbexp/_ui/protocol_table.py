"""The wire format of the runs table and the log view's tools, part of the protocol that
`protocol.py` declares (and re-exports: js/src/protocol.js mirrors them all, checked by
tests/test_widget_types.py).

The table: the kernel sends a window of rows (what a view scrolls over) plus counts, never every
row. A view asks for its window with `WindowRequest` and gets a `RowsMessage`; ticks carry the
windows that changed. The log view: search over the whole log, and exports sent in chunks.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

# -- parts --------------------------------------------------------------------------------------


class GroupLineJson(TypedDict):
    """A group's summary line in the grouped table."""

    name: str
    total: int
    statuses: dict[str, int]  # members per status
    collapsed: bool
    best: dict[str, Any] | None  # {metric, value, id, lower_is_better}: its best run, if any
    max_parallel: int | None
    paused: bool


class WindowJson(TypedDict):
    """What one view shows: `items[i]` is item `offset + i` of the table, an experiment id or,
    in grouped mode, a group's name (its summary line, in `groups`)."""

    view: str
    offset: int
    total: int  # items in the whole table (for the scroll height)
    items: list[int | str]
    groups: dict[str, GroupLineJson]


class CountsJson(TypedDict):
    total: int  # experiments in the store
    matching: int  # past the group / text / hide-ended filters
    shown: int  # past the status chips too
    statuses: dict[str, int]  # per status, among `matching` (the chips' counts)
    groups: list[str]  # group names, the newest first (the group filter's choices)
    params: list[str]  # parameter names among `matching` (column chooser)
    metrics: list[str]  # metric names among `matching` (column chooser)


class RefusalJson(TypedDict):
    id: int
    message: str


class AttemptJson(TypedDict):
    """One attempt in the log view's attempt picker."""

    attempt: int
    status: str
    end: str | None  # how it ended, in words ("exit code 1", "stopped by user")


# -- kernel → browser ---------------------------------------------------------------------------


class RowsMessage(TypedDict):
    """A view's window, in answer to its WindowRequest (or to hello)."""

    type: Literal["rows"]
    req: int | None
    window: WindowJson
    rows: list[Any]  # RowJson: those of the window the page may not have (yet, or fresh)
    counts: CountsJson
    forget: list[int]  # rows the page may drop (no view shows them)


class BulkDoneMessage(TypedDict):
    type: Literal["bulk_done"]
    req: int | None
    action: str
    done: list[int]
    refused: list[RefusalJson]
    message: str


class ActionRefusedMessage(TypedDict):
    """A start or restart refused because what it needs is busy: the page offers to queue it
    or force it (`offers`), by sending the action again with `queue` or `force`."""

    type: Literal["refused"]
    req: int | None
    id: int
    action: str
    message: str
    offers: list[str]  # "queue", "force"


class LogMatchesMessage(TypedDict):
    type: Literal["log_matches"]
    req: int | None
    id: int
    attempt: int
    query: str
    matches: list[int]  # line numbers, in order (the first MAX_MATCHES)
    truncated: bool  # more matched than were sent
    total: int  # lines searched


class LogChunkMessage(TypedDict):
    """A piece of an export: the raw bytes (base64) or the rendered text."""

    type: Literal["log_chunk"]
    req: int | None
    id: int
    attempt: int
    format: str  # "raw" or "text"
    data: str
    cursor: int | None  # ask again from here; None: that was the last piece
    size: int  # the log file's size in bytes


# -- browser → kernel ---------------------------------------------------------------------------


class WindowRequest(TypedDict):
    type: Literal["window"]
    req: int
    view: str  # the view asking (each has its own scroll position)
    offset: int
    limit: int


class BulkRequest(TypedDict):
    type: Literal["bulk"]
    req: int
    action: str  # stop, restart, remove (confirmed in the page), start
    ids: list[int]  # the selected experiments…
    matching: bool  # …or (True) every one the current filter shows


class LogSearchRequest(TypedDict):
    type: Literal["log_search"]
    req: int
    id: int
    attempt: int
    query: str
    regex: bool
    case: bool  # match case


class LogExportRequest(TypedDict):
    type: Literal["log_export"]
    req: int
    id: int
    attempt: int
    format: str  # "raw" (the bytes as written) or "text" (as a terminal shows it)
    cursor: int  # 0 first, then the cursor of the last chunk
