"""The order feed: polls Medusa's Admin API for new and changed orders and publishes OrderSeen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from console.bus import EventBus
from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin
from console.events import BackendStatus, OrderSeen
from console.orders import OrderSummary

PAGE = 100
#: How many orders the first poll loads (newest first).
INITIAL = 500


class OrderFeed:
    """Cursor on ``updated_at``: each poll asks for orders updated at or after the newest seen.

    ``$gte`` rather than ``$gt`` so orders sharing the cursor's timestamp are not missed;
    the (id, updated_at) pairs already published are skipped so nothing repeats.
    """

    def __init__(
        self,
        medusa: MedusaAdmin,
        bus: EventBus,
        interval_s: float = 1.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._medusa = medusa
        self._bus = bus
        self.interval_s = interval_s
        self._now = now or (lambda: datetime.now(UTC))
        self._cursor: str | None = None
        self._seen: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._healthy: bool | None = None

    def poke(self) -> None:
        """Poll now instead of at the next tick (after an operator action)."""
        self._wake.set()

    async def poll_once(self) -> int:
        """One poll; returns the number of orders published."""
        if self._cursor is None:
            orders, _ = await self._medusa.list_orders(limit=INITIAL, order="-created_at")
            orders.reverse()
        else:
            orders = []
            offset = 0
            while True:
                page, count = await self._medusa.list_orders(
                    limit=PAGE, offset=offset, order="updated_at", updated_since=self._cursor
                )
                orders.extend(page)
                offset += len(page)
                if not page or offset >= count:
                    break
        published = 0
        for data in orders:
            order = OrderSummary.from_medusa(data)
            if self._seen.get(order.id) == order.updated_at:
                continue
            self._seen[order.id] = order.updated_at
            if self._cursor is None or order.updated_at > self._cursor:
                self._cursor = order.updated_at
            self._bus.publish(OrderSeen(at=self._now(), order=order))
            published += 1
        if self._cursor is None:
            self._cursor = ""
        return published

    async def run(self) -> None:
        """Poll forever: one poll, render, then wait (polls never overlap); back off when down."""
        delay = self.interval_s
        while True:
            try:
                await self.poll_once()
            except BackendError as exc:
                self._report(False, str(exc))
                delay = min(max(delay * 2, self.interval_s), 30.0)
            else:
                self._report(True, self._medusa.base_url)
                delay = self.interval_s
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    def _report(self, ok: bool, detail: str) -> None:
        if ok != self._healthy:
            self._healthy = ok
            self._bus.publish(BackendStatus(at=self._now(), component="medusa", ok=ok, detail=detail))
