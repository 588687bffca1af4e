"""Rebuilding the runtime's live state from what the store loaded at start-up."""

from __future__ import annotations

from collections import deque
from typing import Any

from .bpmn_parser import parse_single_process
from .keys import KeyGenerator
from .records import (
    BufferedMessage,
    ElementInstance,
    ErrorType,
    Incident,
    Job,
    JobEvent,
    JobState,
    JoinState,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Timer,
    Variable,
)
from .runtime_jobs import JobsMixin
from .runtime_messages import MessagesMixin
from .runtime_state import JOB_BACKOFF, JOB_DEADLINE, MESSAGE_TTL, TIMER
from .store import LoadedState


class RestoreMixin(MessagesMixin, JobsMixin):
    """``restore`` is called once, before serving."""

    def restore(self, state: LoadedState) -> None:
        self.keys = KeyGenerator(state.key_counter)
        self._restore_definitions(state.definitions)
        for row in state.instances:
            pi = ProcessInstance(
                key=row["key"], definition=self.definitions[row["process_definition_key"]],
                start_ms=row["start_ms"], persisted=True,
            )
            self.instances[pi.key] = pi
        for row in state.element_instances:
            pi = self.instances.get(row["process_instance_key"])
            if pi is None:
                continue
            ei = ElementInstance(
                key=row["key"], process_instance_key=pi.key, element_id=row["element_id"],
                flow_scope_key=row["flow_scope_key"], state=row["state"],
                job_key=row["job_key"], persisted=True,
            )
            pi.element_instances[ei.key] = ei
            self.element_instances[ei.key] = ei
        for row in state.variables:
            var = Variable(row["key"], row["scope_key"], row["process_instance_key"],
                           row["name"], row["value"], persisted=True)
            self.variables.setdefault(var.scope_key, {})[var.name] = var
        for row in state.incidents:
            pi = self.instances.get(row["process_instance_key"])
            if pi is None:
                continue
            incident = Incident(
                key=row["key"], error_type=ErrorType(row["error_type"]),
                error_message=row["error_message"], process_instance_key=pi.key,
                definition=pi.definition, element_id=row["element_id"],
                element_instance_key=row["element_instance_key"], job_key=row["job_key"],
                creation_ms=row["creation_ms"], persisted=True,
            )
            self.incidents[incident.key] = incident
            pi.open_incidents.add(incident.key)
        for row in state.jobs:
            self._restore_job(row)
        self._restore_waits(state)

    def _restore_definitions(self, rows: list[dict[str, Any]]) -> None:
        parsed: dict[str, Any] = {}
        for row in rows:
            cache_key = f"{row['checksum']}:{row['bpmn_process_id']}"
            model = parsed.get(cache_key)
            if model is None:
                model = parsed[cache_key] = parse_single_process(
                    row["resource_name"], row["resource"], row["bpmn_process_id"])
            definition = ProcessDefinition(
                key=row["key"], bpmn_process_id=row["bpmn_process_id"], version=row["version"],
                resource_name=row["resource_name"], checksum=row["checksum"],
                deployment_key=row["deployment_key"], model=model,
                deployed_ms=row["deployed_ms"], tenant_id=row["tenant_id"],
            )
            self.definitions[definition.key] = definition
            self.versions.setdefault(definition.bpmn_process_id, []).append(definition)
        for versions in self.versions.values():
            versions.sort(key=lambda d: d.version)

    def _restore_job(self, row: dict[str, Any]) -> None:
        if row["process_instance_key"] not in self.instances:
            return
        job = Job(
            key=row["key"], type=row["type"], process_instance_key=row["process_instance_key"],
            element_instance_key=row["element_instance_key"],
            definition=self.definitions[row["process_definition_key"]],
            element_id=row["element_id"], retries=row["retries"],
            custom_headers=row["custom_headers"], state=JobState(row["state"]),
            worker=row["worker"], deadline_ms=row["deadline_ms"],
            backoff_until_ms=row["backoff_until_ms"], error_message=row["error_message"],
            incident_key=row["incident_key"], error_code=row["error_code"] or "",
            last_event=JobEvent(row["last_event"] or JobEvent.CREATED),
            created_ms=row["created_ms"] or 0, updated_ms=row["updated_ms"] or 0,
            failed_with_retries_left=bool(row["failed_with_retries_left"]), persisted=True,
        )
        self.jobs[job.key] = job
        if job.state is JobState.ACTIVATABLE:
            seq = self._queue_seq[job.key] = 1
            self._activatable.setdefault(job.type, deque()).append((seq, job))
        elif job.state is JobState.ACTIVATED:
            self.scheduler.schedule(job.deadline_ms, JOB_DEADLINE, job.key)
        elif job.state is JobState.FAILED and job.incident_key is None and job.retries > 0:
            self.scheduler.schedule(job.backoff_until_ms, JOB_BACKOFF, job.key)

    def _restore_waits(self, state: LoadedState) -> None:
        """Timers, message subscriptions, buffered messages and parallel-join arrivals."""
        for row in state.timers:
            ei = self.element_instances.get(row["element_instance_key"])
            if ei is None:
                continue
            timer = Timer(row["key"], row["process_instance_key"], ei.key, row["element_id"],
                          row["due_ms"], persisted=True)
            self.timers[timer.key] = timer
            if ei.timer_keys is None:
                ei.timer_keys = []
            ei.timer_keys.append(timer.key)
            self.scheduler.schedule(timer.due_ms, TIMER, timer.key)
        for row in state.subscriptions:
            ei = self.element_instances.get(row["element_instance_key"])
            if ei is None:
                continue
            sub = MessageSubscription(
                row["key"], row["process_instance_key"], ei.key, row["element_id"],
                row["bpmn_process_id"], row["message_name"], row["correlation_key"],
                persisted=True)
            self._add_subscription(sub)
            ei.subscription_key = sub.key
        for row in state.messages:
            correlated = set(filter(None, row["correlated"].split(",")))
            message = BufferedMessage(
                row["key"], row["name"], row["correlation_key"], row["message_id"],
                row["variables"], row["publish_ms"], row["expire_ms"], correlated,
                persisted=True)
            self._add_message(message)
            self.scheduler.schedule(message.expire_ms, MESSAGE_TTL, message.key)
        for row in state.joins:
            pi = self.instances.get(row["process_instance_key"])
            if pi is None:
                continue
            arrivals = {}
            for part in filter(None, row["arrivals"].split(",")):
                flow, _, count = part.rpartition("=")
                arrivals[flow] = int(count)
            key = (row["scope_key"], row["element_id"])
            self.joins[key] = JoinState(key[0], key[1], pi.key, arrivals, persisted=True)
            pi.joins.add(key)
