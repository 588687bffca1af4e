"""The embedded shop's metadata history: every change of an order, oldest first, from any route."""

from __future__ import annotations

import httpx

from shop.api import openapi_document
from shop.history import ROUTE
from tests.shop.contract import Contract


def _history_url(order_id: str) -> str:
    return ROUTE.format(order_id=order_id)


async def _order(http: httpx.AsyncClient) -> str:
    draft = await http.post("/admin/draft-orders", json={
        "email": "history@example.com", "region_id": (await http.get("/admin/regions")).json()["regions"][0]["id"],
        "items": [{"variant_id": (await http.get("/admin/products")).json()["products"][0]["variants"][0]["id"],
                   "quantity": 1}],
    })
    assert draft.status_code == 200, draft.text
    draft_id = draft.json()["draft_order"]["id"]
    converted = await http.post(f"/admin/draft-orders/{draft_id}/convert-to-order")
    assert converted.status_code == 200, converted.text
    return converted.json()["order"]["id"]


async def test_history_records_callbacks_merges_and_completion_in_order(shop):
    async with httpx.AsyncClient(base_url=shop.url, timeout=10) as http:
        order_id = await _order(http)
        placed = (await http.get(_history_url(order_id))).json()["writes"]
        assert [(w["workflow_status"], w["order_status"]) for w in placed] == [(None, "pending")]

        merged = await http.post(f"/admin/orders/{order_id}", json={"metadata": {"workflow_status": "started"}})
        assert merged.status_code == 200
        for status in ("payment_verified", "payment_verified", "inventory_reserved", "started", "completed"):
            answer = await http.post("/demo", json={"orderId": order_id, "status": status, "message": status})
            assert answer.status_code == 200
        # Merging the same value again changes nothing, so it is not a write.
        await http.post(f"/admin/orders/{order_id}", json={"metadata": {"workflow_status": "completed"}})

        answer = await http.get(_history_url(order_id))
        assert Contract(openapi_document()).problems("GET", _history_url(order_id), answer) == []
        writes = answer.json()["writes"]
    statuses = [w["workflow_status"] for w in writes[1:]]
    # The repeated payment_verified refreshes its message (a write); the late "started" is refused.
    assert statuses == ["started", "payment_verified", "payment_verified", "inventory_reserved", "completed"]
    assert [w["order_status"] for w in writes][-1] == "completed"
    assert writes[1]["last_updated"] is None and all(w["last_updated"] for w in writes[2:])
    assert [w["seq"] for w in writes] == sorted(w["seq"] for w in writes)
    assert writes[-1]["metadata"]["workflow_message"] == "completed"


async def test_history_of_an_unknown_order_is_404(shop):
    async with httpx.AsyncClient(base_url=shop.url, timeout=10) as http:
        answer = await http.get(_history_url("order_missing"))
    assert Contract(openapi_document()).problems("GET", _history_url("order_missing"), answer) == []
    assert answer.status_code == 404
    assert answer.json()["type"] == "not_found"
