"""Typed, frozen events of the console's bus (the workers' events plus the console's own)."""

from __future__ import annotations

from dataclasses import dataclass

from console.orders import OrderSummary
from workers.events import (
    CallbackAttempt,
    IncidentRaised,
    JobActivated,
    JobFailed,
    SlackFailed,
    SlackSent,
    StageAbandoned,
    StageCompleted,
    WorkerEvent,
    WorkerStatus,
)

Event = WorkerEvent

__all__ = [
    "CallbackAttempt",
    "EngineStatus",
    "Event",
    "IncidentRaised",
    "IncidentResolved",
    "InstanceCancelled",
    "InstanceStarted",
    "JobActivated",
    "JobFailed",
    "OperatorAction",
    "OrderSeen",
    "SlackFailed",
    "SlackSent",
    "StageAbandoned",
    "StageCompleted",
    "StartFailed",
    "WorkerStatus",
]


@dataclass(frozen=True, slots=True)
class OrderSeen(WorkerEvent):
    """The order feed saw an order (new, or changed since last seen)."""

    order: OrderSummary


@dataclass(frozen=True, slots=True)
class InstanceStarted(WorkerEvent):
    order_id: str
    process_instance_key: int


@dataclass(frozen=True, slots=True)
class StartFailed(WorkerEvent):
    order_id: str
    error: str


@dataclass(frozen=True, slots=True)
class InstanceCancelled(WorkerEvent):
    order_id: str
    process_instance_key: int


@dataclass(frozen=True, slots=True)
class IncidentResolved(WorkerEvent):
    incident_key: int
    process_instance_key: int
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class EngineStatus(WorkerEvent):
    """Reachability of one backend: ``component`` is zeebe, rest or medusa."""

    component: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class OperatorAction(WorkerEvent):
    """What the operator did (the audit log): start, retry, cancel, new-order."""

    action: str
    order_id: str | None
    outcome: str
    detail: str = ""
