"""The order feed against the real shop: nothing missed, nothing repeated, across pages."""

from __future__ import annotations

import asyncio

from console.bus import EventBus
from console.clients.medusa import MedusaAdmin
from console.demo_orders import DemoOrderMaker
from console.events import BackendStatus, OrderSeen
from console.order_feed import OrderFeed


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
