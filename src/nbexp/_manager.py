"""The public Python API: ExperimentManager and Experiment.

Both are thin: arguments are checked here (one `UsageError` naming the argument), and the work
is done by the home's `Service` (`_service/`), which the CLI, magics and widgets share.
"""

from __future__ import annotations

import builtins
import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._core.errors import NbexpError, UsageError
from ._core.metric_series import MetricPoint, check_directions
from ._core.options import (
    START_OPTIONS,
    LaunchOptions,
    check_option_names,
    launch_signature,
)
from ._core.records import ExperimentRecord, HistoryEntry
from ._core.states import Status
from ._core.validate import (
    check_executor,
    check_flag,
    check_launch,
    check_note,
    check_seconds,
    check_tags,
    parse_experiment_id,
    parse_status,
)
from ._exec.runner import DEFAULT_STOP_GRACE_S
from ._group import Group
from ._io import listing
from ._service.core import Service
from ._service.groups import SweepOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._exec.slurm_client import SlurmClient
    from ._io.gpus import GpuReport


class Experiment:
    """A handle on one experiment. Every attribute reads the store afresh."""

    def __init__(self, manager: ExperimentManager, experiment_id: int) -> None:
        self.manager = manager
        self.id = experiment_id

    @property
    def record(self) -> ExperimentRecord:
        """A snapshot of everything the store knows about this experiment."""
        return self.manager.service.fresh_record(self.id)

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
    group = property(lambda self: self.record.group_name, doc="Its group's name (or None).")
    params = property(lambda self: self.record.params, doc="Its parameters (a sweep's run).")
    tags = property(lambda self: self.record.tags, doc="Its tags (see ExperimentManager.tag).")
    note = property(lambda self: self.record.note, doc="Its note, if any.")

    @property
    def metrics(self) -> dict[str, list[MetricPoint]]:
        """The full history of every metric its output printed (bar postfixes, key=value and
        JSON lines): {name: [MetricPoint(step, value, time), …]}, oldest first, read from the
        store (and the log's newest bytes). Down-sampled past 10,000 points, shape kept."""
        return self.manager.metrics(self.id)

    @property
    def final_metrics(self) -> dict[str, float | None]:
        """{name: its latest value} (exact; None for a NaN)."""
        return self.manager.final_metrics(self.id)

    def metrics_frame(self, attempt: int | None = None, *, wide: bool = True) -> Any:
        """The histories as a pandas DataFrame: one row per step and a column per metric (or,
        with wide=False, rows of metric, step, value, time). Needs pandas."""
        return self.manager.metrics_frame(self.id, attempt=attempt, wide=wide)

    def log_changes(self, since: int = 0) -> tuple[int, dict[int, str]]:
        """(version, {line number: text}) for the lines changed after version `since`."""
        return self.manager.log_changes(self.id, since)

    @property
    def gpu_memory(self) -> dict[int, int]:
        """GPU memory this experiment's processes use now: {GPU index: bytes}."""
        return self.manager.gpu_memory(self.id)

    @property
    def progress(self) -> Any:
        """The live progress bar's reading (n, total, percent, rate, ETA, metrics), or None."""
        return self.manager.progress(self.id)

    def history(self) -> list[HistoryEntry]:
        return self.manager.history(self.id)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # In a notebook an Experiment shows as a compact live card; elsewhere as its repr.
        data: dict[str, Any] = {"text/plain": repr(self)}
        try:
            from ._ui.card import ExperimentCard

            card = ExperimentCard(self.manager.service, self.id, stop_grace=self.manager.stop_grace)
            bundle: Any = card._repr_mimebundle_(include=include, exclude=exclude)
            if isinstance(bundle, tuple):  # (data, metadata)
                bundle = bundle[0]
            data.update(bundle or {})
        except Exception:
            pass  # no widget support here: the plain text is enough
        return data

    def logs(self, tail: int | None = None, attempt: int | None = None) -> list[str]:
        return self.manager.logs(self.id, tail=tail, attempt=attempt)

    def wait(self, timeout: float | None = None) -> Experiment:
        return self.manager.wait(self.id, timeout=timeout)

    def stop(self, grace: float | None = None) -> Experiment:
        return self.manager.stop(self.id, grace=grace)

    def start(self, force: bool = False) -> Experiment:
        return self.manager.start(self.id, force=force)

    def restart(self) -> Experiment:
        return self.manager.restart(self.id)

    def pause(self) -> Experiment:
        """Stop its whole process tree where it is (SIGSTOP); it keeps its GPUs."""
        return self.manager.pause(self.id)

    def resume(self) -> Experiment:
        """Let it run on after pause() (SIGCONT to its whole tree)."""
        return self.manager.resume(self.id)

    @property
    def failure(self) -> dict[str, str] | None:
        """Why its current attempt failed: {"kind": "cuda-oom", "summary": "…"} or None."""
        return self.record.failure

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Experiment)
            and other.id == self.id
            and (other.manager.home == self.manager.home)
        )

    def __hash__(self) -> int:
        return hash((self.id, str(self.manager.home)))

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
        grace = check_seconds(stop_grace, "stop_grace", allow_none=False)
        assert grace is not None
        self.stop_grace = grace
        self.executor = check_executor(executor)
        # Start a queue watcher process when something waits (see _service.scheduling).
        self.service = Service(home, watch_queue=check_flag(watch_queue, "watch_queue"))
        self.home = self.service.home
        self.store = self.service.store

    def __repr__(self) -> str:
        return f"ExperimentManager(home={str(self.home)!r})"

    def close(self) -> None:
        """Close this manager's database connections now (experiments keep running; the
        manager opens a new connection if it is used again)."""
        self.service.close()

    def __enter__(self) -> ExperimentManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- creating and launching ----------------------------------------------------------------

    def create(self, command: str | Sequence[str], **options: Unpack[LaunchOptions]) -> Experiment:
        """A new pending experiment (not started). The keywords are nbexp's launch options
        (docs/lifecycle.md): name, cwd, env, gpus, uv, shell, priority, after, tty,
        share_gpus, min_gpu_memory_mb, executor, partition, time, cpus, mem.

        tty: run on a pseudo-terminal (True for 120x40, or (columns, rows)) so that programs
        that check isatty print colours and live bars; the default is a plain file (faster).
        """
        check_option_names(options, "create")
        request = check_launch(command, options, self.executor)
        return Experiment(self, self.service.lifecycle.create(request))

    def run(
        self,
        command: str | Sequence[str],
        *,
        queue: bool = False,
        force: bool = False,
        **options: Unpack[LaunchOptions],
    ) -> Experiment:
        """Create an experiment and start it now (or queue it, with queue=True). Keywords as
        for create(), plus queue= and force= as for start()."""
        check_option_names(options, "run")
        request = check_launch(command, options, self.executor)
        queue, force = check_flag(queue, "queue"), check_flag(force, "force")
        experiment_id = self.service.lifecycle.create(request, launching=True)
        try:
            self.service.lifecycle.start(experiment_id, force=force, queue=queue)
        except BaseException:
            # run() is one intent: refused or interrupted before anything ran, it leaves no
            # pending row behind.
            with contextlib.suppress(NbexpError):
                self.service.discard_pending(experiment_id)
            raise
        return Experiment(self, experiment_id)

    def start(self, experiment_id: int, *, force: bool = False, queue: bool = False) -> Experiment:
        """Start a pending experiment now if its resources are free.

        Busy GPUs raise GpuConflict (naming who holds them) unless queue=True (wait in the
        queue) or force=True (start anyway, recorded in the history; also starts a queued one).
        """
        experiment_id = parse_experiment_id(experiment_id)
        self.service.lifecycle.start(
            experiment_id, force=check_flag(force, "force"), queue=check_flag(queue, "queue")
        )
        return Experiment(self, experiment_id)

    def restart(
        self, experiment_id: int, *, force: bool = False, queue: bool = False
    ) -> Experiment:
        """A new attempt of an ended experiment; earlier attempts keep their logs."""
        experiment_id = parse_experiment_id(experiment_id)
        self.service.lifecycle.restart(
            experiment_id, force=check_flag(force, "force"), queue=check_flag(queue, "queue")
        )
        return Experiment(self, experiment_id)

    # -- sweeps, groups, tags ----------------------------------------------------------------

    def sweep(
        self,
        template: str | Sequence[str],
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        name: str | None = None,
        mode: str = "grid",
        samples: int | None = None,
        seed: int | None = None,
        max_parallel: int | None = None,
        queue: bool = True,
        force: bool = False,
        **run_options: Any,  # LaunchOptions but `name` (the sweep's) and `group`
    ) -> Group:
        """Launch one run per combination of `params` (docs/sweeps.md): `template` is a command
        with `{key}` placeholders, filled in per argument; `params` is {key: [values]} (every
        combination, or zipped with mode="zip") or a list of dicts; samples=N draws N of them
        (seeded). At most `max_parallel` run at once; the rest wait in the queue. Every run
        option of run() applies to each run. Nothing is created if any of it is wrong.
        queue=False: refused (creating nothing) unless every run can start now."""
        check_option_names(run_options, "sweep", extra=())
        how = SweepOptions(
            mode=mode,
            samples=samples,
            seed=seed,
            max_parallel=max_parallel,
            queue=check_flag(queue, "queue"),
            force=check_flag(force, "force"),
        )
        group, _ = self.service.groups.sweep(
            template, params, name, how, run_options, self.executor
        )
        return Group(self, group)

    def group(self, name: str) -> Group:
        """The group of this name (a sweep's, or given with run(group=…)); UsageError if none."""
        return Group(self, self.service.groups.known(name))

    def groups(self) -> builtins.list[Group]:
        """Every group, the newest first."""
        return [Group(self, name) for name in self.service.groups.summaries()]

    def tag(
        self,
        experiment_id: int,
        add: str | Sequence[str] = (),
        remove: str | Sequence[str] = (),
    ) -> builtins.list[str]:
        """Add and remove tags (words to find it by; `nbexp tag ID +best -old`); its tags now."""
        added, removed = check_tags(add), check_tags(remove)
        both = [t for t in added if t in removed]
        if both:
            raise UsageError(f"tag {both[0]!r} is both added and removed: say which")
        record = self.service.fresh_record(experiment_id)
        return listing.change_tags(self.store, record.id, added, removed)

    def note(self, experiment_id: int, text: str | None) -> None:
        """Set (or, with None or "", clear) the experiment's note."""
        record = self.service.fresh_record(experiment_id)
        listing.set_note(self.store, record.id, check_note(text))

    # -- stopping ----------------------------------------------------------------------------

    def stop(
        self, experiment_id: int, *, grace: float | None = None, wait: bool = True
    ) -> Experiment:
        """Stop a running experiment's whole process tree (SIGTERM, grace, SIGKILL), or take a
        queued one out of the queue."""
        experiment_id = parse_experiment_id(experiment_id)
        checked = check_seconds(grace, "the grace period")
        grace = self.stop_grace if checked is None else checked
        wait = check_flag(wait, "wait")
        record = self.service.lifecycle.stop(experiment_id, grace)
        dequeued = record.status is Status.QUEUED and record.executor == "local"
        if wait and not dequeued:
            # SIGKILL comes after `grace`; Slurm's own cleanup can take a while longer.
            margin = 30.0 if record.executor == "slurm" else 15.0
            self.service.wait_until_ended(record.id, timeout=grace + margin)
            if record.executor == "local":
                self.service.wait_runner_gone(record)  # "stopped" means no process is left
        return Experiment(self, record.id)

    def pause(self, experiment_id: int) -> Experiment:
        """Stop a running experiment's whole process tree where it is (SIGSTOP to every
        process, including those started while it is paused); its GPUs stay held and its
        runtime stops counting. Returns once the tree is seen stopped (5 s at most)."""
        record = self.service.lifecycle.pause(parse_experiment_id(experiment_id))
        return Experiment(self, record.id)

    def resume(self, experiment_id: int) -> Experiment:
        """Let a paused experiment run on (SIGCONT to its whole tree)."""
        record = self.service.lifecycle.resume(parse_experiment_id(experiment_id))
        return Experiment(self, record.id)

    # -- reading -------------------------------------------------------------------------------

    def get(self, experiment_id: int) -> Experiment:
        """The experiment with this id (NotFound when there is none)."""
        return Experiment(self, self.service.fresh_record(experiment_id).id)

    def list(self, status: Status | str | Sequence[Status | str] | None = None) -> list[Experiment]:
        """Experiments, oldest first; optionally only those in the given state(s)."""
        statuses = None
        if status is not None:
            wanted = [status] if isinstance(status, (str, Status)) else builtins.list(status)
            statuses = [parse_status(s) for s in wanted]
        return [Experiment(self, r.id) for r in self.service.records(statuses)]

    def records(self, status: Sequence[Status] | None = None) -> builtins.list[ExperimentRecord]:
        """Snapshots of every experiment (after reconciling), for tables and JSON."""
        return self.service.records(status)

    def remove(self, experiment_id: int, *, delete_logs: bool = True) -> None:
        """Forget an experiment (refused while it runs); its logs go too unless asked to keep."""
        self.service.lifecycle.remove(
            parse_experiment_id(experiment_id), delete_logs=check_flag(delete_logs, "delete_logs")
        )

    def logs(
        self, experiment_id: int, *, tail: int | None = None, attempt: int | None = None
    ) -> builtins.list[str]:
        """The lines a terminal would show for the attempt's output (default: the latest).

        Read in chunks: with `tail`, memory stays bounded by those lines however big the log.
        """
        return self.service.logs(experiment_id, tail=tail, attempt=attempt)

    def log_changes(self, experiment_id: int, since: int = 0) -> tuple[int, dict[int, str]]:
        """Lines of the current attempt's log that changed after version `since`, by stable
        line number, and the new version: what a live view needs each tick. Versions keep
        growing across attempts, so a restart reports the new attempt's lines."""
        return self.service.watched(experiment_id).changes_since(since)

    def metrics(
        self, experiment_id: int, *, attempt: int | None = None
    ) -> dict[str, builtins.list[MetricPoint]]:
        """Every metric the attempt's output printed (default: the latest attempt), as
        {name: [MetricPoint(step, value, time), …]} (docs/metrics.md)."""
        record = self.service.fresh_record(experiment_id)
        return self.service.metrics.series(*self.service.metrics.caught_up(record, attempt))

    def final_metrics(
        self, experiment_id: int, *, attempt: int | None = None
    ) -> dict[str, float | None]:
        """{name: latest value} of the attempt's metrics (None for a NaN)."""
        record = self.service.fresh_record(experiment_id)
        found = self.service.metrics.summaries(*self.service.metrics.caught_up(record, attempt))
        return {name: summary.last for name, summary in found.items()}

    def metrics_frame(
        self, experiment_id: int, *, attempt: int | None = None, wide: bool = True
    ) -> Any:
        """One experiment's metric histories as a pandas DataFrame (see Experiment)."""
        from ._metric_frames import series_frame

        return series_frame(self.metrics(experiment_id, attempt=attempt), check_flag(wide, "wide"))

    def compare(
        self,
        ids: Sequence[int] | None = None,
        *,
        group: str | None = None,
        status: Status | str | Sequence[Status | str] | None = None,
        directions: dict[str, str] | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """One row per experiment (all, the `ids`, a `group`, some `status`es): id, name,
        status, runtime, attempt, group, params, and per metric {"last", "min", "max", "best",
        "best_step", "direction", …}. Lower is better for losses and errors, higher for
        accuracies, F1, AUC, BLEU… (from the name); `directions={"score": "max"}` overrides."""
        statuses = None
        if status is not None:
            wanted = [status] if isinstance(status, (str, Status)) else builtins.list(status)
            statuses = [parse_status(s) for s in wanted]
        records = self.service.metrics.select(self.records(statuses), ids, group)
        return self.service.metrics.compare(records, check_directions(directions))

    def to_dataframe(
        self,
        ids: Sequence[int] | None = None,
        *,
        group: str | None = None,
        status: Status | str | Sequence[Status | str] | None = None,
        directions: dict[str, str] | None = None,
    ) -> Any:
        """compare()'s rows as a pandas DataFrame (a column per param and per metric
        statistic, e.g. "loss.min"). Needs pandas."""
        from ._metric_frames import compare_frame

        return compare_frame(self.compare(ids, group=group, status=status, directions=directions))

    def log_path(self, experiment_id: int, attempt: int | None = None) -> str:
        return self.service.log_path(self.service.fresh_record(experiment_id), attempt)

    def readable_log_path(self, experiment_id: int, attempt: int | None = None) -> str:
        """Where the attempt's output can be read now: its log file, or, when that file was
        deleted while the experiment runs, the still-open file through /proc (until it ends)."""
        return self.service.readable_log_path(self.service.fresh_record(experiment_id), attempt)

    def history(self, experiment_id: int) -> builtins.list[HistoryEntry]:
        return self.service.history(experiment_id)

    def progress(self, experiment_id: int) -> Any:
        """The experiment's latest progress reading (nbexp.progress.Progress) or None."""
        return self.service.progress(experiment_id)

    def dashboard(self, interval: float = 1.0) -> Any:
        """The live dashboard widget for this home (status table, GPU meters, log view)."""
        from ._ui.dashboard import Dashboard

        return Dashboard(manager=self, interval=interval)

    def wait(
        self, experiment_id: int, *, timeout: float | None = None, poll_interval: float = 0.05
    ) -> Experiment:
        """Block until the experiment has ended (completed, error or interrupted)."""
        record = self.service.wait(experiment_id, timeout=timeout, poll_interval=poll_interval)
        return Experiment(self, record.id)

    # -- housekeeping --------------------------------------------------------------------------

    def tick(self) -> None:
        """One housekeeping step, as the monitor thread does every second: reap runners,
        reconcile lost experiments and start queued ones whose resources are free."""
        self.service.tick()

    def reconcile(self) -> None:
        """Mark as lost the running experiments whose runner and process are both gone."""
        self.service.reconcile()

    def schedule(self) -> builtins.list[int]:
        """One scheduling step: start the queued experiments whose resources are free now."""
        return self.service.scheduling.step()

    def configure(
        self,
        *,
        max_parallel_cpu: int | object | None = ...,
        gpu_busy_memory_mb: int | object | None = ...,
        on_end: str | object | None = ...,
        on_end_timeout: int | object | None = ...,
    ) -> dict[str, str]:
        """Settings shared by every process using this home (None resets one).

        max_parallel_cpu: how many CPU-only experiments may run at once (default: no limit).
        gpu_busy_memory_mb: a GPU not held by nbexp counts as busy above this much used memory
        (default 1024).
        on_end: a shell command run when any attempt ends, for experiments without an on_end
        of their own (docs/endings.md lists its NBEXP_* variables).
        on_end_timeout: seconds an on_end hook may run before it is stopped (default 60).
        """
        given = {
            "max_parallel_cpu": max_parallel_cpu,
            "gpu_busy_memory_mb": gpu_busy_memory_mb,
            "on_end": on_end,
            "on_end_timeout": on_end_timeout,
        }
        return self.service.configure({k: v for k, v in given.items() if v is not ...})

    # -- GPUs and Slurm ------------------------------------------------------------------------

    @property
    def slurm(self) -> SlurmClient:
        """The Slurm client (created on first use; SLURM_CONF etc. from the environment)."""
        return self.service.slurm.client

    def gpus(self) -> GpuReport:
        """A fresh reading of the GPUs (simulated ones when NBEXP_SIMULATED_GPUS is set)."""
        return self.service.gpus.sample()

    def gpu_memory(self, experiment_id: int | None = None) -> dict[int, Any]:
        """GPU memory in use per experiment: {experiment id: {GPU index: bytes}} (or, with an
        id, that experiment's {GPU index: bytes}), from NVML's processes matched to each
        experiment's process tree."""
        return self.service.gpu_memory(experiment_id)

    def gpu_holders(self, report: GpuReport | None = None) -> dict[int, builtins.list[str]]:
        """GPU index → who holds it ("#3 train", or "pid 1234 (alice)" for someone else)."""
        return self.service.gpu_holders(report)


# help(), editors and notebooks' signature pop-ups show every launch option by name.
ExperimentManager.create.__signature__ = launch_signature(  # type: ignore[attr-defined]
    first=("self", "command")
)
ExperimentManager.run.__signature__ = launch_signature(  # type: ignore[attr-defined]
    first=("self", "command"), extra=START_OPTIONS
)
