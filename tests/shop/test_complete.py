"""POST /admin/orders/{id}/complete: Medusa's complete-order, as the admin callback mode uses it."""

from __future__ import annotations

import sqlite3

import httpx

from tests.shop.conftest import Catalogue, create_order


async def test_complete_sets_the_status_and_repeating_it_is_harmless(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue, metadata={"workflow_status": "inventory_reserved"})
    first = await client.post(f"/admin/orders/{order['id']}/complete", json={})
    assert first.status_code == 200, first.text
    done = first.json()["order"]
    assert done["status"] == "completed"
    assert done["metadata"] == {"workflow_status": "inventory_reserved"}, "metadata is not touched"
    again = await client.post(f"/admin/orders/{order['id']}/complete")
    assert again.status_code == 200 and again.json()["order"]["status"] == "completed"
    assert again.json()["order"]["updated_at"] == done["updated_at"], "a repeat changes nothing"


async def test_complete_refuses_a_canceled_order_like_medusa(
    client: httpx.AsyncClient, catalogue: Catalogue, db: sqlite3.Connection
) -> None:
    order = await create_order(client, catalogue)
    db.execute("UPDATE orders SET status = 'canceled' WHERE id = ?", (order["id"],))
    response = await client.post(f"/admin/orders/{order['id']}/complete", json={})
    assert response.status_code == 400
    assert response.json() == {
        "type": "invalid_data",
        "message": f"Orders {order['id']} are canceled and cannot be completed",
    }


async def test_complete_of_an_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/orders/order_nope/complete", json={})
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


async def test_complete_validates_its_body(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    order = await create_order(client, catalogue)
    url = f"/admin/orders/{order['id']}/complete"
    unknown = await client.post(url, json={"status": "completed"})
    assert unknown.status_code == 400 and "'status'" in unknown.json()["message"]
    wrong = await client.post(url, json={"additional_data": 3})
    assert wrong.status_code == 400 and "additional_data" in wrong.json()["message"]
    broken = await client.post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    listed = await client.get(f"/admin/orders/{order['id']}")
    assert listed.json()["order"]["status"] == "pending", "a rejected request changes nothing"
    ok = await client.post(url, json={"additional_data": {"by": "medcam"}})
    assert ok.status_code == 200 and ok.json()["order"]["status"] == "completed"
