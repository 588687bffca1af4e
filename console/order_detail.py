"""Everything the order detail screen shows about one order, gathered from engine, Medusa and store."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bpmn import ORDER_FULFILLMENT
from console.clients.errors import BackendError
from console.diagram import Diagram, DiagramError, parse_diagram
from console.orders import OrderSummary
from console.process_path import PathState, path_state
from console.state import DONE, FAILED, RUNNING, IncidentView, OrderView
from protocol.progress import CANCELLED, PAYMENT_DECLINED, WORKFLOW_SEQUENCE
from workers.stages import STAGE_BY_ELEMENT, STAGES, TASK_BY_TYPE

#: Job states (the last lifecycle event) after which a job is finished.
_JOB_ENDED = frozenset({"COMPLETED", "CANCELED", "ERROR_THROWN", "MIGRATED"})


@dataclass(frozen=True, slots=True)
class StageRow:
    """One job of the instance: which element, when it started and ended, how it stands."""

    element_id: str
    label: str
    state: str
    started: datetime | None
    ended: datetime | None
    retries: int | None = None
    note: str = ""

    def duration_s(self, now: datetime) -> float | None:
        if self.started is None:
            return None
        return ((self.ended or now) - self.started).total_seconds()


@dataclass(frozen=True, slots=True)
class DriftRow:
    """One fact as Medusa's metadata has it and as the engine has it."""

    name: str
    medusa: str
    engine: str
    drift: bool


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """A line of this order's history from the local store (callbacks, Slack, audit)."""

    at: str
    kind: str
    text: str
    ok: bool = True


@dataclass(frozen=True, slots=True)
class OrderDetail:
    order: OrderSummary
    instance_key: int | None
    instance_state: str  # ACTIVE, COMPLETED, CANCELED, or "" when unknown
    diagram: Diagram | None
    path: PathState
    stages: tuple[StageRow, ...]
    variables: tuple[tuple[str, str], ...]
    drift: tuple[DriftRow, ...]
    callbacks: tuple[TrailEntry, ...] = ()
    slack: tuple[TrailEntry, ...] = ()
    audit: tuple[TrailEntry, ...] = ()
    incident: IncidentView | None = None
    problems: tuple[str, ...] = field(default=())  # what could not be loaded, one line each


class DetailRest(Protocol):
    async def process_instance(self, key: int) -> dict[str, Any]: ...
    async def process_definition_xml(self, key: int) -> bytes: ...
    async def jobs_of(self, process_instance_key: int, limit: int = 100) -> list[dict[str, Any]]: ...
    async def variables_of(self, process_instance_key: int, limit: int = 200) -> dict[str, str]: ...


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def engine_status(stages: tuple[StageRow, ...], instance_state: str) -> str:
    """The metadata ``workflow_status`` the engine's state implies."""
    if instance_state in ("CANCELED", "TERMINATED"):
        return CANCELLED
    rank = 0
    for row in stages:
        stage = STAGE_BY_ELEMENT.get(row.element_id)
        if stage is None or row.state != "COMPLETED" or stage.status is None:
            continue
        if stage.status == PAYMENT_DECLINED:  # the parallel process's decline path ends there
            return PAYMENT_DECLINED
        if stage.status in WORKFLOW_SEQUENCE:
            rank = max(rank, WORKFLOW_SEQUENCE.index(stage.status))
    return WORKFLOW_SEQUENCE[rank] if instance_state or stages else "-"


def drift_rows(order: OrderSummary, instance_key: int | None, instance_state: str,
               stages: tuple[StageRow, ...]) -> tuple[DriftRow, ...]:
    """Medusa's metadata next to the engine's state; ``drift`` marks where they disagree."""
    if instance_key is None:
        return (DriftRow("workflow_instance", "-", "no instance", False),)
    medusa_status = order.workflow_status or "-"
    engine = engine_status(stages, instance_state)
    completed = instance_state == "COMPLETED"
    # A worker posts its stage's status before it completes the job: Medusa one running stage
    # ahead of the engine is progress in flight, not drift.
    in_flight = {STAGE_BY_ELEMENT[row.element_id].status for row in stages
                 if row.state not in _JOB_ENDED and row.element_id in STAGE_BY_ELEMENT}
    return (
        DriftRow("workflow_instance", str(order.workflow_instance or "-"), str(instance_key),
                 order.workflow_instance not in (None, instance_key)),
        DriftRow("workflow_status", medusa_status, engine,
                 bool(instance_state) and medusa_status != engine and medusa_status not in in_flight),
        DriftRow("order status", order.status, instance_state or "?",
                 completed and order.status != "completed"),
    )


def trail_from_events(rows: list[dict[str, Any]]) -> tuple[tuple[TrailEntry, ...], ...]:
    """Callback attempts, Slack messages and audit entries from the store's event rows."""
    callbacks: list[TrailEntry] = []
    slack: list[TrailEntry] = []
    audit: list[TrailEntry] = []
    for row in rows:
        try:
            payload = json.loads(row.get("payload") or "{}")
        except ValueError:
            continue
        at, kind = str(row.get("at") or ""), str(row.get("kind") or "")
        if kind == "CallbackAttempt":
            callbacks.append(callback_entry(at, payload))
        elif kind in ("SlackSent", "SlackFailed"):
            error = payload.get("error")
            slack.append(TrailEntry(at, "slack", f"{payload.get('title', '')}" + (f" — {error}" if error else ""),
                                    kind == "SlackSent"))
        elif kind == "OperatorAction":
            detail = payload.get("detail") or ""
            action, outcome = str(payload.get("action", "")), str(payload.get("outcome", ""))
            audit.append(TrailEntry(at, action, f"{action}: {outcome}" + (f" — {detail}" if detail else ""),
                                    outcome != "failed"))
    return tuple(callbacks), tuple(slack), tuple(audit)


def callback_entry(at: str, payload: dict[str, Any]) -> TrailEntry:
    """One callback attempt as a line: status, attempt n/m, HTTP answer, next delay."""
    http = payload.get("http_status")
    answer = f"HTTP {http}" if http else (payload.get("error") or "no answer")
    if payload.get("error") and http and not payload.get("ok"):
        answer = str(payload["error"])
    after = payload.get("next_delay_s")
    text = (f"{payload.get('status', '')} {payload.get('attempt', '?')}/{payload.get('max_attempts', '?')} "
            f"{answer} {float(payload.get('latency_ms') or 0):.0f} ms" + (f", next in {after:g} s" if after else ""))
    return TrailEntry(at, "callback", text, bool(payload.get("ok")))


class DetailLoader:
    """Loads an OrderDetail; keeps each definition's parsed diagram (definitions never change)."""

    def __init__(self, rest: DetailRest | None, timeline: Any = None) -> None:
        self.rest = rest
        self.timeline = timeline  # order_id -> list of event rows (LocalStore.timeline)
        self._diagrams: dict[int, Diagram] = {}

    async def load(self, view: OrderView, incident: IncidentView | None) -> OrderDetail:
        problems: list[str] = []
        instance_key = view.instance_key or view.order.workflow_instance
        instance_state = ""
        diagram: Diagram | None = None
        stages: tuple[StageRow, ...] = ()
        variables: tuple[tuple[str, str], ...] = ()
        if instance_key is not None and self.rest is not None:
            try:
                instance = await self.rest.process_instance(instance_key)
                instance_state = str(instance.get("state") or "")
                diagram = await self._diagram(int(instance["processDefinitionKey"]), instance.get("processDefinitionId"))
                jobs = await self.rest.jobs_of(instance_key)
                stages = tuple(_stage_row(job, diagram) for job in jobs)
                found = await self.rest.variables_of(instance_key)
                variables = tuple(sorted(found.items()))
            except (BackendError, DiagramError, KeyError, ValueError) as exc:
                problems.append(f"engine: {exc}")
        if diagram is None:
            diagram = shipped_diagram()
        if not stages:
            stages = stages_from_view(view, diagram)
        path = _path(diagram, stages, incident, instance_key is not None, instance_state)
        callbacks: tuple[TrailEntry, ...] = ()
        slack: tuple[TrailEntry, ...] = ()
        audit: tuple[TrailEntry, ...] = ()
        if self.timeline is not None:
            try:
                callbacks, slack, audit = trail_from_events(self.timeline(view.order.id))
            except Exception as exc:  # noqa: BLE001 - a local store read must never close the screen
                problems.append(f"local store: {exc}")
        return OrderDetail(
            order=view.order, instance_key=instance_key, instance_state=instance_state, diagram=diagram,
            path=path, stages=stages, variables=variables,
            drift=drift_rows(view.order, instance_key, instance_state, stages) if instance_state else (),
            callbacks=callbacks, slack=slack, audit=audit, incident=incident, problems=tuple(problems),
        )

    async def _diagram(self, definition_key: int, process_id: object) -> Diagram:
        if definition_key not in self._diagrams:
            assert self.rest is not None
            xml = await self.rest.process_definition_xml(definition_key)
            self._diagrams[definition_key] = parse_diagram(xml, str(process_id) if process_id else None)
        return self._diagrams[definition_key]


@functools.cache
def shipped_diagram() -> Diagram:
    """The process this console deploys, for when the engine cannot be asked."""
    return parse_diagram(ORDER_FULFILLMENT.read_bytes())


def _label(element_id: str, diagram: Diagram | None) -> str:
    shape = diagram.shapes.get(element_id) if diagram else None
    return shape.name if shape is not None and shape.name else element_id


def _stage_row(job: dict[str, Any], diagram: Diagram | None) -> StageRow:
    state = str(job.get("state") or "")
    element_id = str(job.get("elementId") or "")
    note = str(job.get("errorMessage") or "")
    ended = _parse_time(job.get("endTime")) if state in _JOB_ENDED else None
    return StageRow(element_id, _label(element_id, diagram), state, _parse_time(job.get("creationTime")), ended,
                    job.get("retries"), note)


_VIEW_STATE = {DONE: "COMPLETED", RUNNING: "ACTIVATED", FAILED: "FAILED"}


def stages_from_view(view: OrderView, diagram: Diagram | None) -> tuple[StageRow, ...]:
    """The stages as this console saw them (when the engine's jobs cannot be read)."""
    rows = []
    for stage, progress in zip(STAGES, view.stages, strict=True):
        state = _VIEW_STATE.get(progress.state)
        if state is None:
            continue
        element_id = (diagram.element_for_job_type(stage.task_type) if diagram else None) or stage.element_id
        ended = progress.started_at if progress.state == DONE else None
        started = progress.started_at if progress.state != DONE else None
        rows.append(StageRow(element_id, _label(element_id, diagram), state, started, ended, note=progress.note))
    return tuple(rows)


def _path(diagram: Diagram, stages: tuple[StageRow, ...], incident: IncidentView | None, started: bool,
          instance_state: str) -> PathState:
    completed = {r.element_id for r in stages if r.state == "COMPLETED"}
    errored = {r.element_id for r in stages if r.state == "ERROR_THROWN"}
    active = {r.element_id for r in stages if r.state not in _JOB_ENDED}
    incidents = {r.element_id for r in stages if r.state == "FAILED" and r.retries == 0}
    if incident is not None:
        stage = TASK_BY_TYPE.get(incident.stage)
        element = diagram.element_for_job_type(incident.stage)
        if element is None:
            element = incident.stage if incident.stage in diagram.shapes else (stage.element_id if stage else "")
        incidents.add(element)
    return path_state(diagram, completed, active - completed - errored, incidents, errored=errored,
                      started=started, finished=instance_state == "COMPLETED")

