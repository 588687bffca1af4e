"""Typed, frozen events the workers report through their ``on_event`` callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WorkerEvent:
    """Base of every event a worker reports."""

    at: datetime


@dataclass(frozen=True, slots=True)
class JobActivated(WorkerEvent):
    order_id: str
    stage: str
    job_key: int
    process_instance_key: int
    retries: int
    delay_s: float


@dataclass(frozen=True, slots=True)
class CallbackAttempt(WorkerEvent):
    """One HTTP status callback to Medusa: its outcome and what happens next."""

    order_id: str
    stage: str
    status: str
    attempt: int
    max_attempts: int
    ok: bool
    http_status: int | None
    error: str | None
    latency_ms: float
    next_delay_s: float | None


@dataclass(frozen=True, slots=True)
class StageCompleted(WorkerEvent):
    order_id: str
    stage: str
    job_key: int
    process_instance_key: int


@dataclass(frozen=True, slots=True)
class JobFailed(WorkerEvent):
    """The worker gave the job back to Zeebe as failed (FailJob)."""

    order_id: str
    stage: str
    job_key: int
    process_instance_key: int
    retries_left: int
    backoff_ms: int
    error: str


@dataclass(frozen=True, slots=True)
class IncidentRaised(WorkerEvent):
    """A job failed with no retries left, so Zeebe raised an incident.

    ``incident_key`` is None when the worker reports it (it only knows the job);
    the console's incident poller fills it in from the REST API. ``job_key`` is None for
    an incident no job stands behind (an expression that failed, say).
    """

    order_id: str
    stage: str
    job_key: int | None
    process_instance_key: int
    error: str
    incident_key: int | None = None


@dataclass(frozen=True, slots=True)
class StageAbandoned(WorkerEvent):
    """The job vanished while the stage ran (instance cancelled): no callback was sent."""

    order_id: str
    stage: str
    job_key: int
    process_instance_key: int


@dataclass(frozen=True, slots=True)
class JobHandedBack(WorkerEvent):
    """At shutdown the job was given back unfinished (FailJob, retries unchanged, no back-off)."""

    order_id: str
    stage: str
    job_key: int
    process_instance_key: int


@dataclass(frozen=True, slots=True)
class SlackSent(WorkerEvent):
    order_id: str
    title: str


@dataclass(frozen=True, slots=True)
class SlackFailed(WorkerEvent):
    order_id: str
    title: str
    error: str


@dataclass(frozen=True, slots=True)
class SlackDropped(WorkerEvent):
    """The Slack queue was full: its oldest message was dropped unsent."""

    order_id: str
    title: str
    dropped_total: int


@dataclass(frozen=True, slots=True)
class PaymentDeclined(WorkerEvent):
    """verify-payment found the order's payment declined and threw PAYMENT_DECLINED."""

    order_id: str
    job_key: int
    process_instance_key: int
    payment_status: str


@dataclass(frozen=True, slots=True)
class WorkerStatus(WorkerEvent):
    """The worker runner's health: running, reconnecting or stopped."""

    state: str
    detail: str = ""


EventSink = Callable[[WorkerEvent], None]
