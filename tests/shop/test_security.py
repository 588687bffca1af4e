"""Callback signatures on POST /demo and the Admin API key, against a real shop server."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from protocol.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from shop.server import ShopServer
from tests.shop.conftest import FakeClock, MakeShop, create_order, load_catalogue

SECRET = "whsec_0123456789abcdef"
API_KEY = "sk_live_3f9a0c"


def _body(order_id: str, status: str = "payment_verified") -> bytes:
    return json.dumps({"orderId": order_id, "status": status, "message": "ok"}).encode()


async def _signed_shop(make_shop: MakeShop, clock: FakeClock) -> tuple[ShopServer, dict]:
    """A shop with a callback secret, and one order created in it."""
    shop = await make_shop(callback_secret=SECRET, clock=clock)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        order = await create_order(client, await load_catalogue(client))
    return shop, order


async def test_signed_callback_is_applied(make_shop: MakeShop) -> None:
    clock = FakeClock()
    shop, order = await _signed_shop(make_shop, clock)
    body = _body(order["id"])
    async with httpx.AsyncClient(base_url=shop.url) as client:
        response = await client.post(
            "/demo", content=body, headers=sign(SECRET, int(clock.now) - 299, body)
        )
    assert response.status_code == 200, response.text
    assert response.json()["applied"] is True
    assert response.json()["order"]["metadata"]["workflow_status"] == "payment_verified"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        (lambda body, now: {}, "Invalid callback signature: missing X-Medcam-Timestamp header"),
        (
            lambda body, now: {TIMESTAMP_HEADER: str(now)},
            "Invalid callback signature: missing X-Medcam-Signature header",
        ),
        (
            lambda body, now: sign("another-secret", now, body),
            "Invalid callback signature: signature does not match",
        ),
        (
            lambda body, now: sign(SECRET, now, body + b"\n"),
            "Invalid callback signature: signature does not match",
        ),
        (
            lambda body, now: {**sign(SECRET, now, body), SIGNATURE_HEADER: "sha256=abc"},
            "Invalid callback signature: X-Medcam-Signature must be v1=<64 hex digits>",
        ),
        (
            lambda body, now: sign(SECRET, now - 301, body),
            "Invalid callback signature: X-Medcam-Timestamp is outside the allowed window of ±300 s",
        ),
        (
            lambda body, now: sign(SECRET, now + 301, body),
            "Invalid callback signature: X-Medcam-Timestamp is outside the allowed window of ±300 s",
        ),
    ],
    ids=["no-headers", "no-signature", "wrong-secret", "other-body", "bad-format", "expired",
         "future"],
)
async def test_unsigned_or_badly_signed_callback_is_401_and_changes_nothing(
    make_shop: MakeShop, headers, error: str
) -> None:
    clock = FakeClock()
    shop, order = await _signed_shop(make_shop, clock)
    body = _body(order["id"])
    async with httpx.AsyncClient(base_url=shop.url) as client:
        response = await client.post("/demo", content=body, headers=headers(body, int(clock.now)))
        assert response.status_code == 401
        assert response.json() == {"success": False, "error": error}
        assert response.headers["www-authenticate"].startswith("HMAC-SHA256")
        stored = (await client.get(f"/admin/orders/{order['id']}")).json()["order"]
    assert "workflow_status" not in stored["metadata"]
    assert stored["updated_at"] == order["updated_at"]


async def test_replay_window_follows_the_shop_clock(make_shop: MakeShop) -> None:
    clock = FakeClock()
    shop, order = await _signed_shop(make_shop, clock)
    body = _body(order["id"])
    headers = sign(SECRET, int(clock.now), body)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        assert (await client.post("/demo", content=body, headers=headers)).status_code == 200
        clock.advance(301)
        late = await client.post("/demo", content=body, headers=headers)
    assert late.status_code == 401
    assert "outside the allowed window" in late.json()["error"]


async def test_signature_is_checked_before_the_body_is_parsed(make_shop: MakeShop) -> None:
    shop = await make_shop(callback_secret=SECRET)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        response = await client.post("/demo", content=b"{not json")
    assert response.status_code == 401


async def test_without_a_secret_callbacks_need_no_signature(
    client: httpx.AsyncClient, shop: ShopServer
) -> None:
    response = await client.post("/demo", json={"orderId": "order_1", "status": "x"})
    assert response.status_code == 404  # reached the route: no signature demanded


async def test_empty_secret_and_key_mean_not_configured(make_shop: MakeShop) -> None:
    shop = await make_shop(callback_secret="", api_key="")
    async with httpx.AsyncClient(base_url=shop.url) as client:
        assert (await client.get("/admin/regions")).status_code == 200
        response = await client.post("/demo", json={"orderId": "order_1", "status": "x"})
    assert response.status_code == 404


# -- Admin API key -----------------------------------------------------------------------

ADMIN_PATHS = [
    ("GET", "/admin/orders"),
    ("GET", "/admin/orders/order_1"),
    ("POST", "/admin/orders/order_1"),
    ("GET", "/admin/draft-orders"),
    ("POST", "/admin/draft-orders"),
    ("GET", "/admin/draft-orders/order_1"),
    ("POST", "/admin/draft-orders/order_1/convert-to-order"),
    ("GET", "/admin/regions"),
    ("GET", "/admin/regions/reg_1"),
    ("GET", "/admin/products"),
    ("GET", "/admin/products/prod_1"),
    ("GET", "/admin/customers"),
    ("GET", "/admin/customers/cus_1"),
    ("GET", "/admin/no-such-route"),
    ("DELETE", "/admin/orders"),
]


def _basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
async def keyed(make_shop: MakeShop) -> ShopServer:
    return await make_shop(api_key=API_KEY)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        _basic("sk_wrong"),
        _basic(API_KEY, "password"),
        _basic(API_KEY[:-1]),
        _basic(API_KEY + "x"),
        "Bearer sk_wrong",
        "Bearer",
        f"Token {API_KEY}",
        API_KEY,
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"\xff\xfe:").decode(),
    ],
    ids=["none", "empty", "basic-wrong", "basic-password", "basic-prefix", "basic-longer",
         "bearer-wrong", "bearer-empty", "other-scheme", "bare-key", "basic-garbage",
         "basic-binary"],
)
async def test_admin_api_without_the_key_is_401_in_medusa_shape(
    keyed: ShopServer, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    async with httpx.AsyncClient(base_url=keyed.url, headers=headers) as client:
        for method, path in ADMIN_PATHS:
            response = await client.request(method, path, json={} if method == "POST" else None)
            assert response.status_code == 401, (method, path)
            assert response.json() == {"type": "unauthorized", "message": "Unauthorized"}
            assert "Basic" in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "auth",
    [
        {"auth": (API_KEY, "")},
        {"headers": {"authorization": _basic(API_KEY)}},
        {"headers": {"authorization": "Basic " + base64.b64encode(API_KEY.encode()).decode()}},
        {"headers": {"authorization": f"Bearer {API_KEY}"}},
        {"headers": {"authorization": f"bearer   {API_KEY}"}},
    ],
    ids=["httpx-basic", "basic", "basic-no-colon", "bearer", "bearer-lowercase"],
)
async def test_admin_api_with_the_key_works(keyed: ShopServer, auth: dict) -> None:
    async with httpx.AsyncClient(base_url=keyed.url, **auth) as client:
        catalogue = await load_catalogue(client)
        assert len(catalogue.products) == 8
        order = await create_order(client, catalogue)
        response = await client.post(
            f"/admin/orders/{order['id']}", json={"metadata": {"workflow_status": "started"}}
        )
        assert response.status_code == 200
        response = await client.get("/admin/orders", params={"id": order["id"]})
        assert response.json()["orders"][0]["metadata"] == {"workflow_status": "started"}
        assert (await client.get("/admin/no-such-route")).status_code == 404


async def test_health_demo_and_openapi_stay_open_with_a_key_and_secret(
    make_shop: MakeShop,
) -> None:
    shop = await make_shop(api_key=API_KEY, callback_secret=SECRET)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        assert (await client.get("/health")).text == "OK"
        assert (await client.get("/demo")).json()["status"] == "ok"
        assert (await client.get("/openapi.json")).json()["openapi"] == "3.1.0"
        # The callback route is guarded by the signature, not by the Admin API key.
        assert (await client.post("/demo", json={})).status_code == 401
        body = b'{"orderId": "order_1", "status": "x"}'
        headers = sign(SECRET, int(time.time()), body)
        signed = await client.post("/demo", content=body, headers=headers)
        assert signed.status_code == 404


async def test_shop_binds_loopback_by_default(make_shop: MakeShop) -> None:
    shop = await make_shop(api_key=API_KEY)
    assert shop.host == "127.0.0.1"
    assert shop.url.startswith("http://127.0.0.1:")
