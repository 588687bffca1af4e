"""Camunda REST API v2 subset (topology, incidents, process instances and definitions, jobs,
variables) as a Starlette app."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .committer import GroupCommitter
from .records import ErrorType, IncidentState, InstanceState, JobEvent
from .rest_commands import BadRequest, RestCommands, path_key, problem
from .rest_search import (
    BOOL,
    DATE,
    ENUM,
    INT,
    KEY,
    STRING,
    TAGS,
    VARIABLES,
    Field,
    SearchError,
    SearchQuery,
    SearchSpec,
    Sql,
    build_query,
    count_sql,
    ms_to_iso,
    page_info,
    page_rows,
    select_sql,
)
from .runtime import Runtime
from .store import EngineStore
from .topology import rest_topology

_ERROR_TYPES = frozenset({
    e.value for e in ErrorType} | {
    "UNHANDLED_ERROR_EVENT", "CONDITION_ERROR", "EXTRACT_VALUE_ERROR", "IO_MAPPING_ERROR",
    "CALLED_ELEMENT_ERROR", "CALLED_DECISION_ERROR", "DECISION_EVALUATION_ERROR",
    "MESSAGE_SIZE_EXCEEDED", "RESOURCE_NOT_FOUND", "FORM_NOT_FOUND",
    "EXECUTION_LISTENER_NO_RETRIES", "TASK_LISTENER_NO_RETRIES",
    "AD_HOC_SUB_PROCESS_NO_RETRIES", "UNKNOWN", "UNSPECIFIED",
})

INCIDENT_SPEC = SearchSpec(
    table="incidents",
    key_column="key",
    fields={
        "incidentKey": Field("key", KEY),
        "processDefinitionKey": Field("process_definition_key", KEY),
        "processDefinitionId": Field("bpmn_process_id", STRING),
        "processInstanceKey": Field("process_instance_key", KEY),
        "elementId": Field("element_id", STRING),
        "elementInstanceKey": Field("element_instance_key", KEY),
        "jobKey": Field("job_key", KEY),
        "errorType": Field("error_type", ENUM, _ERROR_TYPES),
        "errorMessage": Field("error_message", STRING),
        "state": Field("state", ENUM, frozenset(
            {s.value for s in IncidentState} | {"PENDING", "MIGRATED", "UNKNOWN"})),
        "creationTime": Field("creation_ms", DATE),
        "tenantId": Field("tenant_id", STRING),
    },
)

# Process-instance filters on related rows (see Field.within) and the CTE some of them need.
INCIDENT_ERROR_HASHES = "incident_error_hashes"
_PI_KEY = "process_instances.key"
_ELEMENT_OF = f"{_PI_KEY} IN (SELECT e.process_instance_key FROM element_instances e WHERE {{}})"
_INCIDENT_OF = (f"{_PI_KEY} IN (SELECT i.process_instance_key FROM incidents i "
                "WHERE i.state = 'ACTIVE' AND {})")
_HASHED_INCIDENT_OF = (f"{_PI_KEY} IN (SELECT i.process_instance_key FROM incidents i "
                       f"JOIN {INCIDENT_ERROR_HASHES} h ON h.message = i.error_message "
                       "WHERE i.state = 'ACTIVE' AND {})")
_ROOT_VARIABLE = (f"EXISTS (SELECT 1 FROM variables v WHERE v.scope_key = {_PI_KEY} "
                  "AND v.name = ? AND {})")
_RETRIES_LEFT = (f"({_PI_KEY} IN (SELECT j.process_instance_key FROM jobs j "
                 "WHERE j.end_ms IS NULL AND j.failed_with_retries_left = 1))")
_ELEMENT_INCIDENT = ("(e.key IN (SELECT i.element_instance_key FROM incidents i "
                     "WHERE i.state = 'ACTIVE'))")
_ELEMENT_STATES = frozenset({"ACTIVE", "COMPLETED", "TERMINATED"})

PROCESS_INSTANCE_SPEC = SearchSpec(
    table="process_instances",
    key_column="key",
    allow_or=True,
    fields={
        "processInstanceKey": Field("key", KEY),
        "processDefinitionId": Field("bpmn_process_id", STRING),
        "processDefinitionName": Field("process_definition_name", STRING),
        "processDefinitionVersion": Field("version", INT),
        "processDefinitionVersionTag": Field("NULL", STRING),
        "processDefinitionKey": Field("process_definition_key", KEY),
        "parentProcessInstanceKey": Field("NULL", KEY),
        "parentElementInstanceKey": Field("NULL", KEY),
        "startDate": Field("start_ms", DATE),
        "endDate": Field("end_ms", DATE),
        "state": Field("state", ENUM, frozenset(s.value for s in InstanceState)),
        "hasIncident": Field("(incident_count > 0)", BOOL),
        "tenantId": Field("tenant_id", STRING),
        "businessId": Field("NULL", STRING),
        "variables": Field("v.value", VARIABLES, within=_ROOT_VARIABLE, sortable=False),
        "errorMessage": Field("i.error_message", STRING, within=_INCIDENT_OF, sortable=False),
        "incidentErrorHashCode": Field("h.hash", INT, within=_HASHED_INCIDENT_OF,
                                       sortable=False, needs=INCIDENT_ERROR_HASHES),
        "hasRetriesLeft": Field(_RETRIES_LEFT, BOOL, sortable=False),
        "elementId": Field("e.element_id", STRING, within=_ELEMENT_OF, sortable=False),
        "elementInstanceState": Field("'ACTIVE'", ENUM, _ELEMENT_STATES, within=_ELEMENT_OF,
                                      sortable=False),
        "hasElementInstanceIncident": Field(_ELEMENT_INCIDENT, BOOL, within=_ELEMENT_OF,
                                            sortable=False),
        "batchOperationId": Field("NULL", STRING, sortable=False),
        "tags": Field("NULL", TAGS, sortable=False),
    },
)


JOB_SPEC = SearchSpec(
    table="jobs",
    key_column="key",
    fields={
        "jobKey": Field("key", KEY),
        "type": Field("type", STRING),
        "worker": Field("worker", STRING),
        "state": Field("last_event", ENUM, frozenset({e.value for e in JobEvent} | {"MIGRATED"})),
        "kind": Field("'BPMN_ELEMENT'", ENUM, frozenset({
            "BPMN_ELEMENT", "EXECUTION_LISTENER", "TASK_LISTENER", "AD_HOC_SUB_PROCESS"})),
        "listenerEventType": Field("'UNSPECIFIED'", ENUM, frozenset({
            "ASSIGNING", "CANCELING", "COMPLETING", "CREATING", "END", "START", "UNSPECIFIED",
            "UPDATING"})),
        "processDefinitionId": Field("bpmn_process_id", STRING),
        "processDefinitionKey": Field("process_definition_key", KEY),
        "processInstanceKey": Field("process_instance_key", KEY),
        "elementId": Field("element_id", STRING),
        "elementInstanceKey": Field("element_instance_key", KEY),
        "retries": Field("retries", INT),
        "hasFailedWithRetriesLeft": Field("failed_with_retries_left", BOOL),
        "errorCode": Field("NULLIF(error_code, '')", STRING),
        "errorMessage": Field("NULLIF(error_message, '')", STRING),
        "deadline": Field("NULLIF(deadline_ms, 0)", DATE),
        "endTime": Field("end_ms", DATE),
        "tenantId": Field("COALESCE(tenant_id, '<default>')", STRING),
        "isDenied": Field("NULL", BOOL),
        "deniedReason": Field("NULL", STRING),
        "creationTime": Field("created_ms", DATE),
        "lastUpdateTime": Field("updated_ms", DATE),
        "priority": Field("NULL", INT),
    },
)


VARIABLE_SPEC = SearchSpec(
    table="variables",
    key_column="key",
    fields={
        "variableKey": Field("key", KEY),
        "name": Field("name", STRING),
        "value": Field("value", STRING),
        "scopeKey": Field("scope_key", KEY),
        "processInstanceKey": Field("process_instance_key", KEY),
        "tenantId": Field("'<default>'", STRING),
        "isTruncated": Field("(length(value) > 8192)", BOOL),
    },
)

#: Longest variable value a search returns whole; longer ones come back truncated
#: (the number is also in VARIABLE_SPEC's isTruncated filter).
VARIABLE_PREVIEW_CHARS = 8192


def _key(value: int | None) -> str | None:
    return None if value is None else str(value)


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode()``, which Camunda keeps as an incident's error hash code."""
    code = 0
    units = text.encode("utf-16-be")
    for i in range(0, len(units), 2):
        code = (31 * code + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    return code - (1 << 32) if code & 0x80000000 else code


def incident_item(row: sqlite3.Row) -> dict[str, Any]:
    """An incident; every §4.4 filter and sort field is a column the engine keeps."""
    return {
        "incidentKey": str(row["key"]),
        "processDefinitionKey": str(row["process_definition_key"]),
        "processDefinitionId": row["bpmn_process_id"],
        "processInstanceKey": str(row["process_instance_key"]),
        "rootProcessInstanceKey": str(row["process_instance_key"]),
        "errorType": row["error_type"],
        "errorMessage": row["error_message"],
        "elementId": row["element_id"],
        "elementInstanceKey": str(row["element_instance_key"]),
        "creationTime": ms_to_iso(row["creation_ms"]),
        "state": row["state"],
        "jobKey": _key(row["job_key"]),
        "tenantId": row["tenant_id"],
    }


def process_instance_item(row: sqlite3.Row) -> dict[str, Any]:
    """A process instance. What the engine does not have, and how filters treat it:

    - No call activities, version tags, tags, business ids or batch operations: the parent
      keys, ``processDefinitionVersionTag``, ``businessId`` and ``batchOperationId`` are null
      (a value filter matches nothing, ``{"$exists": false}`` matches all) and ``tags`` is
      empty (``"tags": []`` matches all, any tag matches nothing).
    - Element instances are kept while active only: ``elementId``, ``elementInstanceState``
      and ``hasElementInstanceIncident`` look at the live element instances of an instance
      (all in state ACTIVE), and must hold for the same element instance; so
      ``elementInstanceState`` COMPLETED or TERMINATED matches nothing.
    - ``errorMessage`` and ``incidentErrorHashCode`` (Java ``String.hashCode`` of the
      message) look at the active incidents; ``hasRetriesLeft`` at the live jobs that failed
      with retries left (false: the instance has none).
    - ``variables`` match root-scope variables by their compact JSON text.
    """
    return {
        "processInstanceKey": str(row["key"]),
        "processDefinitionId": row["bpmn_process_id"],
        "processDefinitionName": row["process_definition_name"],
        "processDefinitionVersion": row["version"],
        "processDefinitionVersionTag": None,
        "processDefinitionKey": str(row["process_definition_key"]),
        "parentProcessInstanceKey": None,
        "parentElementInstanceKey": None,
        "rootProcessInstanceKey": str(row["key"]),
        "startDate": ms_to_iso(row["start_ms"]),
        "endDate": ms_to_iso(row["end_ms"]),
        "state": row["state"],
        "hasIncident": row["incident_count"] > 0,
        "tenantId": row["tenant_id"],
        "tags": [],
        "businessId": None,
    }


def job_item(row: sqlite3.Row) -> dict[str, Any]:
    """A job. Every §4.6 field is accepted in filters and sorts; those the engine cannot
    know are constants: ``kind`` BPMN_ELEMENT, ``listenerEventType`` UNSPECIFIED, and
    ``isDenied``, ``deniedReason`` and ``priority`` are unset (null in SQL, so a value filter
    matches nothing; ``priority`` is shown as 0, as Camunda does for jobs without one)."""
    return {
        "jobKey": str(row["key"]),
        "type": row["type"],
        "worker": row["worker"],
        "state": row["last_event"],
        "kind": "BPMN_ELEMENT",
        "listenerEventType": "UNSPECIFIED",
        "processDefinitionId": row["bpmn_process_id"],
        "processDefinitionKey": str(row["process_definition_key"]),
        "processInstanceKey": str(row["process_instance_key"]),
        "rootProcessInstanceKey": str(row["process_instance_key"]),
        "elementId": row["element_id"],
        "elementInstanceKey": str(row["element_instance_key"]),
        "retries": row["retries"],
        "hasFailedWithRetriesLeft": bool(row["failed_with_retries_left"]),
        "errorCode": row["error_code"] or None,
        "errorMessage": row["error_message"] or None,
        "customHeaders": json.loads(row["custom_headers"]),
        "deadline": ms_to_iso(row["deadline_ms"] or None),
        "endTime": ms_to_iso(row["end_ms"]),
        "tenantId": row["tenant_id"] or "<default>",
        "isDenied": None,
        "deniedReason": None,
        "creationTime": ms_to_iso(row["created_ms"]),
        "lastUpdateTime": ms_to_iso(row["updated_ms"]),
        "priority": 0,
    }


def variable_item(row: sqlite3.Row) -> dict[str, Any]:
    """A variable: its value as JSON text, as Camunda returns it; the engine keeps root
    variables of finished instances, and every scope's variables while the instance runs."""
    value = row["value"]
    truncated = len(value) > VARIABLE_PREVIEW_CHARS
    return {
        "variableKey": str(row["key"]),
        "name": row["name"],
        "value": value[:VARIABLE_PREVIEW_CHARS] if truncated else value,
        "isTruncated": truncated,
        "scopeKey": str(row["scope_key"]),
        "processInstanceKey": str(row["process_instance_key"]),
        "rootProcessInstanceKey": str(row["process_instance_key"]),
        "tenantId": "<default>",
    }


def process_definition_item(row: sqlite3.Row) -> dict[str, Any]:
    """A deployed process definition (the XML is served by ``/xml``)."""
    return {
        "processDefinitionKey": str(row["key"]),
        "processDefinitionId": row["bpmn_process_id"],
        "name": row["name"],
        "version": row["version"],
        "versionTag": None,
        "resourceName": row["resource_name"],
        "tenantId": row["tenant_id"],
        "hasStartForm": False,
    }


class RestApi:
    """Handlers read SQLite after the commit barrier, so answers are strongly consistent."""

    def __init__(self, store: EngineStore, committer: GroupCommitter, runtime: Runtime) -> None:
        self._store = store
        self._committer = committer
        self._commands = RestCommands(runtime, committer)

    async def _query(self, sql: str, params: Any) -> list[sqlite3.Row]:
        await self._committer.barrier()
        return await asyncio.to_thread(self._store.query, sql, params)

    async def topology(self, request: Request) -> Response:
        return JSONResponse(rest_topology())

    def _search(self, spec: SearchSpec, render: Callable[[sqlite3.Row], dict[str, Any]],
                scope: tuple[str, str, str] | None = None):
        """A search endpoint; ``scope`` = (path param, column, parent table) narrows it to one
        parent, e.g. the incidents of one process instance (404 when the parent is unknown)."""
        async def handler(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                return problem(request, 400, "INVALID_ARGUMENT",
                               f"the request body is not valid JSON: {exc}")
            try:
                query = build_query(body, spec)
                if scope is not None:
                    query = await self._scoped(request, query, *scope)
            except (SearchError, BadRequest) as exc:
                return problem(request, 400, "INVALID_ARGUMENT", str(exc))
            if query is None:
                return problem(request, 404, "NOT_FOUND",
                               f"Process instance with key '{request.path_params[scope[0]]}' "
                               "not found")
            ctes = await self._ctes(query)
            rows = page_rows(query, await self._query(*select_sql(spec, query, ctes)))
            total = (await self._query(*count_sql(spec, query, ctes)))[0][0]
            return JSONResponse({
                "items": [render(r) for r in rows],
                "page": page_info(total, query, rows),
            })
        return handler

    async def _ctes(self, query: SearchQuery) -> dict[str, Sql]:
        """The common table expressions the query's filters need (see Field.needs)."""
        ctes: dict[str, Sql] = {}
        if INCIDENT_ERROR_HASHES in query.needs:
            rows = await self._query(
                "SELECT DISTINCT error_message FROM incidents WHERE state = 'ACTIVE'", ())
            pairs = json.dumps([[r[0], java_string_hash(r[0])] for r in rows])
            ctes[INCIDENT_ERROR_HASHES] = (
                f"{INCIDENT_ERROR_HASHES}(message, hash) AS (SELECT json_extract(value, '$[0]'), "
                "json_extract(value, '$[1]') FROM json_each(?))", [pairs])
        return ctes

    async def _scoped(self, request: Request, query: SearchQuery, param: str, column: str,
                      parent: str) -> SearchQuery | None:
        key = path_key(request, param)
        if not await self._query(f"SELECT 1 FROM {parent} WHERE key = ?", (key,)):
            return None
        return dataclasses.replace(query, where=f"({query.where}) AND {column} = ?",
                                   params=[*query.params, key])

    def _get(self, table: str, noun: str, path_param: str,
             render: Callable[[sqlite3.Row], dict[str, Any]]):
        async def handler(request: Request) -> Response:
            try:
                key = path_key(request, path_param)
            except BadRequest as exc:
                return problem(request, 400, "INVALID_ARGUMENT", str(exc))
            rows = await self._query(f"SELECT * FROM {table} WHERE key = ?", (key,))
            if not rows:
                return problem(request, 404, "NOT_FOUND",
                               f"{noun} with key '{request.path_params[path_param]}' not found")
            return JSONResponse(render(rows[0]))
        return handler

    async def process_definition_xml(self, request: Request) -> Response:
        """The BPMN XML of a deployed definition, as deployed (text/xml)."""
        try:
            key = path_key(request, "processDefinitionKey")
        except BadRequest as exc:
            return problem(request, 400, "INVALID_ARGUMENT", str(exc))
        rows = await self._query("SELECT resource FROM process_definitions WHERE key = ?", (key,))
        if not rows:
            return problem(request, 404, "NOT_FOUND", "Process definition with key "
                           f"'{request.path_params['processDefinitionKey']}' not found")
        return Response(bytes(rows[0]["resource"]), media_type="text/xml")

    def app(self) -> Starlette:
        commands = self._commands
        routes = [
            Route("/topology", self.topology, methods=["GET"]),
            Route("/incidents/search", self._search(INCIDENT_SPEC, incident_item),
                  methods=["POST"]),
            Route("/incidents/{incidentKey}",
                  self._get("incidents", "Incident", "incidentKey", incident_item),
                  methods=["GET"]),
            Route("/incidents/{incidentKey}/resolution", commands.resolve_incident,
                  methods=["POST"]),
            Route("/process-instances/search",
                  self._search(PROCESS_INSTANCE_SPEC, process_instance_item), methods=["POST"]),
            Route("/process-instances/{processInstanceKey}",
                  self._get("process_instances", "Process instance", "processInstanceKey",
                            process_instance_item),
                  methods=["GET"]),
            Route("/process-instances/{processInstanceKey}/cancellation",
                  commands.cancel_instance, methods=["POST"]),
            Route("/process-instances/{processInstanceKey}/incidents/search",
                  self._search(INCIDENT_SPEC, incident_item,
                               ("processInstanceKey", "process_instance_key",
                                "process_instances")),
                  methods=["POST"]),
            Route("/jobs/search", self._search(JOB_SPEC, job_item), methods=["POST"]),
            Route("/variables/search", self._search(VARIABLE_SPEC, variable_item),
                  methods=["POST"]),
            Route("/process-definitions/{processDefinitionKey}",
                  self._get("process_definitions", "Process definition", "processDefinitionKey",
                            process_definition_item),
                  methods=["GET"]),
            Route("/process-definitions/{processDefinitionKey}/xml", self.process_definition_xml,
                  methods=["GET"]),
            Route("/jobs/{jobKey}", commands.update_job, methods=["PATCH"]),
        ]

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            title = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "ERROR")
            return problem(request, exc.status_code, title, str(exc.detail))

        async def internal_error(request: Request, exc: Exception) -> Response:
            return problem(request, 500, "INTERNAL", f"Unexpected error: {exc}")

        return Starlette(
            routes=[Mount("/v2", routes=routes)],
            exception_handlers={HTTPException: http_error, Exception: internal_error},
        )
