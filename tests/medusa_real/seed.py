"""Seed a fresh Medusa 2.12 through its real Admin and Store APIs (no direct SQL).

Admin login (``POST /auth/user/emailpass`` -> bearer token) creates a secret API key; every
other admin call authenticates with that key as HTTP Basic user name, the way the console does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

COUNTRY = "de"
CURRENCY = "eur"
ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address_1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country_code": COUNTRY,
}


class SeedError(AssertionError):
    pass


@dataclass
class Seeded:
    base_url: str
    secret_key: str
    publishable_key: str = ""
    region_id: str = ""
    sales_channel_id: str = ""
    variant_id: str = ""
    shipping_option_id: str = ""
    draft_order_id: str = ""
    #: The order converted from the draft order.
    draft_converted_order_id: str = ""
    #: The order placed through the store cart flow ("" when that flow failed).
    cart_order_id: str = ""
    cart_error: str = ""
    notes: list[str] = field(default_factory=list)


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise SeedError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return response.json()


def secret_key(base_url: str, email: str, password: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        token = _check(
            http.post("/auth/user/emailpass", json={"email": email, "password": password}),
            "POST /auth/user/emailpass",
        )["token"]
        created = _check(
            http.post(
                "/admin/api-keys",
                json={"title": "medcam-console tests", "type": "secret"},
                headers={"Authorization": f"Bearer {token}"},
            ),
            "POST /admin/api-keys (secret)",
        )
        return created["api_key"]["token"]


def seed(base_url: str, email: str, password: str) -> Seeded:
    out = Seeded(base_url=base_url, secret_key=secret_key(base_url, email, password))
    with httpx.Client(base_url=base_url, auth=(out.secret_key, ""), timeout=60) as admin:
        _seed_catalog(admin, out)
        _seed_draft_order(admin, out)
        try:
            _seed_cart_order(admin, out)
        except SeedError as exc:  # reported by the test that needs it
            out.cart_error = str(exc)
    return out


def _seed_catalog(admin: httpx.Client, out: Seeded) -> None:
    store = _check(admin.get("/admin/stores"), "GET /admin/stores")["stores"][0]
    out.sales_channel_id = store["default_sales_channel_id"]
    _check(
        admin.post(
            f"/admin/stores/{store['id']}",
            json={"supported_currencies": [{"currency_code": CURRENCY, "is_default": True}]},
        ),
        "POST /admin/stores/{id} (supported_currencies)",
    )
    out.region_id = _check(
        admin.post(
            "/admin/regions",
            json={
                "name": "Europe",
                "currency_code": CURRENCY,
                "countries": [COUNTRY],
                "payment_providers": ["pp_system_default"],
            },
        ),
        "POST /admin/regions",
    )["region"]["id"]
    profile = _check(admin.get("/admin/shipping-profiles"), "GET /admin/shipping-profiles")[
        "shipping_profiles"
    ][0]["id"]
    product = _check(
        admin.post(
            "/admin/products",
            json={
                "title": "Medcam Test Mug",
                "status": "published",
                "shipping_profile_id": profile,
                "sales_channels": [{"id": out.sales_channel_id}],
                "options": [{"title": "Size", "values": ["One"]}],
                "variants": [
                    {
                        "title": "One",
                        "sku": "MEDCAM-MUG-1",
                        "manage_inventory": False,
                        "options": {"Size": "One"},
                        "prices": [{"currency_code": CURRENCY, "amount": 12.5}],
                    }
                ],
            },
        ),
        "POST /admin/products",
    )["product"]
    out.variant_id = product["variants"][0]["id"]
    # A customer (with an address in the region) for the console's DemoOrderMaker.
    customer = _check(
        admin.post(
            "/admin/customers",
            json={"email": "linus@example.com", "first_name": "Linus", "last_name": "Torvalds"},
        ),
        "POST /admin/customers",
    )["customer"]
    _check(
        admin.post(f"/admin/customers/{customer['id']}/addresses", json=ADDRESS),
        "POST /admin/customers/{id}/addresses",
    )

    # Shipping: stock location -> fulfillment set -> service zone -> shipping option.
    location = _check(
        admin.post("/admin/stock-locations", json={"name": "Mumbai warehouse"}),
        "POST /admin/stock-locations",
    )["stock_location"]["id"]
    _check(
        admin.post(f"/admin/stock-locations/{location}/sales-channels", json={"add": [out.sales_channel_id]}),
        "POST /admin/stock-locations/{id}/sales-channels",
    )
    _check(
        admin.post(f"/admin/stock-locations/{location}/fulfillment-providers", json={"add": ["manual_manual"]}),
        "POST /admin/stock-locations/{id}/fulfillment-providers",
    )
    located = _check(
        admin.post(
            f"/admin/stock-locations/{location}/fulfillment-sets",
            json={"name": "Mumbai shipping", "type": "shipping"},
            params={"fields": "*fulfillment_sets"},
        ),
        "POST /admin/stock-locations/{id}/fulfillment-sets",
    )["stock_location"]
    fulfillment_set = located["fulfillment_sets"][0]["id"]
    zone = _check(
        admin.post(
            f"/admin/fulfillment-sets/{fulfillment_set}/service-zones",
            json={"name": "Germany", "geo_zones": [{"type": "country", "country_code": COUNTRY}]},
        ),
        "POST /admin/fulfillment-sets/{id}/service-zones",
    )["fulfillment_set"]["service_zones"][0]["id"]
    out.shipping_option_id = _check(
        admin.post(
            "/admin/shipping-options",
            json={
                "name": "Standard",
                "price_type": "flat",
                "service_zone_id": zone,
                "shipping_profile_id": profile,
                "provider_id": "manual_manual",
                "type": {"label": "Standard", "description": "3-5 days", "code": "standard"},
                "prices": [{"currency_code": CURRENCY, "amount": 4.5}],
                "rules": [
                    {"attribute": "enabled_in_store", "value": "true", "operator": "eq"},
                    {"attribute": "is_return", "value": "false", "operator": "eq"},
                ],
            },
        ),
        "POST /admin/shipping-options",
    )["shipping_option"]["id"]


def _seed_draft_order(admin: httpx.Client, out: Seeded) -> None:
    draft = _check(
        admin.post(
            "/admin/draft-orders",
            json={
                "email": "ada@example.com",
                "region_id": out.region_id,
                "sales_channel_id": out.sales_channel_id,
                "items": [{"variant_id": out.variant_id, "quantity": 2}],
                "shipping_address": ADDRESS,
                "billing_address": ADDRESS,
                "metadata": {"source": "medcam-tests"},
            },
        ),
        "POST /admin/draft-orders",
    )["draft_order"]
    out.draft_order_id = draft["id"]
    order = _check(
        admin.post(f"/admin/draft-orders/{draft['id']}/convert-to-order"),
        "POST /admin/draft-orders/{id}/convert-to-order",
    )["order"]
    out.draft_converted_order_id = order["id"]


def _seed_cart_order(admin: httpx.Client, out: Seeded) -> None:
    key = _check(
        admin.post("/admin/api-keys", json={"title": "medcam storefront", "type": "publishable"}),
        "POST /admin/api-keys (publishable)",
    )["api_key"]
    _check(
        admin.post(f"/admin/api-keys/{key['id']}/sales-channels", json={"add": [out.sales_channel_id]}),
        "POST /admin/api-keys/{id}/sales-channels",
    )
    out.publishable_key = key["token"]
    headers = {"x-publishable-api-key": out.publishable_key}
    with httpx.Client(base_url=out.base_url, headers=headers, timeout=60) as store:
        for _attempt in range(2):
            done = _one_cart_order(store, out)
            if done is not None:
                out.cart_order_id = done["order"]["id"]
                return
        raise SeedError("POST /store/carts/{id}/complete: HTTP 409 twice: " + " | ".join(out.notes))


def _one_cart_order(store: httpx.Client, out: Seeded) -> dict[str, Any] | None:
    """Cart -> shipping method -> payment session -> complete; None on a 409 at completion.

    Seen on 2.12.3 with the in-memory locking provider: a completion answered 409 ("The request
    conflicted with another request") and the cart's lock stayed held (a retry of the same cart
    failed after 30 s with "Failed to acquire lock"), so a 409 gets a fresh cart instead.
    """
    cart = _check(
        store.post(
            "/store/carts",
            json={
                "region_id": out.region_id,
                "email": "grace@example.com",
                "shipping_address": {**ADDRESS, "first_name": "Grace", "last_name": "Hopper"},
                "items": [{"variant_id": out.variant_id, "quantity": 1}],
            },
        ),
        "POST /store/carts",
    )["cart"]
    _check(
        store.post(f"/store/carts/{cart['id']}/shipping-methods", json={"option_id": out.shipping_option_id}),
        "POST /store/carts/{id}/shipping-methods",
    )
    collection = _check(
        store.post("/store/payment-collections", json={"cart_id": cart["id"]}),
        "POST /store/payment-collections",
    )["payment_collection"]
    _check(
        store.post(
            f"/store/payment-collections/{collection['id']}/payment-sessions",
            json={"provider_id": "pp_system_default"},
        ),
        "POST /store/payment-collections/{id}/payment-sessions",
    )
    response = store.post(f"/store/carts/{cart['id']}/complete")
    if response.status_code == 409:
        out.notes.append(f"complete {cart['id']}: HTTP 409 {response.text[:160]}")
        return None
    done = _check(response, "POST /store/carts/{id}/complete")
    if done.get("type") != "order":
        raise SeedError(f"POST /store/carts/{{id}}/complete: {str(done)[:500]}")
    return done
