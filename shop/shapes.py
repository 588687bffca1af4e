"""Rows → the JSON shapes of Medusa v2's Admin API (amounts in major units)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import itemgetter

from .answers import NOT_PAID, Order
from .bodies import ADDRESS_FIELDS
from .money import to_major


def _json(text: str | None, default: object) -> object:
    return default if text is None else json.loads(text)


def address_view(text: str | None) -> dict | None:
    """A stored address with every Medusa address field present."""
    stored = _json(text, None)
    if stored is None:
        return None
    view = {"id": stored.get("id")}
    view.update({field: stored.get(field) for field in ADDRESS_FIELDS})
    return view


def item_view(row: dict) -> dict:
    """An order line item."""
    subtotal = row["unit_price"] * row["quantity"]
    return {
        "id": row["id"],
        "title": row["title"],
        "subtitle": row["subtitle"],
        "thumbnail": row["thumbnail"],
        "variant_id": row["variant_id"],
        "product_id": row["product_id"],
        "product_title": row["product_title"],
        "product_handle": row["product_handle"],
        "variant_title": row["variant_title"],
        "variant_sku": row["variant_sku"],
        "is_custom_price": row["variant_id"] is None,
        "quantity": row["quantity"],
        "unit_price": to_major(row["unit_price"]),
        "subtotal": to_major(subtotal),
        "tax_total": 0,
        "discount_total": 0,
        "total": to_major(subtotal),
        "metadata": _json(row["metadata"], {}),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


#: The order fields shown from the order row alone, each with how; the others need its items.
_ROW_FIELDS: dict[str, Callable[[dict], object]] = {
    "id": itemgetter("id"),
    "display_id": itemgetter("display_id"),
    "status": itemgetter("status"),
    "is_draft_order": lambda row: bool(row["is_draft"]),
    "email": itemgetter("email"),
    "currency_code": itemgetter("currency_code"),
    "region_id": itemgetter("region_id"),
    "customer_id": itemgetter("customer_id"),
    "sales_channel_id": lambda row: None,
    "payment_status": lambda row: row["payment_status"] or NOT_PAID,
    "fulfillment_status": lambda row: "not_fulfilled",
    "shipping_address": lambda row: address_view(row["shipping_address"]),
    "billing_address": lambda row: address_view(row["billing_address"]),
    "metadata": lambda row: _json(row["metadata"], {}),
    "canceled_at": itemgetter("canceled_at"),
    "created_at": itemgetter("created_at"),
    "updated_at": itemgetter("updated_at"),
}
#: Every top-level field of an order, as the document shows it.
ORDER_FIELD_NAMES = tuple(Order.model_fields)


def order_view(row: dict, items: list[dict]) -> dict:
    """An order or draft order with items, addresses, totals and summary.

    No taxes or discounts apply in the shop: ``subtotal`` is the items' sum, and
    ``total = subtotal + shipping_total``. Nothing is ever paid, so ``paid_total`` is 0;
    ``payment_status`` is "not_paid", or "canceled" for an order whose payment was declined.
    """
    methods = _json(row["shipping_methods"], [])
    item_sum = sum(item["unit_price"] * item["quantity"] for item in items)
    shipping_sum = sum(method["amount"] for method in methods)
    total = item_sum + shipping_sum
    view = {name: show(row) for name, show in _ROW_FIELDS.items()}
    view.update({
        "items": [item_view(item) for item in items],
        "shipping_methods": [
            {
                "id": m["id"], "name": m["name"], "shipping_option_id": m.get("shipping_option_id"),
                "amount": to_major(m["amount"]), "subtotal": to_major(m["amount"]),
                "total": to_major(m["amount"]),
            }
            for m in methods
        ],
        "item_subtotal": to_major(item_sum),
        "item_total": to_major(item_sum),
        "item_tax_total": 0,
        "subtotal": to_major(item_sum),
        "shipping_subtotal": to_major(shipping_sum),
        "shipping_total": to_major(shipping_sum),
        "shipping_tax_total": 0,
        "discount_total": 0,
        "tax_total": 0,
        "total": to_major(total),
        "summary": {
            "current_order_total": to_major(total),
            "original_order_total": to_major(total),
            "accounting_total": to_major(total),
            "pending_difference": to_major(total),
            "paid_total": 0,
            "refunded_total": 0,
            "transaction_total": 0,
            "credit_line_total": 0,
        },
    })
    return view


def order_needs_items(fields: Sequence[str]) -> bool:
    """Whether showing ``fields`` of an order (all of them when empty) reads its items."""
    return not fields or any(name not in _ROW_FIELDS for name in fields)


def order_fields_view(row: dict, items: list[dict], fields: Sequence[str]) -> dict:
    """Only ``fields`` of an order (all of them when empty); ``items`` may be left unread
    (empty) when :func:`order_needs_items` says the fields do not need them."""
    if not order_needs_items(fields):
        return {name: _ROW_FIELDS[name](row) for name in fields}
    view = order_view(row, items)
    return {name: view[name] for name in fields} if fields else view


def region_view(row: dict) -> dict:
    """A region with its countries."""
    return {
        "id": row["id"],
        "name": row["name"],
        "currency_code": row["currency_code"],
        "automatic_taxes": bool(row["automatic_taxes"]),
        "countries": _json(row["countries"], []),
        "metadata": _json(row["metadata"], {}),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def product_view(row: dict, variants: list[dict], prices: dict[str, list[dict]]) -> dict:
    """A product with its variants and their prices (``prices`` keyed by variant id)."""
    return {
        "id": row["id"],
        "title": row["title"],
        "subtitle": row["subtitle"],
        "handle": row["handle"],
        "description": row["description"],
        "status": row["status"],
        "thumbnail": row["thumbnail"],
        "variants": [
            {
                "id": v["id"],
                "title": v["title"],
                "sku": v["sku"],
                "product_id": v["product_id"],
                "prices": [
                    {"id": p["id"], "amount": to_major(p["amount"]),
                     "currency_code": p["currency_code"]}
                    for p in prices.get(v["id"], [])
                ],
                "created_at": v["created_at"],
                "updated_at": v["updated_at"],
            }
            for v in variants
        ],
        "metadata": _json(row["metadata"], {}),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def customer_view(row: dict) -> dict:
    """A customer with its addresses."""
    addresses = _json(row["addresses"], [])
    default = next((a["id"] for a in addresses if a.get("is_default_shipping")), None)
    return {
        "id": row["id"],
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "phone": row["phone"],
        "company_name": row["company_name"],
        "has_account": bool(row["has_account"]),
        "default_shipping_address_id": default,
        "addresses": addresses,
        "metadata": _json(row["metadata"], {}),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
