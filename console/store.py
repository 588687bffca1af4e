"""The console's local store (sqlite-utils): event timeline, callback attempts, audit log."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from console.events import CallbackAttempt, Event, OperatorAction, OrderSeen


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One thing an operator (or the console on its own) did: who, when, what, on which order, outcome."""

    at: str
    user: str
    console: str
    action: str
    order_id: str | None
    outcome: str
    detail: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AuditEntry:
        return cls(str(row.get("at") or ""), str(row.get("user") or ""), str(row.get("console") or ""),
                   str(row.get("action") or ""), row.get("order_id"), str(row.get("outcome") or ""),
                   str(row.get("detail") or ""))


Batch = tuple[tuple[str, list[dict[str, Any]]], ...]


class LocalStore:
    """Buffers events and writes them in one transaction per ``flush()``.

    OrderSeen is not kept in the timeline (Medusa holds the orders); everything else is.
    """

    def __init__(self, path: Path, *, user: str = "", console_id: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        #: Who acts through this console, stamped on every audit entry.
        self.user = user
        self.console_id = console_id
        # Written from a worker thread (the runtime's flush) and read from the event loop's:
        # every use of the connection holds ``_lock``, and close() waits for a write under way
        # (a flush task cancelled at quit leaves its thread writing; closing under it crashes).
        self._lock = threading.RLock()
        self.db = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._ensure_tables()
        self._events: list[dict[str, Any]] = []
        self._attempts: list[dict[str, Any]] = []
        self._audit: list[dict[str, Any]] = []

    def _ensure_tables(self) -> None:
        self.db["events"].create(
            {"id": int, "at": str, "kind": str, "order_id": str, "payload": str},
            pk="id",
            if_not_exists=True,
        )
        self.db["events"].create_index(["order_id"], if_not_exists=True)
        self.db["callback_attempts"].create(
            {
                "id": int, "at": str, "order_id": str, "stage": str, "status": str,
                "attempt": int, "max_attempts": int, "ok": bool, "http_status": int,
                "error": str, "latency_ms": float, "next_delay_s": float,
            },
            pk="id",
            if_not_exists=True,
        )
        self.db["audit"].create(
            {"id": int, "at": str, "action": str, "order_id": str, "outcome": str, "detail": str},
            pk="id",
            if_not_exists=True,
        )

    def record(self, event: Event) -> None:
        if isinstance(event, OrderSeen):
            return
        payload = _jsonable(event)
        at = payload.pop("at")
        self._events.append(
            {"at": at, "kind": type(event).__name__, "order_id": payload.get("order_id"),
             "payload": json.dumps(payload, separators=(",", ":"))}
        )
        if isinstance(event, CallbackAttempt):
            self._attempts.append({"at": at, **{k: v for k, v in payload.items()}})
        elif isinstance(event, OperatorAction):
            self._audit.append({"at": at, "user": self.user, "console": self.console_id, **payload})

    def take(self) -> Batch:
        """Hand over what was buffered (call on the event loop, then ``write`` anywhere)."""
        batch = (("events", self._events), ("callback_attempts", self._attempts), ("audit", self._audit))
        self._events, self._attempts, self._audit = [], [], []
        return batch

    def write(self, batch: Batch) -> int:
        """Write one batch in one transaction; returns the number of rows."""
        written = sum(len(rows) for _, rows in batch)
        if written:
            with self._lock, self.db.conn:
                for table, rows in batch:
                    if rows:
                        # alter: audit logs written before "user"/"console" existed gain the columns
                        self.db[table].insert_all(rows, alter=table == "audit")
        return written

    def flush(self) -> int:
        """Write what was buffered, now, on this thread."""
        return self.write(self.take())

    def audit_log(self, limit: int = 1000) -> list[AuditEntry]:
        """The operator's audit log, newest first (read on its own connection)."""
        pending = [AuditEntry.from_row(row) for row in reversed(self._audit)]
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return (pending + [AuditEntry.from_row(dict(row)) for row in rows])[:limit]

    def timeline(self, order_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db["events"].rows_where("order_id = ?", [order_id], order_by="id"))

    def close(self) -> None:
        with self._lock:
            self.flush()
            self.db.close()
