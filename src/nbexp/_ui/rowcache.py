"""The monitor's rows of every experiment, kept up to date from what changed: each tick reads
only the rows the store's change counter (schema v6) says changed, plus the progress of those
that run, so an idle dashboard of 10,000 experiments costs a few small queries a tick instead
of decoding and re-encoding 10,000 rows. An unchanged row stays the same object, so that views
find what changed by identity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._core.records import ExperimentRecord
from .._core.states import HOLDING
from .._io import listing
from .._service.core import Service
from . import protocol
from .actions import row_progress
from .protocol import RowJson

# Metric fields come from their own tables, which change without the row changing: every row's
# are read again this often (ticks); running rows' every tick.
FULL_REFRESH_TICKS = 30

MetricFields = Callable[[list[ExperimentRecord], list[ExperimentRecord]], dict[int, Any]]


class RowCache:
    """Every experiment's record and row, as the last tick saw them."""

    def __init__(self) -> None:
        self.seq = -1  # the store's change counter when last read (-1: never read)
        self.records: dict[int, ExperimentRecord] = {}
        self.rows: dict[int, RowJson] = {}
        self.log_paths: dict[int, str] = {}
        self.ticks = 0

    def refresh(
        self, service: Service, errors: list[str], metric_fields: MetricFields
    ) -> tuple[dict[int, RowJson], list[ExperimentRecord], bool]:
        """(rows by id, every record, whether the set of logs changed) after this tick."""
        try:
            seq, changed, ids = listing.changed_since(service.store, self.seq, set(self.records))
        except Exception as e:  # a locked store now and then: last tick's rows stand
            errors.append(f"cannot read the experiments: {e}")
            return dict(self.rows), list(self.records.values()), False
        logs_before = len(self.log_paths)
        gone = [i for i in self.records if i not in ids] if ids is not None else []
        for experiment_id in gone:
            del self.records[experiment_id]
            self.rows.pop(experiment_id, None)
            self.log_paths.pop(experiment_id, None)
        for record in changed:  # ids only grow: new records land last, in id order
            self.records[record.id] = record
            if record.log_path:
                self.log_paths[record.id] = record.log_path
        self.seq = seq
        self.ticks += 1
        rebuild = self._to_rebuild(changed)
        records = list(self.records.values())
        fields = metric_fields(records, rebuild)
        for record in rebuild:
            self._build(service, record, fields.get(record.id))
        logs_changed = bool(gone) or len(self.log_paths) != logs_before or bool(changed)
        return dict(self.rows), records, logs_changed

    def _to_rebuild(self, changed: Sequence[ExperimentRecord]) -> list[ExperimentRecord]:
        """Rows to build again: those whose record changed, those whose log may have moved on
        (running, paused) and, now and then, every one (for metrics)."""
        if self.ticks % FULL_REFRESH_TICKS == 1:
            return list(self.records.values())
        ids = {r.id for r in changed}
        return list(changed) + [
            r for r in self.records.values() if r.status in HOLDING and r.id not in ids
        ]

    def _build(self, service: Service, record: ExperimentRecord, metrics: Any) -> None:
        row = protocol.row_json(record, row_progress(service, record), metrics)
        old = self.rows.get(record.id)
        if old is None or old != row:
            self.rows[record.id] = row
