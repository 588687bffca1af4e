"""The reconciler: keeps each order's engine truth, finds drift in Medusa's metadata, repairs it."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from bpmn import ORDER_PROCESS_ID
from console.bus import EventBus
from console.claims import CLAIM_KEY
from console.clients.camunda_rest import CamundaRest
from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin
from console.drift import ENDED, Drift, EngineTruth, find_drift, rank, stage_message
from console.events import (
    DriftDetected,
    DriftRepaired,
    EngineTruthSeen,
    IncidentRaised,
    IncidentResolved,
    InstanceCancelled,
    InstanceStarted,
    JobActivated,
    JobFailed,
    OperatorAction,
    OrderSeen,
    PaymentDeclined,
    StageAbandoned,
    StageCompleted,
)
from console.orders import OrderSummary
from protocol.progress import CANCELLED, ORDER_CANCELED, WORKFLOW_SEQUENCE
from protocol.timestamps import format_iso
from workers.order_gate import OrderGate
from workers.stages import STAGE_BY_ELEMENT, STAGE_BY_TYPE, STAGES

log = logging.getLogger(__name__)

#: Orders whose truth is asked of the engine per round, and how often a round runs.
REMOTE_BATCH = 50
#: Failed checks and repairs are tried again this much later.
RETRY_S = 2.0


class Reconciler:
    """Compares Medusa's metadata with where the engine has each order, and repairs drift.

    The truth comes from this console's own workers' events (a stage is done once its
    callback was accepted) or, for orders others run, from the engine's REST v2 searches
    (process instance state, completed jobs). A disagreement is looked at again after
    ``grace_s`` (the feed may simply not have seen the latest write yet), first in the
    feed's newest copy, then in a fresh read; if it holds, it is published as
    ``DriftDetected`` and, when ``repair`` is on, the truth is merged back through the
    Admin API (holding the order's gate, so it never overlaps a status callback), the order
    completed if it should be, and ``DriftRepaired`` plus an audit entry published.
    """

    def __init__(
        self,
        medusa: MedusaAdmin,
        bus: EventBus,
        rest: CamundaRest | None = None,
        gate: OrderGate | None = None,
        *,
        repair: bool = True,
        busy: Callable[[str], bool] = lambda order_id: False,
        grace_s: float = 2.0,
        remote_interval_s: float = 2.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._medusa = medusa
        self._bus = bus
        self._rest = rest
        self.gate = gate or OrderGate()
        self.repair = repair
        self._busy = busy
        self.grace_s = grace_s
        self.remote_interval_s = remote_interval_s
        self._now = now or (lambda: datetime.now(UTC))
        self.truth: dict[str, EngineTruth] = {}
        self._latest: dict[str, OrderSummary] = {}
        self._highest: dict[str, int] = {}
        self._orders_of: dict[int, str] = {}
        #: Jobs of each order this console's workers hold now (stages may run side by side).
        self._jobs: dict[str, set[int]] = {}
        self._checks: dict[str, asyncio.TimerHandle] = {}
        self._checking: set[str] = set()
        self._remote: OrderedDict[str, None] = OrderedDict()
        self._remote_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.detected = 0
        self.repaired = 0
        bus.subscribe(self.observe)

    # ------------------------------------------------------------------ truth from events
    def observe(self, event: object) -> None:
        """Fold one bus event in (the bus calls this for every event)."""
        if isinstance(event, OrderSeen):
            self._order_seen(event.order)
            return
        order_id = self._truth_event(event)
        if order_id is not None and order_id in self._latest:
            self._consider(order_id)

    def _truth_event(self, event: object) -> str | None:
        """Update the truth from a worker or operator event; the order it concerns, if any."""
        if isinstance(event, InstanceStarted):
            self._jobs.pop(event.order_id, None)
            self._set(event.order_id, EngineTruth(event.process_instance_key))
            return event.order_id
        if isinstance(event, JobActivated | StageCompleted):
            jobs = self._jobs.setdefault(event.order_id, set())
            if isinstance(event, JobActivated):
                jobs.add(event.job_key)
            else:
                jobs.discard(event.job_key)
            stage = STAGE_BY_TYPE.get(event.stage)
            current = self.truth.get(event.order_id)
            if current is None or current.instance_key != event.process_instance_key:
                current = EngineTruth(event.process_instance_key)
            done = 0 if stage is None else stage.number if isinstance(event, StageCompleted) else stage.number - 1
            state = "COMPLETED" if done >= len(STAGES) else current.state
            self._set(event.order_id, current.advanced(
                done, running=bool(jobs), incident=False, source="workers", state=state))
            return event.order_id
        if isinstance(event, JobFailed | StageAbandoned | IncidentRaised):
            jobs = self._jobs.setdefault(event.order_id, set())
            jobs.discard(event.job_key)
            current = self.truth.get(event.order_id)
            if current is not None:
                raised = isinstance(event, IncidentRaised) or current.incident
                self._set(event.order_id, current.advanced(0, running=bool(jobs), incident=raised))
            return event.order_id
        if isinstance(event, PaymentDeclined):
            current = self.truth.get(event.order_id) or EngineTruth(event.process_instance_key)
            self._set(event.order_id, current.advanced(0, state="DECLINED"))
            return event.order_id
        if isinstance(event, IncidentResolved):
            order_id = event.order_id or self._orders_of.get(event.process_instance_key)
            current = self.truth.get(order_id) if order_id else None
            if order_id is None or current is None:
                return None
            self._set(order_id, current.advanced(0, incident=False))
            return order_id
        if isinstance(event, InstanceCancelled):
            current = self.truth.get(event.order_id) or EngineTruth(event.process_instance_key)
            self._set(event.order_id, current.advanced(0, state="CANCELED", running=False))
            return event.order_id
        return None

    def _set(self, order_id: str, truth: EngineTruth) -> None:
        self.truth[order_id] = truth
        self._orders_of[truth.instance_key] = order_id

    def _order_seen(self, order: OrderSummary) -> None:
        self._latest[order.id] = order
        self._consider(order.id)
        seen = rank(order.workflow_status)
        if seen is not None and seen > self._highest.get(order.id, -1):
            self._highest[order.id] = seen

    # ------------------------------------------------------------------ drift
    def drift_of(self, order: OrderSummary) -> Drift | None:
        """The drift of ``order`` against the truth known now (None when there is none)."""
        return find_drift(order, self.truth.get(order.id), self._highest.get(order.id))

    def _consider(self, order_id: str) -> None:
        order = self._latest[order_id]
        truth = self.truth.get(order_id)
        if truth is None or truth.source != "workers":
            if self._rest is not None and _unfinished(order):
                self._remote.setdefault(order_id, None)
            if truth is None:
                return
        if truth.running or self._busy(order_id) or self.drift_of(order) is None:
            return
        self._schedule(order_id, self.grace_s)

    def _schedule(self, order_id: str, delay: float) -> None:
        if order_id in self._checks or order_id in self._checking:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._checks.pop(order_id, None)
            self._spawn(self._check(order_id))

        self._checks[order_id] = loop.call_later(delay, fire)

    async def _check(self, order_id: str) -> None:
        """Confirm the drift on a fresh read, publish it and (if allowed) repair it."""
        self._checking.add(order_id)
        try:
            if self._settled(self._latest.get(order_id)):
                return
            try:
                fresh = OrderSummary.from_medusa(await self._medusa.get_order(order_id))
            except BackendError as exc:
                log.info("drift check postponed: %s", exc, extra={"order_id": order_id})
                self._retry(order_id)
                return
            self._latest[order_id] = fresh
            if self._settled(fresh):
                return
            truth = self.truth[order_id]
            drift = self.drift_of(fresh)
            assert drift is not None
            self.detected += 1
            self._bus.publish(DriftDetected(at=self._now(), order_id=order_id, kind=drift.kind, detail=drift.detail))
            if not self.repair:
                return
            try:
                written = await self._write_back(fresh, truth, drift)
            except BackendError as exc:
                self._audit(order_id, "failed", f"{drift.kind}: {exc}")
                self._retry(order_id)
                return
            if not written:
                self._retry(order_id)  # the workers moved on meanwhile: look again
                return
            self.repaired += 1
            self._bus.publish(DriftRepaired(at=self._now(), order_id=order_id, kind=drift.kind, detail=drift.detail))
            self._audit(order_id, "ok", f"{drift.kind}: {drift.detail}")
        finally:
            self._checking.discard(order_id)

    def _settled(self, order: OrderSummary | None) -> bool:
        """True when there is nothing to do for ``order`` now (no drift, or work under way)."""
        if order is None:
            return True
        truth = self.truth.get(order.id)
        return truth is None or truth.running or self._busy(order.id) or self.drift_of(order) is None

    def _retry(self, order_id: str) -> None:
        self._schedule(order_id, RETRY_S)

    async def _write_back(self, order: OrderSummary, truth: EngineTruth, drift: Drift) -> bool:
        """Merge the truth into the metadata (and complete the order) under the order's gate.

        Returns False without writing when the truth changed while waiting for the gate (a
        job of the order started or finished): the status to write may be out of date.
        """
        update: dict[str, object] = {}
        if drift.status is not None:
            update["workflow_status"] = drift.status
            message = stage_message(drift.status)
            if message is not None:
                update["workflow_message"] = message
            update["last_updated"] = format_iso(self._now())
        if drift.instance_key is not None:
            update["workflow_instance"] = str(drift.instance_key)
            update[CLAIM_KEY] = ""
        async with self.gate.hold(order.id):
            if self.truth.get(order.id) != truth:
                return False
            if update:
                await self._medusa.merge_metadata(order.id, update)
            if truth.stages_done >= len(STAGES) and order.status != "completed":
                await self._medusa.complete_order(order.id)
        return True

    def _audit(self, order_id: str, outcome: str, detail: str) -> None:
        log.info("drift repair %s: %s", outcome, detail, extra={"order_id": order_id})
        self._bus.publish(OperatorAction(at=self._now(), action="auto-drift-repair", order_id=order_id,
                                         outcome=outcome, detail=detail))

    # ------------------------------------------------------------------ truth from the engine
    async def run(self) -> None:
        """Ask the engine for the truth of orders others run, a batch per round, forever."""
        while True:
            await asyncio.sleep(self.remote_interval_s)
            try:
                await self.remote_round()
            except BackendError as exc:
                log.info("engine truth not available: %s", exc)

    async def remote_round(self) -> int:
        """One round of REST v2 searches; returns how many orders got a truth."""
        if self._rest is None:
            return 0
        loop = asyncio.get_running_loop()
        found = 0
        for order_id in list(self._remote)[:REMOTE_BATCH]:
            if loop.time() - self._remote_at.get(order_id, -1e9) < self.remote_interval_s:
                continue
            self._remote.pop(order_id, None)
            self._remote_at[order_id] = loop.time()
            order = self._latest.get(order_id)
            own = self.truth.get(order_id)
            if order is None or (own is not None and own.source == "workers"):
                continue
            truth = await self._engine_truth(order)
            if truth is None:
                continue
            found += 1
            self._set(order_id, truth)
            self._bus.publish(EngineTruthSeen(
                at=self._now(), order_id=order_id, process_instance_key=truth.instance_key,
                stages_done=truth.stages_done, state=truth.state, incident=truth.incident))
            self._consider(order_id)
        return found

    async def _engine_truth(self, order: OrderSummary) -> EngineTruth | None:
        assert self._rest is not None
        key = order.workflow_instance
        if key is not None:
            try:
                instance: dict | None = await self._rest.process_instance(key)
            except BackendError as exc:
                if exc.code != "HTTP_404":
                    raise
                instance = None  # the metadata names an instance the engine does not know
        else:
            found = await self._rest.instances_with_variable(ORDER_PROCESS_ID, "orderId", order.id)
            live = [i for i in found if str(i.get("state")) not in ("TERMINATED", "CANCELED")]
            instance = live[0] if live else None
        if instance is None:
            return None
        key = int(instance["processInstanceKey"])
        state = str(instance.get("state") or "ACTIVE")
        if state == "COMPLETED":
            done = len(STAGES)
        elif state in ENDED:
            done = 0
        else:
            jobs = await self._rest.completed_jobs(key)
            numbers = [STAGE_BY_ELEMENT[j["elementId"]].number for j in jobs if j.get("elementId") in STAGE_BY_ELEMENT]
            done = max(numbers, default=0)
        return EngineTruth(key, done, state=state, incident=bool(instance.get("hasIncident")), source="engine")

    # ------------------------------------------------------------------ tasks
    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Stop the pending checks and wait for those running."""
        for handle in self._checks.values():
            handle.cancel()
        self._checks.clear()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _unfinished(order: OrderSummary) -> bool:
    """Metadata that may lag the engine: a workflow recorded but not at its end."""
    status = order.workflow_status
    if status == CANCELLED or order.status == ORDER_CANCELED:
        return False
    if status in WORKFLOW_SEQUENCE[:-1]:
        return True
    if status == WORKFLOW_SEQUENCE[-1]:
        return order.status != "completed" or order.workflow_instance is None
    return order.status == "completed" or order.workflow_instance is not None
