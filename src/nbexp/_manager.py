"""The public Python API: ExperimentManager and Experiment.

The manager validates requests, changes states through the store's compare-and-set, launches a
detached runner per attempt and reconciles what the store says with what the machine shows.
"""

from __future__ import annotations

import builtins
import math
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _slurm_executor
from ._errors import (
    GpuConflict,
    GpuUnavailable,
    InvalidTransition,
    NbexpError,
    SpawnFailed,
    UsageError,
    WaitTimeout,
)
from ._launch import (
    child_environment,
    effective_argv,
    normalize_command,
    spawn_problem,
)
from ._local_executor import LocalExecutor
from ._paths import ensure_private_dir, log_path, resolve_home
from ._records import ExperimentRecord, HistoryEntry
from ._runner import DEFAULT_STOP_GRACE_S
from ._scheduler import Fail, Launch, allocate, dependency_problem, plan
from ._scheduling import (
    SETTING_GPU_BUSY_MEMORY_MB,
    SETTING_MAX_PARALLEL_CPU,
    build_resources,
    dependency_statuses,
    read_queue,
    request_of,
)
from ._slurm_executor import slurm_options
from ._store import Store, new_attempt_fields
from ._validate import (
    check_env,
    check_executor,
    check_gpu_request,
    check_ids,
    default_name,
    parse_experiment_id,
    parse_status,
    tty_options,
)
from ._watch import Watches
from .states import Action, Status, allowed_actions, is_allowed, sources

if TYPE_CHECKING:
    from ._slurm import SlurmClient
    from ._watch import WatchedLog
    from .gpu import GpuMonitor, GpuReport


class Experiment:
    """A handle on one experiment. Every attribute reads the store afresh."""

    def __init__(self, manager: ExperimentManager, experiment_id: int) -> None:
        self._manager = manager
        self.id = experiment_id

    @property
    def record(self) -> ExperimentRecord:
        """A snapshot of everything the store knows about this experiment."""
        return self._manager._fresh_record(self.id)

    def refresh(self) -> ExperimentRecord:
        return self.record

    name = property(lambda self: self.record.name, doc="The experiment's name.")
    status = property(lambda self: self.record.status, doc="The current Status.")
    pid = property(lambda self: self.record.pid, doc="The main process's pid (while known).")
    exit_code = property(lambda self: self.record.exit_code, doc="Exit code once ended.")
    error = property(lambda self: self.record.error, doc="Why it failed or stopped, in words.")
    attempt = property(lambda self: self.record.attempt, doc="1 for the first run, +1 per restart.")
    runtime = property(lambda self: self.record.runtime, doc="Seconds run by the current attempt.")
    command = property(lambda self: self.record.command, doc="The argv list.")
    log_path = property(lambda self: self.record.log_path, doc="The current attempt's log file.")
    gpus = property(
        lambda self: (
            self.record.assigned_gpus if self.record.assigned_gpus is not None else self.record.gpus
        ),
        doc="GPUs assigned (or requested, before it starts).",
    )

    @property
    def metrics(self) -> dict[str, list[float]]:
        """Recent values of the metrics its progress bars print (loss=…), oldest first."""
        return self._manager.metrics(self.id)

    def log_changes(self, since: int = 0) -> tuple[int, dict[int, str]]:
        """(version, {line number: text}) for the lines changed after version `since`."""
        return self._manager.log_changes(self.id, since)

    @property
    def gpu_memory(self) -> dict[int, int]:
        """GPU memory this experiment's processes use now: {GPU index: bytes}."""
        return self._manager.gpu_memory(self.id)

    @property
    def progress(self) -> Any:
        """The live progress bar's reading (n, total, percent, rate, ETA, metrics), or None."""
        return self._manager.progress(self.id)

    def history(self) -> list[HistoryEntry]:
        return self._manager.store.history(self.id)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # In a notebook an Experiment shows as a compact live card; elsewhere as its repr.
        data: dict[str, Any] = {"text/plain": repr(self)}
        try:
            from ._card import experiment_card

            card = experiment_card(self)
            bundle: Any = card._repr_mimebundle_(include=include, exclude=exclude)
            if isinstance(bundle, tuple):  # (data, metadata)
                bundle = bundle[0]
            data.update(bundle or {})
        except Exception:
            pass  # no widget support here: the plain text is enough
        return data

    def logs(self, tail: int | None = None, attempt: int | None = None) -> list[str]:
        return self._manager.logs(self.id, tail=tail, attempt=attempt)

    def wait(self, timeout: float | None = None) -> Experiment:
        return self._manager.wait(self.id, timeout=timeout)

    def stop(self, grace: float | None = None) -> Experiment:
        return self._manager.stop(self.id, grace=grace)

    def start(self, force: bool = False) -> Experiment:
        return self._manager.start(self.id, force=force)

    def restart(self) -> Experiment:
        return self._manager.restart(self.id)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Experiment)
            and other.id == self.id
            and (other._manager.home == self._manager.home)
        )

    def __hash__(self) -> int:
        return hash((self.id, str(self._manager.home)))

    def __repr__(self) -> str:
        try:
            r = self.record
        except NbexpError:
            return f"<Experiment {self.id} (removed)>"
        extra = f" pid={r.pid}" if r.status is Status.RUNNING and r.pid else ""
        if r.error and r.status is not Status.RUNNING:
            extra += f" ({r.error})"
        return f"<Experiment {r.id} {r.name!r} {r.status.value}{extra} attempt={r.attempt}>"


class ExperimentManager:
    """Create, start, stop and watch experiments stored under `home` (default NBEXP_HOME)."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        stop_grace: float = DEFAULT_STOP_GRACE_S,
        executor: str = "local",
        watch_queue: bool = True,
    ) -> None:
        self.home = resolve_home(home)
        self.store = Store(self.home)
        self.stop_grace = stop_grace
        self.executor = check_executor(executor)
        self._slurm: SlurmClient | None = None
        self._local = LocalExecutor(self.home, self.store)
        self._watches = Watches()
        self._gpu_monitor: GpuMonitor | None = None
        # Start a queue watcher when something waits (see _scheduling.watch_queue).
        self._watch_queue = watch_queue

    def __repr__(self) -> str:
        return f"ExperimentManager(home={str(self.home)!r})"

    # -- creating and launching ----------------------------------------------------------------

    def create(
        self,
        command: str | Sequence[str],
        *,
        name: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        gpus: int | Sequence[int | str] | None = None,
        uv: bool = False,
        shell: bool = False,
        priority: int = 0,
        after: Sequence[int] | None = None,
        tty: bool | tuple[int, int] = False,
        share_gpus: bool = False,
        min_gpu_memory_mb: int | None = None,
        executor: str | None = None,
        partition: str | None = None,
        time: str | None = None,
        cpus: int | None = None,
        mem: str | None = None,
    ) -> Experiment:
        """A new pending experiment (not started).

        tty: run on a pseudo-terminal (True for 120x40, or (columns, rows)) so that programs
        that check isatty print colours and live bars; the default is a plain file (faster).
        """
        argv = normalize_command(command, shell)
        if name is not None and not name.isprintable():  # a newline or escape breaks every table
            raise UsageError(f"a name must be one line of printable text, not {name!r}")
        workdir = os.path.abspath(os.fspath(cwd)) if cwd is not None else os.getcwd()
        if not os.path.isdir(workdir):
            raise UsageError(f"working directory does not exist: {workdir}")
        overrides = check_env(env)
        request = check_gpu_request(gpus)
        executor = check_executor(executor or self.executor)
        options = tty_options(tty)
        if share_gpus:
            options["share_gpus"] = True
        if min_gpu_memory_mb is not None:
            memory = min_gpu_memory_mb
            if not isinstance(memory, int) or isinstance(memory, bool) or memory < 0:
                raise UsageError(
                    f"min_gpu_memory_mb (--min-gpu-memory) must be MB >= 0, not {memory!r}"
                )
            options["min_free_memory_mb"] = min_gpu_memory_mb
        slurm_values = {"partition": partition, "time": time, "cpus": cpus, "mem": mem}
        if executor == "slurm":
            options["slurm"] = slurm_options(slurm_values, request)
        elif any(v is not None for v in slurm_values.values()):
            given = ", ".join(k for k, v in slurm_values.items() if v is not None)
            raise UsageError(
                f"{given} only apply to Slurm experiments: add executor='slurm' (--executor slurm)"
            )
        dependencies = check_ids(after, "after")
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise UsageError(f"priority must be an integer, not {priority!r}")
        for dependency in dependencies:
            self.store.get(dependency)  # NotFound names the missing id
        experiment_id = self.store.insert(
            name=name or default_name(argv),
            command=argv,
            shell=shell,
            cwd=workdir,
            env=overrides,
            gpus=request,
            uv=uv,
            priority=int(priority),
            after=dependencies,
            options=options,
            executor=executor,
        )
        return Experiment(self, experiment_id)

    def run(
        self,
        command: str | Sequence[str],
        *,
        name: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        gpus: int | Sequence[int | str] | None = None,
        uv: bool = False,
        shell: bool = False,
        priority: int = 0,
        after: Sequence[int] | None = None,
        tty: bool | tuple[int, int] = False,
        share_gpus: bool = False,
        min_gpu_memory_mb: int | None = None,
        executor: str | None = None,
        partition: str | None = None,
        time: str | None = None,
        cpus: int | None = None,
        mem: str | None = None,
        queue: bool = False,
        force: bool = False,
    ) -> Experiment:
        """Create an experiment and start it now (or queue it, with queue=True)."""
        exp = self.create(
            command,
            name=name,
            cwd=cwd,
            env=env,
            gpus=gpus,
            uv=uv,
            shell=shell,
            priority=priority,
            after=after,
            tty=tty,
            share_gpus=share_gpus,
            min_gpu_memory_mb=min_gpu_memory_mb,
            executor=executor,
            partition=partition,
            time=time,
            cpus=cpus,
            mem=mem,
        )
        try:
            return self.start(exp.id, force=force, queue=queue)
        except (GpuConflict, GpuUnavailable, UsageError):
            # Refused before anything ran: run() is all or nothing, so no pending leftover.
            self.store.delete(exp.id, frozenset({Status.PENDING}))
            raise

    def start(self, experiment_id: int, *, force: bool = False, queue: bool = False) -> Experiment:
        """Start a pending experiment now if its resources are free.

        Busy GPUs raise GpuConflict (naming who holds them) unless queue=True (wait in the
        queue) or force=True (start anyway, recorded in the history; also starts a queued one).
        """
        record = self._fresh_record(experiment_id)
        action = Action.FORCE_START if force else Action.START
        if not is_allowed(action, record.status):
            raise self._refusal(record, action)
        reason = "force start" if force else "start"
        if record.executor == "slurm":
            _slurm_executor.submit(self, record, sources(action), reason)
            return Experiment(self, record.id)
        self._check_startable(record)
        self._start_or_queue(record, sources(action), reason, force=force, queue=queue)
        return Experiment(self, record.id)

    def restart(
        self, experiment_id: int, *, force: bool = False, queue: bool = False
    ) -> Experiment:
        """A new attempt of an ended experiment; earlier attempts keep their logs."""
        record = self._fresh_record(experiment_id)
        if not is_allowed(Action.RESTART, record.status):
            raise self._refusal(record, Action.RESTART)
        if record.executor == "slurm":
            _slurm_executor.submit(self, record, sources(Action.RESTART), "restart")
            return Experiment(self, record.id)
        self._check_startable(record)
        self._start_or_queue(record, sources(Action.RESTART), "restart", force=force, queue=queue)
        return Experiment(self, record.id)

    def _start_or_queue(
        self,
        record: ExperimentRecord,
        from_statuses: frozenset[Status],
        reason: str,
        *,
        force: bool,
        queue: bool,
    ) -> None:
        report = self.gpus() if record.gpus is not None else None
        explicit = self._resolve_explicit(record.gpus, report, force=force)
        if isinstance(record.gpus, int) and report is not None and not force:
            from .gpu import require_gpu_count

            require_gpu_count(record.gpus, report, record.id)  # else a queue waits forever
        launched: int | None = None
        queued = False
        with self.store.write() as conn:
            if force:
                chosen = explicit if explicit is not None else self._any_gpus(record, report)
                busy = self._busy_note(record, report, chosen)
                launched = self._claim(
                    conn, record.id, record.attempt, from_statuses, reason + busy, chosen
                )
            else:
                resources = build_resources(
                    report, self.store.list([Status.RUNNING]), self.store.settings()
                )
                request = request_of(record, explicit)
                ready, failure = dependency_problem(
                    request, dependency_statuses(conn, request.after)
                )
                gpus, why = allocate(request, resources)
                if failure is not None:
                    raise UsageError(f"cannot start experiment {record.id}: {failure[13:]}")
                if ready and gpus is not None:
                    assigned = list(gpus) if record.gpus is not None else None
                    launched = self._claim(
                        conn, record.id, record.attempt, from_statuses, reason, assigned
                    )
                elif queue or record.after:
                    self._queue(conn, record, from_statuses, why or "waiting for a dependency")
                    queued = True
                else:
                    raise GpuConflict(
                        f"cannot start experiment {record.id}: {why}; pass queue=True "
                        "(--queue) to wait for them, or force=True (--force) to start anyway"
                    )
        if launched is not None:
            self._local.spawn_runner(record.id, launched)
        elif queued:
            self._ensure_queue_watcher()

    def _queue(
        self,
        conn: sqlite3.Connection,
        record: ExperimentRecord,
        from_statuses: frozenset[Status],
        why: str,
    ) -> None:
        sources_ = from_statuses if record.status is not Status.PENDING else sources(Action.QUEUE)
        if not self.store.transition(
            record.id, sources_, Status.QUEUED, f"queued: {why}", conn, queued_at=time.time()
        ):
            raise self._refusal(self.store.get(record.id), Action.START)

    def _resolve_explicit(
        self, request: Any, report: GpuReport | None, *, force: bool
    ) -> list[int] | None:
        """An explicit GPU list (indices or UUIDs) as indices; None for a count or CPU only."""
        if not isinstance(request, list):
            return None
        from .gpu import resolve_gpu_ids

        assert report is not None
        if force and not report.gpus and all(isinstance(g, int) for g in request):
            return [int(g) for g in request]  # forced, and nothing to check against
        return resolve_gpu_ids(request, report)

    def _any_gpus(self, record: ExperimentRecord, report: GpuReport | None) -> list[int] | None:
        """For a forced start of `gpus=N`: the N least-used GPUs, free or not."""
        if not isinstance(record.gpus, int):
            return None
        assert report is not None
        running = self.store.list([Status.RUNNING])
        resources = build_resources(report, running, self.store.settings())
        from .gpu import require_gpu_count

        require_gpu_count(record.gpus, report, record.id)  # raises, naming what exists
        ranked = sorted(resources.gpus.values(), key=lambda g: (g.busy, len(g.held_by), g.index))
        return sorted(g.index for g in ranked[: record.gpus])

    def _busy_note(
        self, record: ExperimentRecord, report: GpuReport | None, gpus: list[int] | None
    ) -> str:
        if not gpus or report is None:
            return ""
        resources = build_resources(
            report, self.store.list([Status.RUNNING]), self.store.settings()
        )
        busy = [
            resources.gpus[i].describe()
            for i in gpus
            if i in resources.gpus and (resources.gpus[i].busy)
        ]
        return f" (ignoring busy {'; '.join(busy)})" if busy else ""

    def schedule(self) -> list[int]:
        """One scheduling step: start the queued experiments whose resources are free now."""
        with self.store.read() as conn:
            wants_gpus = conn.execute(
                "SELECT MAX(gpus IS NOT NULL) FROM experiments "
                "WHERE status = 'queued' AND executor = 'local'"
            ).fetchone()[0]
        if wants_gpus is None:
            return []  # nothing queued: the common case costs one indexed query
        report = self.gpus() if wants_gpus else None
        launched: list[tuple[int, int]] = []
        with self.store.write() as conn:
            queued = read_queue(conn)
            requests, unavailable = [], {}
            for row in queued.values():
                try:
                    explicit = self._resolve_explicit(row.gpus, report, force=False)
                except NbexpError as e:
                    unavailable[row.id] = str(e)
                    continue
                requests.append(row.request(explicit))
            resources = build_resources(
                report, self.store.list([Status.RUNNING]), self.store.settings()
            )
            statuses = dependency_statuses(conn, [d for r in requests for d in r.after])
            decisions: list[Any] = plan(requests, resources, statuses)
            decisions += [Fail(i, f"not started: {why}") for i, why in unavailable.items()]
            for decision in decisions:
                row = queued[decision.id]
                if isinstance(decision, Launch):
                    gpus = list(decision.gpus) if decision.gpus is not None else None
                    attempt = self._claim(
                        conn,
                        row.id,
                        row.attempt,
                        frozenset({Status.QUEUED}),
                        "launched from the queue",
                        gpus,
                    )
                    launched.append((row.id, attempt))
                elif isinstance(decision, Fail):
                    self.store.transition(
                        row.id,
                        frozenset({Status.QUEUED}),
                        Status.ERROR,
                        decision.reason,
                        conn,
                        error=decision.reason,
                        ended=time.time(),
                    )
        for experiment_id, attempt in launched:
            self._local.spawn_runner(experiment_id, attempt)
        if len(launched) < len(queued):
            self._ensure_queue_watcher()
        return [experiment_id for experiment_id, _ in launched]

    def _ensure_queue_watcher(self) -> None:
        """Make sure something keeps running scheduling steps while work is queued."""
        if self._watch_queue:
            self._local.ensure_queue_watcher()

    def configure(
        self,
        *,
        max_parallel_cpu: int | object | None = ...,
        gpu_busy_memory_mb: int | object | None = ...,
    ) -> dict[str, str]:
        """Scheduling settings shared by every process using this home (None resets one).

        max_parallel_cpu: how many CPU-only experiments may run at once (default: no limit).
        gpu_busy_memory_mb: a GPU not held by nbexp counts as busy above this much used memory
        (default 1024).
        """
        for key, value in (
            (SETTING_MAX_PARALLEL_CPU, max_parallel_cpu),
            (SETTING_GPU_BUSY_MEMORY_MB, gpu_busy_memory_mb),
        ):
            if value is ...:
                continue
            if value is not None and (not isinstance(value, int) or value < 0):
                raise UsageError(f"{key} must be a non-negative integer or None, not {value!r}")
            self.store.set_setting(key, None if value is None else str(value))
        return self.store.settings()

    @property
    def slurm(self) -> SlurmClient:
        """The Slurm client (created on first use; SLURM_CONF etc. from the environment)."""
        if self._slurm is None:
            self._slurm = _slurm_executor.make_client()
        return self._slurm

    def gpus(self) -> GpuReport:
        """A fresh reading of the GPUs (simulated ones when NBEXP_SIMULATED_GPUS is set)."""
        if self._gpu_monitor is None:
            from .gpu import GpuMonitor

            self._gpu_monitor = GpuMonitor(self.home)
        return self._gpu_monitor.sample()

    def gpu_memory(self, experiment_id: int | None = None) -> dict[int, Any]:
        """GPU memory in use per experiment: {experiment id: {GPU index: bytes}} (or, with an
        id, that experiment's {GPU index: bytes}), from NVML's processes matched to each
        experiment's process tree."""
        from .gpu import experiment_gpu_memory

        running = self.store.list([Status.RUNNING])
        usage = experiment_gpu_memory(self.gpus(), running)
        if experiment_id is None:
            return usage
        self._fresh_record(experiment_id)  # NotFound for an unknown id
        return usage.get(int(experiment_id), {})

    def gpu_holders(self, report: GpuReport | None = None) -> dict[int, list[str]]:
        """GPU index → who holds it ("#3 train", or "pid 1234 (alice)" for someone else)."""
        from .gpu import gpu_holders

        report = report if report is not None else self.gpus()
        return gpu_holders(report, self.store.list([Status.RUNNING]))

    def _check_startable(self, record: ExperimentRecord) -> None:
        """Refuse (and record as an error) a command that cannot possibly start."""
        argv = effective_argv(record.command, shell=record.shell, uv=record.uv)
        env = child_environment(
            record.env,
            home=self.home,
            experiment_id=record.id,
            attempt=record.attempt + 1,
            gpus=None,
        )
        problem = spawn_problem(argv, record.cwd, env)
        if problem is None:
            return
        reason = f"failed to start: {problem}"
        self.store.transition(
            record.id,
            frozenset(Status) - {Status.RUNNING},
            Status.ERROR,
            reason,
            error=reason,
            ended=time.time(),
        )
        raise SpawnFailed(f"experiment {record.id} {reason}")

    def _claim(
        self,
        conn: sqlite3.Connection,
        experiment_id: int,
        previous_attempt: int,
        from_statuses: frozenset[Status],
        reason: str,
        gpus: list[int] | None,
    ) -> int:
        """Compare-and-set to running with a new attempt (inside the caller's transaction);
        the runner is spawned after the commit. Returns the attempt number."""
        attempt = previous_attempt + 1
        path = log_path(self.home, experiment_id, attempt)
        ensure_private_dir(path.parent)
        fields = new_attempt_fields(attempt, str(path), started=time.time(), assigned_gpus=gpus)
        if not self.store.transition(
            experiment_id, from_statuses, Status.RUNNING, reason, conn, **fields
        ):
            raise self._refusal(self.store.get(experiment_id), Action.START)
        return attempt

    # -- stopping ----------------------------------------------------------------------------

    def stop(
        self, experiment_id: int, *, grace: float | None = None, wait: bool = True
    ) -> Experiment:
        """Stop a running experiment's whole process tree (SIGTERM, grace, SIGKILL), or take a
        queued one out of the queue."""
        record = self._fresh_record(experiment_id)
        grace = self.stop_grace if grace is None else float(grace)
        if not 0 <= grace < math.inf:  # written so that NaN and infinity are refused too
            raise UsageError(
                f"the grace period must be a finite number of seconds >= 0, not {grace}"
            )
        if record.executor == "slurm" and record.status.is_active:
            _slurm_executor.stop(self, record, grace)
            if wait:
                try:
                    self.wait(record.id, timeout=grace + 30)
                except WaitTimeout:
                    pass
            return Experiment(self, record.id)
        if record.status is Status.QUEUED:
            if self.store.transition(
                record.id, sources(Action.DEQUEUE), Status.PENDING, "stopped while queued"
            ):
                return Experiment(self, record.id)
            record = self._fresh_record(experiment_id)
        if not is_allowed(Action.STOP, record.status):
            raise self._refusal(record, Action.STOP)
        with self.store.write() as conn:
            conn.execute(
                "UPDATE experiments SET stop_requested = ?, stop_grace = ? "
                "WHERE id = ? AND status = 'running' AND attempt = ?",
                (time.time(), grace, record.id, record.attempt),
            )
        self._local.stop(record, grace)
        if wait:
            try:
                self.wait(record.id, timeout=grace + 15)
            except WaitTimeout:
                pass
        return Experiment(self, record.id)

    # -- reading -------------------------------------------------------------------------------

    def get(self, experiment_id: int) -> Experiment:
        """The experiment with this id (NotFound when there is none)."""
        self._fresh_record(experiment_id)  # NotFound for an unknown id
        return Experiment(self, parse_experiment_id(experiment_id))

    def list(self, status: Status | str | Sequence[Status | str] | None = None) -> list[Experiment]:
        """Experiments, oldest first; optionally only those in the given state(s)."""
        self.reconcile()
        statuses = None
        if status is not None:
            wanted = [status] if isinstance(status, (str, Status)) else list(status)
            statuses = [parse_status(s) for s in wanted]
        return [Experiment(self, r.id) for r in self.store.list(statuses)]

    def records(self, status: Sequence[Status] | None = None) -> builtins.list[ExperimentRecord]:
        """Snapshots of every experiment (after reconciling), for tables and JSON."""
        self.reconcile()
        return self.store.list(status)

    def remove(self, experiment_id: int, *, delete_logs: bool = True) -> None:
        """Forget an experiment (refused while it runs); its logs go too unless asked to keep."""
        record = self._fresh_record(experiment_id)
        allowed = sources(Action.REMOVE)
        if not self.store.delete(record.id, allowed):
            raise self._refusal(self._fresh_record(experiment_id), Action.REMOVE)
        if delete_logs:
            folder = log_path(self.home, record.id, 1).parent
            if folder.is_dir():
                for item in folder.iterdir():
                    item.unlink(missing_ok=True)
                folder.rmdir()

    def logs(
        self, experiment_id: int, *, tail: int | None = None, attempt: int | None = None
    ) -> builtins.list[str]:
        """The lines a terminal would show for the attempt's output (default: the latest).

        Read in chunks: with `tail`, memory stays bounded by those lines however big the log.
        """
        from ._follow import render_file

        if tail is not None and tail < 0:
            raise UsageError(f"tail must be >= 0 lines, not {tail}")
        record = self._fresh_record(experiment_id)
        path = self._readable_log_path(record, attempt)
        tty = (record.options or {}).get("tty") or {}
        return render_file(path, tail=tail, rows=int(tty.get("rows", 40)))

    def log_changes(self, experiment_id: int, since: int = 0) -> tuple[int, dict[int, str]]:
        """Lines of the current attempt's log that changed after version `since`, by stable
        line number, and the new version: what a live view needs each tick. The manager keeps
        one incremental follower per watched experiment, so each call reads only new bytes."""
        return self._watched(experiment_id).changes_since(since)

    def metrics(self, experiment_id: int) -> dict[str, builtins.list[float]]:
        """Recent values of the metrics in the experiment's progress-bar postfixes (loss=…),
        oldest first, as seen since the manager started watching it (bounded, for sparklines)."""
        watch = self._watched(experiment_id)
        watch.update()
        return watch.metrics.to_json()

    def _watched(self, experiment_id: int) -> WatchedLog:
        record = self._fresh_record(experiment_id)
        if record.log_path is None:
            raise UsageError(f"experiment {record.id} has not run yet: it has no log")
        rows = int(((record.options or {}).get("tty") or {}).get("rows", 40))
        return self._watches.get(record.id, record.attempt, record.log_path, rows)

    def log_path(self, experiment_id: int, attempt: int | None = None) -> str:
        return self._log_path(self._fresh_record(experiment_id), attempt)

    def _log_path(self, record: ExperimentRecord, attempt: int | None) -> str:
        if attempt is None or attempt == record.attempt:
            if record.log_path is None:
                raise UsageError(f"experiment {record.id} has not run yet: it has no log")
            return record.log_path
        if not 1 <= attempt <= record.attempt:
            raise UsageError(
                f"experiment {record.id} has attempts 1..{record.attempt}, not {attempt}"
            )
        return str(log_path(self.home, record.id, attempt))

    def readable_log_path(self, experiment_id: int, attempt: int | None = None) -> str:
        """Where the attempt's output can be read now: its log file, or, when that file was
        deleted while the experiment runs, the still-open file through /proc (until it ends)."""
        return self._readable_log_path(self._fresh_record(experiment_id), attempt)

    def _readable_log_path(self, record: ExperimentRecord, attempt: int | None) -> str:
        path = self._log_path(record, attempt)
        if os.path.exists(path):
            return path
        current = attempt is None or attempt == record.attempt
        if current and record.status is Status.RUNNING and record.executor == "local":
            return self._local.deleted_log(record, path) or path
        return path

    def history(self, experiment_id: int) -> builtins.list[HistoryEntry]:
        return self.store.history(experiment_id)

    def progress(self, experiment_id: int) -> Any:
        """The experiment's latest progress reading (nbexp.progress.Progress) or None."""
        record = self._fresh_record(experiment_id)
        if not record.log_path:
            return None
        try:
            from . import progress as progress_module
        except ImportError:
            return None
        try:
            with open(record.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 16384))
                tail = f.read()
        except OSError:
            return None
        from . import terminal

        return progress_module.latest_progress(terminal.render(tail)[-20:])

    def dashboard(self, interval: float = 1.0) -> Any:
        """The live dashboard widget for this home (status table, GPU meters, log view)."""
        from ._dashboard import Dashboard

        return Dashboard(manager=self, interval=interval)

    def wait(
        self, experiment_id: int, *, timeout: float | None = None, poll_interval: float = 0.05
    ) -> Experiment:
        """Block until the experiment has ended (completed, error or interrupted)."""
        if timeout is not None and not timeout >= 0:  # NaN too
            raise UsageError(f"the timeout must be >= 0 seconds, not {timeout}")
        deadline = None if timeout is None else time.monotonic() + timeout
        last_step = 0.0
        while True:
            record = self._fresh_record(experiment_id)
            if record.status.is_terminal:
                return Experiment(self, record.id)
            if record.status is Status.PENDING:
                raise InvalidTransition(record.id, "wait for", "pending", ["start"])
            if record.status is Status.QUEUED and time.monotonic() - last_step >= 1.0:
                self.schedule()  # whoever waits keeps the queue moving (there is no daemon)
                last_step = time.monotonic()
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"experiment {record.id} is still {record.status.value} after {timeout:g} s"
                )
            time.sleep(poll_interval)

    # -- reconciling ---------------------------------------------------------------------------

    def _fresh_record(self, experiment_id: int) -> ExperimentRecord:
        record = self.store.get(parse_experiment_id(experiment_id))
        if record.status is Status.RUNNING and record.executor == "local":
            self._local.reconcile(record)
            record = self.store.get(record.id)
        elif record.executor == "slurm" and record.status.is_active:
            _slurm_executor.reconcile(self, [record])
            record = self.store.get(record.id)
        return record

    def tick(self) -> None:
        """One housekeeping step, as the monitor thread does every second: reap runners,
        reconcile lost experiments and start queued ones whose resources are free."""
        self.reconcile()
        self.schedule()

    def reconcile(self) -> None:
        """Mark as lost the running experiments whose runner and process are both gone."""
        self._local.reap()
        active = self.store.list([Status.RUNNING, Status.QUEUED])
        for record in active:
            if record.executor == "local" and record.status is Status.RUNNING:
                self._local.reconcile(record)
        _slurm_executor.reconcile(self, active)

    def _refusal(self, record: ExperimentRecord, action: Action) -> InvalidTransition:
        return InvalidTransition(
            record.id, action.value, record.status.value, allowed_actions(record.status)
        )
