"""The monitor's rows of every experiment, kept up to date from what changed: each tick reads
only the rows the store's change counter (schema v6) says changed, plus the progress of those
that run, so an idle dashboard of 10,000 experiments costs a few small queries a tick instead
of decoding and re-encoding 10,000 rows. An unchanged row stays the same object, and the rows
dict of a tick where nothing changed is the previous tick's: views find what changed by
identity (a published dict is never modified: a change makes a new one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._core.records import ExperimentRecord
from .._core.states import HOLDING, Status
from .._io import listing
from .._service.core import Service
from . import protocol
from .actions import row_progress
from .protocol import RowJson

# Metric fields come from their own tables, which change without the row changing: running
# rows' are read every tick; every row's this often (ticks), and a row is built again only
# where they differ from what it shows.
FULL_REFRESH_TICKS = 30
# Ended records handed to the metrics reader per tick besides the active and changed ones, in
# turn (so each is looked at every len/ROTATION ticks, for histories nobody read yet).
ROTATION = 500
# States whose row may change without its record changing (progress, metrics).
LIVE = frozenset(HOLDING) | {Status.QUEUED}

MetricFields = Callable[[list[ExperimentRecord], list[ExperimentRecord]], dict[int, Any]]


class RowCache:
    """Every experiment's record and row, as the last tick saw them."""

    def __init__(self) -> None:
        self.seq = -1  # the store's change counter when last read (-1: never read)
        self.records: dict[int, ExperimentRecord] = {}
        self.rows: dict[int, RowJson] = {}  # published: replaced, never modified
        self.log_paths: dict[int, str] = {}
        self.live: dict[int, ExperimentRecord] = {}  # running, paused and queued ones
        self.ticks = 0
        self._turn = 0  # where the rotation over ended records stands

    def holding(self) -> list[ExperimentRecord]:
        """The records that hold GPUs now (running or paused)."""
        return [r for r in self.live.values() if r.status in HOLDING]

    def refresh(
        self, service: Service, errors: list[str], metric_fields: MetricFields
    ) -> tuple[dict[int, RowJson], list[ExperimentRecord], bool]:
        """(rows by id, the records handed to the metrics reader this tick, whether the set of
        logs changed) after this tick."""
        try:
            seq, changed, ids = listing.changed_since(service.store, self.seq, self.records)
        except Exception as e:  # a locked store now and then: last tick's rows stand
            errors.append(f"cannot read the experiments: {e}")
            return self.rows, list(self.live.values()), False
        gone = [i for i in self.records if i not in ids] if ids is not None else []
        for experiment_id in gone:
            for held in (self.records, self.log_paths, self.live):
                held.pop(experiment_id, None)
        for record in changed:  # ids only grow: new records land last, in id order
            self.records[record.id] = record
            if record.log_path:
                self.log_paths[record.id] = record.log_path
            if record.status in LIVE:
                self.live[record.id] = record
            else:
                self.live.pop(record.id, None)
        self.seq = seq
        self.ticks += 1
        looked_at = self._worth_a_look(changed)
        built = self._build_live(service, changed, looked_at, metric_fields)
        if self.ticks % FULL_REFRESH_TICKS == 1:
            built.update(self._metrics_moved(service, metric_fields))
        if built or gone:
            rows = {i: r for i, r in self.rows.items() if i in self.records}
            rows.update(built)
            self.rows = rows
        return self.rows, looked_at, bool(gone or changed)

    def _worth_a_look(self, changed: Sequence[ExperimentRecord]) -> list[ExperimentRecord]:
        """Active and changed records, and the next ROTATION ended ones in turn."""
        picked = {r.id: r for r in changed}
        picked.update(self.live)
        every = list(self.records.values())
        if every:
            start = self._turn % len(every)
            picked.update((r.id, r) for r in every[start : start + ROTATION])
            self._turn = start + ROTATION
        return list(picked.values())

    def _build_live(
        self,
        service: Service,
        changed: Sequence[ExperimentRecord],
        looked_at: list[ExperimentRecord],
        metric_fields: MetricFields,
    ) -> dict[int, RowJson]:
        """The rows of changed and live records, built again: those that differ."""
        ids = {r.id for r in changed}
        rebuild = list(changed) + [r for r in self.live.values() if r.id not in ids]
        fields = metric_fields(looked_at, rebuild)
        built = {}
        for record in rebuild:
            row = self._build(service, record, fields.get(record.id))
            if row is not None:
                built[record.id] = row
        return built

    def _metrics_moved(self, service: Service, metric_fields: MetricFields) -> dict[int, RowJson]:
        """Rows whose metric fields changed without their record (a history read late)."""
        every = list(self.records.values())
        fields = metric_fields([], every)
        moved = {}
        for record in every:
            row = self.rows.get(record.id)
            found = fields.get(record.id)
            if row is None:
                continue
            wanted = (found["metrics"], found["main_metric"], found["spark"]) if found else None
            if (row["metrics"], row["main_metric"], row["spark"]) != (wanted or ({}, None, [])):
                rebuilt = self._build(service, record, found)
                if rebuilt is not None:
                    moved[record.id] = rebuilt
        return moved

    def _build(self, service: Service, record: ExperimentRecord, metrics: Any) -> RowJson | None:
        """The record's row, or None when it equals the one shown."""
        row = protocol.row_json(record, row_progress(service, record), metrics)
        old = self.rows.get(record.id)
        return None if old is not None and old == row else row
