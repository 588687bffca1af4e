"""SQLite persistence of engine state: schema, group-commit writes, start-up load, reads."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .changes import (
    DEPLOYMENTS,
    ELEMENT_INSTANCES,
    INCIDENTS,
    JOBS,
    JOINS,
    MESSAGE_SUBSCRIPTIONS,
    MESSAGES,
    PROCESS_DEFINITIONS,
    PROCESS_INSTANCES,
    TIMERS,
    VARIABLES,
    Batch,
)

DB_FILE_NAME = "engine.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deployments (
    key INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS process_definitions (
    key INTEGER PRIMARY KEY, bpmn_process_id TEXT NOT NULL, version INTEGER NOT NULL,
    resource_name TEXT NOT NULL, checksum TEXT NOT NULL, deployment_key INTEGER NOT NULL,
    tenant_id TEXT NOT NULL, name TEXT, deployed_ms INTEGER NOT NULL, resource BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS process_instances (
    key INTEGER PRIMARY KEY, process_definition_key INTEGER NOT NULL,
    bpmn_process_id TEXT NOT NULL, process_definition_name TEXT, version INTEGER NOT NULL,
    state TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER,
    incident_count INTEGER NOT NULL, tenant_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS process_instances_state ON process_instances (state);
CREATE TABLE IF NOT EXISTS element_instances (
    key INTEGER PRIMARY KEY, process_instance_key INTEGER NOT NULL, element_id TEXT NOT NULL,
    flow_scope_key INTEGER NOT NULL, state TEXT NOT NULL, job_key INTEGER);
CREATE TABLE IF NOT EXISTS variables (
    scope_key INTEGER NOT NULL, name TEXT NOT NULL, key INTEGER NOT NULL,
    process_instance_key INTEGER NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (scope_key, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
    key INTEGER PRIMARY KEY, type TEXT NOT NULL, process_instance_key INTEGER NOT NULL,
    element_instance_key INTEGER NOT NULL, process_definition_key INTEGER NOT NULL,
    element_id TEXT NOT NULL, state TEXT NOT NULL, retries INTEGER NOT NULL,
    worker TEXT NOT NULL, deadline_ms INTEGER NOT NULL, backoff_until_ms INTEGER NOT NULL,
    error_message TEXT NOT NULL, custom_headers TEXT NOT NULL, incident_key INTEGER,
    bpmn_process_id TEXT, error_code TEXT NOT NULL DEFAULT '',
    last_event TEXT NOT NULL DEFAULT 'CREATED', created_ms INTEGER, updated_ms INTEGER,
    end_ms INTEGER, failed_with_retries_left INTEGER NOT NULL DEFAULT 0, tenant_id TEXT);
CREATE TABLE IF NOT EXISTS timers (
    key INTEGER PRIMARY KEY, process_instance_key INTEGER NOT NULL,
    element_instance_key INTEGER NOT NULL, element_id TEXT NOT NULL, due_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS message_subscriptions (
    key INTEGER PRIMARY KEY, process_instance_key INTEGER NOT NULL,
    element_instance_key INTEGER NOT NULL, element_id TEXT NOT NULL,
    bpmn_process_id TEXT NOT NULL, message_name TEXT NOT NULL, correlation_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    key INTEGER PRIMARY KEY, name TEXT NOT NULL, correlation_key TEXT NOT NULL,
    message_id TEXT NOT NULL, variables TEXT NOT NULL, publish_ms INTEGER NOT NULL,
    expire_ms INTEGER NOT NULL, correlated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS joins (
    scope_key INTEGER NOT NULL, element_id TEXT NOT NULL, process_instance_key INTEGER NOT NULL,
    arrivals TEXT NOT NULL, PRIMARY KEY (scope_key, element_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incidents (
    key INTEGER PRIMARY KEY, error_type TEXT NOT NULL, error_message TEXT NOT NULL,
    process_instance_key INTEGER NOT NULL, process_definition_key INTEGER NOT NULL,
    bpmn_process_id TEXT NOT NULL, element_id TEXT NOT NULL,
    element_instance_key INTEGER NOT NULL, job_key INTEGER, state TEXT NOT NULL,
    creation_ms INTEGER NOT NULL, resolved_ms INTEGER, tenant_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_state ON incidents (state);
"""

_COLUMNS: dict[str, tuple[str, ...]] = {
    DEPLOYMENTS: ("key", "tenant_id", "created_ms"),
    PROCESS_DEFINITIONS: (
        "key", "bpmn_process_id", "version", "resource_name", "checksum", "deployment_key",
        "tenant_id", "name", "deployed_ms", "resource",
    ),
    PROCESS_INSTANCES: (
        "key", "process_definition_key", "bpmn_process_id", "process_definition_name",
        "version", "state", "start_ms", "end_ms", "incident_count", "tenant_id",
    ),
    ELEMENT_INSTANCES: (
        "key", "process_instance_key", "element_id", "flow_scope_key", "state", "job_key",
    ),
    VARIABLES: ("scope_key", "name", "key", "process_instance_key", "value"),
    JOBS: (
        "key", "type", "process_instance_key", "element_instance_key", "process_definition_key",
        "element_id", "state", "retries", "worker", "deadline_ms", "backoff_until_ms",
        "error_message", "custom_headers", "incident_key", "bpmn_process_id", "error_code",
        "last_event", "created_ms", "updated_ms", "end_ms", "failed_with_retries_left",
        "tenant_id",
    ),
    TIMERS: ("key", "process_instance_key", "element_instance_key", "element_id", "due_ms"),
    MESSAGE_SUBSCRIPTIONS: (
        "key", "process_instance_key", "element_instance_key", "element_id", "bpmn_process_id",
        "message_name", "correlation_key",
    ),
    MESSAGES: (
        "key", "name", "correlation_key", "message_id", "variables", "publish_ms", "expire_ms",
        "correlated",
    ),
    JOINS: ("scope_key", "element_id", "process_instance_key", "arrivals"),
    INCIDENTS: (
        "key", "error_type", "error_message", "process_instance_key", "process_definition_key",
        "bpmn_process_id", "element_id", "element_instance_key", "job_key", "state",
        "creation_ms", "resolved_ms", "tenant_id",
    ),
}
_PRIMARY_KEYS = {VARIABLES: ("scope_key", "name"), JOINS: ("scope_key", "element_id")}
# Columns added to the first schema version; older files get them on open.
_ADDED_COLUMNS = {
    JOBS: (
        ("bpmn_process_id", "TEXT"), ("error_code", "TEXT NOT NULL DEFAULT ''"),
        ("last_event", "TEXT NOT NULL DEFAULT 'CREATED'"), ("created_ms", "INTEGER"),
        ("updated_ms", "INTEGER"), ("end_ms", "INTEGER"),
        ("failed_with_retries_left", "INTEGER NOT NULL DEFAULT 0"), ("tenant_id", "TEXT"),
    ),
}
# Finished jobs stay as history for the REST job search; only live ones are loaded.
_INDEXES = """
CREATE INDEX IF NOT EXISTS jobs_live ON jobs (key) WHERE end_ms IS NULL;
"""


def _upsert_sql(table: str) -> str:
    cols = _COLUMNS[table]
    marks = ", ".join("?" for _ in cols)
    return f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({marks})"


def _delete_sql(table: str) -> str:
    pk = _PRIMARY_KEYS.get(table, ("key",))
    return f"DELETE FROM {table} WHERE " + " AND ".join(f"{c} = ?" for c in pk)


_UPSERT = {t: _upsert_sql(t) for t in _COLUMNS}
_DELETE = {t: _delete_sql(t) for t in _COLUMNS}


@dataclass(slots=True)
class LoadedState:
    """Rows read at start-up, as dicts keyed by column name."""

    key_counter: int
    definitions: list[dict[str, Any]]
    instances: list[dict[str, Any]]
    element_instances: list[dict[str, Any]]
    variables: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    joins: list[dict[str, Any]]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class EngineStore:
    """Owns the engine's SQLite file: one writer connection and one reader connection."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE_NAME
        self._writer = _connect(self.path)
        self._writer.executescript(SCHEMA)
        self._migrate()
        self._reader = _connect(self.path)
        self._reader.row_factory = sqlite3.Row
        self._read_lock = threading.Lock()

    def _migrate(self) -> None:
        conn = self._writer
        for table, columns in _ADDED_COLUMNS.items():
            existing = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, decl in columns:
                if name not in existing:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
        conn.executescript(_INDEXES)

    def load(self) -> LoadedState:
        """Read everything the runtime needs to resume (live state and definitions)."""
        conn = self._writer
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute("SELECT value FROM meta WHERE name = 'key_counter'").fetchone()

            def rows(sql: str) -> list[dict[str, Any]]:
                return [dict(r) for r in conn.execute(sql)]

            return LoadedState(
                key_counter=row["value"] if row else 0,
                definitions=rows("SELECT * FROM process_definitions ORDER BY key"),
                instances=rows("SELECT * FROM process_instances WHERE state = 'ACTIVE' ORDER BY key"),
                element_instances=rows("SELECT * FROM element_instances ORDER BY key"),
                # Finished instances keep their root variables as history; only live ones load.
                variables=rows(
                    "SELECT v.* FROM variables v JOIN process_instances p "
                    "ON p.key = v.process_instance_key WHERE p.state = 'ACTIVE' ORDER BY v.key"
                ),
                jobs=rows("SELECT * FROM jobs WHERE end_ms IS NULL ORDER BY key"),
                incidents=rows("SELECT * FROM incidents WHERE state = 'ACTIVE' ORDER BY key"),
                timers=rows("SELECT * FROM timers ORDER BY key"),
                subscriptions=rows("SELECT * FROM message_subscriptions ORDER BY key"),
                messages=rows("SELECT * FROM messages ORDER BY key"),
                joins=rows("SELECT * FROM joins"),
            )
        finally:
            conn.row_factory = None

    def write(self, batch: Batch) -> None:
        """Apply one group commit in a single transaction (called off the event loop)."""
        conn = self._writer
        conn.execute("BEGIN")
        try:
            for table, rows in batch.inserts.items():
                conn.executemany(_UPSERT[table], rows)
            for table, rows in batch.upserts.items():
                conn.executemany(_UPSERT[table], rows)
            for table, keys in batch.deletes.items():
                conn.executemany(_DELETE[table], keys)
            conn.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('key_counter', ?)",
                (batch.key_counter,),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query on the reader connection (call it off the event loop)."""
        with self._read_lock:
            return self._reader.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()
        self._writer.close()
