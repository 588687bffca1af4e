"""The built-in catalogue: regions, products with prices, customers."""

from __future__ import annotations

import httpx
import pytest


async def test_regions(client: httpx.AsyncClient) -> None:
    body = (await client.get("/admin/regions")).json()
    assert (body["count"], body["offset"], body["limit"]) == (2, 0, 50)
    by_name = {r["name"]: r for r in body["regions"]}
    assert by_name["Europe"]["currency_code"] == "eur"
    assert by_name["India"]["currency_code"] == "inr"
    assert {c["iso_2"] for c in by_name["India"]["countries"]} == {"in"}
    assert "de" in {c["iso_2"] for c in by_name["Europe"]["countries"]}
    one = await client.get(f"/admin/regions/{by_name['India']['id']}")
    assert one.json()["region"] == by_name["India"]
    assert (await client.get("/admin/regions/reg_nope")).status_code == 404


async def test_products_with_variants_and_prices(client: httpx.AsyncClient) -> None:
    body = (await client.get("/admin/products")).json()
    assert body["count"] == 8 and len(body["products"]) == 8
    by_handle = {p["handle"]: p for p in body["products"]}
    mug = by_handle["coffee-mug"]
    assert mug["title"] == "Medusa Coffee Mug"
    assert mug["id"].startswith("prod_")
    (variant,) = mug["variants"]
    assert variant["id"].startswith("variant_") and variant["sku"] == "MEDUSA-COFFEE-MUG-ONE"
    prices = {p["currency_code"]: p["amount"] for p in variant["prices"]}
    assert prices == {"eur": 12.5, "inr": 899}
    shirt = by_handle["t-shirt"]
    assert [v["title"] for v in shirt["variants"]] == ["S", "M", "L", "XL"]
    page = (await client.get("/admin/products", params={"limit": 3, "offset": 6})).json()
    assert [p["id"] for p in page["products"]] == [p["id"] for p in body["products"][6:]]
    assert (page["count"], page["limit"], page["offset"]) == (8, 3, 6)
    one = (await client.get(f"/admin/products/{mug['id']}")).json()["product"]
    assert one == mug
    assert (await client.get("/admin/products/prod_nope")).status_code == 404


async def test_customers_with_one_address_each(client: httpx.AsyncClient) -> None:
    body = (await client.get("/admin/customers")).json()
    assert body["count"] == 6
    for customer in body["customers"]:
        assert customer["id"].startswith("cus_")
        assert customer["first_name"] and customer["last_name"] and "@" in customer["email"]
        (address,) = customer["addresses"]
        assert address["city"] and address["country_code"] in {"in", "de", "fr", "it"}
        assert customer["default_shipping_address_id"] == address["id"]
    first = body["customers"][0]
    one = (await client.get(f"/admin/customers/{first['id']}")).json()["customer"]
    assert one == first
    assert (await client.get("/admin/customers/cus_nope")).status_code == 404


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("path", ["/admin/regions", "/admin/products", "/admin/customers"])
async def test_catalogue_lists_reject_bad_paging(
    shared_client: httpx.AsyncClient, path: str
) -> None:
    response = await shared_client.get(path, params={"limit": "ten"})
    assert response.status_code == 400
    assert response.json() == {
        "type": "invalid_data",
        "message": "limit must be a non-negative integer, got 'ten'",
    }
    response = await shared_client.get(path, params={"order": "title"})
    assert response.json()["message"] == "Invalid request: Unrecognized query parameters: 'order'"
