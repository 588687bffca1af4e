"""The console's view model: orders with per-stage progress, incidents, callback attempts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime

from console.claims import claim_of
from console.event_text import describe_event
from console.events import (
    BackendStatus,
    CallbackAttempt,
    ConsoleSetup,
    DemoFaults,
    DriftDetected,
    DriftRepaired,
    EngineTruthSeen,
    Event,
    IncidentRaised,
    IncidentResolved,
    InstanceCancelled,
    InstanceStarted,
    JobActivated,
    JobFailed,
    OrderSeen,
    OrderStuck,
    PaymentDeclined,
    SlackDropped,
    SlackFailed,
    SlackSent,
    StageAbandoned,
    StageCompleted,
    StartFailed,
    WorkerStatus,
)
from console.orders import OrderSummary
from console.throughput import Throughput
from protocol.progress import COMPLETED as STATUS_COMPLETED
from workers.stages import (
    STAGE_BY_TYPE,
    STAGES,
    STATUS_CANCELLED,
    STATUS_PAYMENT_DECLINED,
    STATUS_SEQUENCE,
)

PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"
#: A stage that ended because the order's payment was declined (a final state of its own).
DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class StageProgress:
    """Where one stage of one order stands."""

    state: str = PENDING
    started_at: datetime | None = None
    expected_s: float = 0.0
    note: str = ""

    def fraction(self, now: datetime) -> float:
        """0.0 to 1.0; a running stage moves with elapsed time over its expected duration."""
        if self.state == DONE:
            return 1.0
        if self.state != RUNNING or self.started_at is None:
            return 0.0
        if self.expected_s <= 0:
            return 0.95
        elapsed = (now - self.started_at).total_seconds()
        return max(0.0, min(0.95, elapsed / self.expected_s))


@dataclass(frozen=True, slots=True)
class IncidentView:
    order_id: str | None
    process_instance_key: int
    job_key: int | None
    stage: str
    error: str
    at: datetime
    incident_key: int | None = None

    @property
    def slot(self) -> tuple[str, int]:
        """Where the state keeps it: by job (a worker and the poller report the same job),
        or by incident key for an incident no job stands behind."""
        if self.job_key is not None:
            return ("job", self.job_key)
        assert self.incident_key is not None, "an incident has a job key or an incident key"
        return ("incident", self.incident_key)


@dataclass(slots=True)
class OrderView:
    order: OrderSummary
    instance_key: int | None = None
    stages: list[StageProgress] = field(default_factory=lambda: [StageProgress() for _ in STAGES])
    note: str = ""
    #: Where Medusa's metadata disagrees with the engine ("" when it agrees): the drift's
    #: kind(s), e.g. "behind", "backwards", "instance", "unfinished"; cleared when repaired.
    drift: str = ""
    #: The label of the stage flagged stuck ("" when not stuck).
    stuck: str = ""

    @property
    def workflow_status(self) -> str:
        """The metadata's status; "claimed" while a console is about to create the instance."""
        if self.order.workflow_status:
            return self.order.workflow_status
        return "claimed" if claim_of(self.order.metadata) is not None else "-"


def stages_from_status(status: str | None) -> list[StageProgress]:
    """Per-stage progress as the metadata ``workflow_status`` implies it."""
    if status == STATUS_CANCELLED:
        return [StageProgress(CANCELLED) for _ in STAGES]
    if status == STATUS_PAYMENT_DECLINED:
        return [StageProgress(DECLINED) for _ in STAGES]
    done = STATUS_SEQUENCE.index(status) if status in STATUS_SEQUENCE else 0
    return [StageProgress(DONE if i < done else PENDING) for i in range(len(STAGES))]


def _merge_stage(live: StageProgress, implied: StageProgress) -> StageProgress:
    """The bars show the engine's truth: Medusa's status moves them forward, never back.

    Live detail the metadata cannot express is kept: a stage running, failed or done (a
    status that moved backwards in Medusa is drift, not progress undone), and a stage that
    finished before a cancel."""
    if implied.state == PENDING and live.state in (RUNNING, FAILED, DONE):
        return live
    if implied.state == CANCELLED and live.state == DONE:
        return live
    return implied


class ConsoleState:
    """Applies events; returns which orders changed so widgets can diff-update."""

    def __init__(self, max_callbacks: int = 200, max_log: int = 500) -> None:
        self.orders: dict[str, OrderView] = {}
        #: Open incidents by IncidentView.slot: one per failed job, or per incident without a job.
        self.incidents: dict[tuple[str, int], IncidentView] = {}
        self.callbacks: deque[CallbackAttempt] = deque(maxlen=max_callbacks)
        self.backends: dict[str, BackendStatus] = {}
        self.worker_state: str = "starting"
        #: Slack posts since start: sent, failed, dropped (queue full).
        self.slack: dict[str, int] = {"sent": 0, "failed": 0, "dropped": 0}
        self.setup: ConsoleSetup | None = None
        self.faults: DemoFaults | None = None
        #: Orders that reached "completed" while watched (the header's orders/min).
        self.throughput = Throughput()
        #: The live event log: (at, text, style), newest last; ``log_seq`` counts every line.
        self.log: deque[tuple[datetime, str, str]] = deque(maxlen=max_log)
        self.log_seq = 0
        self._instance_to_order: dict[int, str] = {}
        self._dirty: set[str] = set()
        #: Bumped by every event that changed something: widgets that add up every order
        #: redo it only when this moved (an idle console with 10,000 orders costs nothing).
        self.version = 0
        #: Orders with a stage running now (kept as events arrive, not found by a scan).
        self.running: set[str] = set()

    def order_for_instance(self, key: int) -> str | None:
        return self._instance_to_order.get(key)

    def incident_for_order(self, order_id: str) -> IncidentView | None:
        return next((i for i in self.incidents.values() if i.order_id == order_id), None)

    def apply(self, event: Event) -> set[str]:
        """Fold one event in; returns the ids of orders whose row changed."""
        handler = _HANDLERS.get(type(event))
        changed = handler(self, event) if handler else set()
        line = describe_event(event, self._label)
        if line is not None:
            self.log.append((event.at, *line))
            self.log_seq += 1
        if handler is None and line is None:
            return changed
        self.version += 1
        self._dirty |= changed
        for order_id in changed:
            view = self.orders.get(order_id)
            if view is not None and any(s.state == RUNNING for s in view.stages):
                self.running.add(order_id)
            else:
                self.running.discard(order_id)
        return changed

    def _label(self, order_id: str | None) -> str:
        view = self.orders.get(order_id or "")
        return view.order.label if view is not None else (order_id or "?")

    def take_dirty(self) -> set[str]:
        """Ids of orders changed since the last call (for the screens' diff update)."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    # ------------------------------------------------------------------ handlers
    def _order_seen(self, e: OrderSeen) -> set[str]:
        view = self.orders.get(e.order.id)
        if view is None:
            view = OrderView(order=e.order, stages=stages_from_status(e.order.workflow_status))
            self.orders[e.order.id] = view
        else:
            previous = view.order.workflow_status
            view.order = e.order
            if e.order.workflow_status == STATUS_COMPLETED and previous != STATUS_COMPLETED:
                self.throughput.record(e.at)
            if e.order.workflow_status != previous:
                view.stuck = ""  # it moved on
                implied = stages_from_status(e.order.workflow_status)
                # Keep live detail (running, failed) where Medusa has not caught up yet.
                view.stages = [_merge_stage(old, new) for old, new in zip(view.stages, implied, strict=True)]
        if e.order.workflow_instance is not None:
            view.instance_key = e.order.workflow_instance
            self._instance_to_order[view.instance_key] = e.order.id
        return {e.order.id}

    def _set_stage(self, order_id: str, stage_type: str, progress: StageProgress) -> set[str]:
        view = self.orders.get(order_id)
        stage = STAGE_BY_TYPE.get(stage_type)
        if view is None or stage is None:
            return set()
        view.stages[stage.number - 1] = progress
        return {order_id}

    def _job_activated(self, e: JobActivated) -> set[str]:
        self._link(e.order_id, e.process_instance_key)
        changed = self._clear_pending_incidents(e.process_instance_key)
        return changed | self._set_stage(e.order_id, e.stage, StageProgress(RUNNING, e.at, e.delay_s))

    def _stage_completed(self, e: StageCompleted) -> set[str]:
        self._unstick(e.order_id)
        changed = self._clear_pending_incidents(e.process_instance_key)
        view = self.orders.get(e.order_id)
        stage = STAGE_BY_TYPE.get(e.stage)
        if view is not None and stage is not None:
            # In the seed's process a finished stage means every stage before it finished too
            # (events this console missed). A stage still running is left alone: in the
            # parallel process verify-payment may finish after reserve-inventory.
            for i in range(stage.number - 1):
                if view.stages[i].state == PENDING:
                    view.stages[i] = StageProgress(DONE, e.at)
        return changed | self._set_stage(e.order_id, e.stage, StageProgress(DONE, e.at))

    def _clear_pending_incidents(self, instance_key: int) -> set[str]:
        """A job of the instance runs again: the workers' own incident reports for it (no
        incident key, which only the REST poller fills in) are over, with or without REST."""
        changed: set[str] = set()
        for job_key, incident in list(self.incidents.items()):
            if incident.incident_key is None and incident.process_instance_key == instance_key:
                del self.incidents[job_key]
                if incident.order_id:
                    changed.add(incident.order_id)
        return changed

    def _engine_truth(self, e: EngineTruthSeen) -> set[str]:
        view = self.orders.get(e.order_id)
        if view is None:
            return set()
        self._link(e.order_id, e.process_instance_key)
        for i in range(min(e.stages_done, len(STAGES))):
            if view.stages[i].state != DONE:
                view.stages[i] = StageProgress(DONE, e.at)
        return {e.order_id}

    def _drift_detected(self, e: DriftDetected) -> set[str]:
        view = self.orders.get(e.order_id)
        if view is None or view.drift == e.kind:
            return set()
        view.drift = e.kind
        return {e.order_id}

    def _drift_repaired(self, e: DriftRepaired) -> set[str]:
        view = self.orders.get(e.order_id)
        if view is None or not view.drift:
            return set()
        view.drift = ""
        return {e.order_id}

    def _job_failed(self, e: JobFailed) -> set[str]:
        note = f"retries left {e.retries_left}" if e.retries_left else "no retries left"
        return self._set_stage(e.order_id, e.stage, StageProgress(FAILED, e.at, note=note))

    def _payment_declined(self, e: PaymentDeclined) -> set[str]:
        self._link(e.order_id, e.process_instance_key)
        return self._set_stage(e.order_id, STAGES[0].task_type, StageProgress(DECLINED, e.at, note=e.payment_status))

    def _slack_event(self, e: SlackSent | SlackFailed | SlackDropped) -> set[str]:
        key = {SlackSent: "sent", SlackFailed: "failed", SlackDropped: "dropped"}[type(e)]
        self.slack[key] += 1
        return set()

    def _stage_abandoned(self, e: StageAbandoned) -> set[str]:
        self._unstick(e.order_id)
        return self._set_stage(e.order_id, e.stage, StageProgress(CANCELLED, e.at))

    def _incident_raised(self, e: IncidentRaised) -> set[str]:
        self._link(e.order_id, e.process_instance_key)
        self._unstick(e.order_id)
        view = IncidentView(e.order_id, e.process_instance_key, e.job_key, e.stage, e.error, e.at, e.incident_key)
        existing = self.incidents.get(view.slot)
        if existing is not None and existing.incident_key and not e.incident_key:
            view = replace(view, incident_key=existing.incident_key)
        self.incidents[view.slot] = view
        return {e.order_id} if e.order_id in self.orders else set()

    def _incident_resolved(self, e: IncidentResolved) -> set[str]:
        changed: set[str] = set()
        for slot, incident in list(self.incidents.items()):
            if incident.incident_key == e.incident_key or (
                incident.incident_key is None and incident.process_instance_key == e.process_instance_key
            ):
                del self.incidents[slot]
                if incident.order_id:
                    changed.add(incident.order_id)
        return changed

    def _instance_started(self, e: InstanceStarted) -> set[str]:
        self._link(e.order_id, e.process_instance_key)
        view = self.orders.get(e.order_id)
        if view is None:
            return set()
        view.note = ""
        view.stages = [StageProgress() for _ in STAGES]
        return {e.order_id}

    def _start_failed(self, e: StartFailed) -> set[str]:
        view = self.orders.get(e.order_id)
        if view is None:
            return set()
        view.note = e.error
        return {e.order_id}

    def _instance_cancelled(self, e: InstanceCancelled) -> set[str]:
        self._unstick(e.order_id)
        view = self.orders.get(e.order_id)
        for slot, incident in list(self.incidents.items()):
            if incident.process_instance_key == e.process_instance_key:
                del self.incidents[slot]
        if view is None:
            return set()
        view.stages = [s if s.state == DONE else StageProgress(CANCELLED) for s in view.stages]
        return {e.order_id}

    def _callback(self, e: CallbackAttempt) -> set[str]:
        self.callbacks.appendleft(e)
        return set()

    def _backend(self, e: BackendStatus) -> set[str]:
        self.backends[e.component] = e
        return set()

    def _worker_status(self, e: WorkerStatus) -> set[str]:
        self.worker_state = e.state if not e.detail else f"{e.state} ({e.detail})"
        return set()

    def _order_stuck(self, e: OrderStuck) -> set[str]:
        view = self.orders.get(e.order_id)
        stage = STAGE_BY_TYPE.get(e.stage)
        if view is None:
            return set()
        view.stuck = stage.label if stage is not None else e.stage
        return {e.order_id}

    def _unstick(self, order_id: str) -> None:
        view = self.orders.get(order_id)
        if view is not None and view.stuck:
            view.stuck = ""
            self._dirty.add(order_id)

    def _setup(self, e: ConsoleSetup) -> set[str]:
        self.setup = e
        return set()

    def _faults(self, e: DemoFaults) -> set[str]:
        self.faults = e
        return set()

    def _link(self, order_id: str, instance_key: int) -> None:
        self._instance_to_order[instance_key] = order_id
        view = self.orders.get(order_id)
        if view is not None:
            view.instance_key = instance_key


_HANDLERS = {
    OrderSeen: ConsoleState._order_seen,
    JobActivated: ConsoleState._job_activated,
    StageCompleted: ConsoleState._stage_completed,
    JobFailed: ConsoleState._job_failed,
    StageAbandoned: ConsoleState._stage_abandoned,
    IncidentRaised: ConsoleState._incident_raised,
    IncidentResolved: ConsoleState._incident_resolved,
    InstanceStarted: ConsoleState._instance_started,
    StartFailed: ConsoleState._start_failed,
    InstanceCancelled: ConsoleState._instance_cancelled,
    CallbackAttempt: ConsoleState._callback,
    BackendStatus: ConsoleState._backend,
    WorkerStatus: ConsoleState._worker_status,
    PaymentDeclined: ConsoleState._payment_declined,
    SlackSent: ConsoleState._slack_event,
    SlackFailed: ConsoleState._slack_event,
    SlackDropped: ConsoleState._slack_event,
    EngineTruthSeen: ConsoleState._engine_truth,
    DriftDetected: ConsoleState._drift_detected,
    DriftRepaired: ConsoleState._drift_repaired,
    OrderStuck: ConsoleState._order_stuck,
    ConsoleSetup: ConsoleState._setup,
    DemoFaults: ConsoleState._faults,
}
