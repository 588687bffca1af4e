"""Dirty-row tracking: what the runtime changed since the last group commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

PROCESS_INSTANCES = "process_instances"
ELEMENT_INSTANCES = "element_instances"
VARIABLES = "variables"
JOBS = "jobs"
INCIDENTS = "incidents"
DEPLOYMENTS = "deployments"
PROCESS_DEFINITIONS = "process_definitions"
TIMERS = "timers"
MESSAGE_SUBSCRIPTIONS = "message_subscriptions"
MESSAGES = "messages"
JOINS = "joins"

MUTABLE_TABLES = (
    PROCESS_INSTANCES, ELEMENT_INSTANCES, VARIABLES, JOBS, INCIDENTS, TIMERS,
    MESSAGE_SUBSCRIPTIONS, MESSAGES, JOINS,
)
INSERT_ONLY_TABLES = (DEPLOYMENTS, PROCESS_DEFINITIONS)


class Persistable(Protocol):
    persisted: bool

    def row(self) -> tuple: ...


@dataclass(slots=True)
class Batch:
    """Everything one group commit writes, as plain tuples (safe to hand to a thread)."""

    upserts: dict[str, list[tuple]] = field(default_factory=dict)
    deletes: dict[str, list[tuple]] = field(default_factory=dict)
    inserts: dict[str, list[tuple]] = field(default_factory=dict)
    key_counter: int = 0

    def is_empty(self) -> bool:
        return not (self.upserts or self.deletes or self.inserts)


class ChangeSet:
    """Collects touched records; ``take`` turns them into a Batch and starts afresh."""

    def __init__(self) -> None:
        self._upserts: dict[str, dict[Any, Persistable]] = {t: {} for t in MUTABLE_TABLES}
        self._deletes: dict[str, dict[Any, None]] = {t: {} for t in MUTABLE_TABLES}
        self._inserts: dict[str, list[tuple]] = {t: [] for t in INSERT_ONLY_TABLES}
        self._dirty = False
        self.on_dirty: Callable[[], None] | None = None

    def _mark(self) -> None:
        if not self._dirty:
            self._dirty = True
            if self.on_dirty is not None:
                self.on_dirty()

    @property
    def dirty(self) -> bool:
        return self._dirty

    def touch(self) -> None:
        """Ask for a commit although no row changed (a command that only used up a key)."""
        self._mark()

    def upsert(self, table: str, pk: Any, record: Persistable) -> None:
        self._upserts[table][pk] = record
        self._mark()

    def delete(self, table: str, pk: Any, record: Persistable) -> None:
        self._upserts[table].pop(pk, None)
        if record.persisted:
            self._deletes[table][pk] = None
            self._mark()

    def insert(self, table: str, row: tuple) -> None:
        self._inserts[table].append(row)
        self._mark()

    def take(self, key_counter: int) -> Batch:
        batch = Batch(key_counter=key_counter)
        for table, records in self._upserts.items():
            if records:
                rows = []
                for rec in records.values():
                    rec.persisted = True
                    rows.append(rec.row())
                batch.upserts[table] = rows
                self._upserts[table] = {}
        for table, keys in self._deletes.items():
            if keys:
                batch.deletes[table] = [k if isinstance(k, tuple) else (k,) for k in keys]
                self._deletes[table] = {}
        for table, rows in self._inserts.items():
            if rows:
                batch.inserts[table] = rows
                self._inserts[table] = []
        self._dirty = False
        return batch
