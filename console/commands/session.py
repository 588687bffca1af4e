"""A console runtime for one CLI verb: connects to running backends, starts nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from console.clients.errors import BackendError
from console.orders import OrderSummary
from console.runtime import ConsoleRuntime
from console.settings import Settings

#: Orders fetched per page when a verb needs all of them.
PAGE = 200


class VerbError(Exception):
    """A verb cannot go on (bad order reference, backend answer); one line for the operator."""


@contextlib.asynccontextmanager
async def verb_runtime(settings: Settings, *, deploy: bool = False) -> AsyncIterator[ConsoleRuntime]:
    """The configured backends, or the embedded ones if they already run (never started here).

    No workers, feeds or auto-start; the operator's actions land in the same audit log as the
    console's keys. Raises console.runtime.StartupError when a backend is not reachable.
    """
    quiet = settings.model_copy(update={"metrics_port": None})
    runtime = ConsoleRuntime(quiet, workers=False, auto_start=False, feeds=False, spawn=False, deploy=deploy)
    try:
        await runtime.start()
        yield runtime
    finally:
        # The audit log is flushed by a background job in the console; here once at the end.
        await asyncio.to_thread(runtime.store.write, runtime.store.take())
        await runtime.stop()


async def all_orders(runtime: ConsoleRuntime) -> list[OrderSummary]:
    """Every order in Medusa, newest first."""
    assert runtime.medusa is not None
    orders: list[OrderSummary] = []
    offset = 0
    while True:
        try:
            page, count = await runtime.medusa.list_orders(limit=PAGE, offset=offset)
        except BackendError as exc:
            raise VerbError(str(exc)) from None
        orders.extend(OrderSummary.from_medusa(o) for o in page)
        offset += len(page)
        if not page or offset >= count:
            return orders


async def resolve(runtime: ConsoleRuntime, references: list[str]) -> list[OrderSummary]:
    """The orders named by id (order_…) or display id (#12 or 12), in the order given."""
    assert runtime.medusa is not None
    by_id: dict[str, OrderSummary] = {}
    needs_list = [r for r in references if not r.startswith("order_")]
    listed = await all_orders(runtime) if needs_list else []
    by_display = {str(o.display_id): o for o in listed if o.display_id is not None}
    by_id.update({o.id: o for o in listed})
    found = []
    for reference in references:
        if reference.startswith("order_") and reference not in by_id:
            try:
                by_id[reference] = OrderSummary.from_medusa(await runtime.medusa.get_order(reference))
            except BackendError as exc:
                raise VerbError(f"order {reference}: {exc}") from None
        order = by_id.get(reference) or by_display.get(reference.removeprefix("#"))
        if order is None:
            raise VerbError(f"no order {reference!r} (give an order id or a display id such as #12)")
        found.append(order)
    return found
