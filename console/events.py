"""Typed, frozen events of the console's bus (the workers' events plus the console's own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.orders import OrderSummary
from workers.events import (
    CallbackAttempt,
    IncidentRaised,
    JobActivated,
    JobFailed,
    PaymentDeclined,
    SlackDropped,
    SlackFailed,
    SlackSent,
    StageAbandoned,
    StageCompleted,
    WorkerEvent,
    WorkerStatus,
)


@dataclass(frozen=True, slots=True)
class ConsoleEvent:
    """Base of every event the console itself publishes (orders, operator, backends)."""

    at: datetime


#: Anything on the console's bus: what the workers report and what the console publishes.
Event = WorkerEvent | ConsoleEvent

__all__ = [
    "BackendStatus",
    "CallbackAttempt",
    "ConsoleEvent",
    "DriftDetected",
    "DriftRepaired",
    "EngineTruthSeen",
    "ConsoleSetup",
    "DemoFaults",
    "Event",
    "IncidentRaised",
    "IncidentResolved",
    "InstanceCancelled",
    "InstanceStarted",
    "JobActivated",
    "JobFailed",
    "OperatorAction",
    "OrderSeen",
    "OrderStuck",
    "PaymentDeclined",
    "SlackDropped",
    "SlackFailed",
    "SlackSent",
    "StageAbandoned",
    "StageCompleted",
    "StartFailed",
    "WorkerStatus",
]


@dataclass(frozen=True, slots=True)
class OrderSeen(ConsoleEvent):
    """The order feed saw an order (new, or changed since last seen)."""

    order: OrderSummary


@dataclass(frozen=True, slots=True)
class InstanceStarted(ConsoleEvent):
    order_id: str
    process_instance_key: int


@dataclass(frozen=True, slots=True)
class StartFailed(ConsoleEvent):
    order_id: str
    error: str


@dataclass(frozen=True, slots=True)
class InstanceCancelled(ConsoleEvent):
    order_id: str
    process_instance_key: int


@dataclass(frozen=True, slots=True)
class IncidentResolved(ConsoleEvent):
    incident_key: int
    process_instance_key: int
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class BackendStatus(ConsoleEvent):
    """Reachability of one backend: ``component`` is zeebe, zeebe-rest, medusa or slack."""

    component: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class OperatorAction(ConsoleEvent):
    """What the operator did (the audit log): start, retry, cancel, new-order."""

    action: str
    order_id: str | None
    outcome: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EngineTruthSeen(ConsoleEvent):
    """Where the engine has an order's workflow, read from its REST searches (orders that
    other workers run): ``stages_done`` of the stage table, the instance's state."""

    order_id: str
    process_instance_key: int
    stages_done: int
    state: str
    incident: bool = False


@dataclass(frozen=True, slots=True)
class DriftDetected(ConsoleEvent):
    """Medusa's metadata disagrees with the engine: ``kind`` is behind, backwards, instance or
    unfinished (order completed without its final metadata)."""

    order_id: str
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class DriftRepaired(ConsoleEvent):
    """The reconciler wrote the engine's truth back to the order's metadata."""

    order_id: str
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class ConsoleSetup(ConsoleEvent):
    """How this console is connected: engine kind (embedded, SaaS, self-managed), Slack, workers."""

    engine_kind: str
    shop_embedded: bool
    slack: bool
    workers: int


@dataclass(frozen=True, slots=True)
class DemoFaults(ConsoleEvent):
    """The demo faults in force on the embedded shop and workers (all off = none)."""

    callbacks_down: bool = False
    callback_fail_rate: float = 0.0
    decline_rate: float = 0.0
    stage_jitter: float = 0.0


@dataclass(frozen=True, slots=True)
class OrderStuck(ConsoleEvent):
    """An order's current stage has run longer than the stuck threshold of that stage."""

    order_id: str
    stage: str
    running_s: float
    threshold_s: float
