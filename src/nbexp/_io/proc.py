"""Process identity and process trees, read straight from /proc (Linux).

No psutil here: the runner imports this module and its memory is part of every experiment's cost.
A pid is only trusted together with its identity (boot id + start time in clock ticks), so a pid
reused by an unrelated process is never mistaken for ours.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Iterable

TYPE_CHECKING = False  # no `typing` at run time: the runner imports this module
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    K = TypeVar("K")

_PR_SET_CHILD_SUBREAPER = 36
_boot_id: str | None = None


def boot_id() -> str:
    global _boot_id
    if _boot_id is None:
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                _boot_id = f.read().strip()
        except OSError:
            _boot_id = "unknown-boot"
    return _boot_id


def _read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (field 3 onwards), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    return data[data.rfind(b")") + 2 :].decode("ascii", "replace").split()


def identity(pid: int) -> str | None:
    """A string that names this process uniquely across pid reuse and reboots."""
    fields = _read_stat(pid)
    if fields is None:
        return None
    return f"{boot_id()}:{fields[19]}"  # field 22: start time in clock ticks since boot


def is_alive(pid: int | None, expected_identity: str | None = None) -> bool:
    """Whether `pid` is a live (non-zombie) process, and the same one when an identity is given."""
    if not pid:
        return False
    fields = _read_stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    if expected_identity is not None:
        return f"{boot_id()}:{fields[19]}" == expected_identity
    return True


def _all_stats() -> dict[int, list[str]]:
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _read_stat(int(entry))
            if fields is not None:
                stats[int(entry)] = fields
    return stats


def descendants(root_pid: int, process_groups: Iterable[int] = ()) -> set[int]:
    """Live descendants of `root_pid` plus every live member of the given process groups."""
    return descendants_of([root_pid], process_groups)


def _children(stats: dict[int, list[str]]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    return children


def _below(children: dict[int, list[int]], roots: Iterable[int]) -> set[int]:
    """Every descendant of `roots` (not the roots themselves) in a parent → children map."""
    found: set[int] = set()
    stack = list(roots)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _live(pids: Iterable[int], stats: dict[int, list[str]]) -> set[int]:
    return {pid for pid in pids if stats[pid][0] not in ("Z", "X")}


def descendants_of(root_pids: Iterable[int], process_groups: Iterable[int] = ()) -> set[int]:
    """Live descendants of any of `root_pids` (one scan of /proc for all of them), plus every
    live member of the given process groups."""
    stats = _all_stats()
    found = _below(_children(stats), root_pids)
    groups = set(process_groups)
    if groups:
        found |= {pid for pid, f in stats.items() if int(f[2]) in groups}
    return _live(found, stats) - {os.getpid()}


def trees(roots_by_key: dict[K, list[int]]) -> dict[K, set[int]]:
    """For each key, its live roots and all their descendants (one scan of /proc for all)."""
    stats = _all_stats()
    children = _children(stats)
    result: dict[K, set[int]] = {}
    for key, roots in roots_by_key.items():
        present = {r for r in roots if r in stats}
        result[key] = _live(present | _below(children, present), stats)
    return result


def processes_with_environ(markers: dict[str, str]) -> set[int]:
    """Live processes whose environment holds all `markers` (those we are allowed to read)."""
    wanted = [f"{k}={v}".encode() for k, v in markers.items()]
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if all(w in env for w in wanted) and is_alive(int(entry)):
            found.add(int(entry))
    return found


def signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def signal_group(pgid: int | None, sig: int) -> None:
    if pgid:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def become_subreaper() -> bool:
    """Make orphaned descendants reparent to this process, so the tree stays findable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def pid_owner(pid: int) -> str | None:
    """The user name owning `pid`, or None when it is gone or hidden (another pid namespace)."""
    import pwd

    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            uid_line = next(line for line in f if line.startswith(b"Uid:"))
        uid = int(uid_line.split()[1])  # the real uid, as ps shows
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)  # a uid without a name (containers): the number still says who


def kill_tree(walk: Callable[[], set[int]], *, timeout: float = 5.0) -> set[int]:
    """SIGKILL every process `walk()` finds until it finds none; the survivors (normally none).

    A process that forks while it is being killed would escape a single SIGKILL sent to a
    snapshot, so the tree is frozen first: SIGSTOP to every process found, walking again until no
    new one appears (a stopped process cannot fork), then SIGKILL to all of them. Repeated until
    the tree is empty or `timeout` seconds have passed (a process stuck in the kernel).
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        stopped = freeze(walk)
        signal_all(stopped, signal.SIGKILL)
        settle = time.monotonic() + 0.2  # SIGKILL is delivered asynchronously
        while time.monotonic() < min(settle, deadline):
            if not walk():
                return set()
            time.sleep(0.005)
        left = walk()
        if not left or time.monotonic() >= deadline:
            return left


def freeze(walk: Callable[[], set[int]]) -> set[int]:
    """SIGSTOP every process `walk()` finds, walking again until no new one appears (a stopped
    process cannot fork, so the tree stops growing); the processes stopped."""
    stopped: set[int] = set()
    while True:
        new = walk() - stopped
        if not new:
            return stopped
        signal_all(new, signal.SIGSTOP)
        stopped |= new


def is_stopped(pid: int) -> bool:
    """Whether `pid` is in the stopped state (T: SIGSTOP, or t: a tracer's stop)."""
    fields = _read_stat(pid)
    return fields is not None and fields[0] in ("T", "t")


def catches(pid: int, sig: int) -> bool:
    """Whether `pid` has a handler for `sig` (its SigCgt mask in /proc/PID/status): an nbexp
    runner older than the signal's use would be killed by it instead."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            line = next(line for line in f if line.startswith(b"SigCgt:"))
        return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except (OSError, StopIteration, ValueError, IndexError):
        return False


def group_members(pgid: int) -> set[int]:
    """Live members of process group `pgid`."""
    stats = _all_stats()
    return _live({pid for pid, f in stats.items() if int(f[2]) == pgid}, stats) - {os.getpid()}
