"""Demo faults on a real shop: callbacks answered 500, declined payments, and the switch route."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from shop.api import openapi_document
from shop.faults import DemoFaults
from shop.server import ShopServer
from tests.shop.conftest import MakeShop, create_order, load_catalogue
from tests.shop.contract import Contract

FAULTS = "/medcam/faults"
KEY = "sk_faults"
OFF = {"callbacks_down": False, "callback_fail_rate": 0.0, "decline_rate": 0.0}


def _callback(order_id: str, status: str = "payment_verified") -> dict:
    return {"orderId": order_id, "status": status, "message": "m"}


async def test_shop_down_answers_every_callback_500_until_switched_back(make_shop: MakeShop) -> None:
    shop = await make_shop()
    async with httpx.AsyncClient(base_url=shop.url) as client:
        order = await create_order(client, await load_catalogue(client))
        assert (await client.get(FAULTS)).json() == OFF
        switched = await client.put(FAULTS, json={"callbacks_down": True})
        assert switched.status_code == 200
        assert switched.json() == {**OFF, "callbacks_down": True}
        for status in ("payment_verified", "inventory_reserved", "completed"):
            response = await client.post("/demo", json=_callback(order["id"], status))
            assert response.status_code == 500
            assert response.json() == {
                "success": False,
                "error": "Injected fault: the shop is down (demo fault injection)",
            }
        assert (await client.get("/demo")).status_code == 200, "the health check stays up"
        stored = (await client.get(f"/admin/orders/{order['id']}")).json()["order"]
        assert stored["metadata"] == {} and stored["updated_at"] == order["updated_at"]

        assert (await client.put(FAULTS, json={"callbacks_down": False})).json() == OFF
        response = await client.post("/demo", json=_callback(order["id"]))
        assert response.status_code == 200 and response.json()["applied"] is True


async def _outcomes(shop: ShopServer, count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=shop.url) as client:
        order = await create_order(client, await load_catalogue(client))
        return [
            (await client.post("/demo", json=_callback(order["id"]))).status_code
            for _ in range(count)
        ]


async def test_fail_rate_is_a_share_of_callbacks_repeatable_with_a_seed(make_shop: MakeShop) -> None:
    first = await _outcomes(await make_shop(faults=DemoFaults(callback_fail_rate=0.5, seed=7)), 60)
    again = await _outcomes(await make_shop(faults=DemoFaults(callback_fail_rate=0.5, seed=7)), 60)
    assert first == again, "the same seed draws the same faults"
    assert set(first) == {200, 500}
    assert 10 <= first.count(500) <= 50
    assert set(await _outcomes(await make_shop(faults=DemoFaults(callback_fail_rate=1)), 5)) == {500}
    assert set(await _outcomes(await make_shop(faults=DemoFaults()), 5)) == {200}


async def _payments(client: httpx.AsyncClient, count: int) -> list[str]:
    catalogue = await load_catalogue(client)
    return [(await create_order(client, catalogue))["payment_status"] for _ in range(count)]


async def test_decline_rate_cancels_the_payment_of_converted_orders(make_shop: MakeShop) -> None:
    shop = await make_shop(faults=DemoFaults(decline_rate=1.0))
    async with httpx.AsyncClient(base_url=shop.url) as client:
        catalogue = await load_catalogue(client)
        draft = await create_order(client, catalogue, convert=False)
        assert draft["payment_status"] == "not_paid"
        converted = await client.post(f"/admin/draft-orders/{draft['id']}/convert-to-order")
        order = converted.json()["order"]
        assert order["payment_status"] == "canceled"
        fetched = (await client.get(f"/admin/orders/{order['id']}")).json()["order"]
        assert fetched["payment_status"] == "canceled"
        listed = (await client.get("/admin/orders", params={"id": order["id"]})).json()
        assert listed["orders"][0]["payment_status"] == "canceled"
        updated = await client.post(f"/admin/orders/{order['id']}", json={"metadata": {"a": 1}})
        assert updated.json()["order"]["payment_status"] == "canceled"

        await client.put(FAULTS, json={"decline_rate": 0})
        assert await _payments(client, 3) == ["not_paid"] * 3


async def test_decline_rate_is_repeatable_with_a_seed(make_shop: MakeShop) -> None:
    runs = []
    for _ in range(2):
        shop = await make_shop(faults=DemoFaults(decline_rate=0.5, seed=11))
        async with httpx.AsyncClient(base_url=shop.url) as client:
            runs.append(await _payments(client, 16))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"canceled", "not_paid"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"callback_fail_rate": 2}, "callback_fail_rate must be at most 1, got 2"),
        ({"decline_rate": -0.1}, "decline_rate must be at least 0, got -0.1"),
        ({"callbacks_down": "yes"}, "callbacks_down must be true or false, got string"),
        ({"callback_fail_rate": "0.5"}, "callback_fail_rate must be a number, got string"),
        ({"down": True}, "Unrecognized fields in request body: 'down'"),
    ],
)
async def test_bad_switches_are_400_and_change_nothing(
    make_shop: MakeShop, body: dict, message: str
) -> None:
    shop = await make_shop()
    async with httpx.AsyncClient(base_url=shop.url) as client:
        response = await client.put(FAULTS, json=body)
        assert response.status_code == 400
        assert response.json() == {"type": "invalid_data", "message": message}
        assert (await client.get(FAULTS)).json() == OFF


async def test_the_switch_is_guarded_by_the_api_key(make_shop: MakeShop) -> None:
    shop = await make_shop(api_key=KEY)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        for method in ("GET", "PUT"):
            response = await client.request(method, FAULTS, json={"callbacks_down": True})
            assert response.status_code == 401
            assert response.json() == {"type": "unauthorized", "message": "Unauthorized"}
        response = await client.put(FAULTS, json={"callbacks_down": True}, auth=(KEY, ""))
        assert response.json()["callbacks_down"] is True
        assert (await client.post("/demo", json=_callback("order_x"))).status_code == 500


def test_bad_rates_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="callback_fail_rate must be between 0 and 1"):
        DemoFaults(callback_fail_rate=1.5)
    with pytest.raises(ValueError, match="decline_rate must be between 0 and 1"):
        DemoFaults(decline_rate=float("nan"))


async def test_fault_answers_follow_the_document(make_shop: MakeShop) -> None:
    shop = await make_shop(api_key=KEY)
    contract = Contract(openapi_document(api_key=True))
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=shop.url, auth=(KEY, "")) as client:
        calls = [
            ("GET", FAULTS, {}),
            ("PUT", FAULTS, {"json": {"callback_fail_rate": 0.25, "decline_rate": 0.5}}),
            ("PUT", FAULTS, {"json": {"callback_fail_rate": 7}}),
            ("PUT", FAULTS, {"content": b"{"}),
            ("PUT", FAULTS, {"json": {"callbacks_down": True}}),
            ("POST", "/demo", {"json": _callback("order_x")}),
            ("DELETE", FAULTS, {}),
        ]
        for method, path, kwargs in calls:
            response = await client.request(method, path, **kwargs)
            problems.extend(contract.problems(method, path, response))
        assert response.status_code == 405
    assert problems == []


async def test_an_older_database_gains_payment_status(make_shop: MakeShop) -> None:
    shop = await make_shop()
    async with httpx.AsyncClient(base_url=shop.url) as client:
        order = await create_order(client, await load_catalogue(client))
    await shop.stop()
    with sqlite3.connect(shop.db_path) as conn:
        conn.execute("ALTER TABLE orders DROP COLUMN payment_status")
    reopened = ShopServer(shop.data_dir, port=0)
    await reopened.start()
    try:
        async with httpx.AsyncClient(base_url=reopened.url) as client:
            kept = (await client.get(f"/admin/orders/{order['id']}")).json()["order"]
    finally:
        await reopened.stop()
    assert kept["payment_status"] == "not_paid"
    assert kept["id"] == order["id"]
