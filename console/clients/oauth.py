"""OAuth2 client-credentials bearer tokens for httpx, fetched and cached by requests-oauthlib."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import httpx
import requests
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests_oauthlib import OAuth2Session

#: Refresh this many seconds before the token's stated expiry.
LEEWAY_S = 60


class TokenError(httpx.HTTPError):
    """No token could be had (bad credentials, issuer down); callers see an httpx error."""


class ClientCredentialsAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>`` from a client-credentials grant.

    The same grant Camunda SaaS uses for gRPC (pyzeebe does it there); the secret
    stays inside the OAuth session and is never logged.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        audience: str | None = None,
        scope: str | None = None,
    ) -> None:
        self._token_url = token_url
        self._secret = client_secret
        self._audience = audience
        self._session = OAuth2Session(client=BackendApplicationClient(client_id=client_id, scope=scope))
        self._lock = asyncio.Lock()

    def _expired(self) -> bool:
        token = self._session.token or {}
        return not token.get("access_token") or time.time() > token.get("expires_at", 0) - LEEWAY_S

    def _fetch(self) -> None:
        extra = {"audience": self._audience} if self._audience else {}
        self._session.fetch_token(
            token_url=self._token_url, client_secret=self._secret, include_client_id=True, **extra
        )

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        async with self._lock:
            if self._expired():
                try:
                    await asyncio.to_thread(self._fetch)
                except OAuth2Error as exc:
                    raise TokenError(f"OAuth token request refused: {exc.error}: {exc.description or ''}") from None
                except (requests.RequestException, ValueError) as exc:
                    raise TokenError(f"OAuth token request failed: {type(exc).__name__}") from None
        request.headers["Authorization"] = f"Bearer {self._session.token['access_token']}"
        yield request
