"""Admin API draft orders: create, retrieve, convert, and strict body validation."""

from __future__ import annotations

import httpx
import pytest

from tests.shop.conftest import Catalogue


async def test_draft_create_convert_then_listed(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    body = {
        "region_id": catalogue.regions["inr"]["id"],
        "email": "walk.in@example.com",
        "items": [
            {"variant_id": catalogue.variant("hoodie", 1)["id"], "quantity": 2},
            {"title": "Gift wrap", "unit_price": 49.5, "quantity": 1},
        ],
        "shipping_address": {
            "first_name": "Ravi", "last_name": "Kumar", "address_1": "9 Park Street",
            "city": "Kolkata", "postal_code": "700016", "country_code": "IN",
            "phone": "+91 33 5550 2000",
        },
        "shipping_methods": [{"name": "Express", "amount": 150}],
        "metadata": {"source": "test"},
    }
    response = await client.post("/admin/draft-orders", json=body)
    assert response.status_code == 200, response.text
    draft = response.json()["draft_order"]
    assert draft["status"] == "draft" and draft["is_draft_order"] is True
    assert draft["currency_code"] == "inr"
    assert draft["customer_id"] is None
    hoodie, wrap = draft["items"]
    assert (hoodie["title"], hoodie["subtitle"], hoodie["unit_price"]) == ("Medusa Hoodie", "L", 3499)
    assert hoodie["variant_sku"] == "MEDUSA-HOODIE-L"
    assert (wrap["variant_id"], wrap["unit_price"], wrap["is_custom_price"]) == (None, 49.5, True)
    assert draft["subtotal"] == 2 * 3499 + 49.5
    assert draft["shipping_total"] == 150
    assert draft["total"] == 2 * 3499 + 49.5 + 150
    assert draft["shipping_address"]["country_code"] == "in"
    assert draft["metadata"] == {"source": "test"}

    fetched = await client.get(f"/admin/draft-orders/{draft['id']}")
    assert fetched.json()["draft_order"] == draft
    listed = (await client.get("/admin/draft-orders")).json()
    assert [d["id"] for d in listed["draft_orders"]] == [draft["id"]]
    assert (await client.get("/admin/orders")).json()["count"] == 0

    converted = await client.post(f"/admin/draft-orders/{draft['id']}/convert-to-order")
    assert converted.status_code == 200
    order = converted.json()["order"]
    assert order["id"] == draft["id"] and order["display_id"] == draft["display_id"]
    assert order["status"] == "pending" and order["is_draft_order"] is False
    assert order["total"] == draft["total"]
    assert order["updated_at"] >= draft["updated_at"]

    orders = (await client.get("/admin/orders")).json()
    assert [o["id"] for o in orders["orders"]] == [draft["id"]]
    assert (await client.get(f"/admin/draft-orders/{draft['id']}")).status_code == 404
    assert (await client.get("/admin/draft-orders")).json()["count"] == 0

    again = await client.post(f"/admin/draft-orders/{draft['id']}/convert-to-order")
    assert again.status_code == 400
    assert again.json()["type"] == "not_allowed"


async def test_customer_fills_email_and_address(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    customer = catalogue.customers[0]
    response = await client.post(
        "/admin/draft-orders",
        json={
            "region_id": catalogue.regions["inr"]["id"],
            "customer_id": customer["id"],
            "items": [{"variant_id": catalogue.variant("sticker-pack")["id"], "quantity": 3}],
        },
    )
    draft = response.json()["draft_order"]
    assert draft["email"] == customer["email"]
    assert draft["shipping_address"]["address_1"] == customer["addresses"][0]["address_1"]
    assert draft["total"] == 3 * 299


async def test_display_ids_increase_across_drafts(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    body = {
        "region_id": catalogue.regions["eur"]["id"],
        "email": "x@example.com",
        "items": [{"title": "Thing", "unit_price": 1, "quantity": 1}],
    }
    displays = [
        (await client.post("/admin/draft-orders", json=body)).json()["draft_order"]["display_id"]
        for _ in range(3)
    ]
    assert displays == [displays[0], displays[0] + 1, displays[0] + 2]


async def test_unknown_draft_is_404(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/admin/draft-orders/order_nope"),
        await client.post("/admin/draft-orders/order_nope/convert-to-order"),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "type": "not_found",
            "message": "Draft order with id: order_nope was not found",
        }


def _valid(catalogue: Catalogue) -> dict:
    return {
        "region_id": catalogue.regions["eur"]["id"],
        "email": "x@example.com",
        "items": [{"variant_id": catalogue.variant("shorts")["id"], "quantity": 1}],
    }


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"region_id": None}, "region_id must be a string, got null"),
        ({"region_id": "reg_nope"}, "Region with id: reg_nope was not found"),
        ({"email": None}, "email or customer_id is required"),
        ({"email": "no-at-sign"}, "email must be an email address, got 'no-at-sign'"),
        ({"customer_id": "cus_nope"}, "Customer with id: cus_nope was not found"),
        ({"items": []}, "items must contain at least one item"),
        ({"items": {}}, "items must be an array, got object"),
        ({"items": [{"variant_id": "variant_nope", "quantity": 1}]},
         "items[0]: Variant with id: variant_nope was not found"),
        ({"items": [{"title": "x", "quantity": 1}]},
         "items[0] needs either variant_id, or title and unit_price for a custom item"),
        ({"items": [{"title": "x", "unit_price": 1}]}, "items[0].quantity is required"),
        ({"items": [{"title": "x", "unit_price": 1, "quantity": 0}]},
         "items[0].quantity must be between 1 and 100000, got 0"),
        ({"items": [{"title": "x", "unit_price": 1, "quantity": "2"}]},
         "items[0].quantity must be a positive integer, got string"),
        ({"items": [{"title": "x", "unit_price": 1, "quantity": True}]},
         "items[0].quantity must be a positive integer, got boolean"),
        ({"items": [{"title": "x", "unit_price": -1, "quantity": 1}]},
         "items[0].unit_price must not be negative, got -1"),
        ({"items": [{"title": "x", "unit_price": 1.005, "quantity": 1}]},
         "items[0].unit_price must have at most two decimal places, got 1.005"),
        ({"items": [{"title": "x", "unit_price": 1, "quantity": 1, "sku": "y"}]},
         "Unrecognized fields in items[0]: 'sku'"),
        ({"shipping_address": "Berlin"}, "shipping_address must be an object, got string"),
        ({"shipping_methods": [{"name": "Post"}]}, "shipping_methods[0].amount is required"),
        ({"metadata": [1]}, "metadata must be an object, got array"),
        ({"currency": "eur"}, "Unrecognized fields in request body: 'currency'"),
    ],
)
async def test_invalid_draft_is_400(
    shared_client: httpx.AsyncClient, shared_catalogue: Catalogue, change: dict, message: str
) -> None:
    body = {**_valid(shared_catalogue), **change}
    response = await shared_client.post("/admin/draft-orders", json=body)
    assert response.status_code == 400
    assert response.json() == {"type": "invalid_data", "message": message}
    assert (await shared_client.get("/admin/draft-orders")).json()["count"] == 0


async def test_missing_region_and_bad_bodies_are_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/draft-orders", json={"items": []})
    assert response.json()["message"] == "region_id is required"
    response = await client.post("/admin/draft-orders", content=b"{")
    assert response.status_code == 400
    assert response.json()["message"].startswith("Request body is not valid JSON")
    response = await client.post("/admin/draft-orders", content=b"7")
    assert response.json()["message"] == "Request body must be a JSON object, got number"
