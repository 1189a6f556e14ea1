"""The kernel's OOM-kill counter of this process's memory cgroup (cgroup v2 `memory.events`, or
v1 `memory.oom_control`), so that a SIGKILL nobody in nbexp sent can be blamed on the OOM killer
with evidence rather than a guess. Slurm, Docker, Kubernetes and systemd all run a job in such a
cgroup, with its runner. Only `os` at run time: the runner imports this module.
"""

from __future__ import annotations

import os

CGROUP_ROOT = "/sys/fs/cgroup"


def _memory_cgroup_files(pid: int | str = "self") -> list[str]:
    """Where the OOM counter of `pid`'s memory cgroup may be read, most specific first."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    files = []
    for line in lines:
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        path = path.lstrip("/")
        if controllers == "":  # v2: one unified hierarchy
            for root in (CGROUP_ROOT, os.path.join(CGROUP_ROOT, "unified")):
                files.append(os.path.join(root, path, "memory.events"))
        elif "memory" in controllers.split(","):  # v1: the memory controller's own hierarchy
            files.append(os.path.join(CGROUP_ROOT, "memory", path, "memory.oom_control"))
    return [f for f in files if os.path.exists(f)]


def oom_kill_count(pid: int | str = "self") -> int | None:
    """How many processes the OOM killer has killed in `pid`'s memory cgroup so far, or None
    when no counter can be read (no memory controller, an old kernel, another namespace)."""
    for path in _memory_cgroup_files(pid):
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip().isdigit():
                        return int(value)
        except OSError:
            continue
    return None
