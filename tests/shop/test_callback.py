"""The seed's /demo callback route against a real shop server."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3

import httpx
import pytest

from tests.shop.conftest import Catalogue, create_order

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_get_demo_is_a_health_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/demo")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert ISO_MS.match(body["timestamp"])


async def test_get_health_answers_ok_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.text == "OK"


async def test_metadata_evolves_as_in_the_seed(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    assert order["status"] == "pending"
    started = {
        "workflow_instance": "2251799813685251",
        "workflow_started_at": "2026-01-05T05:15:00.000Z",
        "workflow_status": "started",
    }
    response = await client.post(f"/admin/orders/{order['id']}", json={"metadata": started})
    assert response.json()["order"]["metadata"] == started

    stages = [
        ("payment_verified", "Payment verified successfully", "pending"),
        ("inventory_reserved", "Inventory reserved at Mumbai warehouse", "pending"),
        ("completed", "Customer notified - Order complete!", "completed"),
    ]
    previous = ""
    for status, message, order_status in stages:
        response = await client.post(
            "/demo", json={"orderId": order["id"], "status": status, "message": message}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True
        assert body["orderId"] == order["id"]
        assert body["status"] == status
        metadata = body["order"]["metadata"]
        assert ISO_MS.match(metadata["last_updated"])
        assert metadata["last_updated"] >= previous
        previous = metadata["last_updated"]
        assert metadata == {
            **started,
            "workflow_status": status,
            "workflow_message": message,
            "last_updated": metadata["last_updated"],
        }
        stored = (await client.get(f"/admin/orders/{order['id']}")).json()["order"]
        assert stored["status"] == order_status
        assert stored["metadata"] == metadata
        assert stored["updated_at"] == metadata["last_updated"]


async def test_message_may_be_empty_or_absent(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    response = await client.post("/demo", json={"orderId": order["id"], "status": "x", "message": ""})
    assert response.status_code == 200
    assert response.json()["order"]["metadata"]["workflow_message"] == ""
    response = await client.post(
        "/demo", json={"orderId": order["id"], "status": "y", "extra": {"ignored": True}}
    )
    assert response.status_code == 200
    assert response.json()["order"]["metadata"]["workflow_message"] == ""
    assert response.json()["order"]["metadata"]["workflow_status"] == "y"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", "Request body is empty: expected a JSON object with orderId, status and message"),
        (b"{orderId: 1}", "Request body is not valid JSON: Expecting property name enclosed in "
         "double quotes at line 1 column 2"),
        (b'["order_1", "completed"]', "Request body must be a JSON object, got array"),
        (b'"completed"', "Request body must be a JSON object, got string"),
        (b"NaN", "Request body is not valid JSON: NaN is not valid JSON"),
        (b"\xff\xfe", "Request body is not valid UTF-8 text"),
        (b"{}", "orderId is required; status is required"),
        (b'{"orderId": 42, "status": "completed"}', "orderId must be a string, got number"),
        (b'{"orderId": "", "status": "completed"}', "orderId must not be empty"),
        (b'{"orderId": "order_1", "status": "   "}', "status must not be empty"),
        (b'{"orderId": "order_1", "status": null}', "status must be a string, got null"),
        (b'{"orderId": "order_1", "status": ["a"]}', "status must be a string, got array"),
        (b'{"orderId": "order_1", "status": "x", "message": 7}',
         "message must be a string, got number"),
        (b'{"orderId": "order_1", "status": "x", "message": null}',
         "message must be a string, got null"),
        (b'{"orderId": "\\ud800", "status": "x"}', "Request body is not valid JSON text: it "
         "escapes a lone UTF-16 surrogate (\\ud800-\\udfff)"),
        (b'{"orderId": "o", "status": "x", "message": "\\udfff\\ud800"}', "Request body is not "
         "valid JSON text: it escapes a lone UTF-16 surrogate (\\ud800-\\udfff)"),
        (b'{"orderId": "o", "status": "x", "extra": ' + b"[" * 100 + b"]" * 100 + b"}",
         "Request body is nested too deeply (at most 100 levels)"),
        (b"[" * 100_000 + b"]" * 100_000, "Request body is nested too deeply (at most 100 levels)"),
        (b'{"orderId": true, "status": {}, "message": false}',
         "orderId must be a string, got boolean; status must be a string, got object; "
         "message must be a string, got boolean"),
    ],
)
async def test_invalid_callbacks_are_400_with_a_precise_error(
    shared_client: httpx.AsyncClient, content: bytes, error: str
) -> None:
    response = await shared_client.post(
        "/demo", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}


async def test_overlong_fields_are_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/demo", json={"orderId": "order_1", "status": "x", "message": "m" * 5000}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "message is too long (5000 characters, at most 4000)"


@pytest.mark.asyncio(loop_scope="module")
async def test_oversized_body_is_413(shared_client: httpx.AsyncClient) -> None:
    body = b'{"orderId": "order_1", "status": "x", "message": "' + b"m" * 1_100_000 + b'"}'
    response = await shared_client.post("/demo", content=body)
    assert response.status_code == 413
    assert response.json() == {
        "success": False,
        "error": "Request body is too large (1100052 bytes, at most 1048576)",
    }


async def test_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/demo", json={"orderId": "order_01NOPE", "status": "completed", "message": "m"}
    )
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Order order_01NOPE not found"}


async def test_database_fault_is_500_without_leaking_and_rolls_back(
    client: httpx.AsyncClient,
    catalogue: Catalogue,
    db: sqlite3.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    order = await create_order(client, catalogue, metadata={"keep": "me"})
    db.execute(
        "CREATE TRIGGER fault BEFORE UPDATE ON orders "
        "BEGIN SELECT RAISE(ABORT, 'simulated disk fault'); END"
    )
    body = {"orderId": order["id"], "status": "payment_verified", "message": "ok"}
    with caplog.at_level(logging.ERROR, logger="shop"):
        response = await client.post("/demo", json=body)
    assert response.status_code == 500
    payload = response.json()
    assert payload["success"] is False
    assert "simulated" not in response.text and "Traceback" not in response.text
    assert any(order["id"] in r.getMessage() and r.exc_info for r in caplog.records)

    db.execute("DROP TRIGGER fault")
    stored = (await client.get(f"/admin/orders/{order['id']}")).json()["order"]
    assert stored["metadata"] == {"keep": "me"}
    response = await client.post("/demo", json=body)
    assert response.status_code == 200
    assert response.json()["order"]["metadata"]["workflow_status"] == "payment_verified"


async def test_missing_table_is_500(client: httpx.AsyncClient, db: sqlite3.Connection) -> None:
    db.execute("DROP TABLE order_items")
    db.execute("DROP TABLE orders")
    response = await client.post("/demo", json={"orderId": "order_1", "status": "x"})
    assert response.status_code == 500
    assert response.json()["success"] is False


async def test_concurrent_callbacks_and_merges_lose_nothing(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    orders = [await create_order(client, catalogue, customer=i) for i in range(3)]
    statuses = ["payment_verified", "inventory_reserved", "completed"]
    calls = [
        client.post("/demo", json={"orderId": o["id"], "status": s, "message": s})
        for o, s in zip(orders, statuses, strict=True)
    ]
    target = orders[0]["id"]
    calls += [
        client.post(f"/admin/orders/{target}", json={"metadata": {f"note_{i}": i}})
        for i in range(20)
    ]
    calls += [
        client.post("/demo", json={"orderId": target, "status": "payment_verified"})
        for _ in range(5)
    ]
    responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200] * len(responses)
    for order, status in zip(orders, statuses, strict=True):
        stored = (await client.get(f"/admin/orders/{order['id']}")).json()["order"]
        assert stored["metadata"]["workflow_status"] == status
    merged = (await client.get(f"/admin/orders/{target}")).json()["order"]["metadata"]
    assert {f"note_{i}" for i in range(20)} <= set(merged)
    assert merged["workflow_status"] == "payment_verified"
