"""Callbacks applied once: idempotency keys, stages that never go back, cancelled orders kept."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest

from protocol.progress import WORKFLOW_SEQUENCE, StageOrder
from tests.shop.conftest import Catalogue, FakeClock, MakeShop, create_order, load_catalogue
from workers.stages import STATUS_CANCELLED, STATUS_SEQUENCE

KEY = "X-Idempotency-Key"


def _callback(order_id: str, status: str, message: str = "m") -> dict:
    return {"orderId": order_id, "status": status, "message": message}


async def _status(client: httpx.AsyncClient, order_id: str) -> dict:
    return (await client.get(f"/admin/orders/{order_id}")).json()["order"]


def test_the_shop_orders_stages_as_the_workers_do() -> None:
    assert WORKFLOW_SEQUENCE == STATUS_SEQUENCE
    assert StageOrder().refusal(STATUS_CANCELLED, "pending", "completed") is not None


async def test_repeat_with_the_same_key_answers_the_same_body_and_applies_once(
    client: httpx.AsyncClient, catalogue: Catalogue, db: sqlite3.Connection
) -> None:
    order = await create_order(client, catalogue)
    key = {KEY: f"{order['id']}:payment_verified:2251799813685251"}
    first = await client.post("/demo", json=_callback(order["id"], "payment_verified"), headers=key)
    assert first.status_code == 200
    assert first.json()["applied"] is True
    assert "idempotent-replayed" not in first.headers
    # Something else moves the order on; the repeat must neither undo it nor apply again.
    await client.post(
        f"/admin/orders/{order['id']}", json={"metadata": {"note": "later"}}
    )
    changed = await _status(client, order["id"])
    for _ in range(3):
        again = await client.post(
            "/demo", json=_callback(order["id"], "payment_verified"), headers=key
        )
        assert again.status_code == 200
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
    assert await _status(client, order["id"]) == changed
    assert db.execute("SELECT COUNT(*) FROM callback_keys").fetchone()[0] == 1


async def test_concurrent_repeats_apply_once(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    key = {KEY: f"{order['id']}:completed:1"}
    responses = await asyncio.gather(
        *(
            client.post("/demo", json=_callback(order["id"], "completed"), headers=key)
            for _ in range(10)
        )
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1


async def test_different_keys_are_independent(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    for n, status in enumerate(["payment_verified", "inventory_reserved"]):
        response = await client.post(
            "/demo", json=_callback(order["id"], status), headers={KEY: f"k{n}"}
        )
        assert response.json()["applied"] is True
    assert (await _status(client, order["id"]))["metadata"]["workflow_status"] == "inventory_reserved"


async def test_key_reused_for_another_callback_is_422(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    headers = {KEY: "same-key"}
    await client.post("/demo", json=_callback(order["id"], "payment_verified"), headers=headers)
    for other in (
        _callback(order["id"], "inventory_reserved"),
        _callback(order["id"], "payment_verified", "another message"),
    ):
        response = await client.post("/demo", json=other, headers=headers)
        assert response.status_code == 422
        assert response.json() == {
            "success": False,
            "error": "Idempotency key 'same-key' was already used for a different callback",
        }
    assert (await _status(client, order["id"]))["metadata"]["workflow_status"] == "payment_verified"


@pytest.mark.parametrize(
    ("header", "value"),
    [(KEY, "x" * 256), (KEY, "tab\tinside"), (KEY, "clé"), ("Idempotency-Key", "k" * 300)],
    ids=["too-long", "control", "non-ascii", "ietf-name-too-long"],
)
async def test_malformed_key_is_400(
    client: httpx.AsyncClient, header: str, value: str
) -> None:
    response = await client.post(
        "/demo",
        json=_callback("order_1", "x"),
        headers=[(header.encode(), value.encode())],
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "X-Idempotency-Key must be 1 to 255 printable ASCII characters"
    )


async def test_ietf_header_name_is_accepted_too(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    headers = {"Idempotency-Key": "ietf"}
    first = await client.post("/demo", json=_callback(order["id"], "completed"), headers=headers)
    again = await client.post("/demo", json=_callback(order["id"], "completed"), headers=headers)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"


async def test_unknown_order_is_not_remembered(
    client: httpx.AsyncClient, db: sqlite3.Connection
) -> None:
    for _ in range(2):
        response = await client.post(
            "/demo", json=_callback("order_nope", "completed"), headers={KEY: "k"}
        )
        assert response.status_code == 404
    assert db.execute("SELECT COUNT(*) FROM callback_keys").fetchone()[0] == 0


async def test_keys_expire_after_the_retention_and_are_pruned(make_shop: MakeShop) -> None:
    clock = FakeClock()
    shop = await make_shop(clock=clock)
    async with httpx.AsyncClient(base_url=shop.url) as client:
        order = await create_order(client, await load_catalogue(client))
        headers = {KEY: "weekly"}
        body = _callback(order["id"], "payment_verified")
        await client.post("/demo", json=body, headers=headers)
        clock.advance(6 * 86_400)
        kept = await client.post("/demo", json=body, headers=headers)
        assert kept.headers.get("idempotent-replayed") == "true"
        clock.advance(2 * 86_400)
        fresh = await client.post("/demo", json=body, headers=headers)
        assert "idempotent-replayed" not in fresh.headers
        assert fresh.json()["applied"] is True
        await client.post("/demo", json=body, headers={KEY: "other"})
    with sqlite3.connect(shop.db_path) as conn:
        rows = conn.execute("SELECT key, created_at FROM callback_keys ORDER BY key").fetchall()
    assert rows == [("other", clock.now), ("weekly", clock.now)]


# -- stages only move forward -------------------------------------------------------------


async def test_late_earlier_stage_is_not_applied(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    for status in ("payment_verified", "inventory_reserved", "completed"):
        assert (await client.post("/demo", json=_callback(order["id"], status))).status_code == 200
    done = await _status(client, order["id"])
    for late in ("started", "payment_verified", "inventory_reserved"):
        response = await client.post("/demo", json=_callback(order["id"], late, "late"))
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True and body["applied"] is False
        assert body["reason"] == f"the order is already at completed; {late} is an earlier stage"
        assert body["status"] == late
        assert body["order"]["metadata"]["workflow_status"] == "completed"
        assert body["order"]["updated_at"] == done["updated_at"]
    assert await _status(client, order["id"]) == done


async def test_inventory_before_payment_is_kept(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    await client.post("/demo", json=_callback(order["id"], "inventory_reserved"))
    late = await client.post("/demo", json=_callback(order["id"], "payment_verified"))
    assert late.json()["applied"] is False
    stored = await _status(client, order["id"])
    assert stored["metadata"]["workflow_status"] == "inventory_reserved"
    assert stored["status"] == "pending"


async def test_repeating_the_current_stage_refreshes_it(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    await client.post("/demo", json=_callback(order["id"], "payment_verified", "first"))
    again = await client.post("/demo", json=_callback(order["id"], "payment_verified", "second"))
    assert again.json()["applied"] is True
    assert again.json()["order"]["metadata"]["workflow_message"] == "second"


async def test_cancelled_workflow_is_never_overwritten(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue, metadata={"workflow_status": "started"})
    await client.post("/demo", json=_callback(order["id"], "payment_verified"))
    await client.post(
        f"/admin/orders/{order['id']}",
        json={"metadata": {"workflow_status": "cancelled", "workflow_message": "by operator"}},
    )
    cancelled = await _status(client, order["id"])
    for status in ("inventory_reserved", "completed", "started", "something_else"):
        response = await client.post("/demo", json=_callback(order["id"], status))
        assert response.status_code == 200
        assert response.json()["applied"] is False
        assert response.json()["reason"] == (
            "the order's workflow was cancelled; status callbacks no longer apply"
        )
    assert await _status(client, order["id"]) == cancelled
    # The operator may restart it (Admin API); callbacks then apply again.
    await client.post(f"/admin/orders/{order['id']}", json={"metadata": {"workflow_status": "started"}})
    response = await client.post("/demo", json=_callback(order["id"], "payment_verified"))
    assert response.json()["applied"] is True


async def test_canceled_order_is_never_completed(
    client: httpx.AsyncClient, catalogue: Catalogue, db: sqlite3.Connection
) -> None:
    order = await create_order(client, catalogue)
    db.execute("UPDATE orders SET status = 'canceled' WHERE id = ?", (order["id"],))
    response = await client.post("/demo", json=_callback(order["id"], "completed"))
    assert response.json()["applied"] is False
    assert response.json()["order"]["status"] == "canceled"
    assert (await _status(client, order["id"]))["status"] == "canceled"


async def test_refused_callback_with_a_key_replays_the_refusal(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue, metadata={"workflow_status": "completed"})
    headers = {KEY: "late"}
    first = await client.post("/demo", json=_callback(order["id"], "started"), headers=headers)
    again = await client.post("/demo", json=_callback(order["id"], "started"), headers=headers)
    assert first.json()["applied"] is False
    assert again.content == first.content


async def test_free_form_statuses_are_not_ordered(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    for status in ("completed", "x", "payment_verified"):
        response = await client.post("/demo", json=_callback(order["id"], status))
        assert response.json()["applied"] is True, status


@pytest.mark.parametrize(
    ("current", "order_status", "incoming", "refused"),
    [
        (None, "pending", "completed", False),
        ({"a": 1}, "pending", "completed", False),
        ("started", "pending", "started", False),
        ("started", "pending", "completed", False),
        ("completed", "completed", "started", True),
        ("cancelled", "pending", "cancelled", False),
        ("cancelled", "pending", "completed", True),
        ("payment_verified", "canceled", "inventory_reserved", True),
        ("weird", "pending", "started", False),
    ],
)
def test_stage_order_rules(
    current: object, order_status: str, incoming: str, refused: bool
) -> None:
    assert (StageOrder().refusal(current, order_status, incoming) is not None) is refused


def test_custom_stage_sequence() -> None:
    stages = StageOrder(("a", "b"))
    assert stages.refusal("b", "pending", "a") is not None
    assert stages.refusal("b", "pending", "started") is None
