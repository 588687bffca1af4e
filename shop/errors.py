"""Errors the Admin API answers with, in Medusa's shape ``{"type": …, "message": …}``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger(__name__)

#: The seed's status-callback route; its errors keep the seed's shape.
CALLBACK_PATH = "/demo"


class ShopError(Exception):
    """An expected failure with a Medusa error type and an HTTP status."""

    status_code = 400
    error_type = "invalid_data"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def response(self) -> JSONResponse:
        return medusa_error(self.status_code, self.error_type, self.message)


class InvalidData(ShopError):
    """The request is malformed or names something that cannot be used (400)."""


class NotAllowed(ShopError):
    """The request is well-formed but not allowed in the entity's current state (400)."""

    error_type = "not_allowed"


class NotFound(ShopError):
    """The entity named by the path does not exist (404)."""

    status_code = 404
    error_type = "not_found"


def medusa_error(status_code: int, error_type: str, message: str) -> JSONResponse:
    """A JSON error response in Medusa's shape."""
    return JSONResponse({"type": error_type, "message": message}, status_code=status_code)


def callback_failure(status_code: int, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response in the seed's /demo shape ``{"success": false, "error": …}``."""
    return JSONResponse({"success": False, "error": error}, status_code=status_code, headers=headers)


def error_for_path(
    path: str, status_code: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error in the shape the route at ``path`` answers with: the seed's for /demo, else Medusa's."""
    if path == CALLBACK_PATH:
        return callback_failure(status_code, message, headers)
    return JSONResponse(
        {"type": error_type, "message": message}, status_code=status_code, headers=headers
    )


def medusa_endpoint(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Answer expected failures in Medusa's error shape and unexpected ones with a bare 500."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ShopError as exc:
            return exc.response()
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return medusa_error(500, "unknown_error", "An unknown error occurred.")

    return endpoint
