"""Errors the Admin API answers with, in Medusa's shape ``{"type": …, "message": …}``."""

from __future__ import annotations

from starlette.responses import JSONResponse


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
