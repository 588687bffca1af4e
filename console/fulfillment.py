"""Start, retry and cancel fulfillment of one order (the operator's three actions)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bpmn import ORDER_PROCESS_ID
from console.bus import EventBus
from console.claims import CLAIM_KEY, Claim, claim_of, default_console_id
from console.clients.camunda_rest import CamundaRest
from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin
from console.clients.zeebe import ZeebeGateway
from console.events import (
    IncidentResolved,
    InstanceCancelled,
    InstanceStarted,
    OperatorAction,
    StartFailed,
)
from console.orders import OrderSummary
from protocol.timestamps import format_iso, parse_timestamp
from workers.order_gate import OrderGate
from workers.stages import STATUS_CANCELLED, STATUS_STARTED

log = logging.getLogger(__name__)

#: Job retries given back when the operator retries an incident (the BPMN's own number).
RETRY_JOB_RETRIES = 3
#: Pauses between the checks that a resolved incident is gone (about 5 s in all).
RESOLVE_CHECK_WAITS_S = (0.1, 0.2, 0.4, 0.8, 1.5, 2.0)


#: How many of its own recent starts a console remembers, to repair a lost metadata write.
RECENT_STARTS = 10_000
#: Clock difference between consoles that recovering a stale claim tolerates.
CLAIM_CLOCK_SKEW_S = 30.0


class FulfillmentError(Exception):
    """An operator action could not be done; ``str()`` says why in one line."""


class ClaimLost(FulfillmentError):
    """Another console holds (or just won) the order's claim: it starts the order, not us."""


class FulfillmentService:
    """The seed's ``order.placed`` subscriber plus the operator's retry and cancel."""

    def __init__(
        self,
        zeebe: ZeebeGateway,
        rest: CamundaRest,
        medusa: MedusaAdmin,
        bus: EventBus,
        now: Callable[[], datetime] | None = None,
        *,
        console_id: str | None = None,
        claim_settle_s: float = 1.0,
        claim_ttl_s: float = 60.0,
        process_id: str = ORDER_PROCESS_ID,
        gate: OrderGate | None = None,
    ) -> None:
        self.process_id = process_id
        self._zeebe = zeebe
        self._rest = rest
        self._medusa = medusa
        self._bus = bus
        self._now = now or (lambda: datetime.now(UTC))
        self.console_id = console_id or default_console_id()
        self.claim_settle_s = claim_settle_s
        self.claim_ttl_s = claim_ttl_s
        #: Shared with the workers' status callback: our metadata writes never overlap theirs.
        self.gate = gate or OrderGate()
        self._starting: set[str] = set()
        self._recent: OrderedDict[str, int] = OrderedDict()

    async def start(self, order: OrderSummary, *, by: str = "operator") -> int:
        """Claim ``order``, create its process instance and record it in the order's metadata.

        Raises ClaimLost when another console holds or wins the claim, FulfillmentError
        for anything else that stops the start. An order whose claim went stale without an
        instance being recorded is first looked up in the engine, so a console that died
        after creating the instance never causes a second one.
        """
        if order.id in self._starting:
            raise FulfillmentError(f"order {order.label} is being started already")
        self._starting.add(order.id)
        try:
            refusal = _already_running(order)
            if refusal:
                raise FulfillmentError(refusal)
            held = claim_of(order.metadata)
            if held is not None:
                # Our own id on a claim we are not working on is a leftover of an earlier run.
                if held.owner != self.console_id and not held.is_stale(self._now(), self.claim_ttl_s):
                    raise ClaimLost(f"order {order.label} is being started by {held.owner}")
                found = await self._instance_since(order, held)
                if found is not None:
                    await self._record_instance(order.id, found)
                    self._audit("recover", order.id, "ok", f"stale claim of {held.owner}: instance {found}", by)
                    return found
            await self._claim(order)
            return await self._create(order, by)
        except ClaimLost as exc:
            self._audit("start", order.id, "skipped", str(exc), by)
            raise
        finally:
            self._starting.discard(order.id)

    def now(self) -> datetime:
        return self._now()

    def is_starting(self, order_id: str) -> bool:
        """True while this console is claiming or starting ``order_id``."""
        return order_id in self._starting

    async def fresh(self, order_id: str) -> OrderSummary:
        """The order as Medusa has it now."""
        return OrderSummary.from_medusa(await self._medusa.get_order(order_id))

    def claim_stale_at(self, order_id: str, claim: Claim) -> float | None:
        """When ``claim`` may be taken over (unix time); None while we are starting the order.

        Our own id on a claim we are not working on is left from an earlier run of this
        console (same ``MEDCAM_CONSOLE_ID``): it may be taken over at once.
        """
        if claim.owner == self.console_id:
            return None if order_id in self._starting else 0.0
        return claim.stale_at(self.claim_ttl_s)

    def recorded_instance(self, order_id: str) -> int | None:
        """The instance this console created for ``order_id`` lately (for repairing a lost write)."""
        return self._recent.get(order_id)

    async def repair(self, order: OrderSummary) -> bool:
        """Write back our ``workflow_instance`` if a concurrent metadata write dropped it."""
        key = self._recent.get(order.id)
        if key is None or order.id in self._starting or order.workflow_instance is not None or order.workflow_status == STATUS_CANCELLED:
            return False
        await self._record_instance(order.id, key)
        self._audit("repair", order.id, "ok", f"workflow_instance {key} written again", "auto")
        return True

    async def _merge(self, order_id: str, metadata: dict[str, object]) -> None:
        """Merge into the order's metadata, never overlapping a status callback to it."""
        async with self.gate.hold(order_id):
            await self._medusa.merge_metadata(order_id, metadata)

    async def _claim(self, order: OrderSummary) -> None:
        """Write our claim, let rival claims land, and go on only if ours is the one kept."""
        claim = Claim.make(self.console_id, self._now())
        await self._merge(order.id, {CLAIM_KEY: claim.token()})
        if self.claim_settle_s > 0:
            await asyncio.sleep(self.claim_settle_s)
        fresh = await self.fresh(order.id)
        kept = claim_of(fresh.metadata)
        if kept is None or kept.token() != claim.token():
            owner = kept.owner if kept is not None else "another console"
            raise ClaimLost(f"order {order.label} was claimed by {owner}")
        if fresh.workflow_instance != order.workflow_instance:
            # Another console recorded its instance before our claim landed: take ours back
            # (clearing a rival's claim by accident only makes it skip too, never start twice).
            await self._merge(order.id, {CLAIM_KEY: ""})
            raise ClaimLost(f"order {order.label} got workflow {fresh.workflow_instance} meanwhile")

    async def _create(self, order: OrderSummary, by: str) -> int:
        started_at = format_iso(self._now())
        # "started" goes in before the instance exists: with fast stages the workers'
        # callbacks can land before our next write, and must never be overwritten by it.
        await self._merge(
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
                self.process_id, {"orderId": order.id, "timestamp": started_at}
            )
        except BackendError as exc:
            if exc.transient:
                # Zeebe was away or slow: the instance may exist or not. Our claim stays, so
                # the next try (auto-start's recheck, or the operator's) looks the order up
                # in the engine first and records what it finds instead of starting it twice.
                self._audit("start", order.id, "interrupted", str(exc), by)
                raise
            await self._record_start_error(order, str(exc))
            self._audit("start", order.id, "failed", str(exc), by)
            raise FulfillmentError(str(exc)) from None
        self._remember(order.id, key)
        self._bus.publish(InstanceStarted(at=self._now(), order_id=order.id, process_instance_key=key))
        await self._record_instance(order.id, key)
        self._audit("start", order.id, "ok", f"instance {key}", by)
        return key

    async def _record_instance(self, order_id: str, key: int) -> None:
        """Record the instance and release the claim in one write, retried: losing it would
        leave the order looking unstarted."""
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(4), wait=wait_exponential(multiplier=0.5, max=4),
            retry=retry_if_exception_type(BackendError), reraise=True,
        ):
            with attempt:
                await self._merge(order_id, {"workflow_instance": str(key), CLAIM_KEY: ""})

    async def _instance_since(self, order: OrderSummary, claim: Claim) -> int | None:
        """The instance a stale claim's console created for ``order``, if the engine has one."""
        try:
            items = await self._rest.instances_with_variable(self.process_id, "orderId", order.id)
        except BackendError as exc:
            if exc.transient:
                raise  # the engine is away: try again later, nothing was decided
            raise FulfillmentError(
                f"order {order.label} has a stale claim by {claim.owner} and the engine cannot be "
                f"searched for its instance ({exc}); check Operate before starting it"
            ) from None
        # Keys are not comparable with a claim's time, start dates are (the margin covers clock skew).
        since = claim.at.timestamp() - CLAIM_CLOCK_SKEW_S
        for item in items:
            started = parse_timestamp(item.get("startDate"))
            if started is None or started.timestamp() >= since:
                return int(item["processInstanceKey"])
        return None

    def _remember(self, order_id: str, key: int) -> None:
        self._recent[order_id] = key
        self._recent.move_to_end(order_id)
        while len(self._recent) > RECENT_STARTS:
            self._recent.popitem(last=False)

    async def retry(self, order: OrderSummary, retries: int = RETRY_JOB_RETRIES) -> int:
        """Give the failed job ``retries`` back, then resolve its incident (that order is
        required), then check with the engine that the incident is gone."""
        if retries < 1:
            raise FulfillmentError(f"retries to give back must be at least 1, not {retries}")
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
                    await self._zeebe.update_job_retries(incident.job_key, retries)
                await self._zeebe.resolve_incident(incident.key)
            except BackendError as exc:
                self._audit("retry", order.id, "failed", str(exc))
                raise FulfillmentError(str(exc)) from None
            self._bus.publish(
                IncidentResolved(at=self._now(), incident_key=incident.key, process_instance_key=key, order_id=order.id)
            )
        try:
            left = await self._still_open(key, {i.key for i in incidents})
        except BackendError as exc:
            self._audit("retry", order.id, "unchecked", f"resolved, but the check failed: {exc}")
            raise FulfillmentError(f"order {order.label}: resolved, but the check failed: {exc}") from None
        if left:
            self._audit("retry", order.id, "failed", f"incident {min(left)} is still open after resolving")
            raise FulfillmentError(f"order {order.label}: incident {min(left)} is still open after resolving")
        self._audit("retry", order.id, "ok", f"{len(incidents)} incident(s) resolved with {retries} retries; gone")
        return len(incidents)

    async def _still_open(self, instance_key: int, resolved: set[int]) -> set[int]:
        """Which of the ``resolved`` incidents the engine still lists. Camunda's search is
        eventually consistent, so a still-listed incident is asked about again for a while."""
        left = resolved
        for wait_s in RESOLVE_CHECK_WAITS_S:
            left = {i.key for i in await self._rest.incidents_of(instance_key)} & resolved
            if not left:
                break
            await asyncio.sleep(wait_s)
        return left

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
        await self._merge(
            order.id,
            {
                "workflow_status": STATUS_CANCELLED,
                "workflow_message": "Fulfillment cancelled by operator",
                "last_updated": format_iso(self._now()),
            },
        )
        self._audit("cancel", order.id, "ok", f"instance {key}")

    async def _record_start_error(self, order: OrderSummary, error: str) -> None:
        self._bus.publish(StartFailed(at=self._now(), order_id=order.id, error=error))
        try:
            await self._merge(
                order.id,
                {
                    "workflow_status": "",
                    "workflow_started_at": "",
                    "workflow_error": error[:500],
                    "workflow_error_at": format_iso(self._now()),
                    CLAIM_KEY: "",
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


def _already_running(order: OrderSummary) -> str | None:
    """Why ``order`` must not get a new instance (it has one that is not cancelled), or None."""
    if order.workflow_instance is not None and order.workflow_status not in (STATUS_CANCELLED, None):
        return f"order {order.label} already has workflow {order.workflow_instance} ({order.workflow_status})"
    return None


class AutoStarter:
    """Plays the seed's ``order.placed`` subscriber: starts orders that have no workflow yet.

    It also keeps orders consistent across consoles: an order claimed by another console is
    looked at again when the claim goes stale (that console may have died), and an order
    whose ``workflow_instance`` this console wrote but which came back without it (a
    concurrent read-merge-write of the metadata dropped it) gets it written again.
    """

    def __init__(self, service: FulfillmentService, concurrency: int = 16, retry_after_s: float = 5.0) -> None:
        self._service = service
        self._limit = asyncio.Semaphore(concurrency)
        #: After a backend failure an order is looked at again this much later.
        self.retry_after_s = retry_after_s
        #: Orders with a start or repair task queued or running.
        self._pending: set[str] = set()
        #: order id -> the claim token (or "") it was last acted on for; each state once.
        self._handled: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._rechecks: dict[str, asyncio.TimerHandle] = {}

    def consider(self, order: OrderSummary) -> None:
        if order.status != "pending" or order.metadata.get("workflow_error") or order.id in self._pending:
            return
        service = self._service
        if order.workflow_instance is None and service.recorded_instance(order.id) is not None:
            self._pending.add(order.id)
            self._spawn(self._repair(order))
            return
        if order.workflow_instance is not None:
            return
        claim = claim_of(order.metadata)
        state = claim.token() if claim is not None else ""
        if self._handled.get(order.id) == state:
            return
        if claim is not None:
            stale_at = service.claim_stale_at(order.id, claim)
            if stale_at is None:
                return  # our own start is under way
            if service.now().timestamp() < stale_at:
                self._recheck_at(order, stale_at)
                return
        self._handled[order.id] = state
        self._pending.add(order.id)
        self._spawn(self._start(order))

    def _recheck_at(self, order: OrderSummary, when: float) -> None:
        """Look at the order again once its claim is stale (unless it changes before)."""
        if order.id in self._rechecks:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, when - self._service.now().timestamp()) + 0.05

        def fire() -> None:
            self._rechecks.pop(order.id, None)
            self._spawn(self._refresh(order.id))

        self._rechecks[order.id] = loop.call_later(delay, fire)

    async def _refresh(self, order_id: str) -> None:
        try:
            order = await self._service.fresh(order_id)
        except BackendError:
            return
        self.consider(order)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, order: OrderSummary) -> None:
        try:
            async with self._limit:
                try:
                    await self._service.start(order, by="auto")
                except ClaimLost as exc:
                    log.info("auto-start skipped: %s", exc, extra={"order_id": order.id})
                except FulfillmentError:
                    pass  # recorded in the order's metadata and on the bus
                except BackendError as exc:
                    # Medusa did not take a write (the claim, say): nothing was decided, so
                    # the order is looked at again later instead of being given up.
                    log.warning("auto-start interrupted, trying again in %g s: %s", self.retry_after_s, exc,
                                extra={"order_id": order.id})
                    self._handled.pop(order.id, None)
                    self._recheck_at(order, self._service.now().timestamp() + self.retry_after_s)
        finally:
            self._pending.discard(order.id)

    async def _repair(self, order: OrderSummary) -> None:
        try:
            await self._service.repair(order)
        except BackendError as exc:
            log.warning("repairing workflow_instance failed: %s", exc, extra={"order_id": order.id})
        finally:
            self._pending.discard(order.id)

    async def drain(self) -> None:
        for handle in self._rechecks.values():
            handle.cancel()
        self._rechecks.clear()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
