"""Validation of Admin API request bodies: draft orders, order updates and addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidData
from .jsonbody import type_name
from .money import to_minor

ADDRESS_FIELDS = (
    "first_name", "last_name", "company", "address_1", "address_2", "city", "province",
    "postal_code", "country_code", "phone",
)
MAX_TEXT = 500
MAX_QUANTITY = 100_000
MAX_ITEMS = 500
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class DraftItem:
    """One requested line: a catalogue variant or a custom item (title and unit price)."""

    quantity: int
    variant_id: str | None = None
    title: str | None = None
    unit_price: int | None = None  # minor units
    metadata: dict | None = None


@dataclass(frozen=True)
class ShippingMethod:
    """A shipping line with a flat amount in minor units."""

    name: str
    amount: int
    shipping_option_id: str | None = None


@dataclass(frozen=True)
class DraftOrderInput:
    """A validated ``POST /admin/draft-orders`` body."""

    region_id: str
    email: str | None
    customer_id: str | None
    items: tuple[DraftItem, ...]
    shipping_address: dict | None
    billing_address: dict | None
    shipping_methods: tuple[ShippingMethod, ...]
    metadata: dict


@dataclass(frozen=True)
class OrderUpdate:
    """A validated ``POST /admin/orders/{id}`` body; ``None`` means "not given"."""

    email: str | None = None
    shipping_address: dict | None = None
    billing_address: dict | None = None
    metadata: dict | None = None


def _check_keys(obj: dict, allowed: tuple[str, ...] | set[str], where: str) -> None:
    unknown = [key for key in obj if key not in allowed]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise InvalidData(f"Unrecognized fields in {where}: {names}")


def _string(value: object, field: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidData(f"{field} must be a string, got {type_name(value)}")
    if required and not value.strip():
        raise InvalidData(f"{field} must not be empty")
    if len(value) > MAX_TEXT:
        raise InvalidData(f"{field} is too long (at most {MAX_TEXT} characters)")
    return value


def _email(value: object, field: str = "email") -> str:
    text = _string(value, field)
    assert text is not None
    text = text.strip()
    if not _EMAIL.match(text):
        raise InvalidData(f"{field} must be an email address, got {text!r}")
    return text


def _object(value: object, field: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidData(f"{field} must be an object, got {type_name(value)}")
    return value


def parse_address(value: object, field: str) -> dict:
    """An address object with only Medusa's address fields, each a string or null."""
    obj = _object(value, field)
    _check_keys(obj, ADDRESS_FIELDS, field)
    address: dict = {}
    for key, raw in obj.items():
        text = _string(raw, f"{field}.{key}", required=False)
        if key == "country_code" and text is not None:
            text = text.strip().lower()
            if not re.fullmatch(r"[a-z]{2}", text):
                raise InvalidData(f"{field}.country_code must be a two-letter ISO code, got {raw!r}")
        address[key] = text
    return address


def _positive_int(value: object, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidData(f"{field} must be a positive integer, got {type_name(value)}")
    if not 1 <= value <= maximum:
        raise InvalidData(f"{field} must be between 1 and {maximum}, got {value}")
    return value


def _amount(value: object, field: str) -> int:
    try:
        return to_minor(value)
    except ValueError as exc:
        raise InvalidData(f"{field} {exc}, got {value!r}") from None


def _item(value: object, index: int) -> DraftItem:
    field = f"items[{index}]"
    obj = _object(value, field)
    _check_keys(obj, ("variant_id", "title", "unit_price", "quantity", "metadata"), field)
    if "quantity" not in obj:
        raise InvalidData(f"{field}.quantity is required")
    quantity = _positive_int(obj["quantity"], f"{field}.quantity", MAX_QUANTITY)
    variant_id = _string(obj.get("variant_id"), f"{field}.variant_id", required=False)
    title = _string(obj.get("title"), f"{field}.title", required=False)
    if title is not None and not title.strip():
        raise InvalidData(f"{field}.title must not be empty")
    unit_price = None
    if obj.get("unit_price") is not None:
        unit_price = _amount(obj["unit_price"], f"{field}.unit_price")
    metadata = _object(obj["metadata"], f"{field}.metadata") if "metadata" in obj else None
    if variant_id is None and (title is None or unit_price is None):
        raise InvalidData(
            f"{field} needs either variant_id, or title and unit_price for a custom item"
        )
    return DraftItem(quantity, variant_id, title, unit_price, metadata)


def _shipping_method(value: object, index: int) -> ShippingMethod:
    field = f"shipping_methods[{index}]"
    obj = _object(value, field)
    _check_keys(obj, ("name", "amount", "shipping_option_id"), field)
    name = _string(obj.get("name"), f"{field}.name")
    if "amount" not in obj:
        raise InvalidData(f"{field}.amount is required")
    amount = _amount(obj["amount"], f"{field}.amount")
    option = _string(obj.get("shipping_option_id"), f"{field}.shipping_option_id", required=False)
    assert name is not None
    return ShippingMethod(name, amount, option)


def _list(value: object, field: str, maximum: int) -> list:
    if not isinstance(value, list):
        raise InvalidData(f"{field} must be an array, got {type_name(value)}")
    if len(value) > maximum:
        raise InvalidData(f"{field} has too many entries (at most {maximum})")
    return value


_DRAFT_FIELDS = (
    "region_id", "email", "customer_id", "items", "shipping_address", "billing_address",
    "shipping_methods", "metadata", "sales_channel_id", "no_notification_order",
)


def parse_draft_order(body: dict) -> DraftOrderInput:
    """Validate a draft-order body (``sales_channel_id``/``no_notification_order`` are ignored)."""
    _check_keys(body, _DRAFT_FIELDS, "request body")
    if "region_id" not in body:
        raise InvalidData("region_id is required")
    region_id = _string(body["region_id"], "region_id")
    email = _email(body["email"]) if body.get("email") is not None else None
    customer_id = _string(body.get("customer_id"), "customer_id", required=False)
    if email is None and customer_id is None:
        raise InvalidData("email or customer_id is required")
    if "items" not in body:
        raise InvalidData("items is required")
    raw_items = _list(body["items"], "items", MAX_ITEMS)
    if not raw_items:
        raise InvalidData("items must contain at least one item")
    items = tuple(_item(value, i) for i, value in enumerate(raw_items))
    shipping = body.get("shipping_address")
    billing = body.get("billing_address")
    methods = _list(body.get("shipping_methods", []), "shipping_methods", 10)
    assert region_id is not None
    return DraftOrderInput(
        region_id=region_id,
        email=email,
        customer_id=customer_id,
        items=items,
        shipping_address=None if shipping is None else parse_address(shipping, "shipping_address"),
        billing_address=None if billing is None else parse_address(billing, "billing_address"),
        shipping_methods=tuple(_shipping_method(v, i) for i, v in enumerate(methods)),
        metadata=_object(body.get("metadata", {}), "metadata"),
    )


def parse_order_update(body: dict) -> OrderUpdate:
    """Validate an order update: ``email``, ``shipping_address``, ``billing_address``, ``metadata``."""
    _check_keys(body, ("email", "shipping_address", "billing_address", "metadata"), "request body")
    return OrderUpdate(
        email=_email(body["email"]) if "email" in body else None,
        shipping_address=(
            parse_address(body["shipping_address"], "shipping_address")
            if "shipping_address" in body else None
        ),
        billing_address=(
            parse_address(body["billing_address"], "billing_address")
            if "billing_address" in body else None
        ),
        metadata=_object(body["metadata"], "metadata") if "metadata" in body else None,
    )
