"""Medusa's admin login on the shop: emailpass, token refresh, and /admin behind the JWT."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import jwt
import pytest

from shop.api import openapi_document
from shop.app import create_app
from shop.auth import AdminLogin
from tests.shop.conftest import FakeClock, MakeShop
from tests.shop.contract import Contract

EMAIL = "admin@medcam.test"
PASSWORD = "pw-correct-horse"
KEY = "sk_auth"
LOGIN = "/auth/user/emailpass"
REFRESH = "/auth/token/refresh"
UNAUTHORIZED = {"type": "unauthorized", "message": "Unauthorized"}
INVALID = {"type": "unauthorized", "message": "Invalid email or password"}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _login(client: httpx.AsyncClient, email: str = EMAIL, password: str = PASSWORD) -> str:
    response = await client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"token"}
    return response.json()["token"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_login_gives_a_24h_hs256_jwt_that_opens_the_admin_api(
    make_shop: MakeShop, clock: FakeClock
) -> None:
    shop = await make_shop(admin_email=EMAIL, admin_password=PASSWORD, clock=clock)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        assert (await client.get("/admin/orders")).json() == UNAUTHORIZED
        token = await _login(client)
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] == int(clock.now) + 24 * 3600
        assert claims["actor_type"] == "user" and claims["actor_id"]
        response = await client.get("/admin/orders", headers=_bearer(token))
        assert response.status_code == 200
        assert (await client.get("/admin/regions", headers=_bearer(token))).json()["count"] >= 1


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": EMAIL, "password": "wrong"},
        {"email": "other@medcam.test", "password": PASSWORD},
        {"email": EMAIL, "password": ""},
        {"email": "", "password": ""},
        {"email": EMAIL.upper(), "password": PASSWORD},
        {"email": EMAIL, "password": PASSWORD + " "},
    ],
    ids=["password", "email", "empty-password", "both-empty", "email-case", "password-longer"],
)
async def test_wrong_credentials_are_401_in_medusas_words(
    make_shop: MakeShop, credentials: dict
) -> None:
    shop = await make_shop(admin_email=EMAIL, admin_password=PASSWORD)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        response = await client.post(LOGIN, json=credentials)
        assert response.status_code == 401
        assert response.json() == INVALID
        assert PASSWORD not in response.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Request body is empty"),
        (b"{", "not valid JSON"),
        (b"[]", "must be a JSON object, got array"),
        (json.dumps({"email": EMAIL}).encode(), "password is required"),
        (json.dumps({"password": PASSWORD}).encode(), "email is required"),
        (json.dumps({"email": EMAIL, "password": 1}).encode(), "password must be a string, got number"),
        (json.dumps({"email": None, "password": PASSWORD}).encode(), "email must be a string, got null"),
        (json.dumps({"email": EMAIL, "password": PASSWORD, "x": 1}).encode(), "Unrecognized fields: 'x'"),
    ],
)
async def test_malformed_login_bodies_are_400_in_medusas_shape(
    make_shop: MakeShop, body: bytes, message: str
) -> None:
    shop = await make_shop(admin_email=EMAIL, admin_password=PASSWORD)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        response = await client.post(LOGIN, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "invalid_data"
        assert message in response.json()["message"]
        assert PASSWORD not in response.text


async def test_refresh_gives_a_new_token_for_a_valid_one_only(
    make_shop: MakeShop, clock: FakeClock
) -> None:
    shop = await make_shop(
        admin_email=EMAIL, admin_password=PASSWORD, clock=clock, token_lifetime_s=600
    )
    other = await make_shop(admin_email=EMAIL, admin_password=PASSWORD, clock=clock)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        token = await _login(client)
        clock.advance(300)
        response = await client.post(REFRESH, headers=_bearer(token))
        assert response.status_code == 200
        fresh = response.json()["token"]
        assert jwt.decode(fresh, options={"verify_signature": False})["exp"] == int(clock.now) + 600
        assert (await client.get("/admin/orders", headers=_bearer(fresh))).status_code == 200

        async with httpx.AsyncClient(base_url=other.url) as elsewhere:
            foreign = await _login(elsewhere)
        refused = [
            {},
            {"authorization": "Bearer"},
            {"authorization": "Bearer not-a-jwt"},
            _bearer(KEY),
            _bearer(foreign),  # signed by another shop's secret
            {"authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()},
        ]
        for headers in refused:
            response = await client.post(REFRESH, headers=headers)
            assert response.status_code == 401, headers
            assert response.json() == UNAUTHORIZED

        clock.advance(301)  # the first token has expired (the fresh one has not)
        assert (await client.post(REFRESH, headers=_bearer(token))).status_code == 401
        assert (await client.get("/admin/orders", headers=_bearer(token))).json() == UNAUTHORIZED
        assert (await client.get("/admin/orders", headers=_bearer(fresh))).status_code == 200


async def test_expired_or_tampered_tokens_are_refused_on_admin(
    make_shop: MakeShop, clock: FakeClock
) -> None:
    shop = await make_shop(
        admin_email=EMAIL, admin_password=PASSWORD, clock=clock, token_lifetime_s=60
    )
    async with httpx.AsyncClient(base_url=shop.url) as client:
        token = await _login(client)
        claims = jwt.decode(token, options={"verify_signature": False})
        forged = jwt.encode({**claims, "exp": claims["exp"] + 3600}, "guessed-secret-32-bytes-long!!!!")
        unsigned = jwt.encode({**claims}, None, algorithm="none")
        for bad in (forged, unsigned, token[:-2] + "xx"):
            response = await client.get("/admin/orders", headers=_bearer(bad))
            assert response.json() == UNAUTHORIZED
            assert "Bearer" in response.headers["www-authenticate"]
        assert (await client.get("/admin/orders", headers=_bearer(token))).status_code == 200
        clock.advance(60)
        assert (await client.get("/admin/orders", headers=_bearer(token))).status_code == 401


async def test_key_and_login_together_both_open_admin(make_shop: MakeShop) -> None:
    shop = await make_shop(api_key=KEY, admin_email=EMAIL, admin_password=PASSWORD)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        token = await _login(client)
        assert (await client.get("/admin/orders", headers=_bearer(token))).status_code == 200
        assert (await client.get("/admin/orders", headers=_bearer(KEY))).status_code == 200
        assert (await client.get("/admin/orders", auth=(KEY, ""))).status_code == 200
        assert (await client.get("/admin/orders", auth=(EMAIL, PASSWORD))).status_code == 401
        assert (await client.get("/admin/orders")).status_code == 401
        # The API key is no login token: refresh takes only tokens from the login.
        assert (await client.post(REFRESH, headers=_bearer(KEY))).status_code == 401


async def test_key_alone_refuses_login_tokens(make_shop: MakeShop) -> None:
    keyed = await make_shop(api_key=KEY)
    async with httpx.AsyncClient(base_url=keyed.url) as client:
        assert (await client.post(LOGIN, json={"email": EMAIL, "password": PASSWORD})).json() == INVALID


async def test_without_key_or_login_admin_stays_open_and_login_is_refused(
    make_shop: MakeShop,
) -> None:
    shop = await make_shop()
    async with httpx.AsyncClient(base_url=shop.url) as client:
        assert (await client.get("/admin/orders")).status_code == 200
        response = await client.post(LOGIN, json={"email": "", "password": ""})
        assert response.status_code == 401 and response.json() == INVALID
        assert (await client.post(REFRESH, headers=_bearer("x"))).status_code == 401


def test_email_and_password_go_together(tmp_path: Path) -> None:
    for only in ({"admin_email": EMAIL}, {"admin_password": PASSWORD}):
        with pytest.raises(ValueError, match="together") as caught:
            create_app(tmp_path / "shop.sqlite3", **only)
        assert PASSWORD not in str(caught.value)
    with pytest.raises(ValueError, match="positive"):
        AdminLogin(EMAIL, PASSWORD, clock=FakeClock(), lifetime_s=0)


async def test_logins_and_refreshes_are_counted(asgi_server, tmp_path: Path) -> None:
    app = create_app(tmp_path / "shop.sqlite3", admin_email=EMAIL, admin_password=PASSWORD)
    async with asgi_server(app) as url, httpx.AsyncClient(base_url=url) as client:
        token = await _login(client)
        await _login(client)
        await client.post(LOGIN, json={"email": EMAIL, "password": "wrong"})
        await client.post(REFRESH, headers=_bearer(token))
    assert (app.state.admin_login.logins, app.state.admin_login.refreshes) == (2, 1)
    app.state.repository.close()


async def test_auth_answers_follow_the_document(make_shop: MakeShop, clock: FakeClock) -> None:
    shop = await make_shop(admin_email=EMAIL, admin_password=PASSWORD, clock=clock)
    document = openapi_document(admin_login=True)
    contract = Contract(document)
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=shop.url) as client:
        served = (await client.get("/openapi.json")).json()
        assert served == document
        assert {} not in served["paths"]["/admin/orders"]["get"]["security"]
        assert "401" in served["paths"]["/admin/orders"]["get"]["responses"]
        token = await _login(client)
        calls = [
            ("POST", LOGIN, {"json": {"email": EMAIL, "password": PASSWORD}}),
            ("POST", LOGIN, {"json": {"email": EMAIL, "password": "nope"}}),
            ("POST", LOGIN, {"json": {"email": 1}}),
            ("POST", LOGIN, {"content": b"x" * 1_100_000}),
            ("GET", LOGIN, {}),
            ("POST", REFRESH, {"headers": _bearer(token)}),
            ("POST", REFRESH, {"headers": _bearer(token), "json": {"ignored": True}}),
            ("POST", REFRESH, {}),
            ("GET", "/admin/orders", {"headers": _bearer("nope")}),
        ]
        for method, path, kwargs in calls:
            response = await client.request(method, path, **kwargs)
            problems.extend(contract.problems(method, path, response))
    assert problems == []
