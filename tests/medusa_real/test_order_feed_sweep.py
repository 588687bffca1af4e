"""The order feed's lean sweep against a real Medusa 2.12: plain fields, the id filter, full reads."""

from __future__ import annotations

from console.bus import EventBus
from console.clients.medusa import MedusaAdmin
from console.demo_orders import DemoOrderMaker
from console.events import OrderSeen
from console.order_feed import SWEEP_FIELDS, UNFINISHED_STATUSES, OrderFeed
from console.orders import OrderSummary
from tests.e2e.conftest import ReadingAdmin

from .seed import Seeded


async def test_the_id_filter_takes_a_hundred_ids(medusa: Seeded, admin: MedusaAdmin, fresh_order: dict) -> None:
    """A sweep's full read names up to 100 ids, repeated ``id`` parameters (more than qs's
    default array limit of 20: Express parses with a limit of 1000)."""
    real = (fresh_order["id"], medusa.draft_converted_order_id)
    ids = real + tuple(f"order_missing{n:03d}" for n in range(98))
    rows, count = await admin.list_orders(limit=len(ids), order="created_at", ids=ids)
    assert sorted(row["id"] for row in rows) == sorted(real) and count == 2
    rows, count = await admin.list_orders(limit=5, ids=real[:1])
    assert [row["id"] for row in rows] == [real[0]] and count == 1


async def test_plain_fields_list_what_the_sweep_compares_and_not_the_rest(
    admin: MedusaAdmin, fresh_order: dict
) -> None:
    (lean,), _ = await admin.list_orders(limit=5, ids=(fresh_order["id"],), fields=SWEEP_FIELDS)
    (full,), _ = await admin.list_orders(limit=5, ids=(fresh_order["id"],))
    for name in ("id", "status", "created_at", "updated_at"):
        assert lean[name] == full[name], name
    # Medusa 2.12 adds items, version and the payment and fulfillment statuses to every list.
    assert not {"summary", "metadata", "email", "shipping_address"} & set(lean)
    assert OrderSummary.from_medusa(full).email == "fresh@example.com"


async def test_a_sweep_reads_in_full_only_the_orders_that_changed(medusa: Seeded) -> None:
    admin = ReadingAdmin(medusa.base_url, api_key=medusa.secret_key)
    bus = EventBus()
    seen: list[OrderSeen] = []
    bus.subscribe(lambda e: seen.append(e) if isinstance(e, OrderSeen) else None)
    swept: list[OrderSummary] = []
    feed = OrderFeed(admin, bus, on_unfinished=swept.append)
    maker = DemoOrderMaker(admin, seed=23)
    try:
        ids = [(await maker.create())["id"] for _ in range(2)]
        await feed.poll_once()
        _, unfinished = await admin.list_orders(limit=1, statuses=UNFINISHED_STATUSES)

        admin.calls.clear()
        assert await feed.sweep_once() == unfinished
        assert {o.id for o in swept} >= set(ids) and len(swept) == unfinished
        assert admin.full_rows() == [], "nothing changed since the first load: nothing read in full"

        await admin.merge_metadata(ids[0], {"swept": "again"})
        admin.calls.clear()
        swept.clear()
        published = len(seen)
        assert await feed.sweep_once() == unfinished
        assert admin.full_rows() == [ids[0]]
        assert [e.order.id for e in seen[published:]] == [ids[0]]
        by_id = {o.id: o for o in swept}
        assert by_id[ids[0]].metadata.get("swept") == "again" and by_id[ids[1]].item_count > 0
    finally:
        await admin.close()
