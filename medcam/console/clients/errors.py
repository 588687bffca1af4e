"""The one error type clients raise: a single line meant for the operator."""

from __future__ import annotations


class BackendError(Exception):
    """A backend refused or could not be reached; ``str()`` is one clear line.

    ``code`` is a short machine-readable reason (NOT_FOUND, FAILED_PRECONDITION,
    UNAVAILABLE, HTTP_404 ...) so callers can branch without parsing the message.
    """

    def __init__(self, component: str, message: str, code: str = "ERROR") -> None:
        super().__init__(f"{component}: {message}")
        self.component = component
        self.code = code
