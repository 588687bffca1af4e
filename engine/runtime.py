"""The engine's single-threaded state machine: deployments, instances, jobs, messages, incidents.

Every public method is one command: it runs to completion without awaiting, either
returns its result or raises a Rejection, and records what it changed in ``changes``
so the group committer can persist it before anyone sees the reply. The commands live
in mixins by subject (flow, jobs, messages, variables, restore); this class adds
deployment, instance creation and cancellation, incident resolution and SetVariables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .bpmn_parser import parse_resource
from .changes import DEPLOYMENTS, PROCESS_DEFINITIONS, PROCESS_INSTANCES
from .clock import Clock
from .errors import INVALID_ARGUMENT, INVALID_STATE, NOT_FOUND, Rejection
from .records import (
    DEFAULT_TENANT,
    InstanceState,
    ProcessDefinition,
    ProcessInstance,
)
from .runtime_restore import RestoreMixin
from .runtime_state import (
    JOB_BACKOFF,
    JOB_DEADLINE,
    MESSAGE_TTL,
    TIMER,
    ResultListener,
)
from .scheduler import Scheduler
from .variables import encode_value

DEPLOY_ERROR_PREFIX = "Expected to deploy new resources, but encountered the following errors:"
_BPMN_SUFFIXES = (".bpmn", ".xml")


@dataclass(frozen=True, slots=True)
class DeploymentResult:
    key: int
    definitions: list[ProcessDefinition]
    tenant_id: str


class Runtime(RestoreMixin):
    """All live engine state, in memory."""

    def __init__(self, clock: Clock, scheduler: Scheduler) -> None:
        super().__init__(clock, scheduler)
        scheduler.on_due = self._on_due

    # ------------------------------------------------------------------ deployment

    def deploy(self, resources: Iterable[tuple[str, bytes]], tenant_id: str = "") -> DeploymentResult:
        resources = list(resources)
        problems: list[str] = []
        if not resources:
            problems.append("no resources given; at least one resource is required")
        parsed = []
        for name, content in resources:
            if not name.lower().endswith(_BPMN_SUFFIXES):
                problems.append(
                    f"'{name}': resource type is not supported by this engine "
                    "(only .bpmn and .xml process models can be deployed)"
                )
                continue
            parsed.append(parse_resource(name, content, problems))
        owner: dict[str, str] = {}
        for res in parsed:
            for model in res.processes:
                first = owner.setdefault(model.bpmn_process_id, res.name)
                if first != res.name:
                    problems.append(
                        f"'{res.name}': duplicate process id '{model.bpmn_process_id}', "
                        f"it is also defined in '{first}'"
                    )
        if problems:
            raise Rejection(INVALID_ARGUMENT, DEPLOY_ERROR_PREFIX + "\n" + "\n".join(problems))

        tenant = tenant_id or DEFAULT_TENANT
        now = self.clock.now_ms()
        deployment_key = self.keys.next_key()
        self.changes.insert(DEPLOYMENTS, (deployment_key, tenant, now))
        deployed: list[ProcessDefinition] = []
        for res in parsed:
            checksum = hashlib.sha256(res.content).hexdigest()
            for model in res.processes:
                versions = self.versions.setdefault(model.bpmn_process_id, [])
                if versions and versions[-1].checksum == checksum:
                    deployed.append(versions[-1])
                    continue
                definition = ProcessDefinition(
                    key=self.keys.next_key(),
                    bpmn_process_id=model.bpmn_process_id,
                    version=len(versions) + 1,
                    resource_name=res.name,
                    checksum=checksum,
                    deployment_key=deployment_key,
                    model=model,
                    deployed_ms=now,
                    tenant_id=tenant,
                )
                versions.append(definition)
                self.definitions[definition.key] = definition
                self.changes.insert(
                    PROCESS_DEFINITIONS,
                    (
                        definition.key, definition.bpmn_process_id, definition.version,
                        res.name, checksum, deployment_key, tenant, model.name, now,
                        res.content,
                    ),
                )
                deployed.append(definition)
        return DeploymentResult(deployment_key, deployed, tenant)

    # ------------------------------------------------------------------ instances

    def find_definition(self, bpmn_process_id: str, version: int, key: int) -> ProcessDefinition:
        if bpmn_process_id:
            versions = self.versions.get(bpmn_process_id)
            if version < 0:
                if versions:
                    return versions[-1]
                raise Rejection(
                    NOT_FOUND,
                    f"Expected to find process definition with process ID '{bpmn_process_id}', "
                    "but none found",
                    "CREATE",
                )
            if versions and 1 <= version <= len(versions):
                return versions[version - 1]
            raise Rejection(
                NOT_FOUND,
                f"Expected to find process definition with process ID '{bpmn_process_id}' and "
                f"version '{version}', but none found",
                "CREATE",
            )
        if key >= 0:
            definition = self.definitions.get(key)
            if definition is None:
                raise Rejection(
                    NOT_FOUND,
                    f"Expected to find process definition with key '{key}', but none found",
                    "CREATE",
                )
            return definition
        raise Rejection(
            INVALID_ARGUMENT,
            "Expected at least a bpmnProcessId or a key greater than -1, but none given",
            "CREATE",
        )

    def create_instance(self, definition: ProcessDefinition, variables: dict[str, Any],
                        on_complete: ResultListener | None = None) -> ProcessInstance:
        """Start an instance; ``on_complete`` hears the root variables if it completes."""
        model = definition.model
        if model.none_start_id is None:
            raise Rejection(
                INVALID_STATE,
                f"Expected to create instance of process with none start event, but there is "
                f"no such event in process '{definition.bpmn_process_id}'",
                "CREATE",
            )
        pi = ProcessInstance(key=self.keys.next_key(), definition=definition,
                             start_ms=self.clock.now_ms())
        self.instances[pi.key] = pi
        self.changes.upsert(PROCESS_INSTANCES, pi.key, pi)
        for name, value in variables.items():
            self._set_variable(pi.key, pi.key, name, encode_value(value))
        if on_complete is not None:
            self.result_listeners[pi.key] = on_complete
        self._run(pi, [(model.nodes[model.none_start_id], pi.key, None)])
        return pi

    def cancel_instance(self, key: int) -> None:
        pi = self.instances.get(key)
        if pi is None:
            raise Rejection(
                NOT_FOUND,
                f"Expected to cancel a process instance with key '{key}', but no such process "
                "was found",
                "CANCEL",
            )
        now = self.clock.now_ms()
        for ei in sorted(pi.element_instances.values(), key=lambda e: e.key, reverse=True):
            self._terminate(pi, ei)
        for incident_key in sorted(pi.open_incidents):
            self._close_incident(pi, self.incidents[incident_key], now)
        self._finish_instance(pi, InstanceState.TERMINATED, now)

    def set_variables(self, scope_key: int, variables: dict[str, Any], local: bool) -> int:
        """SetVariables: into exactly that scope, or each name to the scope that holds it."""
        if scope_key in self.instances:
            pi_key = scope_key
        elif scope_key in self.element_instances:
            pi_key = self.element_instances[scope_key].process_instance_key
        else:
            raise Rejection(
                NOT_FOUND,
                f"Expected to update variables for element with key '{scope_key}', but no "
                "such element was found",
                "UPDATE",
            )
        key = self.keys.next_key()
        for name, value in variables.items():
            if local:
                self._set_variable(pi_key, scope_key, name, encode_value(value))
            else:
                self._set_variable_propagating(pi_key, scope_key, name, encode_value(value))
        self.changes.touch()
        return key

    def broadcast_signal(self) -> int:
        """No signal events are supported yet: the signal gets a key and triggers nothing."""
        key = self.keys.next_key()
        self.changes.touch()
        return key

    # ------------------------------------------------------------------ incidents

    def resolve_incident(self, key: int) -> None:
        incident = self.incidents.get(key)
        if incident is None:
            raise Rejection(
                NOT_FOUND,
                f"Expected to resolve incident with key '{key}', but no such incident was found",
                "RESOLVE",
            )
        job = self.jobs.get(incident.job_key) if incident.job_key is not None else None
        if job is not None and job.retries <= 0:
            raise Rejection(
                INVALID_STATE,
                f"Expected to resolve incident with key '{key}', but job with key '{job.key}' "
                "has no retries left. Please update the job retries and retry resolving the "
                "incident",
                "RESOLVE",
            )
        pi = self.instances[incident.process_instance_key]
        self._close_incident(pi, incident, self.clock.now_ms())
        if job is not None:
            job.incident_key = None
            self._make_activatable(job)
            return
        ei = self.element_instances.get(incident.element_instance_key)
        if ei is not None:
            self._retry_step(pi, ei)

    # ------------------------------------------------------------------ due times

    def _on_due(self, kind: str, key: int, due_ms: int) -> None:
        if kind == TIMER:
            self._on_timer(key, due_ms)
        elif kind == MESSAGE_TTL:
            self._on_message_expired(key, due_ms)
        elif kind in (JOB_DEADLINE, JOB_BACKOFF):
            self._on_job_due(kind, key, due_ms)
