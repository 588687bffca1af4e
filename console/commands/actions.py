"""``start``, ``retry`` and ``cancel`` for named orders, through the console's FulfillmentService."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from console.clients.errors import BackendError
from console.commands.session import VerbError, all_orders
from console.fulfillment import FulfillmentError
from console.orders import OrderSummary
from console.runtime import ConsoleRuntime

#: Open incidents fetched for ``retry --all-incidents`` (the REST search's page limit).
INCIDENT_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What one verb did to one order."""

    action: str
    order: str
    display_id: int | None
    ok: bool
    detail: str

    def line(self) -> str:
        label = f"#{self.display_id} ({self.order})" if self.display_id is not None else self.order
        return f"{self.action} {label}: {'ok' if self.ok else 'FAILED'}, {self.detail}"

    def as_json(self) -> dict[str, object]:
        return asdict(self)


async def act(runtime: ConsoleRuntime, action: str, orders: list[OrderSummary]) -> list[ActionResult]:
    """Run ``action`` (start, retry, cancel) on each order in turn; one result each."""
    service = runtime.fulfillment
    assert service is not None
    results = []
    for order in orders:
        try:
            # Act on the order as Medusa has it now, as the console's keys do.
            fresh = await service.fresh(order.id)
            if action == "start":
                detail = f"instance {await service.start(fresh)}"
            elif action == "retry":
                detail = f"{await service.retry(fresh)} incident(s) resolved"
            else:
                await service.cancel(fresh)
                detail = f"instance {fresh.workflow_instance} cancelled"
        except (FulfillmentError, BackendError) as exc:
            results.append(ActionResult(action, order.id, order.display_id, False, str(exc)))
        else:
            results.append(ActionResult(action, order.id, order.display_id, True, detail))
    return results


async def orders_with_incidents(runtime: ConsoleRuntime) -> tuple[list[OrderSummary], list[ActionResult]]:
    """Orders whose workflow has an open incident, and a failed result per incident without an order."""
    if runtime.rest is None:
        raise VerbError("ZEEBE_REST_ADDRESS is not set, so incidents cannot be listed")
    try:
        incidents = await runtime.rest.active_incidents(limit=INCIDENT_LIMIT)
    except BackendError as exc:
        raise VerbError(str(exc)) from None
    if not incidents:
        return [], []
    by_instance = {o.workflow_instance: o for o in await all_orders(runtime) if o.workflow_instance is not None}
    orders: dict[str, OrderSummary] = {}
    orphans = []
    for incident in incidents:
        order = by_instance.get(incident.process_instance_key)
        if order is not None:
            orders.setdefault(order.id, order)
        else:
            orphans.append(ActionResult(
                "retry", f"instance {incident.process_instance_key}", None, False,
                f"incident {incident.key} belongs to no order's workflow_instance; resolve it in Operate",
            ))
    return list(orders.values()), orphans
