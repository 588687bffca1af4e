"""Request limits: body size (413) and per-client-address rate limiting (429 + Retry-After)."""

from __future__ import annotations

import httpx
import pytest

from shop.app import DEFAULT_RATE_LIMIT
from shop.ratelimit import RateLimit, TokenBuckets
from tests.shop.conftest import Catalogue, FakeClock, MakeShop, create_order

# -- body size ------------------------------------------------------------------------------


async def test_oversized_bodies_are_413_in_each_routes_shape(make_shop: MakeShop) -> None:
    shop = await make_shop(max_body_bytes=1000)
    big = b'{"metadata": {"note": "' + b"x" * 1000 + b'"}}'
    async with httpx.AsyncClient(base_url=shop.url) as client:
        demo = await client.post("/demo", content=big)
        admin = await client.post("/admin/orders/order_1", content=big)
        fits = await client.post("/admin/orders/order_1", content=big[:990] + b'"}}')
    assert demo.status_code == admin.status_code == 413
    message = "Request body is too large (1026 bytes, at most 1000)"
    assert demo.json() == {"success": False, "error": message}
    assert admin.json() == {"type": "invalid_data", "message": message}
    assert fits.status_code == 404  # under the limit: reached the route


async def test_chunked_bodies_are_limited_too(make_shop: MakeShop) -> None:
    shop = await make_shop(max_body_bytes=1000)

    async def chunks(total: int):
        for _ in range(total // 100):
            yield b" " * 100

    async with httpx.AsyncClient(base_url=shop.url) as client:
        big = await client.post("/demo", content=chunks(2000))
        small = await client.post("/demo", content=chunks(500))
    assert big.status_code == 413
    assert big.json() == {
        "success": False,
        "error": "Request body is too large (more than 1000 bytes, at most 1000)",
    }
    assert small.status_code == 400  # read whole and handed on: 500 spaces are no JSON
    assert small.json()["error"].startswith("Request body is empty")


async def test_chunked_json_reaches_the_route_intact(make_shop: MakeShop) -> None:
    shop = await make_shop()

    async def chunks():
        yield b'{"orderId": "order_nope",'
        yield b' "status": "completed"}'

    async with httpx.AsyncClient(base_url=shop.url) as client:
        response = await client.post("/demo", content=chunks())
    assert response.status_code == 404
    assert response.json()["error"] == "Order order_nope not found"


# -- JSON that cannot be stored -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/orders/{id}", b'{"metadata": {"note": "\\ud83d"}}'),
        ("/admin/orders/{id}", b'{"metadata": {"\\udc00": 1}}'),
        ("/admin/draft-orders", b'{"region_id": "r", "email": "a@b.co", "items": '
         b'[{"title": "\\ud800", "unit_price": 1, "quantity": 1}]}'),
        ("/admin/orders/{id}", b'{"metadata": ' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"}"),
    ],
    ids=["surrogate-value", "surrogate-key", "surrogate-in-item", "too-deep"],
)
async def test_unstorable_json_is_400_never_500(
    client: httpx.AsyncClient, catalogue: Catalogue, path: str, body: bytes
) -> None:
    order = await create_order(client, catalogue)
    response = await client.post(path.format(id=order["id"]), content=body)
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_data"
    assert "lone UTF-16 surrogate" in response.json()["message"] or "nested too deeply" in (
        response.json()["message"]
    )


async def test_escaped_surrogate_pairs_are_fine(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    response = await client.post(
        f"/admin/orders/{order['id']}", content=b'{"metadata": {"emoji": "\\ud83d\\ude00"}}'
    )
    assert response.status_code == 200
    assert response.json()["order"]["metadata"]["emoji"] == "\U0001f600"


# -- rate limiting --------------------------------------------------------------------------


async def test_over_the_limit_is_429_with_retry_after(make_shop: MakeShop) -> None:
    clock = FakeClock()
    shop = await make_shop(rate_limit=RateLimit(rate=0.5, burst=3), clock=clock)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        answers = [(await client.get("/demo")).status_code for _ in range(3)]
        assert answers == [200, 200, 200]
        limited = await client.get("/demo")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "2"  # one token at 0.5/s
        assert limited.json() == {
            "success": False,
            "error": "Too many requests: at most 0.5 per second (bursts of 3) per client; "
            "retry after 2 s",
        }
        admin = await client.get("/admin/regions")
        assert admin.status_code == 429
        assert admin.json()["type"] == "not_allowed"
        assert (await client.post("/demo", json={})).status_code == 429

        clock.advance(1.5)
        assert (await client.get("/demo")).headers["retry-after"] == "1"
        clock.advance(0.5)
        assert (await client.get("/demo")).status_code == 200
        assert (await client.get("/demo")).status_code == 429
        clock.advance(3600)  # refills to the burst, never beyond
        answers = [(await client.get("/demo")).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]


async def test_health_is_never_limited(make_shop: MakeShop) -> None:
    shop = await make_shop(rate_limit=RateLimit(rate=1, burst=1), clock=FakeClock())
    async with httpx.AsyncClient(base_url=shop.url) as client:
        await client.get("/demo")
        assert (await client.get("/demo")).status_code == 429
        for _ in range(5):
            assert (await client.get("/health")).status_code == 200


async def test_each_client_address_has_its_own_bucket(make_shop: MakeShop) -> None:
    shop = await make_shop(rate_limit=RateLimit(rate=1, burst=2), clock=FakeClock())
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with (
        httpx.AsyncClient(base_url=shop.url) as first,
        httpx.AsyncClient(base_url=shop.url, transport=other) as second,
    ):
        assert [(await first.get("/demo")).status_code for _ in range(3)] == [200, 200, 429]
        assert [(await second.get("/demo")).status_code for _ in range(3)] == [200, 200, 429]


async def test_rate_limit_none_disables_it(make_shop: MakeShop) -> None:
    shop = await make_shop(rate_limit=None)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        for _ in range(50):
            assert (await client.get("/demo")).status_code == 200


def test_default_lets_the_benchmark_through() -> None:
    """~250 orders/s × 4 requests from one client for a minute, on a fake clock."""
    clock = FakeClock()
    buckets = TokenBuckets(DEFAULT_RATE_LIMIT, clock)
    for _ in range(60 * 1000):
        assert buckets.take("127.0.0.1") == 0.0
        clock.advance(1 / 1000)
    for _ in range(DEFAULT_RATE_LIMIT.burst):  # and a burst on top of that
        assert buckets.take("127.0.0.1") == 0.0


def test_bucket_memory_is_bounded() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(RateLimit(rate=1, burst=5), clock)
    for n in range(25_000):
        buckets.take(f"10.0.{n // 256}.{n % 256}")
    assert len(buckets._buckets) <= 10_000
    buckets.take("victim")
    buckets.take("victim")
    clock.advance(10)  # every bucket has refilled: all are forgettable
    for n in range(10_000):
        buckets.take(f"10.1.{n // 256}.{n % 256}")
    assert len(buckets._buckets) <= 10_001


def test_clock_going_backwards_never_adds_tokens() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(RateLimit(rate=1, burst=1), clock)
    assert buckets.take("a") == 0.0
    clock.advance(-100)
    assert buckets.take("a") == pytest.approx(1.0)


@pytest.mark.parametrize("limit", [{"rate": 0}, {"rate": -1}, {"rate": float("inf")}, {"burst": 0}])
def test_bad_limits_are_refused(limit: dict) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimit(**limit)
