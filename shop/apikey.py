"""The Admin API's guard: the secret key (HTTP Basic user name, or Bearer) or a login token."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import medusa_error

#: The Admin API and the demo fault switch (the metadata history is open, as /demo's health).
ADMIN_PREFIXES = ("/admin", "/medcam/faults")
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


def bearer_token(authorization: str | None) -> str | None:
    """The token of a ``Bearer <token>`` header (any case of "Bearer"), else None."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    token = credentials.strip()
    return token if scheme.lower() == "bearer" and token else None


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


class ApiKeyMiddleware:
    """ASGI middleware: every ``/admin`` and ``/medcam/faults`` request needs the key or a login token.

    ``key``: the secret API key (see :func:`key_matches`). ``token_valid``: judges a
    ``Bearer`` token from ``POST /auth/user/emailpass``. At least one must be given;
    anything else is answered 401 in Medusa's shape.
    """

    def __init__(
        self, app: ASGIApp, key: str | None = None, token_valid: Callable[[str], bool] | None = None
    ) -> None:
        if not key and token_valid is None:
            raise ValueError("the Admin API guard needs a key or a login")
        self.app = app
        self.key = key or None
        self.token_valid = token_valid

    def allows(self, authorization: str | None) -> bool:
        if self.key is not None and key_matches(authorization, self.key):
            return True
        if self.token_valid is not None:
            token = bearer_token(authorization)
            return token is not None and self.token_valid(token)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            admin = any(path == prefix or path.startswith(prefix + "/") for prefix in ADMIN_PREFIXES)
            if admin and not self.allows(_authorization(scope)):
                response = medusa_error(401, "unauthorized", "Unauthorized")
                response.headers["WWW-Authenticate"] = CHALLENGE
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
