"""The one error type clients raise: a single line meant for the operator."""

from __future__ import annotations

from typing import Any

import httpx


class BackendError(Exception):
    """A backend refused or could not be reached; ``str()`` is one clear line.

    ``code`` is a short machine-readable reason (NOT_FOUND, FAILED_PRECONDITION,
    UNAVAILABLE, HTTP_404 ...) so callers can branch without parsing the message.
    """

    def __init__(self, component: str, message: str, code: str = "ERROR") -> None:
        super().__init__(f"{component}: {message}")
        self.component = component
        self.code = code

    @property
    def transient(self) -> bool:
        """The backend was away or overloaded: the same call may succeed later.

        The request may still have been carried out (a deadline that passed after the
        engine created the instance), so a caller must not simply repeat a write.
        """
        return self.code in TRANSIENT_CODES


#: gRPC status names (and the clients' own UNAVAILABLE) that mean "not now" rather than "no".
TRANSIENT_CODES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"})


def display_url(url: str) -> str:
    """``url`` without user info, fit for screens, logs and errors."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


def json_object(component: str, what: str, response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, or a BackendError saying why it is not one."""
    try:
        data = response.json()
    except ValueError:
        raise BackendError(component, f"{what}: answer is not JSON") from None
    if not isinstance(data, dict):
        raise BackendError(component, f"{what}: answer is not a JSON object")
    return data
