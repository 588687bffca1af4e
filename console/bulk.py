"""Bulk retry and cancel: the dry run (what will happen to each order) and the run with outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from console.state import ConsoleState
from workers.stages import STATUS_CANCELLED, stage_label

FINAL_STATUSES = frozenset({"completed", STATUS_CANCELLED, "payment_declined"})
#: Orders acted on at once (each one is a few calls to the engine or Medusa).
CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class BulkItem:
    """One order in a bulk action: what the dry run says, and whether it will be acted on."""

    order_id: str
    label: str
    plan: str
    runnable: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    order_id: str
    ok: bool
    detail: str


def plan_retry(state: ConsoleState, order_ids: Iterable[str], retries: int) -> list[BulkItem]:
    """Orders with an open incident get their job's retries back and the incident resolved."""
    items = []
    for order_id in order_ids:
        view = state.orders.get(order_id)
        if view is None:
            continue
        incident = state.incident_for_order(order_id)
        if incident is None:
            items.append(BulkItem(order_id, view.order.label, "skip: no open incident", False))
        else:
            items.append(BulkItem(order_id, view.order.label,
                                  f"{stage_label(incident.stage)}: give {retries} retries, resolve", True))
    return items


def plan_cancel(state: ConsoleState, order_ids: Iterable[str]) -> list[BulkItem]:
    """Orders with a running workflow get it cancelled and their metadata marked cancelled."""
    items = []
    for order_id in order_ids:
        view = state.orders.get(order_id)
        if view is None:
            continue
        status = view.order.workflow_status
        if view.order.workflow_instance is None:
            items.append(BulkItem(order_id, view.order.label, "skip: no workflow", False))
        elif status in FINAL_STATUSES:
            items.append(BulkItem(order_id, view.order.label, f"skip: already {status}", False))
        else:
            items.append(BulkItem(order_id, view.order.label,
                                  f"cancel {view.order.workflow_instance}, mark cancelled", True))
    return items


async def run_bulk(
    items: list[BulkItem],
    act: Callable[[str], Awaitable[str]],
    on_outcome: Callable[[Outcome], None],
    concurrency: int = CONCURRENCY,
) -> list[Outcome]:
    """Run ``act(order_id)`` for every runnable item, a few at once; an exception is that order's failure."""
    limit = asyncio.Semaphore(concurrency)

    async def one(item: BulkItem) -> Outcome:
        async with limit:
            try:
                outcome = Outcome(item.order_id, True, await act(item.order_id))
            except Exception as exc:  # each order's failure is its own outcome, never the batch's
                outcome = Outcome(item.order_id, False, str(exc) or type(exc).__name__)
        on_outcome(outcome)
        return outcome

    return list(await asyncio.gather(*(one(item) for item in items if item.runnable)))


def summary(outcomes: list[Outcome]) -> str:
    ok = sum(1 for o in outcomes if o.ok)
    failed = len(outcomes) - ok
    return f"{ok} ok, {failed} failed" if failed else f"{ok} ok"
