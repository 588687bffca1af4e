"""Token movement: element activation and completion, gateways, timers, boundary events, incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .bpmn_model import ElementKind, FlowNode, SequenceFlow, TimerDefinition
from .changes import ELEMENT_INSTANCES, INCIDENTS, JOINS, PROCESS_INSTANCES, TIMERS
from .feel import Expression, is_number, type_name
from .iso8601 import IsoDuration, date_time_ms, parse_date_time, parse_duration
from .records import (
    ElementInstance,
    ElementState,
    ErrorType,
    Incident,
    IncidentState,
    InstanceState,
    JobEvent,
    JoinState,
    ProcessInstance,
    Timer,
)
from .runtime_state import TIMER, StepFailure
from .runtime_variables import VariablesMixin
from .variables import encode_value

# (node to enter, flow scope key, the sequence flow that led there)
Agenda = list[tuple[FlowNode, int, str | None]]

# Steps one command may take before a token is stopped: a loop of gateways and events
# without any wait state would otherwise hold the engine forever.
MAX_STEPS_PER_COMMAND = 10_000

_START = ElementKind.START_EVENT
_END = ElementKind.END_EVENT
_TASK = ElementKind.SERVICE_TASK


class FlowMixin(VariablesMixin):
    """Runs tokens through the process graph; every failing step becomes an incident."""

    def _run(self, pi: ProcessInstance, agenda: Agenda) -> None:
        """Move tokens until each waits (task, event, join) or is consumed (end event)."""
        steps = 0
        while agenda:
            node, scope_key, via = agenda.pop()
            steps += 1
            if steps > MAX_STEPS_PER_COMMAND:
                self._stop_runaway(pi, node, scope_key)
                continue
            self._enter(pi, node, scope_key, via, agenda)
        if pi.state is InstanceState.ACTIVE and not pi.element_instances and not pi.joins:
            self._finish_instance(pi, InstanceState.COMPLETED, self.clock.now_ms())

    def _enter(self, pi: ProcessInstance, node: FlowNode, scope_key: int, via: str | None,
               agenda: Agenda) -> None:
        kind = node.kind
        if (kind is _START or kind is _END) and not node.inputs and not node.outputs:
            self.keys.next_key()  # pass-through events get an element-instance key too
            if kind is _START:
                self._take(pi, node.outgoing, scope_key, agenda)
            return
        if node.is_join and not self._arrive(pi, node, scope_key, via):
            return
        ei = ElementInstance(self.keys.next_key(), pi.key, node.id, scope_key,
                             ElementState.ACTIVATING)
        pi.element_instances[ei.key] = ei
        self.element_instances[ei.key] = ei
        self._activate(pi, ei, node, agenda)

    def _stop_runaway(self, pi: ProcessInstance, node: FlowNode, scope_key: int) -> None:
        """Park the token before ``node`` with an incident; resolving it goes on from there."""
        ei = ElementInstance(self.keys.next_key(), pi.key, node.id, scope_key,
                             ElementState.ACTIVATING)
        pi.element_instances[ei.key] = ei
        self.element_instances[ei.key] = ei
        self._step_incident(pi, ei, StepFailure(
            ErrorType.UNKNOWN,
            f"Expected the process to reach a wait state, but it took more than "
            f"{MAX_STEPS_PER_COMMAND} steps without one; is there a loop without a task or "
            "event?",
        ))

    def _take(self, pi: ProcessInstance, flows: list[SequenceFlow], scope_key: int,
              agenda: Agenda) -> None:
        nodes = pi.definition.model.nodes
        for flow in reversed(flows):
            agenda.append((nodes[flow.target_id], scope_key, flow.id))

    def _activate(self, pi: ProcessInstance, ei: ElementInstance, node: FlowNode,
                  agenda: Agenda) -> None:
        """The ACTIVATING step: input mappings, then whatever the element kind does."""
        try:
            if node.inputs:
                self._apply_inputs(pi.key, ei, node)
            kind = node.kind
            if kind is _TASK:
                self._activate_job_task(pi, ei, node)
            elif kind is ElementKind.RECEIVE_TASK or kind is ElementKind.MESSAGE_CATCH:
                self._activate_message_catch(pi, ei, node, agenda)
            elif kind is ElementKind.TIMER_CATCH:
                due = self._timer_due(ei.key, node.timer)  # type: ignore[arg-type]
                ei.state = ElementState.ACTIVATED
                self.changes.upsert(ELEMENT_INSTANCES, ei.key, ei)
                self._start_timers(pi, ei, [(node, due)])
            elif kind is ElementKind.EXCLUSIVE_GATEWAY:
                self._complete(pi, ei, node, agenda, self._choose_flow(ei, node))
            else:
                self._complete(pi, ei, node, agenda)
        except StepFailure as failure:
            self._step_incident(pi, ei, failure)

    def _complete(self, pi: ProcessInstance, ei: ElementInstance, node: FlowNode,
                  agenda: Agenda, flows: list[SequenceFlow] | None = None) -> None:
        """The COMPLETING step: output mappings, then leave along ``flows`` (default: all)."""
        ei.state = ElementState.COMPLETING
        if node.outputs:
            self._apply_outputs(pi.key, ei, node)
        self._close(pi, ei)
        self._take(pi, node.outgoing if flows is None else flows, ei.flow_scope_key, agenda)

    def _complete_or_incident(self, pi: ProcessInstance, ei: ElementInstance, node: FlowNode,
                              agenda: Agenda) -> None:
        try:
            self._complete(pi, ei, node, agenda)
        except StepFailure as failure:
            self._step_incident(pi, ei, failure)

    def _close(self, pi: ProcessInstance, ei: ElementInstance) -> None:
        """Remove an element instance with its timers, subscription and local variables."""
        del pi.element_instances[ei.key]
        del self.element_instances[ei.key]
        if ei.timer_keys:
            for key in ei.timer_keys:
                self._drop_timer(key)
            ei.timer_keys = None
        if ei.subscription_key is not None:
            self._close_subscription(ei.subscription_key)
            ei.subscription_key = None
        self._drop_scope_variables(ei.key)
        self.changes.delete(ELEMENT_INSTANCES, ei.key, ei)

    def _terminate(self, pi: ProcessInstance, ei: ElementInstance) -> None:
        """End an element without completing it: its job is cancelled, its incidents resolved."""
        if ei.job_key is not None:
            job = self.jobs.get(ei.job_key)
            if job is not None:
                self._end_job(job, JobEvent.CANCELED)
        now = self.clock.now_ms()
        for incident_key in sorted(pi.open_incidents):
            incident = self.incidents[incident_key]
            if incident.element_instance_key == ei.key:
                self._close_incident(pi, incident, now)
        self._close(pi, ei)

    def _interrupt(self, pi: ProcessInstance, ei: ElementInstance, boundary: FlowNode,
                   variables: dict[str, Any], agenda: Agenda) -> None:
        """An interrupting boundary event fires: the activity ends, the boundary path starts."""
        scope = ei.flow_scope_key
        self._terminate(pi, ei)
        event = ElementInstance(self.keys.next_key(), pi.key, boundary.id, scope,
                                ElementState.ACTIVATING)
        pi.element_instances[event.key] = event
        self.element_instances[event.key] = event
        for name, value in variables.items():  # local to the catch event
            self._set_variable(pi.key, event.key, name, encode_value(value))
        self._complete_or_incident(pi, event, boundary, agenda)

    def _finish_instance(self, pi: ProcessInstance, state: InstanceState, now: int) -> None:
        pi.state = state
        pi.end_ms = now
        listener = self.result_listeners.pop(pi.key, None)
        if listener is not None and state is InstanceState.COMPLETED:
            listener(self.local_variables(pi.key))
        # The root variables stay in the store as history (REST search finds finished
        # instances by them); only memory lets go of them.
        self.variables.pop(pi.key, None)
        for key in pi.joins:
            join = self.joins.pop(key, None)
            if join is not None:
                self.changes.delete(JOINS, key, join)
        pi.joins.clear()
        del self.instances[pi.key]
        self.changes.upsert(PROCESS_INSTANCES, pi.key, pi)

    # ------------------------------------------------------------------ element kinds

    def _activate_job_task(self, pi: ProcessInstance, ei: ElementInstance, node: FlowNode) -> None:
        task = node.task
        assert task is not None
        job_type = task.job_type
        if task.type_expression is not None:
            job_type = self._extract_string(task.type_expression, ei.key)
        retries = task.retries
        if task.retries_expression is not None:
            retries = self._extract_int(task.retries_expression, ei.key)
        timers = self._boundary_timers(ei, node) if node.boundaries else None
        ei.state = ElementState.ACTIVATED
        job = self._create_job(pi, ei, job_type, retries, task.headers_json)
        self.changes.upsert(ELEMENT_INSTANCES, ei.key, ei)
        if timers:
            self._start_timers(pi, ei, timers)
        self._make_activatable(job)

    def _choose_flow(self, ei: ElementInstance, node: FlowNode) -> list[SequenceFlow]:
        """Exclusive gateway: the first flow in document order whose condition is true."""
        default = None
        for flow in node.outgoing:
            if flow.id == node.default_flow:
                default = flow
                continue
            if flow.condition is None:
                return [flow]
            result = self._evaluate(flow.condition, ei.key, ErrorType.CONDITION_ERROR)
            if result is True:
                return [flow]
            if result is not False:
                raise StepFailure(
                    ErrorType.CONDITION_ERROR,
                    f"Expected result of the expression '{flow.condition.source}' to be "
                    f"'BOOLEAN', but was '{type_name(result)}'.",
                )
        if default is not None:
            return [default]
        if not node.outgoing:
            return []
        raise StepFailure(
            ErrorType.CONDITION_ERROR,
            "Expected at least one condition to evaluate to true, or to have a default flow",
        )

    def _arrive(self, pi: ProcessInstance, node: FlowNode, scope_key: int, via: str | None) -> bool:
        """A token reaches a parallel join; True once every incoming flow has a token."""
        key = (scope_key, node.id)
        join = self.joins.get(key)
        if join is None:
            join = self.joins[key] = JoinState(scope_key, node.id, pi.key)
            pi.joins.add(key)
        flow_id = via or ""
        join.arrivals[flow_id] = join.arrivals.get(flow_id, 0) + 1
        if any(join.arrivals.get(f.id, 0) < 1 for f in node.incoming):
            self.changes.upsert(JOINS, key, join)
            return False
        for flow in node.incoming:
            left = join.arrivals[flow.id] - 1
            if left:
                join.arrivals[flow.id] = left
            else:
                del join.arrivals[flow.id]
        if join.arrivals:  # extra arrivals wait for the next firing
            self.changes.upsert(JOINS, key, join)
        else:
            del self.joins[key]
            pi.joins.discard(key)
            self.changes.delete(JOINS, key, join)
        return True

    # ------------------------------------------------------------------ value extraction

    def _extract_string(self, expression: Expression, scope_key: int) -> str:
        value = self._evaluate(expression, scope_key, ErrorType.EXTRACT_VALUE_ERROR)
        if not isinstance(value, str):
            raise StepFailure(
                ErrorType.EXTRACT_VALUE_ERROR,
                f"Expected result of the expression '{expression.source}' to be 'STRING', but "
                f"was '{type_name(value)}'.",
            )
        return value

    def _extract_int(self, expression: Expression, scope_key: int) -> int:
        value = self._evaluate(expression, scope_key, ErrorType.EXTRACT_VALUE_ERROR)
        if not is_number(value) or value != int(value):
            raise StepFailure(
                ErrorType.EXTRACT_VALUE_ERROR,
                f"Expected result of the expression '{expression.source}' to be an integer "
                f"'NUMBER', but was '{type_name(value)}'.",
            )
        return int(value)

    # ------------------------------------------------------------------ timers

    def _timer_due(self, scope_key: int, timer: TimerDefinition) -> int:
        """When a timer started now is due (never before now + duration)."""
        now = self.clock.now_ms()
        source = timer.value
        value: Any = source.static
        if source.expression is not None:
            value = self._evaluate(source.expression, scope_key, ErrorType.EXTRACT_VALUE_ERROR)
        what = timer.value.text
        try:
            if timer.kind == "timeDuration":
                if isinstance(value, str):
                    value = parse_duration(value)
                if isinstance(value, IsoDuration):
                    return max(now, value.due_ms(now))
                expected = "a duration (e.g. 'PT15S')"
            else:
                if isinstance(value, str):
                    value = parse_date_time(value)
                if isinstance(value, datetime):
                    return date_time_ms(value)
                expected = "a date-time (e.g. '2025-01-31T10:00:00Z')"
        except ValueError as exc:
            raise StepFailure(ErrorType.EXTRACT_VALUE_ERROR,
                              f"Expected the {timer.kind} '{what}' to give a valid value: {exc}"
                              ) from None
        raise StepFailure(
            ErrorType.EXTRACT_VALUE_ERROR,
            f"Expected the {timer.kind} '{what}' to give {expected}, but it was "
            f"'{type_name(value)}'.",
        )

    def _boundary_timers(self, ei: ElementInstance, node: FlowNode) -> list[tuple[FlowNode, int]]:
        return [(b, self._timer_due(ei.key, b.timer)) for b in node.boundaries  # type: ignore[arg-type]
                if b.kind is ElementKind.TIMER_BOUNDARY]

    def _start_timers(self, pi: ProcessInstance, ei: ElementInstance,
                      timers: list[tuple[FlowNode, int]]) -> None:
        for node, due in timers:
            timer = Timer(self.keys.next_key(), pi.key, ei.key, node.id, due)
            self.timers[timer.key] = timer
            if ei.timer_keys is None:
                ei.timer_keys = []
            ei.timer_keys.append(timer.key)
            self.changes.upsert(TIMERS, timer.key, timer)
            self.scheduler.schedule(due, TIMER, timer.key)

    def _drop_timer(self, key: int) -> None:
        timer = self.timers.pop(key, None)
        if timer is not None:
            self.changes.delete(TIMERS, key, timer)

    def _on_timer(self, key: int, due_ms: int) -> None:
        timer = self.timers.get(key)
        if timer is None or timer.due_ms != due_ms:
            return
        self._drop_timer(key)
        ei = self.element_instances.get(timer.element_instance_key)
        if ei is None:
            return
        if ei.timer_keys and key in ei.timer_keys:
            ei.timer_keys.remove(key)
        pi = self.instances[ei.process_instance_key]
        node = pi.definition.model.nodes[timer.element_id]
        agenda: Agenda = []
        if node.kind is ElementKind.TIMER_CATCH:
            self._complete_or_incident(pi, ei, node, agenda)
        else:
            self._interrupt(pi, ei, node, {}, agenda)
        self._run(pi, agenda)

    # ------------------------------------------------------------------ incidents

    def _step_incident(self, pi: ProcessInstance, ei: ElementInstance, failure: StepFailure) -> None:
        """The element stays in ACTIVATING or COMPLETING until the incident is resolved."""
        self.changes.upsert(ELEMENT_INSTANCES, ei.key, ei)
        self._open_incident(pi, Incident(
            key=self.keys.next_key(), error_type=failure.error_type,
            error_message=failure.message, process_instance_key=pi.key,
            definition=pi.definition, element_id=ei.element_id, element_instance_key=ei.key,
            job_key=None, creation_ms=self.clock.now_ms(),
        ))

    def _open_incident(self, pi: ProcessInstance, incident: Incident) -> None:
        self.incidents[incident.key] = incident
        pi.open_incidents.add(incident.key)
        self.changes.upsert(INCIDENTS, incident.key, incident)
        self.changes.upsert(PROCESS_INSTANCES, pi.key, pi)

    def _close_incident(self, pi: ProcessInstance, incident: Incident, now: int) -> None:
        self.incidents.pop(incident.key, None)
        incident.state = IncidentState.RESOLVED
        incident.resolved_ms = now
        pi.open_incidents.discard(incident.key)
        self.changes.upsert(INCIDENTS, incident.key, incident)
        self.changes.upsert(PROCESS_INSTANCES, pi.key, pi)

    def _retry_step(self, pi: ProcessInstance, ei: ElementInstance) -> None:
        """Resolving a non-job incident runs the failed ACTIVATE or COMPLETE step again."""
        node = pi.definition.model.nodes[ei.element_id]
        agenda: Agenda = []
        if ei.state == ElementState.ACTIVATING:
            self._activate(pi, ei, node, agenda)
        else:
            self._complete_or_incident(pi, ei, node, agenda)
        self._run(pi, agenda)
