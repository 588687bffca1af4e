"""The order feed: keyset-polls Medusa's Admin API for changed orders, sweeps the unfinished ones."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from console.bus import EventBus
from console.clients.errors import BackendError
from console.clients.medusa import ORDER_FIELDS, MedusaAdmin
from console.events import BackendStatus, OrderSeen
from console.orders import OrderSummary
from protocol.timestamps import format_iso, parse_timestamp

log = logging.getLogger(__name__)

#: Orders per keyset page (and the most ids one full read of a sweep names).
PAGE = 100
#: Orders per keyset page of the sweep's lean listing (four fields an order).
SWEEP_PAGE = 500
#: What the sweep lists of each unfinished order: enough to tell whether it changed.
SWEEP_FIELDS = "id,status,created_at,updated_at"
#: The largest page asked for when one timestamp holds more orders than a page.
MAX_PAGE = 1000
#: How many of the newest orders the first load shows besides every unfinished one.
RECENT = 500
#: Each poll re-reads this much before the newest change it saw: a row's ``updated_at`` is
#: set when its transaction starts (PostgreSQL) and it may become visible after later ones.
OVERLAP_S = 2.0
#: Medusa order statuses that no workflow changes any more; every other order is swept.
UNFINISHED_STATUSES = ("pending", "requires_action")

#: The list_orders argument that bounds each keyset field from below.
_SINCE = {"updated_at": "updated_since", "created_at": "created_since"}

#: Called with every unfinished order a sweep lists (the auto-starter looks at each again).
UnfinishedHook = Callable[[OrderSummary], None]


class OrderFeed:
    """Publishes ``OrderSeen`` for every new or changed order, never missing one.

    Changes are read with keyset pagination on (``updated_at``, ``id``): each page asks for
    orders updated at or after the last row of the page before, in ``updated_at`` order, so
    rows that change while they are paged move ahead of the cursor instead of shifting an
    offset. Every poll starts ``OVERLAP_S`` before the newest change seen; what was already
    published (same id and ``updated_at``) is skipped. The first load reads the newest
    ``RECENT`` orders and every unfinished one in full.

    A sweep every ``sweep_interval_s`` lists every unfinished order again (keyset on
    ``created_at``, which never changes), but lean: id, status, created_at and updated_at
    only. It reads in full (by id) just the orders never read or whose ``updated_at`` or
    status differs from the version read last, publishes those, and hands the auto-starter
    the freshest summary of every unfinished order (an unchanged one's from memory). That is
    enough: every write to an order moves its ``updated_at``, and the change polls read every
    change in full anyway; the sweep is the safety net for the auto-starter, which must look
    at each unfinished order again (a claim expires without the order changing).

    Once a poll that started ``OVERLAP_S`` after the newest change was first seen has read the
    overlap in full, every transaction older than that change has committed and been read:
    later polls start at the change itself, so a quiet shop costs one small page per poll
    instead of re-reading the last burst's orders every second.
    """

    def __init__(
        self,
        medusa: MedusaAdmin,
        bus: EventBus,
        interval_s: float = 1.0,
        now: Callable[[], datetime] | None = None,
        *,
        sweep_interval_s: float = 60.0,
        on_unfinished: UnfinishedHook | None = None,
        overlap_s: float = OVERLAP_S,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self._medusa = medusa
        self._bus = bus
        self.interval_s = interval_s
        self.sweep_interval_s = sweep_interval_s
        self.overlap_s = overlap_s
        self._now = now or (lambda: datetime.now(UTC))
        self._monotonic = monotonic or (lambda: asyncio.get_running_loop().time())
        self._on_unfinished = on_unfinished
        #: The newest ``updated_at`` seen (None before the first load).
        self._cursor: datetime | None = None
        #: Monotonic time the cursor last moved, and the cursor value whose overlap is read.
        self._cursor_moved_at = 0.0
        self._settled: datetime | None = None
        self._loaded = False
        #: order id -> fingerprint of the version last published.
        self._seen: dict[str, str] = {}
        #: order id -> the order as last read in full (what a sweep hands on unchanged).
        self._latest: dict[str, OrderSummary] = {}
        self._wake = asyncio.Event()
        self._healthy: bool | None = None
        self.sweeps = 0

    def poke(self) -> None:
        """Poll now instead of at the next tick (after an operator action)."""
        self._wake.set()

    async def poll_once(self) -> int:
        """One poll (the first load on the first call); returns the number of orders published.

        Each page is published as it arrives and moves the cursor, so a poll cut short by a
        failure keeps what it read and the next one goes on from there.
        """
        if not self._loaded:
            return await self._first_load()
        began = self._monotonic()
        cursor = self._cursor
        since = cursor
        if cursor is not None and cursor != self._settled:
            since = cursor - timedelta(seconds=self.overlap_s)
        published = 0
        async for page in self._pages("updated_at", since):
            published += self._publish(page, advance=True)
        if self._cursor == cursor and began >= self._cursor_moved_at + self.overlap_s:
            self._settled = cursor  # read in full, late enough: nothing older can still appear
        return published

    async def sweep_once(self) -> int:
        """List every unfinished order; publish the unseen or changed ones, hand each to the hook.

        Returns how many unfinished orders there are. The sweep never moves the change
        cursor: it reads only unfinished orders, so changes to others are left to the polls.
        """
        listed: set[str] = set()
        pages = self._pages("created_at", None, statuses=UNFINISHED_STATUSES,
                            fields=SWEEP_FIELDS, page=SWEEP_PAGE)
        async for page in pages:
            rows = [row for row in page if str(row["id"]) not in listed]  # pages share their boundary
            listed.update(str(row["id"]) for row in rows)
            current = await self._read_changed(rows)
            if self._on_unfinished is not None:
                for order in current:
                    self._on_unfinished(order)
        self.sweeps += 1
        return len(listed)

    async def _read_changed(self, rows: list[dict[str, Any]]) -> list[OrderSummary]:
        """The freshest summary of each lean row's order: read in full (and published) when
        never read or changed since, else as last read; an order gone from the full read (no
        longer unfinished) is left out."""
        order_ids = [str(row["id"]) for row in rows]
        changed = [order_id for order_id, row in zip(order_ids, rows, strict=True) if self._changed(row)]
        wanted, fresh = set(changed), set()
        for start in range(0, len(changed), PAGE):
            ids = tuple(changed[start:start + PAGE])
            full, _ = await self._medusa.list_orders(
                limit=len(ids), order="created_at", statuses=UNFINISHED_STATUSES, ids=ids
            )
            full = [data for data in full if str(data.get("id")) in wanted]
            self._publish(full)
            fresh.update(str(data["id"]) for data in full)
        return [
            self._latest[order_id] for order_id in order_ids
            if (order_id in fresh if order_id in wanted else order_id in self._latest)
        ]

    def _changed(self, row: dict[str, Any]) -> bool:
        """Whether a lean row's order was never read in full, or changed since it last was."""
        last = self._latest.get(str(row["id"]))
        return (
            last is None
            or last.updated_at != str(row.get("updated_at") or "")
            or last.status != str(row.get("status") or "pending")
        )

    async def _first_load(self) -> int:
        # The newest change before anything is read: every later change is at or after it.
        head, _ = await self._medusa.list_orders(limit=1, order="-updated_at")
        published = 0
        async for page in self._pages("created_at", None, statuses=UNFINISHED_STATUSES):
            published += self._publish(page)
        recent, _ = await self._medusa.list_orders(limit=RECENT, order="-created_at")
        recent.reverse()
        published += self._publish(recent)
        self._cursor = _moment(head[0].get("updated_at")) if head else None
        self._cursor_moved_at = self._monotonic()
        self._loaded = True
        return published

    async def _pages(
        self,
        field: str,
        since: datetime | None,
        *,
        statuses: tuple[str, ...] = (),
        fields: str = ORDER_FIELDS,
        page: int = PAGE,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every order with ``field`` >= ``since`` (all when None), ascending, in keyset pages
        of ``page`` orders with ``fields`` (Medusa's selection; ``field`` must be among them).

        The next page starts at the last row's ``field`` (inclusive, so rows sharing it are
        read again; publishing skips what it has seen); when one value fills a whole page the
        page is read again, larger (up to ``MAX_PAGE``), until it holds them all.
        """
        bound = since
        limit = page
        while True:
            kwargs = {_SINCE[field]: format_iso(bound) if bound is not None else None}
            rows, _ = await self._medusa.list_orders(
                limit=limit, order=field, statuses=statuses, fields=fields, **kwargs
            )
            yield sorted(rows, key=lambda d: (str(d.get(field) or ""), str(d.get("id"))))
            if len(rows) < limit:
                return
            last = _moment(rows[-1].get(field))
            if last is None:
                log.warning("order %s has no %s; the rest of this scan is left to the next", rows[-1].get("id"), field)
                return
            if bound is not None and last <= bound:
                if limit >= MAX_PAGE:
                    log.warning("more than %d orders share %s=%s; the sweep picks up the rest",
                                MAX_PAGE, field, format_iso(last))
                    return
                limit = min(limit * 2, MAX_PAGE)
                continue
            bound, limit = last, page

    def _publish(self, rows: list[dict[str, Any]], *, advance: bool = False) -> int:
        """Publish the orders not published in this version; ``advance`` moves the change
        cursor (only the change scan may: it alone reads every change up to its rows)."""
        published = 0
        for data in rows:
            order = OrderSummary.from_medusa(data)
            moment = _moment(order.updated_at)
            if advance and moment is not None and (self._cursor is None or moment > self._cursor):
                self._cursor = moment
                self._cursor_moved_at = self._monotonic()
            self._latest[order.id] = order
            mark = _fingerprint(order)
            if self._seen.get(order.id) == mark:
                continue
            self._seen[order.id] = mark
            self._bus.publish(OrderSeen(at=self._now(), order=order))
            published += 1
        return published

    async def run(self) -> None:
        """Poll forever: one poll, render, then wait (polls never overlap); back off when down.

        Sweeps every ``sweep_interval_s`` after a successful poll.
        """
        loop = asyncio.get_running_loop()
        delay = self.interval_s
        next_sweep = loop.time() + self.sweep_interval_s
        while True:
            try:
                await self.poll_once()
                if loop.time() >= next_sweep:
                    await self.sweep_once()
                    next_sweep = loop.time() + self.sweep_interval_s
            except BackendError as exc:
                self._report(False, str(exc))
                delay = min(max(delay * 2, self.interval_s), 30.0)
            except Exception as exc:  # a bug must not stop the feed: say so and go on polling
                log.exception("order feed poll failed")
                self._report(False, f"{type(exc).__name__}: {exc}")
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


def _fingerprint(order: OrderSummary) -> str:
    """What identifies one version of an order: two writes may share a millisecond."""
    return f"{order.updated_at}|{order.status}|{json.dumps(order.metadata, sort_keys=True, default=str)}"


def _moment(value: object) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None
