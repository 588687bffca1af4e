"""The Camunda 8 REST API v2 (Orchestration Cluster API): incidents, instances, jobs, variables, XML."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from console.clients.errors import BackendError, display_url, json_object
from workers.http import error_reason


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident as the REST v2 search returns it (keys as ints)."""

    key: int
    process_instance_key: int
    job_key: int | None
    element_id: str
    error_type: str
    error_message: str
    state: str
    creation_time: str

    @classmethod
    def from_rest(cls, item: dict[str, Any]) -> Incident:
        job_key = item.get("jobKey")
        return cls(
            key=int(item["incidentKey"]),
            process_instance_key=int(item["processInstanceKey"]),
            job_key=int(job_key) if job_key not in (None, "") else None,
            element_id=str(item.get("elementId") or ""),
            error_type=str(item.get("errorType") or ""),
            error_message=str(item.get("errorMessage") or ""),
            state=str(item.get("state") or ""),
            creation_time=str(item.get("creationTime") or ""),
        )


class CamundaRest:
    """Searches over ``{base}/v2``; errors become one-line BackendError."""

    def __init__(self, base_url: str, auth: httpx.Auth | None = None, timeout_s: float = 10.0) -> None:
        base = base_url.rstrip("/")
        if not base.endswith("/v2"):
            base += "/v2"
        self.base_url = display_url(base)
        self._http = httpx.AsyncClient(base_url=base, auth=auth, timeout=timeout_s)

    async def close(self) -> None:
        await self._http.aclose()

    async def topology(self) -> dict[str, Any]:
        return await self._request("GET", "/topology")

    async def active_incidents(self, limit: int = 200) -> list[Incident]:
        """Every open incident, newest first: pages of ``limit``, read on ``endCursor`` to the end."""
        body: dict[str, Any] = {
            "filter": {"state": "ACTIVE"},
            "sort": [{"field": "creationTime", "order": "DESC"}, {"field": "incidentKey", "order": "DESC"}],
            "page": {"limit": limit},
        }
        return [Incident.from_rest(item) for item in await self._search_all("/incidents/search", body)]

    async def incidents_of(self, process_instance_key: int) -> list[Incident]:
        """Open incidents of one process instance."""
        body = {"filter": {"processInstanceKey": str(process_instance_key), "state": "ACTIVE"}}
        data = await self._request("POST", "/incidents/search", json=body)
        return [Incident.from_rest(item) for item in data.get("items", [])]

    async def instances_with_variable(
        self, process_id: str, name: str, value: object, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Instances of ``process_id`` (any state) whose root variable ``name`` equals ``value``, newest first."""
        body = {
            "filter": {
                "processDefinitionId": process_id,
                "variables": [{"name": name, "value": json.dumps(value, separators=(",", ":"))}],
            },
            "sort": [{"field": "startDate", "order": "DESC"}],
            "page": {"limit": limit},
        }
        data = await self._request("POST", "/process-instances/search", json=body)
        return list(data.get("items", []))

    async def process_instance(self, key: int) -> dict[str, Any]:
        """One process instance (state, definition key, start and end dates)."""
        return await self._request("GET", f"/process-instances/{key}")

    async def process_definition_xml(self, key: int) -> bytes:
        """The BPMN XML of a deployed process definition, with its diagram interchange."""
        return (await self._send("GET", f"/process-definitions/{key}/xml")).content

    async def jobs_of(self, process_instance_key: int, limit: int = 100) -> list[dict[str, Any]]:
        """Every job of one instance (any state), oldest first."""
        body = {
            "filter": {"processInstanceKey": str(process_instance_key)},
            "sort": [{"field": "creationTime", "order": "ASC"}],
            "page": {"limit": limit},
        }
        return list((await self._request("POST", "/jobs/search", json=body)).get("items", []))

    async def variables_of(self, process_instance_key: int, limit: int = 200) -> dict[str, str]:
        """The instance's root-scope variables: name -> value as JSON text."""
        body = {"filter": {"scopeKey": str(process_instance_key)}, "page": {"limit": limit}}
        data = await self._request("POST", "/variables/search", json=body)
        return {str(item["name"]): str(item["value"]) for item in data.get("items", [])}

    async def completed_jobs(self, process_instance_key: int) -> list[dict[str, Any]]:
        """The finished jobs of one process instance (their ``elementId`` names the stage)."""
        body = {
            "filter": {"processInstanceKey": str(process_instance_key), "state": "COMPLETED"},
            "page": {"limit": 100},
        }
        return await self._search_all("/jobs/search", body)

    async def _search_all(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a search: pages on ``page.endCursor`` until a page comes back short."""
        items: list[dict[str, Any]] = []
        limit = int(body.get("page", {}).get("limit", 100))
        while True:
            data = await self._request("POST", path, json=body)
            page = list(data.get("items", []))
            items.extend(page)
            cursor = (data.get("page") or {}).get("endCursor")
            if len(page) < limit or not cursor:
                return items
            body = {**body, "page": {"limit": limit, "after": cursor}}

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._send(method, path, **kwargs)
        return json_object("camunda-rest", f"{method} {path}", response)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendError("camunda-rest", f"{method} {path}: {type(exc).__name__}: {exc}", "UNAVAILABLE") from None
        if response.status_code >= 400:
            raise BackendError(
                "camunda-rest",
                f"{method} {path}: HTTP {response.status_code}: {error_reason(response, raw_text=True)}",
                f"HTTP_{response.status_code}",
            )
        return response
