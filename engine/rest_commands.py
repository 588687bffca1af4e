"""REST v2 command endpoints: incident resolution, instance cancellation, job updates."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .committer import GroupCommitter
from .errors import Rejection
from .runtime import Runtime

PROBLEM_JSON = "application/problem+json"
KEY_PATH = re.compile(r"^-?[0-9]{1,25}$")


class BadRequest(ValueError):
    """The request itself is malformed; the text is the problem detail."""


def problem(request: Request, status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail,
         "instance": request.url.path},
        status_code=status,
        media_type=PROBLEM_JSON,
    )


def path_key(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not KEY_PATH.match(raw):
        raise BadRequest(f"The provided {name} '{raw}' is not a valid key")
    return int(raw)


async def json_body(request: Request, required: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}`` unless ``required``."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise BadRequest("the request body is required")
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer, got {json.dumps(value)}")
    return value


def _only(body: dict[str, Any], allowed: set[str], where: str = "the request body") -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown property '{unknown[0]}' in {where} "
                         f"(expected {', '.join(sorted(allowed))})")


def _operation_reference(body: dict[str, Any]) -> None:
    reference = body.get("operationReference")
    if reference is not None and _integer(reference, "operationReference") < 1:
        raise BadRequest("operationReference must be a positive integer")


class RestCommands:
    """Each endpoint runs one runtime command and answers after the commit that holds it."""

    def __init__(self, runtime: Runtime, committer: GroupCommitter) -> None:
        self._runtime = runtime
        self._committer = committer

    def _endpoint(self, command: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            try:
                await command(request)
            except BadRequest as exc:
                return problem(request, 400, "INVALID_ARGUMENT", str(exc))
            except Rejection as exc:
                await self._committer.barrier()
                return problem(request, exc.http_status, exc.code, exc.message)
            await self._committer.barrier()
            return Response(status_code=204)
        return handler

    async def _resolve_incident(self, request: Request) -> None:
        key = path_key(request, "incidentKey")
        body = await json_body(request)
        _only(body, {"operationReference"})
        _operation_reference(body)
        self._runtime.resolve_incident(key)

    async def _cancel_instance(self, request: Request) -> None:
        key = path_key(request, "processInstanceKey")
        body = await json_body(request)
        _only(body, {"operationReference"})
        _operation_reference(body)
        self._runtime.cancel_instance(key)

    async def _update_job(self, request: Request) -> None:
        key = path_key(request, "jobKey")
        body = await json_body(request, required=True)
        _only(body, {"changeset", "operationReference"})
        _operation_reference(body)
        changeset = body.get("changeset")
        if not isinstance(changeset, dict):
            raise BadRequest("changeset must be an object with retries and/or timeout")
        _only(changeset, {"retries", "timeout"}, "changeset")
        retries = changeset.get("retries")
        timeout = changeset.get("timeout")
        if retries is None and timeout is None:
            raise BadRequest("changeset must set at least one of retries and timeout")
        self._runtime.update_job(
            key,
            None if retries is None else _integer(retries, "changeset.retries"),
            None if timeout is None else _integer(timeout, "changeset.timeout"),
        )

    @property
    def resolve_incident(self) -> Callable[[Request], Any]:
        return self._endpoint(self._resolve_incident)

    @property
    def cancel_instance(self) -> Callable[[Request], Any]:
        return self._endpoint(self._cancel_instance)

    @property
    def update_job(self) -> Callable[[Request], Any]:
        return self._endpoint(self._update_job)
