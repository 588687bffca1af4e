"""The built-in demo catalogue: regions, products with prices, customers; seeded idempotently."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlite_utils import Database

from .clock import format_iso
from .ids import stable_id

CATALOGUE_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
_MS = int(CATALOGUE_EPOCH.timestamp() * 1000)
_AT = format_iso(CATALOGUE_EPOCH)

# (iso_2, iso_3, display name)
REGIONS: list[dict] = [
    {
        "key": "europe", "name": "Europe", "currency_code": "eur",
        "countries": [
            ("de", "deu", "Germany"), ("dk", "dnk", "Denmark"), ("es", "esp", "Spain"),
            ("fr", "fra", "France"), ("it", "ita", "Italy"), ("nl", "nld", "Netherlands"),
            ("se", "swe", "Sweden"),
        ],
    },
    {"key": "india", "name": "India", "currency_code": "inr", "countries": [("in", "ind", "India")]},
]

# handle, title, description, [(variant title, sku suffix)], eur price, inr price (major units)
_SIZES = [("S", "S"), ("M", "M"), ("L", "L")]
PRODUCTS: list[tuple[str, str, str, list[tuple[str, str]], float, int]] = [
    ("t-shirt", "Medusa T-Shirt", "Soft cotton tee with the Medusa logo.",
     [*_SIZES, ("XL", "XL")], 19.5, 1499),
    ("sweatshirt", "Medusa Sweatshirt", "Warm crew-neck sweatshirt.", _SIZES, 39, 2999),
    ("sweatpants", "Medusa Sweatpants", "Relaxed-fit sweatpants.", _SIZES, 34.5, 2599),
    ("shorts", "Medusa Shorts", "Everyday shorts.", _SIZES, 24, 1799),
    ("hoodie", "Medusa Hoodie", "Zip hoodie with a kangaroo pocket.", [("M", "M"), ("L", "L")],
     49.5, 3499),
    ("coffee-mug", "Medusa Coffee Mug", "Ceramic mug, 350 ml.", [("One Size", "ONE")], 12.5, 899),
    ("tote-bag", "Medusa Tote Bag", "Heavy canvas tote.", [("One Size", "ONE")], 15, 999),
    ("sticker-pack", "Medusa Sticker Pack", "Ten vinyl stickers.", [("One Size", "ONE")],
     4.5, 299),
]

# first, last, email, phone, address_1, city, province, postal code, country
CUSTOMERS: list[tuple[str, str, str, str, str, str, str, str, str]] = [
    ("Priya", "Sharma", "priya.sharma@example.com", "+91 22 5550 1001",
     "14 Marine Drive", "Mumbai", "Maharashtra", "400020", "in"),
    ("Arjun", "Mehta", "arjun.mehta@example.com", "+91 80 5550 1002",
     "221 MG Road", "Bengaluru", "Karnataka", "560001", "in"),
    ("Ananya", "Iyer", "ananya.iyer@example.com", "+91 44 5550 1003",
     "7 Anna Salai", "Chennai", "Tamil Nadu", "600002", "in"),
    ("Lena", "Fischer", "lena.fischer@example.com", "+49 30 5550 1004",
     "Torstraße 110", "Berlin", "Berlin", "10119", "de"),
    ("Lucas", "Martin", "lucas.martin@example.com", "+33 1 5550 1005",
     "18 Rue de Rivoli", "Paris", "Île-de-France", "75004", "fr"),
    ("Sofia", "Rossi", "sofia.rossi@example.com", "+39 02 5550 1006",
     "Via Torino 42", "Milano", "Lombardia", "20123", "it"),
]


def region_id(key: str) -> str:
    """The stable id of a built-in region (``europe`` or ``india``)."""
    return stable_id("reg", key, _MS)


def _region_rows() -> list[dict]:
    return [
        {
            "id": region_id(r["key"]), "name": r["name"], "currency_code": r["currency_code"],
            "automatic_taxes": 1,
            "countries": json.dumps([
                {"iso_2": iso2, "iso_3": iso3, "name": name.upper(), "display_name": name}
                for iso2, iso3, name in r["countries"]
            ]),
            "metadata": "{}", "created_at": _AT, "updated_at": _AT,
        }
        for r in REGIONS
    ]


def _product_rows() -> tuple[list[dict], list[dict], list[dict]]:
    products, variants, prices = [], [], []
    for rank, (handle, title, description, sizes, eur, inr) in enumerate(PRODUCTS):
        product_id = stable_id("prod", handle, _MS)
        products.append({
            "id": product_id, "rank": rank, "title": title, "subtitle": None, "handle": handle,
            "description": description, "status": "published", "thumbnail": None,
            "metadata": "{}", "created_at": _AT, "updated_at": _AT,
        })
        for vrank, (size, suffix) in enumerate(sizes):
            sku = f"MEDUSA-{handle.upper()}-{suffix}"
            variant_id = stable_id("variant", sku, _MS)
            variants.append({
                "id": variant_id, "product_id": product_id, "rank": vrank, "title": size,
                "sku": sku, "created_at": _AT, "updated_at": _AT,
            })
            for currency, amount in (("eur", eur), ("inr", inr)):
                prices.append({
                    "id": stable_id("price", f"{sku}:{currency}", _MS), "variant_id": variant_id,
                    "currency_code": currency, "amount": round(amount * 100),
                })
    return products, variants, prices


def _customer_rows() -> list[dict]:
    rows = []
    for rank, (first, last, email, phone, street, city, province, postal, country) in enumerate(
        CUSTOMERS
    ):
        address = {
            "id": stable_id("cuaddr", email, _MS), "address_name": "Home",
            "is_default_shipping": True, "is_default_billing": True,
            "first_name": first, "last_name": last, "company": None,
            "address_1": street, "address_2": None, "city": city, "province": province,
            "postal_code": postal, "country_code": country, "phone": phone,
        }
        rows.append({
            "id": stable_id("cus", email, _MS), "rank": rank, "email": email,
            "first_name": first, "last_name": last, "phone": phone, "company_name": None,
            "has_account": 1, "addresses": json.dumps([address], ensure_ascii=False),
            "metadata": "{}", "created_at": _AT, "updated_at": _AT,
        })
    return rows


def seed_catalogue(db: Database) -> None:
    """Insert the built-in rows that are missing (stable ids make this idempotent)."""
    products, variants, prices = _product_rows()
    with db.atomic():
        db.table("regions").insert_all(_region_rows(), pk="id", ignore=True)
        db.table("products").insert_all(products, pk="id", ignore=True)
        db.table("variants").insert_all(variants, pk="id", ignore=True)
        db.table("prices").insert_all(prices, pk="id", ignore=True)
        db.table("customers").insert_all(_customer_rows(), pk="id", ignore=True)
