"""MEDCAM_CALLBACK_MODE=admin: status updates written through the Admin API of a real shop."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from shop.server import ShopServer
from tests.shop.conftest import create_order, load_catalogue
from workers.callback import CallbackFailed, CallbackPolicy, StatusCallback
from workers.events import CallbackAttempt

FAST = CallbackPolicy(attempts=3, backoff_s=0.01, timeout_s=2.0)
API_KEY = "sk_test_admin_mode"


@dataclass
class Shop:
    server: ShopServer
    admin: httpx.AsyncClient  # authenticated, for arranging and reading back
    order_id: str

    async def order(self) -> dict:
        return (await self.admin.get(f"/admin/orders/{self.order_id}")).json()["order"]


@pytest.fixture
async def shop(tmp_path) -> AsyncIterator[Shop]:
    server = ShopServer(tmp_path / "shop", port=0, api_key=API_KEY)
    await server.start()
    auth = httpx.BasicAuth(API_KEY, "")
    async with httpx.AsyncClient(base_url=server.url, auth=auth, timeout=10) as admin:
        order = await create_order(admin, await load_catalogue(admin), metadata={"workflow_status": "started"})
        try:
            yield Shop(server, admin, order["id"])
        finally:
            await server.stop()


async def _send(shop: Shop, status: str, *, key: str = API_KEY, order_id: str | None = None) -> list[CallbackAttempt]:
    events: list[CallbackAttempt] = []
    async with httpx.AsyncClient(auth=httpx.BasicAuth(key, "")) as http:
        callback = StatusCallback(http, shop.server.url, events.append, FAST, mode="admin")
        await callback.send(order_id or shop.order_id, "stage", status, f"message for {status}", 42)
    return events


async def test_each_stage_lands_in_the_metadata_and_the_last_completes_the_order(shop: Shop):
    for status in ("payment_verified", "inventory_reserved"):
        events = await _send(shop, status)
        assert [(e.ok, e.http_status) for e in events] == [(True, 200)]
        order = await shop.order()
        assert order["metadata"]["workflow_status"] == status
        assert order["metadata"]["workflow_message"] == f"message for {status}"
        assert order["status"] == "pending"
    await _send(shop, "completed")
    order = await shop.order()
    assert order["metadata"]["workflow_status"] == "completed"
    assert order["metadata"]["last_updated"].endswith("Z")
    assert order["status"] == "completed", "the last stage completes the order, as /demo does"


async def test_a_cancelled_workflow_is_not_overwritten(shop: Shop):
    await shop.admin.post(f"/admin/orders/{shop.order_id}", json={"metadata": {"workflow_status": "cancelled"}})
    before = await shop.order()
    events = await _send(shop, "completed")
    assert [e.ok for e in events] == [True], "delivered: nothing is left to retry"
    after = await shop.order()
    assert after["metadata"] == before["metadata"] and after["status"] == "pending"


async def test_a_late_earlier_stage_does_not_move_the_order_back(shop: Shop):
    await _send(shop, "inventory_reserved")
    await _send(shop, "payment_verified")
    assert (await shop.order())["metadata"]["workflow_status"] == "inventory_reserved"


async def test_a_canceled_order_is_not_completed(shop: Shop, tmp_path):
    with sqlite3.connect(shop.server.db_path, isolation_level=None) as db:
        db.execute("UPDATE orders SET status = 'canceled' WHERE id = ?", (shop.order_id,))
    await _send(shop, "completed")
    order = await shop.order()
    assert order["status"] == "canceled" and order["metadata"]["workflow_status"] == "started"


async def test_a_bad_key_is_final_and_names_the_step(shop: Shop):
    events: list[CallbackAttempt] = []
    with pytest.raises(CallbackFailed, match="reading the order: HTTP 401"):
        async with httpx.AsyncClient(auth=httpx.BasicAuth("sk_wrong", "")) as http:
            callback = StatusCallback(http, shop.server.url, events.append, FAST, mode="admin")
            await callback.send(shop.order_id, "stage", "payment_verified", "m")
    assert [(e.attempt, e.ok, e.http_status) for e in events] == [(1, False, 401)], "401 is not retried"
    assert "sk_wrong" not in (events[0].error or "")


async def test_an_unknown_order_is_final(shop: Shop):
    with pytest.raises(CallbackFailed, match="HTTP 404"):
        await _send(shop, "payment_verified", order_id="order_missing")


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown callback mode 'smtp'"):
        StatusCallback(httpx.AsyncClient(), "http://127.0.0.1:1", lambda e: None, mode="smtp")


async def test_an_answer_without_an_order_is_a_clear_final_error(asgi_server):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def not_medusa(request):
        return PlainTextResponse("<html>a proxy page</html>")

    app = Starlette(routes=[Route("/admin/orders/{order_id}", not_medusa, methods=["GET", "POST"])])
    events: list[CallbackAttempt] = []
    async with asgi_server(app) as url, httpx.AsyncClient() as http:
        callback = StatusCallback(http, url, events.append, FAST, mode="admin")
        with pytest.raises(CallbackFailed, match="the answer holds no order object"):
            await callback.send("order_1", "stage", "payment_verified", "m")
    assert [(e.attempt, e.ok, e.http_status) for e in events] == [(1, False, 200)]
