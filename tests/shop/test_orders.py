"""Admin API orders: retrieve, metadata merge, listing, filters and strict query parsing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from shop.app import create_app
from shop.shapes import ORDER_FIELD_NAMES
from tests.shop.conftest import Catalogue, create_order, load_catalogue

OLD = "2020-01-01T00:00:00.000Z"
#: Every order field, as a 400 for an unknown one lists them.
ALL = ", ".join(ORDER_FIELD_NAMES)


async def test_order_has_medusa_shape(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    order = await create_order(client, catalogue, currency="eur", customer=3)
    response = await client.get(f"/admin/orders/{order['id']}")
    assert response.status_code == 200
    got = response.json()["order"]
    assert got["id"].startswith("order_") and len(got["id"]) == len("order_") + 26
    assert isinstance(got["display_id"], int)
    assert got["status"] == "pending"
    assert got["currency_code"] == "eur"
    assert got["email"] == "lena.fischer@example.com"
    assert got["customer_id"] == catalogue.customers[3]["id"]
    assert got["region_id"] == catalogue.regions["eur"]["id"]
    mug, shirt = got["items"]
    assert (mug["title"], mug["quantity"], mug["unit_price"], mug["subtotal"]) == (
        "Medusa Coffee Mug", 2, 12.5, 25
    )
    assert (shirt["subtitle"], shirt["unit_price"], shirt["total"]) == ("M", 19.5, 19.5)
    assert mug["variant_id"] == catalogue.variant("coffee-mug")["id"]
    assert mug["product_id"] == catalogue.products["coffee-mug"]["id"]
    assert (got["subtotal"], got["shipping_total"], got["tax_total"], got["total"]) == (
        44.5, 0, 0, 44.5
    )
    assert got["summary"]["current_order_total"] == 44.5
    assert got["summary"]["paid_total"] == 0
    assert got["shipping_address"]["city"] == "Berlin"
    assert got["shipping_address"]["country_code"] == "de"
    assert got["metadata"] == {}
    assert got["created_at"].endswith("Z") and got["updated_at"] >= got["created_at"]


async def test_unknown_order_is_404_in_medusa_shape(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/admin/orders/order_missing"),
        await client.post("/admin/orders/order_missing", json={"metadata": {"a": 1}}),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "type": "not_found",
            "message": "Order with id: order_missing was not found",
        }


async def test_metadata_merge_keeps_keys_and_empty_string_deletes(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue, metadata={"a": 1, "b": "two"})
    url = f"/admin/orders/{order['id']}"
    response = await client.post(url, json={"metadata": {"c": {"nested": True}, "a": 10}})
    assert response.status_code == 200
    assert response.json()["order"]["metadata"] == {"a": 10, "b": "two", "c": {"nested": True}}
    response = await client.post(url, json={"metadata": {"b": "", "missing": ""}})
    assert response.json()["order"]["metadata"] == {"a": 10, "c": {"nested": True}}
    assert (await client.get(url)).json()["order"]["metadata"] == {"a": 10, "c": {"nested": True}}


async def test_metadata_change_bumps_updated_at_and_no_op_does_not(
    client: httpx.AsyncClient, catalogue: Catalogue, db: sqlite3.Connection
) -> None:
    order = await create_order(client, catalogue, metadata={"a": 1})
    db.execute("UPDATE orders SET updated_at = ? WHERE id = ?", (OLD, order["id"]))
    url = f"/admin/orders/{order['id']}"
    same = (await client.post(url, json={"metadata": {"a": 1}})).json()["order"]
    assert same["updated_at"] == OLD
    changed = (await client.post(url, json={"metadata": {"a": 2}})).json()["order"]
    assert changed["updated_at"] > OLD
    assert changed["created_at"] == order["created_at"]


async def test_email_and_shipping_address_can_be_updated(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    order = await create_order(client, catalogue)
    response = await client.post(
        f"/admin/orders/{order['id']}",
        json={"email": "new@example.org", "shipping_address": {"city": "Pune", "phone": None}},
    )
    assert response.status_code == 200
    got = response.json()["order"]
    assert got["email"] == "new@example.org"
    assert got["shipping_address"]["city"] == "Pune"
    assert got["shipping_address"]["phone"] is None
    assert got["shipping_address"]["address_1"] == order["shipping_address"]["address_1"]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "Request body is not valid JSON: Expecting value at line 1 column 1"),
        (b"[]", "Request body must be a JSON object, got array"),
        (b"", 'Request body is empty: expected a JSON object such as {"metadata": {}}'),
        (b'{"metadata": []}', "metadata must be an object, got array"),
        (b'{"metadata": "x"}', "metadata must be an object, got string"),
        (b'{"status": "completed"}', "Unrecognized fields in request body: 'status'"),
        (b'{"email": "nope"}', "email must be an email address, got 'nope'"),
        (b'{"shipping_address": {"town": "x"}}',
         "Unrecognized fields in shipping_address: 'town'"),
        (b'{"shipping_address": {"city": 5}}', "shipping_address.city must be a string, got number"),
        (b'{"shipping_address": {"country_code": "deu"}}',
         "shipping_address.country_code must be a two-letter ISO code, got 'deu'"),
    ],
)
async def test_malformed_update_is_400(
    shared_client: httpx.AsyncClient, shared_catalogue: Catalogue, content: bytes, message: str
) -> None:
    order = await create_order(shared_client, shared_catalogue, metadata={"a": 1})
    response = await shared_client.post(f"/admin/orders/{order['id']}", content=content)
    assert response.status_code == 400
    assert response.json() == {"type": "invalid_data", "message": message}
    stored = (await shared_client.get(f"/admin/orders/{order['id']}")).json()["order"]
    assert stored["metadata"] == {"a": 1}


async def _orders(client: httpx.AsyncClient, **params: object) -> dict:
    response = await client.get("/admin/orders", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_list_pages_newest_first_by_default(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    created = [await create_order(client, catalogue, customer=i % 6) for i in range(7)]
    displays = [o["display_id"] for o in created]
    assert displays == sorted(displays)
    first = await _orders(client, limit=3)
    assert (first["count"], first["offset"], first["limit"]) == (7, 0, 3)
    assert [o["display_id"] for o in first["orders"]] == displays[::-1][:3]
    rest = await _orders(client, limit=3, offset=3)
    assert [o["display_id"] for o in rest["orders"]] == displays[::-1][3:6]
    oldest = await _orders(client, order="created_at", limit=2)
    assert [o["display_id"] for o in oldest["orders"]] == displays[:2]
    full = await _orders(client)
    assert full["limit"] == 50 and len(full["orders"]) == 7
    assert all(o["items"] and o["summary"] for o in full["orders"])
    beyond = await _orders(client, offset=100)
    assert beyond["orders"] == [] and beyond["count"] == 7


async def test_list_sorts_and_filters_on_updated_at(
    client: httpx.AsyncClient, catalogue: Catalogue, db: sqlite3.Connection
) -> None:
    orders = [await create_order(client, catalogue) for _ in range(4)]
    for day, order in zip((3, 1, 4, 2), orders, strict=True):
        db.execute(
            "UPDATE orders SET updated_at = ? WHERE id = ?",
            (f"2026-01-0{day}T00:00:00.000Z", order["id"]),
        )
    ids = [o["id"] for o in orders]
    by_day = {3: ids[0], 1: ids[1], 4: ids[2], 2: ids[3]}

    ascending = await _orders(client, order="updated_at")
    assert [o["id"] for o in ascending["orders"]] == [by_day[d] for d in (1, 2, 3, 4)]
    descending = await _orders(client, order="-updated_at")
    assert [o["id"] for o in descending["orders"]] == [by_day[d] for d in (4, 3, 2, 1)]

    gt = await _orders(client, **{"updated_at[$gt]": "2026-01-02T00:00:00.000Z"})
    assert {o["id"] for o in gt["orders"]} == {by_day[3], by_day[4]} and gt["count"] == 2
    gte = await _orders(client, **{"updated_at[$gte]": "2026-01-02T00:00:00Z"})
    assert {o["id"] for o in gte["orders"]} == {by_day[2], by_day[3], by_day[4]}
    window = await _orders(
        client, **{"updated_at[$gt]": "2026-01-01T00:00:00Z", "updated_at[$lte]": "2026-01-03"}
    )
    assert {o["id"] for o in window["orders"]} == {by_day[2], by_day[3]}
    india = "2026-01-02T05:30:00+05:30"  # the same instant as day 2, 00:00 UTC
    lt = await _orders(client, **{"updated_at[$lt]": india})
    assert {o["id"] for o in lt["orders"]} == {by_day[1]}
    lte = await _orders(client, **{"updated_at[$lte]": india})
    assert {o["id"] for o in lte["orders"]} == {by_day[1], by_day[2]}

    # A metadata merge moves the order past every earlier cursor.
    merged = (
        await client.post(f"/admin/orders/{by_day[1]}", json={"metadata": {"seen": True}})
    ).json()["order"]
    after = await _orders(client, **{"updated_at[$gt]": "2026-01-04T00:00:00.000Z"})
    assert [o["id"] for o in after["orders"]] == [by_day[1]]
    assert after["orders"][0]["updated_at"] == merged["updated_at"]
    created = await _orders(client, **{"created_at[$gte]": orders[0]["created_at"]})
    assert created["count"] == 4


async def test_list_filters_on_status_and_hides_drafts(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    pending = await create_order(client, catalogue)
    done = await create_order(client, catalogue)
    draft = await create_order(client, catalogue, convert=False)
    await client.post("/demo", json={"orderId": done["id"], "status": "completed", "message": ""})
    everything = await _orders(client)
    assert {o["id"] for o in everything["orders"]} == {pending["id"], done["id"]}
    assert draft["id"] not in {o["id"] for o in everything["orders"]}
    completed = await _orders(client, status="completed")
    assert [o["id"] for o in completed["orders"]] == [done["id"]]
    both = await client.get("/admin/orders?status[]=pending&status[]=completed&fields=id")
    assert both.json()["count"] == 2
    by_id = await _orders(client, id=pending["id"])
    assert [o["id"] for o in by_id["orders"]] == [pending["id"]]
    response = await client.get(f"/admin/orders/{draft['id']}")
    assert response.status_code == 404


async def test_plain_fields_return_only_those_fields_and_id(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await create_order(client, catalogue, metadata={"a": 1})
    (full,) = (await _orders(client))["orders"]
    (lean,) = (await _orders(client, fields="status,created_at,updated_at"))["orders"]
    assert list(lean) == ["id", "status", "created_at", "updated_at"], "id always, first"
    assert lean == {name: full[name] for name in lean}
    (same,) = (await _orders(client, fields="id,status,created_at,updated_at"))["orders"]
    assert same == lean
    (totals,) = (await _orders(client, fields="total,items,summary"))["orders"]
    assert totals == {name: full[name] for name in ("id", "total", "items", "summary")}
    assert totals["total"] == 44.5 and len(totals["items"]) == 2
    # A nested name selects its top-level field whole; with one plain name a prefixed entry
    # loses its prefix (Medusa replaces the default fields then).
    (nested,) = (await _orders(client, fields="shipping_address.city,+metadata"))["orders"]
    assert nested == {name: full[name] for name in ("id", "shipping_address", "metadata")}


@pytest.mark.parametrize(
    "fields",
    ["+metadata", "+metadata,+summary,*items", "*items", "items.*", "-items", "",
     "*items,+metadata,+summary,+email,+currency_code,+shipping_address.first_name"],
)
async def test_prefixed_fields_keep_the_whole_order(
    client: httpx.AsyncClient, catalogue: Catalogue, fields: str
) -> None:
    await create_order(client, catalogue)
    assert (await _orders(client, fields=fields))["orders"] == (await _orders(client))["orders"]


async def test_a_lean_listing_never_reads_the_items(asgi_server, tmp_path: Path) -> None:
    app = create_app(tmp_path / "shop.sqlite3")
    statements: list[str] = []
    async with asgi_server(app) as url, httpx.AsyncClient(base_url=url) as client:
        catalogue = await load_catalogue(client)
        for _ in range(3):
            await create_order(client, catalogue)
        app.state.repository.db.conn.set_trace_callback(statements.append)
        lean = await _orders(client, fields="id,status,created_at,updated_at")
        lean_reads = list(statements)
        full = await _orders(client)
        app.state.repository.db.conn.set_trace_callback(None)
    app.state.repository.close()
    assert lean["count"] == 3 and full["count"] == 3
    assert not any("order_items" in sql for sql in lean_reads), lean_reads
    assert any("order_items" in sql for sql in statements[len(lean_reads):]), "the full one does"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("id,colour", f"Invalid fields: 'colour' is not an order field (an order has {ALL})"),
        ("status,nope.x,*zip", f"Invalid fields: 'nope', 'zip' are not order fields (an order has {ALL})"),
        ("id,.", "fields must name order fields; '.' names none"),
        ("id,*", "fields must name order fields; '*' names none"),
    ],
)
async def test_unknown_fields_are_400(
    shared_client: httpx.AsyncClient, fields: str, message: str
) -> None:
    response = await shared_client.get("/admin/orders", params={"fields": fields})
    assert response.status_code == 400
    assert response.json() == {"type": "invalid_data", "message": message}


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=-1", "limit must be a non-negative integer, got '-1'"),
        ("limit=abc", "limit must be a non-negative integer, got 'abc'"),
        ("limit=1.5", "limit must be a non-negative integer, got '1.5'"),
        ("limit=1001", "limit must be at most 1000, got 1001"),
        ("offset=-5", "offset must be a non-negative integer, got '-5'"),
        ("offset=", "offset must be a non-negative integer, got ''"),
        ("limit=1&limit=2", "Query parameter 'limit' was given more than once"),
        ("order=total", "order must be one of created_at, -created_at, updated_at, -updated_at, "
         "display_id, -display_id; got 'total'"),
        ("status=shipped", "status must be one of pending, completed, draft, archived, canceled, "
         "requires_action; got 'shipped'"),
        ("updated_at[$gt]=yesterday", "updated_at[$gt] must be an ISO-8601 timestamp such as "
         "2026-01-05T05:15:02.500Z; got 'yesterday'"),
        ("updated_at[$ne]=2026-01-01", "Invalid request: Unrecognized query parameters: "
         "'updated_at[$ne]'"),
        ("expand=items&q=x", "Invalid request: Unrecognized query parameters: 'expand', 'q'"),
    ],
)
async def test_malformed_list_queries_are_400(
    shared_client: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await shared_client.get(f"/admin/orders?{query}")
    assert response.status_code == 400
    assert response.json() == {"type": "invalid_data", "message": message}


async def test_limit_zero_counts_only(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    await create_order(client, catalogue)
    body = await _orders(client, limit=0)
    assert body == {"orders": [], "count": 1, "offset": 0, "limit": 0}


async def test_unknown_routes_and_methods_answer_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/nothing")
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"
    response = await client.delete("/admin/orders/order_1")
    assert response.status_code == 405
    assert response.json()["type"] == "not_allowed"


async def test_internal_error_is_500_in_medusa_shape(
    client: httpx.AsyncClient, catalogue: Catalogue, db: sqlite3.Connection
) -> None:
    await create_order(client, catalogue)
    db.execute("DROP TABLE order_items")
    response = await client.get("/admin/orders")
    assert response.status_code == 500
    assert response.json() == {"type": "unknown_error", "message": "An unknown error occurred."}
