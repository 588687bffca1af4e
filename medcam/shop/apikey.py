"""The Admin API's secret key: HTTP Basic (key as user name, empty password) or Bearer."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import medusa_error

ADMIN_PREFIX = "/admin"
CHALLENGE = 'Basic realm="medcam-shop", Bearer realm="medcam-shop"'


def key_matches(authorization: str | None, key: str) -> bool:
    """Whether an ``Authorization`` header carries ``key`` (compared in constant time).

    Accepted: ``Basic base64(key + ":")`` as Medusa v2 secret API keys are sent (a bare
    ``base64(key)`` too), and ``Bearer key``. A non-empty Basic password is refused.
    """
    if not authorization:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    expected = key.encode("utf-8")
    try:
        raw = credentials.encode("latin-1")  # headers are decoded as latin-1: the raw bytes
    except UnicodeEncodeError:
        return False
    if scheme == "bearer":
        given = raw
    elif scheme == "basic":
        try:
            decoded = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return False
        given, _, password = decoded.partition(b":")
        if password:
            return False
    else:
        return False
    return hmac.compare_digest(given, expected)


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


class ApiKeyMiddleware:
    """ASGI middleware: every ``/admin`` request must carry the key, else 401 (Medusa's shape)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        if not key:
            raise ValueError("the Admin API key must not be empty")
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            admin = path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")
            if admin and not key_matches(_authorization(scope), self.key):
                response = medusa_error(401, "unauthorized", "Unauthorized")
                response.headers["WWW-Authenticate"] = CHALLENGE
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
