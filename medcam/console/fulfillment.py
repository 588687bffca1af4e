"""Start, retry and cancel fulfillment of one order (the operator's three actions)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from medcam.bpmn import ORDER_PROCESS_ID
from medcam.console.bus import EventBus
from medcam.console.clients.camunda_rest import CamundaRest
from medcam.console.clients.errors import BackendError
from medcam.console.clients.medusa import MedusaAdmin
from medcam.console.clients.zeebe import ZeebeGateway
from medcam.console.events import (
    IncidentResolved,
    InstanceCancelled,
    InstanceStarted,
    OperatorAction,
    StartFailed,
)
from medcam.console.orders import OrderSummary
from medcam.workers.handlers import iso_millis
from medcam.workers.stages import STATUS_CANCELLED, STATUS_STARTED

log = logging.getLogger(__name__)

#: Job retries given back when the operator retries an incident (the BPMN's own number).
RETRY_JOB_RETRIES = 3


class FulfillmentError(Exception):
    """An operator action could not be done; ``str()`` says why in one line."""


class FulfillmentService:
    """The seed's ``order.placed`` subscriber plus the operator's retry and cancel."""

    def __init__(
        self,
        zeebe: ZeebeGateway,
        rest: CamundaRest,
        medusa: MedusaAdmin,
        bus: EventBus,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._zeebe = zeebe
        self._rest = rest
        self._medusa = medusa
        self._bus = bus
        self._now = now or (lambda: datetime.now(UTC))
        self._starting: set[str] = set()

    async def start(self, order: OrderSummary, *, by: str = "operator") -> int:
        """Create a process instance for ``order`` and record it in the order's metadata."""
        if order.workflow_instance is not None and order.workflow_status not in (STATUS_CANCELLED, None):
            raise FulfillmentError(
                f"order {order.label} already has workflow {order.workflow_instance} ({order.workflow_status})"
            )
        if order.id in self._starting:
            raise FulfillmentError(f"order {order.label} is being started already")
        self._starting.add(order.id)
        try:
            started_at = iso_millis(self._now())
            # "started" goes in before the instance exists: with fast stages the workers'
            # callbacks can land before our next write, and must never be overwritten by it.
            await self._medusa.merge_metadata(
                order.id,
                {
                    "workflow_status": STATUS_STARTED,
                    "workflow_started_at": started_at,
                    "workflow_error": "",
                    "workflow_error_at": "",
                },
            )
            try:
                key = await self._zeebe.create_instance(
                    ORDER_PROCESS_ID, {"orderId": order.id, "timestamp": started_at}
                )
            except BackendError as exc:
                await self._record_start_error(order, str(exc))
                self._audit("start", order.id, "failed", str(exc), by)
                raise FulfillmentError(str(exc)) from None
            self._bus.publish(InstanceStarted(at=self._now(), order_id=order.id, process_instance_key=key))
            # The instance runs now: losing this write would let a later auto-start create a
            # second one, so a passing Medusa fault is retried.
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(4), wait=wait_exponential(multiplier=0.5, max=4),
                retry=retry_if_exception_type(BackendError), reraise=True,
            ):
                with attempt:
                    await self._medusa.merge_metadata(order.id, {"workflow_instance": str(key)})
            self._audit("start", order.id, "ok", f"instance {key}", by)
            return key
        finally:
            self._starting.discard(order.id)

    async def retry(self, order: OrderSummary) -> int:
        """Give the failed job retries back, then resolve its incident (that order is required)."""
        key = order.workflow_instance
        if key is None:
            raise FulfillmentError(f"order {order.label} has no workflow to retry")
        try:
            incidents = await self._rest.incidents_of(key)
        except BackendError as exc:
            raise FulfillmentError(str(exc)) from None
        if not incidents:
            raise FulfillmentError(f"order {order.label} has no open incident")
        for incident in incidents:
            try:
                if incident.job_key is not None:
                    await self._zeebe.update_job_retries(incident.job_key, RETRY_JOB_RETRIES)
                await self._zeebe.resolve_incident(incident.key)
            except BackendError as exc:
                self._audit("retry", order.id, "failed", str(exc))
                raise FulfillmentError(str(exc)) from None
            self._bus.publish(
                IncidentResolved(at=self._now(), incident_key=incident.key, process_instance_key=key, order_id=order.id)
            )
        self._audit("retry", order.id, "ok", f"{len(incidents)} incident(s) resolved")
        return len(incidents)

    async def cancel(self, order: OrderSummary) -> None:
        """Cancel the order's process instance and mark the metadata cancelled."""
        key = order.workflow_instance
        if key is None:
            raise FulfillmentError(f"order {order.label} has no workflow to cancel")
        try:
            await self._zeebe.cancel_instance(key)
        except BackendError as exc:
            if exc.code != "NOT_FOUND":
                self._audit("cancel", order.id, "failed", str(exc))
                raise FulfillmentError(str(exc)) from None
            # Already finished or gone: still record the operator's decision if it was not done.
            if order.workflow_status == "completed":
                raise FulfillmentError(f"order {order.label} has already completed") from None
        self._bus.publish(InstanceCancelled(at=self._now(), order_id=order.id, process_instance_key=key))
        await self._medusa.merge_metadata(
            order.id,
            {
                "workflow_status": STATUS_CANCELLED,
                "workflow_message": "Fulfillment cancelled by operator",
                "last_updated": iso_millis(self._now()),
            },
        )
        self._audit("cancel", order.id, "ok", f"instance {key}")

    async def _record_start_error(self, order: OrderSummary, error: str) -> None:
        self._bus.publish(StartFailed(at=self._now(), order_id=order.id, error=error))
        try:
            await self._medusa.merge_metadata(
                order.id,
                {
                    "workflow_status": "",
                    "workflow_started_at": "",
                    "workflow_error": error[:500],
                    "workflow_error_at": iso_millis(self._now()),
                },
            )
        except BackendError:
            pass  # Medusa down too: the event above still tells the operator.

    def _audit(self, action: str, order_id: str, outcome: str, detail: str = "", by: str = "operator") -> None:
        log.info("%s %s: %s", action, outcome, detail, extra={"order_id": order_id, "by": by})
        self._bus.publish(
            OperatorAction(at=self._now(), action=action if by == "operator" else f"{by}-{action}",
                           order_id=order_id, outcome=outcome, detail=detail)
        )


class AutoStarter:
    """Plays the seed's ``order.placed`` subscriber: starts orders that have no workflow yet."""

    def __init__(self, service: FulfillmentService, concurrency: int = 16) -> None:
        self._service = service
        self._limit = asyncio.Semaphore(concurrency)
        self._tried: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def consider(self, order: OrderSummary) -> None:
        if order.workflow_instance is not None or order.metadata.get("workflow_error"):
            return
        if order.status not in ("pending",) or order.id in self._tried:
            return
        self._tried.add(order.id)
        task = asyncio.get_running_loop().create_task(self._start(order))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, order: OrderSummary) -> None:
        async with self._limit:
            try:
                await self._service.start(order, by="auto")
            except (FulfillmentError, BackendError):
                pass  # recorded in the order's metadata and on the bus

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
