"""What FastAPI is told about each shop route beyond its models: guards, error answers, ids.

Handlers read their own request (the raw body is needed for signatures and for the exact
400 messages), so bodies, path ids and query parameters reach the document through
``openapi_extra``; their schemas still come from the pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import request_response

from .answers import Error
from .bodylimit import MAX_BODY_BYTES

_ERROR_TEXT = {
    400: "Invalid request (the message says exactly what)",
    401: "Missing or invalid credentials",
    404: "Not found",
    413: f"Request body larger than the limit ({MAX_BODY_BYTES} bytes by default)",
    422: "Idempotency key reused for a different callback",
    429: "Rate limit exceeded",
    500: "Unexpected server error (details are only logged)",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
#: The credentials the Admin API (and the fault switch) accept when they are guarded.
ADMIN_SECURITY: list[dict] = [{"basicAuth": []}, {"bearerAuth": []}]

#: Every request-body model a route names, for the document's components.
REQUEST_BODIES: dict[str, type[BaseModel]] = {}


class RequestRoute(APIRoute):
    """A FastAPI route (declared and documented by FastAPI) whose handler reads its Request and
    answers a Response itself, so it is served as Starlette serves a plain route: no parameters,
    dependencies or answer model to process per request keeps the hot routes (/demo, the order
    reads and writes) as lean as they were before FastAPI."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = request_response(self.endpoint)


def shop_router() -> APIRouter:
    """A router of :class:`RequestRoute` routes."""
    return APIRouter(route_class=RequestRoute)


@dataclass(frozen=True)
class Guards:
    """Which checks this shop enforces (the document says so, route by route)."""

    #: /admin and /medcam need the API key or a login token.
    admin: bool = False
    #: POST /demo must be signed.
    signed_callbacks: bool = False


def errors(model: type[BaseModel], *codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers ``codes``, each with ``model`` as its body."""
    return {
        code: {
            "model": model,
            "description": _ERROR_TEXT[code],
            **({"headers": _RETRY_AFTER} if code == 429 else {}),
        }
        for code in codes
    }


def request_body(model: type[BaseModel], *, required: bool = True) -> dict:
    """``openapi_extra`` naming ``model`` as the JSON request body."""
    REQUEST_BODIES[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def path_ids(*names: str) -> list[dict]:
    """Path parameters (all strings)."""
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


def merge(*extras: dict) -> dict:
    """``openapi_extra`` parts combined (their ``parameters`` lists joined)."""
    merged: dict = {}
    for extra in extras:
        for key, value in extra.items():
            if key == "parameters":
                merged.setdefault("parameters", []).extend(value)
            else:
                merged[key] = value
    return merged


def admin_operation(
    guards: Guards,
    summary: str,
    ok: type[BaseModel],
    *,
    parameters: list[dict] | None = None,
    body: type[BaseModel] | None = None,
    found: bool = True,
    post: bool = False,
    extra: dict | None = None,
) -> dict[str, Any]:
    """``add_api_route`` keywords of an Admin API operation; ``post`` ones may be answered 413."""
    codes = [400, *([401] if guards.admin else []), *([404] if found else []),
             *([413] if post else []), 429, 500]
    security = ADMIN_SECURITY if guards.admin else [*ADMIN_SECURITY, {}]
    return {
        "summary": summary,
        "tags": ["admin"],
        "response_model": ok,
        "response_description": "OK",
        "responses": errors(Error, *codes),
        "openapi_extra": merge(
            {"security": security, "parameters": parameters or []},
            request_body(body) if body is not None else {},
            extra or {},
        ),
    }


def open_operation(summary: str, ok: type[BaseModel], tag: str, **extra: Any) -> dict[str, Any]:
    """``add_api_route`` keywords of an operation that needs no credentials."""
    options: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "response_model": ok,
        "response_description": "OK",
        "openapi_extra": {"security": []},
    }
    options.update(extra)
    return options
