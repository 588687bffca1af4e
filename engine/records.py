"""In-memory engine records and the row tuples they are persisted as."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .bpmn_model import ProcessModel

DEFAULT_TENANT = "<default>"


class JobState(StrEnum):
    ACTIVATABLE = "ACTIVATABLE"
    ACTIVATED = "ACTIVATED"
    FAILED = "FAILED"
    ERROR_THROWN = "ERROR_THROWN"


class InstanceState(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"


class IncidentState(StrEnum):
    ACTIVE = "ACTIVE"
    RESOLVED = "RESOLVED"


class ErrorType(StrEnum):
    JOB_NO_RETRIES = "JOB_NO_RETRIES"
    UNHANDLED_ERROR_EVENT = "UNHANDLED_ERROR_EVENT"
    CONDITION_ERROR = "CONDITION_ERROR"
    EXTRACT_VALUE_ERROR = "EXTRACT_VALUE_ERROR"
    IO_MAPPING_ERROR = "IO_MAPPING_ERROR"
    UNKNOWN = "UNKNOWN"


class ElementState(StrEnum):
    """Where an element instance stands; an incident keeps it in ACTIVATING or COMPLETING."""

    ACTIVATING = "ACTIVATING"
    ACTIVATED = "ACTIVATED"
    COMPLETING = "COMPLETING"


class JobEvent(StrEnum):
    """The last lifecycle event of a job, as the REST job search reports it."""

    CREATED = "CREATED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ERROR_THROWN = "ERROR_THROWN"
    TIMED_OUT = "TIMED_OUT"
    RETRIES_UPDATED = "RETRIES_UPDATED"
    CANCELED = "CANCELED"


@dataclass(slots=True, eq=False)
class ProcessDefinition:
    key: int
    bpmn_process_id: str
    version: int
    resource_name: str
    checksum: str
    deployment_key: int
    model: ProcessModel
    deployed_ms: int
    tenant_id: str = DEFAULT_TENANT

    @property
    def name(self) -> str | None:
        return self.model.name


@dataclass(slots=True, eq=False)
class ElementInstance:
    key: int
    process_instance_key: int
    element_id: str
    flow_scope_key: int
    state: str = ElementState.ACTIVATED
    job_key: int | None = None
    persisted: bool = False
    timer_keys: list[int] | None = None  # in memory only: rebuilt from the timers table
    subscription_key: int | None = None  # in memory only: rebuilt from subscriptions

    def row(self) -> tuple:
        return (
            self.key, self.process_instance_key, self.element_id, self.flow_scope_key,
            self.state, self.job_key,
        )


@dataclass(slots=True, eq=False)
class ProcessInstance:
    key: int
    definition: ProcessDefinition
    start_ms: int
    state: InstanceState = InstanceState.ACTIVE
    end_ms: int | None = None
    open_incidents: set[int] = field(default_factory=set)
    element_instances: dict[int, ElementInstance] = field(default_factory=dict)
    joins: set[tuple[int, str]] = field(default_factory=set)  # parallel joins with arrivals
    persisted: bool = False

    def row(self) -> tuple:
        d = self.definition
        return (
            self.key, d.key, d.bpmn_process_id, d.name, d.version, self.state.value,
            self.start_ms, self.end_ms, len(self.open_incidents), d.tenant_id,
        )


@dataclass(slots=True, eq=False)
class Variable:
    key: int
    scope_key: int
    process_instance_key: int
    name: str
    value: str  # JSON text
    persisted: bool = False

    def row(self) -> tuple:
        return (self.scope_key, self.name, self.key, self.process_instance_key, self.value)


@dataclass(slots=True, eq=False)
class Job:
    key: int
    type: str
    process_instance_key: int
    element_instance_key: int
    definition: ProcessDefinition
    element_id: str
    retries: int
    custom_headers: str
    state: JobState = JobState.ACTIVATABLE
    worker: str = ""
    deadline_ms: int = 0
    backoff_until_ms: int = 0
    error_message: str = ""
    incident_key: int | None = None
    error_code: str = ""
    last_event: JobEvent = JobEvent.CREATED
    created_ms: int = 0
    updated_ms: int = 0
    end_ms: int | None = None  # set when the job is gone from the runtime (kept as history)
    failed_with_retries_left: bool = False
    persisted: bool = False

    def row(self) -> tuple:
        d = self.definition
        return (
            self.key, self.type, self.process_instance_key, self.element_instance_key,
            d.key, self.element_id, self.state.value, self.retries, self.worker,
            self.deadline_ms, self.backoff_until_ms, self.error_message, self.custom_headers,
            self.incident_key, d.bpmn_process_id, self.error_code, self.last_event.value,
            self.created_ms, self.updated_ms, self.end_ms, int(self.failed_with_retries_left),
            d.tenant_id,
        )


@dataclass(slots=True, eq=False)
class Incident:
    key: int
    error_type: ErrorType
    error_message: str
    process_instance_key: int
    definition: ProcessDefinition
    element_id: str
    element_instance_key: int
    job_key: int | None
    creation_ms: int
    state: IncidentState = IncidentState.ACTIVE
    resolved_ms: int | None = None
    persisted: bool = False

    def row(self) -> tuple:
        d = self.definition
        return (
            self.key, self.error_type.value, self.error_message, self.process_instance_key,
            d.key, d.bpmn_process_id, self.element_id, self.element_instance_key, self.job_key,
            self.state.value, self.creation_ms, self.resolved_ms, d.tenant_id,
        )


@dataclass(slots=True, eq=False)
class Timer:
    """A due time for a timer catch event or a timer boundary event of an activity."""

    key: int
    process_instance_key: int
    element_instance_key: int  # the catch event's instance, or the activity's
    element_id: str  # the timer event
    due_ms: int
    persisted: bool = False

    def row(self) -> tuple:
        return (self.key, self.process_instance_key, self.element_instance_key,
                self.element_id, self.due_ms)


@dataclass(slots=True, eq=False)
class MessageSubscription:
    """An open message catch (intermediate event or receive task) waiting for a message."""

    key: int
    process_instance_key: int
    element_instance_key: int
    element_id: str
    bpmn_process_id: str
    message_name: str
    correlation_key: str
    persisted: bool = False

    def row(self) -> tuple:
        return (self.key, self.process_instance_key, self.element_instance_key,
                self.element_id, self.bpmn_process_id, self.message_name, self.correlation_key)


@dataclass(slots=True, eq=False)
class BufferedMessage:
    """A published message kept until its time to live runs out."""

    key: int
    name: str
    correlation_key: str
    message_id: str
    variables: str  # JSON object text
    publish_ms: int
    expire_ms: int
    correlated: set[str] = field(default_factory=set)  # bpmnProcessIds it went to
    persisted: bool = False

    def row(self) -> tuple:
        return (self.key, self.name, self.correlation_key, self.message_id, self.variables,
                self.publish_ms, self.expire_ms, ",".join(sorted(self.correlated)))


@dataclass(slots=True, eq=False)
class JoinState:
    """Tokens that reached a parallel joining gateway, counted per incoming flow."""

    scope_key: int
    element_id: str
    process_instance_key: int
    arrivals: dict[str, int] = field(default_factory=dict)
    persisted: bool = False

    def row(self) -> tuple:
        arrivals = ",".join(f"{flow}={n}" for flow, n in sorted(self.arrivals.items()))
        return (self.scope_key, self.element_id, self.process_instance_key, arrivals)


@dataclass(frozen=True, slots=True)
class ActivatedJobView:
    """What a worker receives for one activated job, captured at activation time."""

    key: int
    type: str
    process_instance_key: int
    bpmn_process_id: str
    process_definition_version: int
    process_definition_key: int
    element_id: str
    element_instance_key: int
    custom_headers: str
    worker: str
    retries: int
    deadline_ms: int
    variables: str
    tenant_id: str
