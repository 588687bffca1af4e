"""Medusa v2 admin login (email/password) as an ``httpx.Auth``: a JWT, refreshed before expiry."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

import httpx
import jwt

from console.clients.errors import BackendError
from console.clients.medusa_errors import CREDENTIAL_NAMES, explain

#: The 404 hint of a Medusa without the emailpass login route.
NO_LOGIN_ROUTE = "not found - this Medusa has no emailpass login for admin users"

log = logging.getLogger(__name__)

LOGIN_PATH = "/auth/user/emailpass"
REFRESH_PATH = "/auth/token/refresh"
#: Refresh this long before the token's ``exp`` (at most half its lifetime).
REFRESH_BEFORE_S = 300.0


@dataclass(frozen=True)
class _Token:
    value: str
    #: ``exp`` from the JWT (unix seconds); None when the token states none.
    expires_at: float | None
    #: When to refresh it; None: never ahead of time (a 401 still brings a new login).
    renew_at: float | None


class MedusaUserAuth(httpx.Auth):
    """``Authorization: Bearer <JWT>`` on Admin API requests, from Medusa's emailpass login.

    The first ``/admin`` request logs in (``POST /auth/user/emailpass``); a token close to
    its ``exp`` is renewed with ``POST /auth/token/refresh`` (or by logging in again once it
    has expired); a 401 from an admin call logs in again once and repeats the request.
    Concurrent requests share one login or refresh (a lock). Requests outside
    ``/admin`` (``/health``) go out untouched. A refused login is a one-line BackendError;
    neither the password nor a token appears in any message or log.
    """

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        *,
        clock: Callable[[], float] = time.time,
        refresh_before_s: float = REFRESH_BEFORE_S,
    ) -> None:
        if not email or not password:
            raise ValueError("the Medusa admin email and password must both be given")
        #: The base URL's path, percent-encoded as sent ("" for most servers).
        self._prefix = _raw_path(httpx.URL(base_url)).rstrip("/")
        self._email = email
        self._password = password
        self._clock = clock
        self._refresh_before_s = refresh_before_s
        self._token: _Token | None = None
        self._lock = asyncio.Lock()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._is_admin(request):
            yield request
            return
        token = self._token
        for attempt in (1, 2):
            if attempt == 2 or token is None or self._due(token):
                async with self._lock:
                    current = self._token
                    if current is None or current is token:  # nobody renewed it meanwhile
                        renewed = None
                        if attempt == 1 and current is not None and self._alive(current):
                            reply = yield self._refresh_request(request, current)
                            renewed = await self._accept(reply, REFRESH_PATH, refused_ok=True)
                        if renewed is None:
                            self._token = None
                            reply = yield self._login_request(request)
                            renewed = await self._accept(reply, LOGIN_PATH)
                        self._token = renewed
                    token = self._token
            assert token is not None
            request.headers["Authorization"] = f"Bearer {token.value}"
            response = yield request
            if response.status_code != 401:
                return
            if attempt == 1:
                log.info("Medusa refused the admin token; logging in again",
                         extra={"path": request.url.path})

    # ------------------------------------------------------------------ helpers
    def _is_admin(self, request: httpx.Request) -> bool:
        path = _raw_path(request.url)
        admin = self._prefix + "/admin"
        return path == admin or path.startswith(admin + "/")

    def _due(self, token: _Token) -> bool:
        return token.renew_at is not None and self._clock() >= token.renew_at

    def _alive(self, token: _Token) -> bool:
        return token.expires_at is None or self._clock() < token.expires_at

    def _request(self, original: httpx.Request, path: str, **kwargs: object) -> httpx.Request:
        url = original.url.copy_with(raw_path=(self._prefix + path).encode("ascii"))
        # Same timeouts as the request being authenticated (the client sets them there).
        extensions = {k: v for k, v in original.extensions.items() if k == "timeout"}
        return httpx.Request("POST", url, extensions=extensions, **kwargs)  # type: ignore[arg-type]

    def _login_request(self, original: httpx.Request) -> httpx.Request:
        return self._request(original, LOGIN_PATH, json={"email": self._email, "password": self._password})

    def _refresh_request(self, original: httpx.Request, token: _Token) -> httpx.Request:
        return self._request(original, REFRESH_PATH, headers={"Authorization": f"Bearer {token.value}"})

    async def _accept(self, reply: httpx.Response, path: str, refused_ok: bool = False) -> _Token | None:
        """The token in ``reply``; a refusal is None when ``refused_ok``, else a BackendError."""
        await reply.aread()
        value = _token_in(reply) if reply.status_code == 200 else None
        if value is None:
            if refused_ok:
                log.info("Medusa refused the token refresh; logging in again", extra={"status": reply.status_code})
                return None
            if reply.status_code == 200:
                raise BackendError("medusa", f"POST {path}: the answer carries no token", "BAD_ANSWER")
            raise BackendError(
                "medusa", f"POST {path}: {explain(reply, CREDENTIAL_NAMES, not_found=NO_LOGIN_ROUTE)}",
                f"HTTP_{reply.status_code}",
            )
        token = self._parse(value)
        what = "refreshed" if path == REFRESH_PATH else "obtained by login"
        log.info(f"Medusa admin token {what}", extra={"expires_at": token.expires_at})
        return token

    def _parse(self, value: str) -> _Token:
        now = self._clock()
        try:
            claims = jwt.decode(value, options={"verify_signature": False})
        except jwt.PyJWTError:
            claims = {}
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            return _Token(value, None, None)
        iat = claims.get("iat")
        issued = iat if isinstance(iat, int | float) and not isinstance(iat, bool) else now
        margin = min(self._refresh_before_s, max(0.0, (exp - issued) / 2))
        return _Token(value, float(exp), float(exp) - margin)


def _raw_path(url: httpx.URL) -> str:
    return url.raw_path.decode("ascii").partition("?")[0]


def _token_in(reply: httpx.Response) -> str | None:
    try:
        data = reply.json()
    except ValueError:
        return None
    value = data.get("token") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None
