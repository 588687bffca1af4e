"""OAuth2 client credentials for the REST client, against a real loopback token endpoint."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from console.clients.camunda_rest import CamundaRest
from console.clients.errors import BackendError
from console.clients.oauth import ClientCredentialsAuth, TokenError


@pytest.fixture(autouse=True)
def plain_http_token_endpoint(monkeypatch):
    # oauthlib insists on https; a loopback test issuer speaks http. Operators with a
    # self-managed http issuer set the same variable (see .env.example).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


class Issuer:
    """A token endpoint plus a REST v2 endpoint that demands its tokens."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.grants: list[dict] = []
        self.app = Starlette(routes=[
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/v2/incidents/search", self.search, methods=["POST"]),
        ])

    async def token(self, request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.grants.append(form)
        if form.get("client_secret") != "s3cret":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse({"access_token": f"tok-{len(self.grants)}", "token_type": "Bearer",
                             "expires_in": self.expires_in})

    async def search(self, request: Request) -> JSONResponse:
        if not request.headers.get("authorization", "").startswith("Bearer tok-"):
            return JSONResponse({"title": "UNAUTHORIZED", "status": 401, "detail": "no token"}, status_code=401)
        return JSONResponse({"items": [], "page": {"totalItems": 0}})


async def test_token_is_fetched_once_and_reused(asgi_server):
    issuer = Issuer()
    async with asgi_server(issuer.app) as url:
        auth = ClientCredentialsAuth(f"{url}/oauth/token", "client", "s3cret", audience="zeebe.camunda.io")
        rest = CamundaRest(url, auth=auth)
        try:
            assert await rest.active_incidents() == []
            assert await rest.active_incidents() == []
        finally:
            await rest.close()
    assert len(issuer.grants) == 1
    grant = issuer.grants[0]
    assert grant["grant_type"] == "client_credentials" and grant["audience"] == "zeebe.camunda.io"
    assert grant["client_id"] == "client"


async def test_expiring_token_is_refreshed(asgi_server):
    issuer = Issuer(expires_in=30)  # inside the 60 s leeway: every request needs a new token
    async with asgi_server(issuer.app) as url:
        auth = ClientCredentialsAuth(f"{url}/oauth/token", "client", "s3cret")
        async with httpx.AsyncClient(base_url=url, auth=auth) as http:
            for _ in range(2):
                response = await http.post("/v2/incidents/search", json={})
                assert response.status_code == 200
    assert len(issuer.grants) == 2


async def test_bad_secret_is_an_error_without_the_secret(asgi_server):
    issuer = Issuer()
    async with asgi_server(issuer.app) as url:
        auth = ClientCredentialsAuth(f"{url}/oauth/token", "client", "wrong-secret-value")
        async with httpx.AsyncClient(base_url=url, auth=auth) as http:
            with pytest.raises(TokenError, match="refused: invalid_client") as caught:
                await http.post("/v2/incidents/search", json={})
        rest = CamundaRest(url, auth=auth)
        try:
            with pytest.raises(BackendError, match="camunda-rest: .*invalid_client") as failed:
                await rest.active_incidents()
        finally:
            await rest.close()
    assert "wrong-secret-value" not in str(caught.value) + str(failed.value)
