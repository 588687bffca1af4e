"""Command rejections and how they map to gRPC status codes and HTTP problems."""

from __future__ import annotations

import grpc

NOT_FOUND = "NOT_FOUND"
INVALID_ARGUMENT = "INVALID_ARGUMENT"
INVALID_STATE = "INVALID_STATE"
ALREADY_EXISTS = "ALREADY_EXISTS"
PROCESSING_ERROR = "PROCESSING_ERROR"

GRPC_STATUS = {
    NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    INVALID_STATE: grpc.StatusCode.FAILED_PRECONDITION,
    ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    PROCESSING_ERROR: grpc.StatusCode.INTERNAL,
}

HTTP_STATUS = {
    NOT_FOUND: 404,
    INVALID_ARGUMENT: 400,
    INVALID_STATE: 409,
    ALREADY_EXISTS: 409,
    PROCESSING_ERROR: 500,
}


class Rejection(Exception):
    """An engine command was refused; ``code`` is the Zeebe rejection type."""

    def __init__(self, code: str, message: str, intent: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.intent = intent

    @property
    def grpc_status(self) -> grpc.StatusCode:
        return GRPC_STATUS.get(self.code, grpc.StatusCode.INTERNAL)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)

    def grpc_message(self) -> str:
        """The Zeebe gateway's wording: ``Command 'X' rejected with code 'Y': reason``."""
        if self.intent is None:
            return self.message
        return f"Command '{self.intent}' rejected with code '{self.code}': {self.message}"
