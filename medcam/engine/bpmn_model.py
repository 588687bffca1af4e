"""Executable process model: flow nodes, sequence flows and job definitions read from BPMN."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ElementKind(StrEnum):
    """Kinds of flow nodes the runtime knows how to execute."""

    START_EVENT = "startEvent"
    END_EVENT = "endEvent"
    SERVICE_TASK = "serviceTask"


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    """``zeebe:taskDefinition`` plus ``zeebe:taskHeaders`` of a job-based task."""

    job_type: str
    retries: int
    headers_json: str = "{}"


@dataclass(frozen=True, slots=True)
class SequenceFlow:
    """A directed edge between two flow nodes."""

    id: str
    source_id: str
    target_id: str


@dataclass(slots=True)
class FlowNode:
    """One executable element of a process."""

    id: str
    kind: ElementKind
    name: str | None = None
    incoming: list[SequenceFlow] = field(default_factory=list)
    outgoing: list[SequenceFlow] = field(default_factory=list)
    task: TaskDefinition | None = None


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
