"""One-line explanations of Medusa's error answers, naming the settings an operator checks."""

from __future__ import annotations

import httpx

from workers.http import error_reason

#: What an operator fixes when the admin login is refused.
CREDENTIAL_NAMES = "MEDUSA_ADMIN_EMAIL/MEDUSA_ADMIN_PASSWORD"


def explain(response: httpx.Response, credential: str | None = None, *, not_found: str = "not found") -> str:
    """One line: status, a hint naming the settings in use (``credential``), Medusa's message.

    ``not_found`` is the hint for a 404 (a missing login route says more than "not found").
    """
    status = response.status_code
    detail = error_reason(response)
    unauthorized = (
        f"check {credential}" if credential else f"set MEDUSA_API_KEY or {CREDENTIAL_NAMES}"
    )
    hints = {
        401: f"unauthorized - {unauthorized}",
        403: "forbidden - "
        + ("the admin user" if credential == CREDENTIAL_NAMES else "the API key")
        + " may not use the Admin API",
        404: not_found,
        429: "rate limited by Medusa",
    }
    hint = hints.get(status, "Medusa server error" if status >= 500 else "rejected")
    return f"HTTP {status} {hint}" + (f": {detail}" if detail else "")
