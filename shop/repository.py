"""Data access for the shop: short SQLite transactions over one serialised connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from protocol.progress import ORDER_CANCELED, StageOrder

from .answers import NOT_PAID
from .bodies import ADDRESS_FIELDS, DraftOrderCreate, OrderUpdate
from .catalogue import seed_catalogue
from .clock import now_iso
from .errors import InvalidData, NotAllowed, NotFound
from .ids import new_id
from .queries import OrderQuery, Page
from .schema import open_database


@dataclass(frozen=True)
class OrderRecord:
    """An order row and its item rows, as stored (none when the items were not read)."""

    row: dict
    items: list[dict]


@dataclass(frozen=True)
class CallbackResult:
    """The order after a status callback: applied, or left alone with the reason why."""

    id: str
    display_id: int
    status: str
    metadata: dict
    updated_at: str
    applied: bool = True
    reason: str | None = None
    #: True when this is the stored outcome of an earlier callback with the same key.
    replayed: bool = False


@dataclass(frozen=True)
class CallbackKey:
    """An idempotency key, the fingerprint of its callback and the time it arrived (unix s)."""

    key: str
    fingerprint: str
    now: float


class KeyReuse(Exception):
    """The idempotency key was already used for a different callback."""


#: How long idempotency keys are kept (seconds).
KEY_RETENTION_S = 7 * 24 * 3600
_PRUNE_EVERY_S = 3600


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def merge_metadata(current: dict, patch: dict) -> dict:
    """Medusa's merge: keys in ``patch`` overwrite, a key set to ``""`` is removed."""
    merged = dict(current)
    for key, value in patch.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class ShopRepository:
    """Every read and write of the shop database.

    All access goes through one connection guarded by a lock; each write is one
    ``BEGIN IMMEDIATE`` transaction that reads, merges and writes, so concurrent
    merges into the same order's metadata never lose an update.
    """

    def __init__(self, db: Database, key_retention_s: float = KEY_RETENTION_S) -> None:
        self.db = db
        self._conn = db.conn
        self._lock = threading.RLock()
        self.key_retention_s = key_retention_s
        self._pruned_at = float("-inf")

    @classmethod
    def open(cls, path: Path, key_retention_s: float = KEY_RETENTION_S) -> ShopRepository:
        """Open the database at ``path`` and seed the built-in catalogue if missing."""
        db = open_database(path)
        seed_catalogue(db)
        return cls(db, key_retention_s)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- plumbing -------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence = ()) -> list[dict]:
        cursor = self._conn.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _one(self, sql: str, params: Sequence = ()) -> dict | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def _read(self) -> Iterator[None]:
        with self._lock:
            yield

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    # -- catalogue ------------------------------------------------------------------------

    def list_regions(self, page: Page) -> tuple[list[dict], int]:
        with self._read():
            rows = self._rows(
                "SELECT * FROM regions ORDER BY created_at, name LIMIT ? OFFSET ?",
                (page.limit, page.offset),
            )
            count = self._conn.execute("SELECT COUNT(*) FROM regions").fetchone()[0]
        return rows, count

    def get_region(self, region_id: str) -> dict | None:
        with self._read():
            return self._one("SELECT * FROM regions WHERE id = ?", (region_id,))

    def list_products(
        self, page: Page, product_id: str | None = None
    ) -> tuple[list[tuple[dict, list[dict], dict[str, list[dict]]]], int]:
        """Products (one page, or the one with ``product_id``) with variants and prices."""
        with self._read():
            if product_id is None:
                products = self._rows(
                    "SELECT * FROM products ORDER BY rank, id LIMIT ? OFFSET ?",
                    (page.limit, page.offset),
                )
                count = self._conn.execute("SELECT COUNT(*) FROM products").fetchone()[0]
            else:
                products = self._rows("SELECT * FROM products WHERE id = ?", (product_id,))
                count = len(products)
            ids = [p["id"] for p in products]
            marks = ",".join("?" * len(ids))
            variants = self._rows(
                f"SELECT * FROM variants WHERE product_id IN ({marks}) ORDER BY rank, id", ids
            )
            vids = [v["id"] for v in variants]
            prices = self._rows(
                f"SELECT * FROM prices WHERE variant_id IN ({','.join('?' * len(vids))}) "
                "ORDER BY currency_code",
                vids,
            )
        by_product: dict[str, list[dict]] = {}
        for variant in variants:
            by_product.setdefault(variant["product_id"], []).append(variant)
        by_variant: dict[str, list[dict]] = {}
        for price in prices:
            by_variant.setdefault(price["variant_id"], []).append(price)
        return [(p, by_product.get(p["id"], []), by_variant) for p in products], count

    def list_customers(self, page: Page) -> tuple[list[dict], int]:
        with self._read():
            rows = self._rows(
                "SELECT * FROM customers ORDER BY rank, id LIMIT ? OFFSET ?",
                (page.limit, page.offset),
            )
            count = self._conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
        return rows, count

    def get_customer(self, customer_id: str) -> dict | None:
        with self._read():
            return self._one("SELECT * FROM customers WHERE id = ?", (customer_id,))

    # -- orders: reads --------------------------------------------------------------------

    def _items_for(self, order_ids: list[str]) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = {oid: [] for oid in order_ids}
        if not order_ids:
            return grouped
        marks = ",".join("?" * len(order_ids))
        for item in self._rows(
            f"SELECT * FROM order_items WHERE order_id IN ({marks}) ORDER BY order_id, rank",
            order_ids,
        ):
            grouped[item["order_id"]].append(item)
        return grouped

    def get_order(self, order_id: str, *, draft: bool) -> OrderRecord | None:
        """The order (``draft=False``) or draft order (``draft=True``) with this id."""
        with self._read():
            row = self._one(
                "SELECT * FROM orders WHERE id = ? AND is_draft = ?", (order_id, int(draft))
            )
            if row is None:
                return None
            return OrderRecord(row, self._items_for([order_id])[order_id])

    def _list(
        self, where: list[str], params: list, order_by: str, page: Page, *, items: bool = True
    ) -> tuple[list[OrderRecord], int]:
        clause = " AND ".join(where)
        with self._read():
            rows = self._rows(
                f"SELECT * FROM orders WHERE {clause} ORDER BY {order_by} LIMIT ? OFFSET ?",
                [*params, page.limit, page.offset],
            )
            count = self._conn.execute(
                f"SELECT COUNT(*) FROM orders WHERE {clause}", params
            ).fetchone()[0]
            grouped = self._items_for([r["id"] for r in rows]) if items else {}
        return [OrderRecord(r, grouped.get(r["id"], [])) for r in rows], count

    def list_orders(self, query: OrderQuery, *, items: bool = True) -> tuple[list[OrderRecord], int]:
        """Orders (never drafts) matching the query, sorted, one page, and the total count;
        ``items=False`` leaves their items unread (for answers that do not show them)."""
        where, params = ["is_draft = 0"], []
        if query.statuses:
            where.append(f"status IN ({','.join('?' * len(query.statuses))})")
            params.extend(query.statuses)
        if query.ids:
            where.append(f"id IN ({','.join('?' * len(query.ids))})")
            params.extend(query.ids)
        for column, op, bound in query.ranges:  # column and op come from whitelists
            where.append(f"{column} {op} ?")
            params.append(bound)
        direction = "DESC" if query.descending else "ASC"
        order_by = f"{query.sort} {direction}, display_id {direction}"
        return self._list(where, params, order_by, query.page, items=items)

    def list_draft_orders(self, page: Page) -> tuple[list[OrderRecord], int]:
        return self._list(["is_draft = 1"], [], "created_at DESC, display_id DESC", page)

    # -- orders: writes -------------------------------------------------------------------

    def _price_item(self, item, currency: str, rank: int, order_id: str, at: str) -> dict:
        row = {
            "id": new_id("ordli"), "order_id": order_id, "rank": rank, "title": item.title,
            "subtitle": None, "thumbnail": None, "variant_id": None, "product_id": None,
            "product_title": None, "product_handle": None, "variant_title": None,
            "variant_sku": None, "quantity": item.quantity, "unit_price": item.unit_price,
            "metadata": _dumps(item.metadata or {}), "created_at": at, "updated_at": at,
        }
        if item.variant_id is None:
            return row
        found = self._one(
            "SELECT v.id, v.title AS variant_title, v.sku, p.id AS product_id, p.title, "
            "p.handle, p.thumbnail, pr.amount FROM variants v JOIN products p "
            "ON p.id = v.product_id LEFT JOIN prices pr ON pr.variant_id = v.id "
            "AND pr.currency_code = ? WHERE v.id = ?",
            (currency, item.variant_id),
        )
        if found is None:
            raise InvalidData(f"items[{rank}]: Variant with id: {item.variant_id} was not found")
        if found["amount"] is None and item.unit_price is None:
            raise InvalidData(
                f"items[{rank}]: Variant {item.variant_id} has no price in {currency}"
            )
        row.update(
            title=item.title or found["title"], subtitle=found["variant_title"],
            thumbnail=found["thumbnail"], variant_id=found["id"],
            product_id=found["product_id"], product_title=found["title"],
            product_handle=found["handle"], variant_title=found["variant_title"],
            variant_sku=found["sku"],
            unit_price=item.unit_price if item.unit_price is not None else found["amount"],
        )
        return row

    def _address(self, address: dict | None) -> str | None:
        if address is None:
            return None
        return _dumps({"id": new_id("ordaddr"), **address})

    def create_draft_order(self, data: DraftOrderCreate) -> OrderRecord:
        """Create a draft order priced in the region's currency; ids/display_id assigned now."""
        order_id = new_id("order")
        with self._write():
            region = self._one("SELECT * FROM regions WHERE id = ?", (data.region_id,))
            if region is None:
                raise InvalidData(f"Region with id: {data.region_id} was not found")
            currency = region["currency_code"]
            customer = None
            if data.customer_id is not None:
                customer = self._one("SELECT * FROM customers WHERE id = ?", (data.customer_id,))
                if customer is None:
                    raise InvalidData(f"Customer with id: {data.customer_id} was not found")
            elif data.email is not None:
                customer = self._one("SELECT * FROM customers WHERE email = ?", (data.email,))
            shipping = data.shipping_address
            if shipping is None and customer is not None:
                addresses = json.loads(customer["addresses"])
                if addresses:
                    shipping = {key: addresses[0].get(key) for key in ADDRESS_FIELDS}
            at = now_iso()
            items = [
                self._price_item(item, currency, rank, order_id, at)
                for rank, item in enumerate(data.items)
            ]
            display_id = self._conn.execute(
                "SELECT COALESCE(MAX(display_id), 0) + 1 FROM orders"
            ).fetchone()[0]
            methods = [
                {"id": new_id("ordsm"), "name": m.name, "amount": m.amount,
                 "shipping_option_id": m.shipping_option_id}
                for m in data.shipping_methods
            ]
            row = {
                "id": order_id, "display_id": display_id, "status": "draft", "is_draft": 1,
                "payment_status": NOT_PAID,
                "email": data.email or (customer["email"] if customer else None),
                "currency_code": currency, "region_id": region["id"],
                "customer_id": customer["id"] if customer else None,
                "shipping_address": self._address(shipping),
                "billing_address": self._address(data.billing_address),
                "shipping_methods": _dumps(methods), "metadata": _dumps(data.metadata),
                "canceled_at": None, "created_at": at, "updated_at": at,
            }
            self._insert("orders", [row])
            self._insert("order_items", items)
        return OrderRecord(row, items)

    def _insert(self, table: str, rows: list[dict]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        self._conn.executemany(
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
            [[row[c] for c in columns] for row in rows],
        )

    def convert_draft_order(self, order_id: str, payment_status: str = NOT_PAID) -> OrderRecord:
        """Turn a draft into a pending order with ``payment_status``; ids and created_at kept."""
        with self._write():
            row = self._one("SELECT status, is_draft FROM orders WHERE id = ?", (order_id,))
            if row is None:
                raise NotFound(f"Draft order with id: {order_id} was not found")
            if not row["is_draft"]:
                raise NotAllowed(
                    f"Order {order_id} is not a draft order (status: {row['status']}); "
                    "it was already converted"
                )
            self._conn.execute(
                "UPDATE orders SET status = 'pending', is_draft = 0, payment_status = ?, "
                "updated_at = ? WHERE id = ?",
                (payment_status, now_iso(), order_id),
            )
        record = self.get_order(order_id, draft=False)
        assert record is not None
        return record

    def update_order(self, order_id: str, update: OrderUpdate) -> OrderRecord:
        """Apply an update; ``updated_at`` moves only when a stored value actually changes."""
        with self._write():
            row = self._one("SELECT * FROM orders WHERE id = ? AND is_draft = 0", (order_id,))
            if row is None:
                raise NotFound(f"Order with id: {order_id} was not found")
            changes: dict[str, object] = {}
            if update.email is not None and update.email != row["email"]:
                changes["email"] = update.email
            for column in ("shipping_address", "billing_address"):
                patch = getattr(update, column)
                if patch is None:
                    continue
                current = json.loads(row[column]) if row[column] else {"id": new_id("ordaddr")}
                merged = {**current, **patch}
                if merged != current:
                    changes[column] = _dumps(merged)
            if update.metadata is not None:
                current = json.loads(row["metadata"])
                merged = merge_metadata(current, update.metadata)
                if merged != current:
                    changes["metadata"] = _dumps(merged)
            if changes:
                changes["updated_at"] = now_iso()
                assignments = ", ".join(f"{column} = ?" for column in changes)
                self._conn.execute(
                    f"UPDATE orders SET {assignments} WHERE id = ?", [*changes.values(), order_id]
                )
                row.update(changes)  # the stored row now, without reading it back
            items = self._items_for([order_id])[order_id]
        return OrderRecord(row, items)

    def complete_order(self, order_id: str) -> OrderRecord:
        """Set the order's status to ``completed`` (Medusa's complete-order); canceled ones refuse."""
        with self._write():
            row = self._one("SELECT status FROM orders WHERE id = ? AND is_draft = 0", (order_id,))
            if row is None:
                raise NotFound(f"Order with id: {order_id} was not found")
            if row["status"] == ORDER_CANCELED:
                raise InvalidData(f"Orders {order_id} are canceled and cannot be completed")
            if row["status"] != "completed":
                self._conn.execute(
                    "UPDATE orders SET status = 'completed', updated_at = ? WHERE id = ?",
                    (now_iso(), order_id),
                )
        record = self.get_order(order_id, draft=False)
        assert record is not None
        return record

    def apply_callback(
        self,
        order_id: str,
        status: str,
        message: str,
        *,
        stages: StageOrder | None = None,
        key: CallbackKey | None = None,
    ) -> CallbackResult | None:
        """The seed's /demo update: merge workflow_status/message/last_updated; None if unknown.

        ``status == "completed"`` also completes the order. A callback that ``stages``
        refuses (a late earlier stage, a cancelled order) changes nothing and comes back
        with ``applied=False`` and the reason. With ``key``, the outcome is stored with the
        key in the same transaction, and a repeat gets the stored outcome (``replayed``)
        without applying anything; a key reused for another callback raises KeyReuse.
        """
        with self._write():
            if key is not None:
                stored = self._stored_outcome(key)
                if stored is not None:
                    return stored
            row = self._one(
                "SELECT display_id, status, metadata, updated_at FROM orders WHERE id = ?",
                (order_id,),
            )
            if row is None:
                return None
            metadata = json.loads(row["metadata"])
            reason = (stages or StageOrder()).refusal(
                metadata.get("workflow_status"), row["status"], status
            )
            if reason is not None:
                result = CallbackResult(
                    order_id, row["display_id"], row["status"], metadata, row["updated_at"],
                    applied=False, reason=reason,
                )
            else:
                at = now_iso()
                metadata.update(workflow_status=status, workflow_message=message, last_updated=at)
                order_status = "completed" if status == "completed" else row["status"]
                self._conn.execute(
                    "UPDATE orders SET metadata = ?, status = ?, updated_at = ? WHERE id = ?",
                    (_dumps(metadata), order_status, at, order_id),
                )
                result = CallbackResult(order_id, row["display_id"], order_status, metadata, at)
            if key is not None:
                self._store_outcome(key, result)
        return result

    def _stored_outcome(self, key: CallbackKey) -> CallbackResult | None:
        row = self._conn.execute(
            "SELECT fingerprint, outcome FROM callback_keys WHERE key = ? AND created_at >= ?",
            (key.key, key.now - self.key_retention_s),
        ).fetchone()
        if row is None:
            return None
        if row[0] != key.fingerprint:
            raise KeyReuse(f"Idempotency key {key.key!r} was already used for a different callback")
        return CallbackResult(**json.loads(row[1]), replayed=True)

    def _store_outcome(self, key: CallbackKey, result: CallbackResult) -> None:
        if key.now - self._pruned_at >= _PRUNE_EVERY_S:
            self._conn.execute(
                "DELETE FROM callback_keys WHERE created_at < ?", (key.now - self.key_retention_s,)
            )
            self._pruned_at = key.now
        outcome = {
            "id": result.id, "display_id": result.display_id, "status": result.status,
            "metadata": result.metadata, "updated_at": result.updated_at,
            "applied": result.applied, "reason": result.reason,
        }
        self._conn.execute(
            "INSERT OR REPLACE INTO callback_keys (key, fingerprint, outcome, created_at) "
            "VALUES (?, ?, ?, ?)",
            (key.key, key.fingerprint, _dumps(outcome), key.now),
        )
