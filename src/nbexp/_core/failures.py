"""Why an attempt ended, as a kind and one line, derived from the tail of its log, its exit code
or signal, and who sent that signal; and whether a failure of that kind is retried. Pure: the
caller reads the log and the memory cgroup, this module only looks at what it is given.

The patterns live in one table, `LOG_PATTERNS`: a new kind of failure is one more entry there
(and its name in `KINDS`).
"""

from __future__ import annotations

import re
import signal as _signal
from dataclasses import dataclass

from .durations import format_duration

KINDS = ("exception", "cuda-oom", "oom-killed", "nccl", "segfault", "timeout", "signal", "exit")
# What `retry_on=None` means: every kind but a Python exception (a bug does not fix itself).
DEFAULT_RETRY_ON = tuple(kind for kind in KINDS if kind != "exception")
RULE_PREFIXES = ("exit:", "signal:", "regex:")
SUMMARY_MAX = 300  # characters of a summary (the log has the rest)
TAIL_BYTES = 64 * 1024  # how much of a log's end is read for a summary

# kind -> what a line of output says when it failed that way. Searched from the end of the log;
# a Python traceback's own last line is tried first.
LOG_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "cuda-oom",
        re.compile(
            r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED"
            r"|CUDA error: out of memory|cudaErrorMemoryAllocation"
            r"|RESOURCE_EXHAUSTED: Out of memory"
        ),
    ),
    (
        "nccl",
        re.compile(
            r"NCCL [Ee]rror"
            r"|nccl(?:InternalError|SystemError|UnhandledCudaError|RemoteError|InvalidUsage)"
            r"|NCCL communicator was aborted|Watchdog caught collective operation timeout"
            r"|ProcessGroupNCCL.*(?:[Tt]imeout|timed out)|DistBackendError"
        ),
    ),
    ("segfault", re.compile(r"Segmentation fault|Fatal Python error: Segmentation fault")),
)

_TRACEBACK = re.compile(r"^(?:\s*[|+]\s*)?Traceback \(most recent call last\):\s*$")
# An exception's own line: a (dotted) class name alone, or followed by ": message".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?::(?:\s.*)?)?$")
_FAULT_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+) in (?P<func>\S+)')
_ANSI = re.compile(r"\x1b\[[0-9;?:<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


@dataclass(frozen=True)
class Failure:
    """Why an attempt failed: a kind from `KINDS` and one line a person can act on."""

    kind: str
    summary: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "summary": self.summary}


@dataclass(frozen=True)
class Ending:
    """What the runner knows about how the command ended, beyond its log."""

    exit_code: int | None
    signal: int | None
    stopped: bool = False  # a user (or the runner's own stop signal) ended it
    stop_reason: str | None = None  # "stopped by user", "stopped: the runner received SIGTERM"
    timed_out_after: float | None = None  # the time limit, when it was reached
    oom_kills: int | None = None  # new OOM kills in its memory cgroup (None: not readable)
    peak_rss: int | None = None  # bytes: the largest process's peak, when known


def clean_tail(data: bytes) -> list[str]:
    """The lines of a log's tail as a terminal would leave them, roughly: colours and other
    escapes dropped, a line redrawn with \\r kept as its last drawing."""
    text = data.decode("utf-8", "replace")
    lines = []
    for raw in text.split("\n"):
        line = _ANSI.sub("", raw).rstrip("\r")
        if "\r" in line:
            line = next((part for part in reversed(line.split("\r")) if part.strip()), "")
        lines.append(line.rstrip())
    return lines


def classify(lines: list[str], ending: Ending) -> Failure | None:
    """The failure of an attempt whose log ends with `lines`; None for a success or a stop a
    user asked for."""
    if ending.timed_out_after is not None:
        return Failure("timeout", f"timed out after {format_duration(ending.timed_out_after)}")
    if ending.stopped:
        if ending.stop_reason and ending.stop_reason != "stopped by user":
            return Failure("signal", _short(ending.stop_reason))
        return None
    if ending.exit_code == 0 and ending.signal is None:
        return None
    if ending.signal == _signal.SIGSEGV:
        return Failure("segfault", _segfault_summary(lines, from_signal=True))
    if ending.oom_kills:
        return Failure("oom-killed", _oom_summary(ending, certain=True))
    exception = last_exception(lines)
    if exception is not None:
        return Failure(_kind_of(exception) or "exception", _short(exception))
    for line in reversed(lines):
        kind = _kind_of(line)
        if kind == "segfault":
            return Failure(kind, _segfault_summary(lines, from_signal=False))
        if kind is not None:
            return Failure(kind, _short(line.strip()))
    return _from_status(lines, ending)


def _from_status(lines: list[str], ending: Ending) -> Failure:
    context = last_line(lines)
    if ending.signal == _signal.SIGKILL:
        if ending.oom_kills is None:
            return Failure("oom-killed", _oom_summary(ending, certain=False))
        return Failure(
            "signal",
            "killed by SIGKILL, sent by another process (its memory cgroup recorded no OOM kill)",
        )
    if ending.signal is not None:
        name = signal_name(ending.signal)
        return Failure("signal", _short(f"killed by {name}, not sent by nbexp" + _after(context)))
    return Failure("exit", _short(f"exit code {ending.exit_code}" + _after(context)))


def _after(context: str | None) -> str:
    return f": {context}" if context else ""


def _kind_of(line: str) -> str | None:
    for kind, pattern in LOG_PATTERNS:
        if pattern.search(line):
            return kind
    return None


def last_exception(lines: list[str]) -> str | None:
    """The last line of the last Python traceback in `lines` (chained exceptions end with the
    one that was raised last); lines printed after the traceback are skipped."""
    for start in range(len(lines) - 1, -1, -1):
        if not _TRACEBACK.match(lines[start]):
            continue
        for line in lines[start + 1 :]:
            text = _strip_group_prefix(line)
            if not text or text[0].isspace():
                continue  # a frame, its source line, or the ^^^ markers under it
            if _EXCEPTION_LINE.match(text):
                return text.strip()
        return None  # cut off before its last line (still running when killed?)
    return None


def _strip_group_prefix(line: str) -> str:
    # Exception groups indent their members' tracebacks behind "| ".
    stripped = line.lstrip()
    if stripped.startswith("| "):
        return stripped[2:]
    return line


def last_line(lines: list[str]) -> str | None:
    for line in reversed(lines):
        if line.strip():
            return _short(line.strip())
    return None


def _segfault_summary(lines: list[str], *, from_signal: bool) -> str:
    """ "Segmentation fault (SIGSEGV) in string_at (ctypes/__init__.py, line 519)": the first
    frame of a faulthandler dump, when Python printed one."""
    text = "Segmentation fault (SIGSEGV)" if from_signal else "Segmentation fault"
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(("Current thread", "Thread 0x")):
            for line in lines[index + 1 : index + 4]:
                frame = _FAULT_FRAME.match(line)
                if frame:
                    where = f"{frame['file'].rsplit('/', 2)[-1]}, line {frame['line']}"
                    return _short(f"{text} in {frame['func']} ({where})")
            break
    return text


def _oom_summary(ending: Ending, *, certain: bool) -> str:
    peak = f"; its largest process peaked at {_size(ending.peak_rss)}" if ending.peak_rss else ""
    if certain:
        count = ending.oom_kills or 0
        events = f"{count} OOM kill{'s' if count != 1 else ''}"
        return f"killed by the kernel's OOM killer ({events} in its memory cgroup{peak})"
    return f"killed by SIGKILL, not sent by nbexp: possibly the kernel's OOM killer{peak}"


def _size(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# -- retries ----------------------------------------------------------------------------------


def rule_problem(rule: object) -> str | None:
    """Why `rule` is not a retry_on entry, or None: a kind, exit:N, signal:NAME, regex:…"""
    if not isinstance(rule, str):
        return f"{rule!r} is not text"
    if rule in KINDS:
        return None
    prefix, _, value = rule.partition(":")
    if prefix == "exit":
        return (
            None if value.isascii() and value.isdigit() else f"{rule!r}: use exit:N, e.g. exit:137"
        )
    if prefix == "signal":
        name = value.upper() if value.upper().startswith("SIG") else "SIG" + value.upper()
        known = isinstance(getattr(_signal, name, None), _signal.Signals)
        return None if known else f"{rule!r}: unknown signal (use e.g. signal:SIGKILL)"
    if prefix == "regex":
        try:
            re.compile(value)
        except re.error as e:
            return f"{rule!r}: not a regular expression ({e})"
        return None if value else f"{rule!r}: the pattern is empty"
    return (
        f"unknown failure kind {rule!r} (use one of {', '.join(KINDS)}, exit:N, signal:NAME "
        "or regex:PATTERN)"
    )


def should_retry(
    rules: list[str] | tuple[str, ...] | None,
    failure: Failure,
    ending: Ending,
    lines: list[str],
) -> bool:
    """Whether `failure` is one the user asked to retry. exit:N also matches a death by signal
    N - 128 (a shell reports SIGKILL as 137); regex: searches the summary and the log's tail."""
    for rule in DEFAULT_RETRY_ON if rules is None else rules:
        prefix, _, value = rule.partition(":")
        if rule == failure.kind:
            return True
        if prefix == "exit" and value.isdigit():
            code = int(value)
            if ending.exit_code == code or (
                ending.signal is not None and ending.signal + 128 == code
            ):
                return True
        elif prefix == "signal" and ending.signal is not None:
            if signal_name(ending.signal) in (value.upper(), "SIG" + value.upper()):
                return True
        elif prefix == "regex":
            pattern = re.compile(value)
            if pattern.search(failure.summary) or any(pattern.search(line) for line in lines):
                return True
    return False


@dataclass(frozen=True)
class Retry:
    """A retry to schedule: which one (1-based) out of how many, when, and why in words."""

    number: int
    total: int
    delay: float
    kind: str

    @property
    def reason(self) -> str:
        wait = f" in {format_duration(self.delay)}" if self.delay > 0 else ""
        return f"retry {self.number}/{self.total} after {self.kind}{wait}"


def plan_retry(
    *,
    retries: int,
    retried: int,
    retry_on: list[str] | None,
    retry_delay: float,
    failure: Failure | None,
    ending: Ending,
    lines: list[str],
) -> Retry | None:
    """The retry an ended attempt earns, or None: none left, a success, a stop (never
    retried), or a kind `retry_on` leaves out."""
    if failure is None or ending.stopped or retried >= retries:
        return None
    if not should_retry(retry_on, failure, ending, lines):
        return None
    return Retry(number=retried + 1, total=retries, delay=retry_delay, kind=failure.kind)
