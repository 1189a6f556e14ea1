"""Groups of experiments (a sweep is one): creating a sweep's runs in one transaction, and the
verbs on a whole group — stop, restart, remove, wait, pause and resume its queue, its parallel
limit. The scheduler honours the limit and the pause (`_core.scheduler.held_back`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._core.errors import Busy, GpuConflict, NbexpError, UsageError, WaitTimeout
from .._core.records import ExperimentRecord
from .._core.scheduler import Launch, Request, plan
from .._core.settings import Settings
from .._core.states import HOLDING, TERMINAL, Status
from .._core.sweeps import SweepPlan, describe, plan_sweep, typed_value
from .._core.validate import LaunchRequest, check_group_name, check_launch, check_seconds
from .._exec.slurm import SlurmExecutor, array_options
from .._io import listing
from .._io.store import Store
from .claims import claim
from .gpus import GpuOwnership
from .lifecycle import Lifecycle
from .scheduling import Scheduling, explicit_gpus, with_groups

# Where a group's members stand, summed for `nbexp group ls` and the dashboard's group lines.
ACTIVE = (Status.QUEUED, Status.RUNNING, Status.PAUSED)  # a paused member still has to end


@dataclasses.dataclass(frozen=True)
class SweepOptions:
    """How a sweep's runs are made, beside the run options every run gets."""

    mode: str = "grid"
    samples: int | None = None
    seed: int | None = None
    max_parallel: int | None = None
    queue: bool = True
    force: bool = False
    typed: bool = False  # values are command-line text: store "1e-3" as the number 0.001


def check_max_parallel(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"max_parallel must be a whole number >= 1 (or None), not {value!r}")
    return value


class Groups:
    """The group verbs of one home."""

    def __init__(
        self,
        home: Path,
        store: Store,
        lifecycle: Lifecycle,
        scheduling: Scheduling,
        gpus: GpuOwnership,
        settings: Callable[[], Settings],
        reconcile: Callable[[], None],
    ) -> None:
        self.home = home
        self.reconcile = reconcile  # brings running rows up to date (ended, lost)
        self.store = store
        self.lifecycle = lifecycle
        self.scheduling = scheduling
        self.gpus = gpus
        self.settings = settings

    # -- sweeps -------------------------------------------------------------------------------

    def sweep(
        self,
        template: Any,
        params: Any,
        group: str | None,
        how: SweepOptions,
        run_options: Mapping[str, Any],
        default_executor: str,
    ) -> tuple[str, list[int]]:
        """Create (and queue) a sweep's runs; (group name, ids). Every check comes first: a bad
        template, parameter or option creates nothing."""
        max_parallel = check_max_parallel(how.max_parallel)
        shell = run_options.get("shell", False)
        sweep = plan_sweep(
            template,
            params,
            mode=how.mode,
            samples=how.samples,
            seed=how.seed,
            shell=shell if isinstance(shell, bool) else False,
            env=run_options.get("env"),
        )
        name = check_group_name(group, "the sweep's name") if group else self._new_name()
        requests = self._requests(sweep, name, run_options, default_executor, how.typed)
        if not how.queue and not how.force:
            self._refuse_unless_all_start(requests)
        rows = [self.lifecycle.row_values(r) for r in requests]
        if requests[0].executor == "slurm":
            # ONE sbatch --array=0-(N-1)%K: each run is a task of it, and its own experiment.
            return name, self._submit_array(rows, name, max_parallel)
        ids = listing.insert_queued(self.store, rows, name, max_parallel)
        if how.force:
            for experiment_id in ids:
                self.lifecycle.start(experiment_id, force=True, queue=False)
        else:
            self.scheduling.step()  # start what fits now; a watcher keeps the rest moving
        return name, ids

    def _submit_array(
        self, rows: Sequence[dict[str, Any]], group: str, max_parallel: int | None
    ) -> list[int]:
        """A Slurm sweep as one job array: the runs inserted and claimed (queued, attempt 1,
        this process as their launcher) in two transactions, then one sbatch call."""
        executor = self.lifecycle.executors["slurm"]
        assert isinstance(executor, SlurmExecutor)
        array_options([self._draft(row) for row in rows])  # one array: the same sbatch options
        ids = listing.insert_queued(self.store, rows, group, max_parallel)
        attempts: list[int] = []
        paths: list[str] = []
        with self.store.write() as conn:
            for experiment_id in ids:
                attempt, path = claim(
                    self.store,
                    self.home,
                    conn,
                    experiment_id,
                    0,
                    from_statuses=frozenset({Status.QUEUED}),
                    to_status=Status.QUEUED,
                    reason=f"submitting to slurm as task {len(attempts)} of one job array",
                )
                attempts.append(attempt)
                paths.append(path)
        wanted = set(ids)
        records = [r for r in self.store.list([Status.QUEUED]) if r.id in wanted]
        records.sort(key=lambda r: ids.index(r.id))
        executor.launch_array(records, attempts, paths, max_parallel)
        return ids

    def _draft(self, row: Mapping[str, Any]) -> ExperimentRecord:
        """A record of a run not yet inserted, enough to compare its sbatch options."""
        return ExperimentRecord(
            id=0,
            name=row["name"],
            command=row["command"],
            shell=row["shell"],
            cwd=row["cwd"],
            env=row["env"],
            gpus=row["gpus"],
            status=Status.PENDING,
            created=0.0,
            started=None,
            ended=None,
            pid=None,
            exit_code=None,
            signal=None,
            error=None,
            attempt=0,
            log_path=None,
            options=row["options"],
            timeout_signal=row.get("timeout_signal"),
        )

    def _requests(
        self,
        sweep: SweepPlan,
        group: str,
        options: Mapping[str, Any],
        executor: str,
        typed: bool,
    ) -> list[LaunchRequest]:
        if "group" in options or "name" in options:
            which = "group" if "group" in options else "name"
            raise UsageError(
                f"a sweep's runs are named after the sweep: pass the sweep's name= instead "
                f"of {which}="
            )
        requests = []
        for run in sweep.runs:
            given = {
                **options,
                "env": {**(options.get("env") or {}), **run.env} or None,
                "name": f"{group} {describe(run.params)}",
                "group": group,
            }
            request = check_launch(run.command, given, executor)
            params = {k: typed_value(v) for k, v in run.params.items()} if typed else run.params
            requests.append(dataclasses.replace(request, params=params))
        workdir = requests[0].cwd
        if workdir is not None and not os.path.isdir(workdir):
            raise UsageError(f"working directory does not exist: {os.path.abspath(workdir)}")
        for dependency in requests[0].after:
            self.store.get(dependency)  # NotFound names the missing id
        return requests

    def _new_name(self) -> str:
        """sweep-1, sweep-2, …: the first such name no group has yet."""
        taken = set(listing.group_counts(self.store))
        number = 1
        while f"sweep-{number}" in taken:
            number += 1
        return f"sweep-{number}"

    def _refuse_unless_all_start(self, requests: list[LaunchRequest]) -> None:
        """queue=False: every run must be able to start now, as run() would require of one;
        otherwise nothing is created and the refusal says what is busy."""
        wants_gpus = any(r.gpus is not None for r in requests)
        report = self.gpus.sample() if wants_gpus else None
        with self.store.read() as conn:
            running = self.store.list(list(HOLDING), conn)  # paused: still holds its GPUs
            resources = with_groups(
                self.gpus.resources(report, running, self.settings()), running, self.store, conn
            )
            after = {d for r in requests for d in r.after}
            statuses = self.store.dependency_statuses(conn, after)
        asked = []
        for number, request in enumerate(requests):
            explicit = explicit_gpus(request.gpus, report, force=False)
            gpus = tuple(explicit) if explicit is not None else request.gpus
            memory = request.options.get("min_free_memory_mb")
            asked.append(
                Request(
                    id=-(number + 1),
                    gpus=gpus,
                    share=bool(request.options.get("share_gpus")),
                    min_free_memory=memory * 1024**2 if memory else None,
                    priority=request.priority,
                    queued_at=float(number),
                    after=tuple(request.after),
                )
            )
        for decision in plan(asked, resources, statuses):
            if not isinstance(decision, Launch):
                why = getattr(decision, "reason", "busy")
                conflict = GpuConflict if requests[0].gpus is not None else Busy
                raise conflict(
                    f"cannot start all {len(requests)} runs of the sweep now: run "
                    f"{-decision.id} {why}; pass queue=True (--queue) to queue them"
                )

    # -- reading ------------------------------------------------------------------------------

    def members(
        self, group: str, statuses: Sequence[Status] | None = None
    ) -> list[ExperimentRecord]:
        return listing.matching(self.store, statuses=statuses, group=self.known(group))

    def known(self, group: Any) -> str:
        """The group's name, if any experiment or setting has it; else a UsageError listing
        some that exist."""
        name = check_group_name(group)
        if not listing.group_exists(self.store, name):
            names = list(listing.group_counts(self.store))[:5]
            hint = f" (groups: {', '.join(names)})" if names else " (there are no groups yet)"
            raise UsageError(f"no group named {name!r}{hint}")
        return name

    def summaries(self) -> dict[str, dict[str, Any]]:
        return listing.group_counts(self.store)

    # -- verbs --------------------------------------------------------------------------------

    def stop(self, group: str, grace: float) -> list[int]:
        """Take the group's queued members out of the queue, then stop the running ones (in
        that order, so that no queued member starts in a slot a stopped one freed); the ids
        acted on."""
        name = self.known(group)
        acted: list[int] = []
        for _ in range(3):  # a step elsewhere may start a member meanwhile: look again
            active = self.members(name, ACTIVE)
            if not active:
                break
            for record in sorted(active, key=lambda r: r.status in HOLDING):
                with contextlib.suppress(NbexpError):  # it ended meanwhile: nothing to do
                    self.lifecycle.stop(record.id, grace)
                    acted.append(record.id)
        return sorted(set(acted))

    def restart(self, group: str, *, failed_only: bool) -> list[int]:
        """Run the group's ended members again (only those that failed, by default), through the
        queue so that the group's limit holds; the ids restarted."""
        wanted = [Status.ERROR] if failed_only else sorted(TERMINAL)
        restarted = []
        for record in self.members(group, wanted):
            self.lifecycle.restart(record.id, force=False, queue=True)
            restarted.append(record.id)
        return restarted

    def remove(self, group: str, *, delete_logs: bool) -> list[int]:
        """Forget every member (refused while any runs) and the group's settings."""
        name = self.known(group)
        running = self.members(name, list(HOLDING))
        if running:
            ids = ", ".join(str(r.id) for r in running[:10])
            raise UsageError(
                f"group {name!r} has {len(running)} running experiment"
                f"{'s' if len(running) != 1 else ''} ({ids}): stop them first "
                f"(nbexp stop --group {name})"
            )
        removed = []
        for record in self.members(name):
            self.lifecycle.remove(record.id, delete_logs=delete_logs)
            removed.append(record.id)
        self.store.delete_group(name)
        return removed

    def wait(self, group: str, *, timeout: Any = None, poll_interval: float = 0.2) -> None:
        """Block until no member is queued or running (pending ones never start by themselves,
        so they are not waited for)."""
        limit = check_seconds(timeout, "timeout")
        name = self.known(group)
        deadline = None if limit is None else time.monotonic() + limit
        last_step = 0.0
        while True:
            self.reconcile()
            active = self.members(name, ACTIVE)
            if not active:
                return
            if time.monotonic() - last_step >= 1.0:
                self.scheduling.step()  # whoever waits keeps the queue moving (no daemon)
                last_step = time.monotonic()
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"group {name!r} still has {len(active)} queued or running after {limit:g} s"
                )
            time.sleep(poll_interval)

    def pause(self, group: str) -> None:
        """Its queued members wait (running ones go on) until resume()."""
        self.store.set_group(self.known(group), paused=True)

    def resume(self, group: str) -> None:
        self.store.set_group(self.known(group), paused=False)
        self.scheduling.step()

    def set_max_parallel(self, group: str, value: Any) -> None:
        self.store.set_group(self.known(group), max_parallel=check_max_parallel(value))
        self.scheduling.step()  # a higher limit may let members start now
