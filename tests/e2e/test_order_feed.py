"""The order feed against the real shop: nothing missed, nothing repeated, across pages."""

from __future__ import annotations

import asyncio

from console.bus import EventBus
from console.clients.medusa import MedusaAdmin
from console.demo_orders import DemoOrderMaker
from console.events import BackendStatus, OrderSeen
from console.order_feed import OrderFeed
from tests.e2e.conftest import ReadingAdmin


async def test_feed_pages_through_changes_without_gaps_or_repeats(backends):
    medusa = MedusaAdmin(backends.shop_url)
    bus = EventBus()
    seen: list[OrderSeen] = []
    bus.subscribe(lambda e: seen.append(e) if isinstance(e, OrderSeen) else None)
    feed = OrderFeed(medusa, bus)
    maker = DemoOrderMaker(medusa, seed=7)
    try:
        ids = [(await maker.create())["id"] for _ in range(30)]
        assert await feed.poll_once() == 30
        assert await feed.poll_once() == 0, "an unchanged order is not published twice"

        # 130 changes: more than one page (100) of updated orders.
        for order_id in ids:
            for step in range(4):
                await medusa.merge_metadata(order_id, {"step": step})
        for order_id in ids[:10]:
            await medusa.merge_metadata(order_id, {"step": 99})
        published = await feed.poll_once()
        assert published == 30, "each changed order once, with its latest state"
        latest = {e.order.id: e.order.metadata.get("step") for e in seen[30:]}
        assert latest == {oid: (99 if oid in ids[:10] else 3) for oid in ids}
        assert await feed.poll_once() == 0
    finally:
        await medusa.close()


async def test_feed_reports_medusa_down_and_backs_off():
    medusa = MedusaAdmin("http://127.0.0.1:9")
    bus = EventBus()
    statuses: list[BackendStatus] = []
    reported = asyncio.Event()

    def on_event(event: object) -> None:
        if isinstance(event, BackendStatus):
            statuses.append(event)
            reported.set()

    bus.subscribe(on_event)
    feed = OrderFeed(medusa, bus, interval_s=0.05)
    task = asyncio.get_running_loop().create_task(feed.run())
    try:
        await asyncio.wait_for(reported.wait(), 5)
        assert statuses[0].component == "medusa" and not statuses[0].ok
        assert "cannot reach http://127.0.0.1:9" in statuses[0].detail
    finally:
        task.cancel()
        await medusa.close()


async def test_first_load_covers_every_unfinished_order_and_sweep_hands_them_over(backends):
    """More unfinished orders than the first load's newest-500 window: every one is seen."""
    from console import order_feed

    medusa = MedusaAdmin(backends.shop_url)
    bus = EventBus()
    seen: set[str] = set()
    bus.subscribe(lambda e: seen.add(e.order.id) if isinstance(e, OrderSeen) else None)
    swept: list[str] = []
    feed = OrderFeed(medusa, bus, on_unfinished=lambda order: swept.append(order.id))
    maker = DemoOrderMaker(medusa, seed=3)
    try:
        ids = [(await maker.create())["id"] for _ in range(12)]
        for order_id in ids[:2]:
            await medusa.complete_order(order_id)
        original = order_feed.RECENT
        order_feed.RECENT = 3  # the newest three only, so the rest must come from the unfinished scan
        try:
            await feed.poll_once()
        finally:
            order_feed.RECENT = original
        assert seen == set(ids[2:]), "every unfinished order; the two old finished ones are outside the window"
        assert await feed.sweep_once() == 10
        assert sorted(swept) == sorted(ids[2:]), "the sweep hands over every unfinished order"
    finally:
        await medusa.close()


async def test_a_sweep_never_moves_the_change_cursor_past_unseen_changes(backends):
    """Changes to finished orders made before a sweep still reach the next poll."""
    medusa = MedusaAdmin(backends.shop_url)
    bus = EventBus()
    seen: list[OrderSeen] = []
    bus.subscribe(lambda e: seen.append(e) if isinstance(e, OrderSeen) else None)
    feed = OrderFeed(medusa, bus, overlap_s=0.05)
    maker = DemoOrderMaker(medusa, seed=5)
    try:
        finished, pending = (await maker.create())["id"], (await maker.create())["id"]
        await feed.poll_once()
        completed_at = (await medusa.complete_order(finished))["updated_at"]
        # The unfinished order changes later than the overlap window reaches back.
        step = 0
        while (await medusa.merge_metadata(pending, {"step": step}))["updated_at"] <= _plus(completed_at, 0.1):
            step += 1
        await feed.sweep_once()
        await feed.poll_once()
        assert [e.order.status for e in seen if e.order.id == finished][-1] == "completed"
    finally:
        await medusa.close()


def _plus(stamp: str, seconds: float) -> str:
    from datetime import datetime, timedelta

    from protocol.timestamps import format_iso

    return format_iso(datetime.fromisoformat(stamp) + timedelta(seconds=seconds))


async def test_a_late_commit_inside_the_overlap_is_read_and_a_quiet_shop_costs_one_small_page(backends):
    """The overlap is re-read until a poll started ``overlap_s`` after the newest change has read
    it; after that a poll starts at the newest change (idle CPU with 10,000 orders)."""
    import sqlite3

    clock = [1000.0]
    medusa = ReadingAdmin(backends.shop_url)
    bus = EventBus()
    seen: list[OrderSeen] = []
    bus.subscribe(lambda e: seen.append(e) if isinstance(e, OrderSeen) else None)
    feed = OrderFeed(medusa, bus, overlap_s=60.0, monotonic=lambda: clock[0])  # all of the test in it
    maker = DemoOrderMaker(medusa, seed=11)
    try:
        ids = [(await maker.create())["id"] for _ in range(20)]
        await feed.poll_once()
        newest = max(e.order.updated_at for e in seen)

        # A write whose transaction began before the newest change turns visible only now.
        late = _plus(newest, -1.0)
        with sqlite3.connect(backends.shop.data_dir / "shop.sqlite3") as db:
            db.execute("UPDATE orders SET metadata = ?, updated_at = ? WHERE id = ?",
                       ('{"late": 1}', late, ids[3]))
        clock[0] += 0.5
        assert await feed.poll_once() == 1, "the late write is inside the overlap: read"
        assert seen[-1].order.id == ids[3] and seen[-1].order.metadata == {"late": 1}

        medusa.calls.clear()
        await feed.poll_once()
        assert medusa.page_sizes() == [20], "not settled yet: the whole overlap (the 20 orders) is read again"
        clock[0] += 60.0
        await feed.poll_once()  # started overlap_s after the change was seen: this one settles it
        medusa.calls.clear()
        await feed.poll_once()
        assert medusa.page_sizes()[0] <= 2, "settled: only the orders at the newest change itself are read"

        await medusa.merge_metadata(ids[5], {"step": 1})
        assert await feed.poll_once() == 1, "a new change after settling is read"
        medusa.calls.clear()
        await feed.poll_once()
        assert medusa.page_sizes() == [20], "and the overlap behind it is read again until it settles"
    finally:
        await medusa.close()



def _write(backends, sql: str, *params: object) -> None:
    """Change the shop's database behind the feed's back (as another writer would)."""
    import sqlite3

    with sqlite3.connect(backends.shop.data_dir / "shop.sqlite3") as db:
        db.execute(sql, params)


async def test_the_lean_sweep_reads_in_full_only_unseen_and_changed_orders(backends):
    """Each sweep hands every unfinished order to the hook, but reads in full (and publishes)
    only the orders it has not read yet or whose updated_at or status moved."""
    medusa = ReadingAdmin(backends.shop_url)
    bus = EventBus()
    seen: list[OrderSeen] = []
    bus.subscribe(lambda e: seen.append(e) if isinstance(e, OrderSeen) else None)
    swept: list[list] = []
    feed = OrderFeed(medusa, bus, on_unfinished=lambda order: swept[-1].append(order))
    maker = DemoOrderMaker(medusa, seed=13)
    try:
        ids = [(await maker.create())["id"] for _ in range(12)]
        for order_id in ids[:2]:
            await medusa.complete_order(order_id)
        await feed.poll_once()
        unfinished = set(ids[2:])

        medusa.calls.clear()
        swept.append([])
        assert await feed.sweep_once() == 10
        assert {o.id for o in swept[-1]} == unfinished and len(swept[-1]) == 10
        assert medusa.full_rows() == [], "nothing changed since the first load: no order read in full"
        assert all(kwargs.get("fields") == "id,status,created_at,updated_at" for kwargs, _ in medusa.calls)

        # Behind the feed's back: one order's metadata changes, another comes in unseen.
        _write(backends, "UPDATE orders SET metadata = ?, updated_at = ? WHERE id = ?",
               '{"behind": "the back"}', "2099-01-01T00:00:00.000Z", ids[4])
        newcomer = (await maker.create())["id"]
        published = len(seen)
        medusa.calls.clear()
        swept.append([])
        assert await feed.sweep_once() == 11
        assert sorted(medusa.full_rows()) == sorted([ids[4], newcomer]), "only those two are read in full"
        assert {e.order.id for e in seen[published:]} == {ids[4], newcomer}
        by_id = {o.id: o for o in swept[-1]}
        assert set(by_id) == unfinished | {newcomer} and len(swept[-1]) == 11
        assert by_id[ids[4]].metadata == {"behind": "the back"}, "the hook gets the freshest version"
        assert by_id[ids[5]].email, "an unchanged order is handed on as last read, in full"

        medusa.calls.clear()
        swept.append([])
        assert await feed.sweep_once() == 11
        assert medusa.full_rows() == [] and len(seen) == published + 2
        assert [o.id for o in swept[-1]] == [o.id for o in swept[-2]], "every unfinished order, every sweep"
    finally:
        await medusa.close()


async def test_an_order_finished_between_the_lean_listing_and_its_full_read_is_not_handed_on(backends):
    medusa = ReadingAdmin(backends.shop_url)
    bus = EventBus()
    swept: list[str] = []
    feed = OrderFeed(medusa, bus, on_unfinished=lambda order: swept.append(order.id))
    maker = DemoOrderMaker(medusa, seed=17)
    try:
        ids = [(await maker.create())["id"] for _ in range(3)]
        await feed.poll_once()
        _write(backends, "UPDATE orders SET metadata = ?, updated_at = ? WHERE id = ?",
               '{"step": 1}', "2099-01-01T00:00:00.000Z", ids[0])
        _write(backends, "UPDATE orders SET metadata = ?, updated_at = ? WHERE id = ?",
               '{"step": 1}', "2099-01-01T00:00:00.000Z", ids[1])
        # The lean listing saw both changed; ids[1] is completed before they are read in full.
        medusa.before_by_id = lambda wanted: _write(
            backends, "UPDATE orders SET status = 'completed' WHERE id = ?", ids[1])
        assert await feed.sweep_once() == 3
        assert sorted(swept) == sorted([ids[0], ids[2]])
    finally:
        await medusa.close()


async def test_the_lean_sweep_pages_through_orders_sharing_a_created_at(backends, monkeypatch):
    """Small lean pages: a page filled by one created_at is read again, larger; each unfinished
    order is handed on exactly once per sweep."""
    from console import order_feed

    medusa = ReadingAdmin(backends.shop_url)
    swept: list[str] = []
    feed = OrderFeed(medusa, EventBus(), on_unfinished=lambda order: swept.append(order.id))
    maker = DemoOrderMaker(medusa, seed=19)
    try:
        ids = [(await maker.create())["id"] for _ in range(11)]
        for order_id in ids[2:8]:  # six orders share one created_at: more than a page of four
            _write(backends, "UPDATE orders SET created_at = ? WHERE id = ?", "2030-01-01T00:00:00.000Z", order_id)
        await feed.poll_once()
        monkeypatch.setattr(order_feed, "SWEEP_PAGE", 4)
        for _ in range(2):
            swept.clear()
            medusa.calls.clear()
            assert await feed.sweep_once() == 11
            assert sorted(swept) == sorted(ids)
            assert medusa.full_rows() == []
            assert 8 in [kwargs["limit"] for kwargs, _ in medusa.calls], "the shared created_at was read again, larger"
    finally:
        await medusa.close()
