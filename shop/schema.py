"""The shop's SQLite schema, created through sqlite-utils, and how the database is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

SCHEMA_VERSION = 3

_TABLES: dict[str, dict] = {
    "shop_info": {
        "columns": {"key": str, "value": str},
        "pk": "key",
    },
    "regions": {
        "columns": {
            "id": str, "name": str, "currency_code": str, "automatic_taxes": int,
            "countries": str, "metadata": str, "created_at": str, "updated_at": str,
        },
        "pk": "id",
        "not_null": {"name", "currency_code", "countries", "created_at", "updated_at"},
    },
    "products": {
        "columns": {
            "id": str, "rank": int, "title": str, "subtitle": str, "handle": str,
            "description": str, "status": str, "thumbnail": str, "metadata": str,
            "created_at": str, "updated_at": str,
        },
        "pk": "id",
        "not_null": {"rank", "title", "handle", "status", "created_at", "updated_at"},
    },
    "variants": {
        "columns": {
            "id": str, "product_id": str, "rank": int, "title": str, "sku": str,
            "created_at": str, "updated_at": str,
        },
        "pk": "id",
        "not_null": {"product_id", "rank", "title", "created_at", "updated_at"},
        "foreign_keys": [("product_id", "products", "id")],
    },
    "prices": {
        "columns": {"id": str, "variant_id": str, "currency_code": str, "amount": int},
        "pk": "id",
        "not_null": {"variant_id", "currency_code", "amount"},
        "foreign_keys": [("variant_id", "variants", "id")],
    },
    "customers": {
        "columns": {
            "id": str, "rank": int, "email": str, "first_name": str, "last_name": str,
            "phone": str, "company_name": str, "has_account": int, "addresses": str,
            "metadata": str, "created_at": str, "updated_at": str,
        },
        "pk": "id",
        "not_null": {"rank", "email", "addresses", "created_at", "updated_at"},
    },
    "orders": {
        "columns": {
            "id": str, "display_id": int, "status": str, "is_draft": int, "email": str,
            "currency_code": str, "region_id": str, "customer_id": str,
            "shipping_address": str, "billing_address": str, "shipping_methods": str,
            "metadata": str, "canceled_at": str, "created_at": str, "updated_at": str,
            # Medusa 2's payment_status; added in schema 3 (older rows: NULL = "not_paid").
            "payment_status": str,
        },
        "pk": "id",
        "not_null": {
            "display_id", "status", "is_draft", "currency_code", "shipping_methods",
            "metadata", "created_at", "updated_at",
        },
    },
    "order_items": {
        "columns": {
            "id": str, "order_id": str, "rank": int, "title": str, "subtitle": str,
            "thumbnail": str, "variant_id": str, "product_id": str, "product_title": str,
            "product_handle": str, "variant_title": str, "variant_sku": str, "quantity": int,
            "unit_price": int, "metadata": str, "created_at": str, "updated_at": str,
        },
        "pk": "id",
        "not_null": {"order_id", "rank", "title", "quantity", "unit_price", "metadata"},
        "foreign_keys": [("order_id", "orders", "id")],
    },
    # Idempotency keys of applied status callbacks, with the outcome to answer repeats with.
    "callback_keys": {
        "columns": {"key": str, "fingerprint": str, "outcome": str, "created_at": float},
        "pk": "key",
        "not_null": {"fingerprint", "outcome", "created_at"},
    },
}

_INDEXES: list[tuple[str, list[str], bool]] = [
    ("products", ["handle"], True),
    ("variants", ["product_id"], False),
    ("prices", ["variant_id", "currency_code"], True),
    ("customers", ["email"], True),
    ("orders", ["display_id"], True),
    ("orders", ["is_draft", "created_at"], False),
    ("orders", ["is_draft", "updated_at"], False),
    ("order_items", ["order_id", "rank"], False),
    ("callback_keys", ["created_at"], False),
]


def open_database(path: Path) -> Database:
    """Open (creating if needed) the shop database in WAL mode with the schema in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=5.0)
    db = Database(conn)
    db.enable_wal()
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    ensure_schema(db)
    return db


def ensure_schema(db: Database) -> None:
    """Create every table and index that is missing; existing data is left alone."""
    with db.atomic():
        for name, spec in _TABLES.items():
            db.table(name).create(
                spec["columns"],
                pk=spec["pk"],
                not_null=spec.get("not_null"),
                foreign_keys=spec.get("foreign_keys"),
                if_not_exists=True,
            )
            table = db.table(name)
            for column, kind in spec["columns"].items():
                if column not in table.columns_dict:
                    table.add_column(column, kind)
        for table, columns, unique in _INDEXES:
            db.table(table).create_index(columns, unique=unique, if_not_exists=True)
        db.table("shop_info").upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
