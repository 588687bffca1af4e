"""Executable process model: flow nodes, sequence flows and what Zeebe extensions say about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .feel import Expression


class ElementKind(StrEnum):
    """Kinds of flow nodes the runtime knows how to execute."""

    START_EVENT = "startEvent"
    END_EVENT = "endEvent"
    SERVICE_TASK = "serviceTask"  # any job-based task: service, send, business-rule, script
    RECEIVE_TASK = "receiveTask"
    EXCLUSIVE_GATEWAY = "exclusiveGateway"
    PARALLEL_GATEWAY = "parallelGateway"
    MESSAGE_CATCH = "intermediateMessageCatchEvent"
    TIMER_CATCH = "intermediateTimerCatchEvent"
    ERROR_BOUNDARY = "errorBoundaryEvent"
    TIMER_BOUNDARY = "timerBoundaryEvent"


ACTIVITIES = frozenset({ElementKind.SERVICE_TASK, ElementKind.RECEIVE_TASK})


@dataclass(frozen=True, slots=True)
class Value:
    """A static value or an ``=expression`` (exactly one of the two is set)."""

    static: str | None = None
    expression: Expression | None = None

    @property
    def text(self) -> str:
        return f"={self.expression.source}" if self.expression else (self.static or "")


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    """``zeebe:taskDefinition`` plus ``zeebe:taskHeaders`` of a job-based task."""

    job_type: str
    retries: int
    headers_json: str = "{}"
    type_expression: Expression | None = None
    retries_expression: Expression | None = None


@dataclass(frozen=True, slots=True)
class Mapping:
    """One ``zeebe:input`` / ``zeebe:output``: source value (None means null) into a path."""

    source: Value | None
    target: tuple[str, ...]

    @property
    def target_text(self) -> str:
        return ".".join(self.target)


@dataclass(frozen=True, slots=True)
class MessageDefinition:
    """A ``<message>`` with its ``zeebe:subscription``."""

    id: str
    name: Value
    correlation_key: Expression


@dataclass(frozen=True, slots=True)
class TimerDefinition:
    """``timeDuration`` or ``timeDate`` of a timer event."""

    kind: str  # "timeDuration" | "timeDate"
    value: Value


@dataclass(frozen=True, slots=True)
class SequenceFlow:
    """A directed edge between two flow nodes, optionally with a condition."""

    id: str
    source_id: str
    target_id: str
    condition: Expression | None = None


@dataclass(slots=True)
class FlowNode:
    """One executable element of a process."""

    id: str
    kind: ElementKind
    name: str | None = None
    incoming: list[SequenceFlow] = field(default_factory=list)
    outgoing: list[SequenceFlow] = field(default_factory=list)
    task: TaskDefinition | None = None
    inputs: tuple[Mapping, ...] = ()
    outputs: tuple[Mapping, ...] = ()
    message: MessageDefinition | None = None
    timer: TimerDefinition | None = None
    default_flow: str | None = None  # exclusive gateway
    attached_to: str | None = None  # boundary events
    error_code: str | None = None  # error boundary; None catches every error
    boundaries: list[FlowNode] = field(default_factory=list)  # activities

    @property
    def is_join(self) -> bool:
        return self.kind is ElementKind.PARALLEL_GATEWAY and len(self.incoming) > 1

    def catching(self, error_code: str) -> FlowNode | None:
        """The error boundary that catches ``error_code``: a specific one beats a catch-all."""
        catch_all = None
        for boundary in self.boundaries:
            if boundary.kind is ElementKind.ERROR_BOUNDARY:
                if boundary.error_code is None:
                    catch_all = boundary
                elif boundary.error_code == error_code:
                    return boundary
        return catch_all


@dataclass(slots=True)
class ProcessModel:
    """One executable ``<process>`` of a deployed resource."""

    bpmn_process_id: str
    name: str | None
    nodes: dict[str, FlowNode]
    flows: dict[str, SequenceFlow]
    none_start_id: str | None

    def node(self, element_id: str) -> FlowNode:
        return self.nodes[element_id]
