"""The engine's single-threaded state machine: deployments, instances, jobs and incidents.

Every public method is one command: it runs to completion without awaiting, either
returns its result or raises a Rejection, and records what it changed in ``changes``
so the group committer can persist it before anyone sees the reply.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .bpmn_model import ElementKind, FlowNode
from .bpmn_parser import parse_resource, parse_single_process
from .changes import (
    DEPLOYMENTS,
    ELEMENT_INSTANCES,
    INCIDENTS,
    JOBS,
    PROCESS_DEFINITIONS,
    PROCESS_INSTANCES,
    VARIABLES,
    ChangeSet,
)
from .clock import Clock
from .errors import INVALID_ARGUMENT, INVALID_STATE, NOT_FOUND, Rejection
from .keys import KeyGenerator
from .records import (
    DEFAULT_TENANT,
    ActivatedJobView,
    ElementInstance,
    ErrorType,
    Incident,
    IncidentState,
    InstanceState,
    Job,
    JobState,
    ProcessDefinition,
    ProcessInstance,
    Variable,
)
from .scheduler import Scheduler
from .store import LoadedState
from .variables import encode_value, render_document

DEPLOY_ERROR_PREFIX = "Expected to deploy new resources, but encountered the following errors:"
NO_RETRIES_MESSAGE = "No more retries left."
JOB_DEADLINE = "job-deadline"
JOB_BACKOFF = "job-backoff"
_BPMN_SUFFIXES = (".bpmn", ".xml")
_WORKABLE = (JobState.ACTIVATABLE, JobState.ACTIVATED)


@dataclass(frozen=True, slots=True)
class DeploymentResult:
    key: int
    definitions: list[ProcessDefinition]
    tenant_id: str


class Runtime:
    """All live engine state, in memory."""

    def __init__(self, clock: Clock, scheduler: Scheduler) -> None:
        self.clock = clock
        self.scheduler = scheduler
        scheduler.on_due = self._on_due
        self.keys = KeyGenerator()
        self.changes = ChangeSet()
        self.definitions: dict[int, ProcessDefinition] = {}
        self.versions: dict[str, list[ProcessDefinition]] = {}
        self.instances: dict[int, ProcessInstance] = {}
        self.element_instances: dict[int, ElementInstance] = {}
        self.variables: dict[int, dict[str, Variable]] = {}
        self.jobs: dict[int, Job] = {}
        self.incidents: dict[int, Incident] = {}
        # Per job type, FIFO of (sequence, job); entries whose sequence no longer matches the
        # job's are stale and skipped (cheaper than removing them from the middle).
        self._activatable: dict[str, deque[tuple[int, Job]]] = {}
        self._queue_seq: dict[int, int] = {}
        self.on_jobs_available: Callable[[str], None] | None = None

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

    def create_instance(self, definition: ProcessDefinition, variables: dict[str, Any]) -> ProcessInstance:
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
        self._run(pi, [(model.nodes[model.none_start_id], pi.key)])
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
            if ei.job_key is not None:
                job = self.jobs.get(ei.job_key)
                if job is not None:
                    self._remove_job(job)
            self._remove_element_instance(pi, ei)
        for incident_key in sorted(pi.open_incidents):
            incident = self.incidents.pop(incident_key, None)
            if incident is not None:
                incident.state = IncidentState.RESOLVED
                incident.resolved_ms = now
                self.changes.upsert(INCIDENTS, incident.key, incident)
        pi.open_incidents.clear()
        self._finish_instance(pi, InstanceState.TERMINATED, now)

    # ------------------------------------------------------------------ jobs

    def activate_jobs(
        self, job_type: str, worker: str, timeout_ms: int, max_jobs: int,
        fetch_variables: Iterable[str] = (),
    ) -> list[ActivatedJobView]:
        queue = self._activatable.get(job_type)
        if not queue:
            return []
        names = list(fetch_variables) or None
        deadline = self.clock.now_ms() + timeout_ms
        seqs = self._queue_seq
        views: list[ActivatedJobView] = []
        while queue and len(views) < max_jobs:
            seq, job = queue.popleft()
            if job.state is not JobState.ACTIVATABLE or seqs.get(job.key) != seq:
                continue
            del seqs[job.key]
            job.state = JobState.ACTIVATED
            job.worker = worker
            job.deadline_ms = deadline
            self.changes.upsert(JOBS, job.key, job)
            self.scheduler.schedule(deadline, JOB_DEADLINE, job.key)
            views.append(self._view(job, names))
        return views

    def release_jobs(self, views: Iterable[ActivatedJobView]) -> None:
        """Undelivered activations (the client went away) become activatable again."""
        for view in views:
            job = self.jobs.get(view.key)
            if (job is not None and job.state is JobState.ACTIVATED
                    and job.deadline_ms == view.deadline_ms and job.worker == view.worker):
                self._make_activatable(job)

    def complete_job(self, key: int, variables: dict[str, Any]) -> None:
        job = self._workable_job(key, "complete", "COMPLETE")
        pi = self.instances[job.process_instance_key]
        ei = self.element_instances[job.element_instance_key]
        self._remove_job(job)
        for name, value in variables.items():
            self._set_variable_propagating(pi.key, ei.key, name, encode_value(value))
        self._leave(pi, ei)

    def fail_job(
        self, key: int, retries: int, error_message: str, backoff_ms: int,
        variables: dict[str, Any],
    ) -> None:
        job = self._workable_job(key, "fail", "FAIL")
        for name, value in variables.items():
            self._set_variable(job.process_instance_key, job.element_instance_key, name,
                               encode_value(value))
        job.retries = retries
        job.error_message = error_message
        job.deadline_ms = 0
        if retries > 0 and backoff_ms <= 0:
            self._make_activatable(job)
            return
        job.state = JobState.FAILED
        if retries > 0:
            job.backoff_until_ms = self.clock.now_ms() + backoff_ms
            self.scheduler.schedule(job.backoff_until_ms, JOB_BACKOFF, job.key)
        else:
            self._raise_job_incident(job, error_message or NO_RETRIES_MESSAGE)
        self.changes.upsert(JOBS, job.key, job)

    def update_job_retries(self, key: int, retries: int) -> None:
        if retries < 1:
            raise Rejection(
                INVALID_ARGUMENT,
                f"Expected to update retries for job with key '{key}' with a positive amount of "
                f"retries, but the amount given was '{retries}'",
                "UPDATE_RETRIES",
            )
        job = self.jobs.get(key)
        if job is None:
            raise Rejection(
                NOT_FOUND,
                f"Expected to update retries for job with key '{key}', but no such job was found",
                "UPDATE_RETRIES",
            )
        job.retries = retries
        self.changes.upsert(JOBS, job.key, job)

    def update_job_timeout(self, key: int, timeout_ms: int) -> None:
        """Move an activated job's deadline to now + ``timeout_ms`` (shorten or extend)."""
        job = self.jobs.get(key)
        if job is None:
            raise Rejection(
                NOT_FOUND,
                f"Expected to update job deadline with key '{key}', but no such job was found",
                "UPDATE_TIMEOUT",
            )
        if job.state is not JobState.ACTIVATED:
            raise Rejection(
                INVALID_STATE,
                f"Expected to update job deadline with key '{key}', but it is in state "
                f"'{job.state.value}'",
                "UPDATE_TIMEOUT",
            )
        job.deadline_ms = self.clock.now_ms() + max(0, timeout_ms)
        self.changes.upsert(JOBS, job.key, job)
        self.scheduler.schedule(job.deadline_ms, JOB_DEADLINE, job.key)

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
        del self.incidents[key]
        incident.state = IncidentState.RESOLVED
        incident.resolved_ms = self.clock.now_ms()
        self.changes.upsert(INCIDENTS, incident.key, incident)
        pi = self.instances[incident.process_instance_key]
        pi.open_incidents.discard(key)
        self.changes.upsert(PROCESS_INSTANCES, pi.key, pi)
        if job is not None:
            job.incident_key = None
            self._make_activatable(job)

    # ------------------------------------------------------------------ execution

    def _run(self, pi: ProcessInstance, agenda: list[tuple[FlowNode, int]]) -> None:
        """Move tokens until every one of them waits (task) or is consumed (end event)."""
        nodes = pi.definition.model.nodes
        while agenda:
            node, scope_key = agenda.pop()
            kind = node.kind
            if kind is ElementKind.SERVICE_TASK:
                self._activate_task(pi, node, scope_key)
                continue
            self.keys.next_key()  # pass-through events get an element-instance key too
            if kind is ElementKind.START_EVENT:
                agenda.extend((nodes[f.target_id], scope_key) for f in reversed(node.outgoing))
            # END_EVENT: the token is consumed
        if pi.state is InstanceState.ACTIVE and not pi.element_instances:
            self._finish_instance(pi, InstanceState.COMPLETED, self.clock.now_ms())

    def _activate_task(self, pi: ProcessInstance, node: FlowNode, scope_key: int) -> None:
        task = node.task
        assert task is not None
        ei = ElementInstance(self.keys.next_key(), pi.key, node.id, scope_key)
        job = Job(
            key=self.keys.next_key(), type=task.job_type, process_instance_key=pi.key,
            element_instance_key=ei.key, definition=pi.definition, element_id=node.id,
            retries=task.retries, custom_headers=task.headers_json,
        )
        ei.job_key = job.key
        pi.element_instances[ei.key] = ei
        self.element_instances[ei.key] = ei
        self.jobs[job.key] = job
        self.changes.upsert(ELEMENT_INSTANCES, ei.key, ei)
        self._make_activatable(job)

    def _leave(self, pi: ProcessInstance, ei: ElementInstance) -> None:
        """Complete an element and send a token down each outgoing flow (implicit fork)."""
        model = pi.definition.model
        node = model.nodes[ei.element_id]
        self._remove_element_instance(pi, ei)
        nodes = model.nodes
        self._run(pi, [(nodes[f.target_id], ei.flow_scope_key) for f in reversed(node.outgoing)])

    def _finish_instance(self, pi: ProcessInstance, state: InstanceState, now: int) -> None:
        pi.state = state
        pi.end_ms = now
        self._drop_scope_variables(pi.key)
        del self.instances[pi.key]
        self.changes.upsert(PROCESS_INSTANCES, pi.key, pi)

    def _remove_element_instance(self, pi: ProcessInstance, ei: ElementInstance) -> None:
        del pi.element_instances[ei.key]
        del self.element_instances[ei.key]
        self._drop_scope_variables(ei.key)
        self.changes.delete(ELEMENT_INSTANCES, ei.key, ei)

    # ------------------------------------------------------------------ job helpers

    def _workable_job(self, key: int, verb: str, intent: str) -> Job:
        job = self.jobs.get(key)
        if job is None:
            raise Rejection(
                NOT_FOUND,
                f"Expected to {verb} job with key '{key}', but no such job was found",
                intent,
            )
        if job.state not in _WORKABLE:
            raise Rejection(
                INVALID_STATE,
                f"Expected to {verb} job with key '{key}', but it is in state '{job.state.value}'",
                intent,
            )
        return job

    def _make_activatable(self, job: Job) -> None:
        job.state = JobState.ACTIVATABLE
        job.worker = ""
        job.deadline_ms = 0
        job.backoff_until_ms = 0
        self.changes.upsert(JOBS, job.key, job)
        seq = self._queue_seq.get(job.key, 0) + 1
        self._queue_seq[job.key] = seq
        queue = self._activatable.get(job.type)
        if queue is None:
            queue = self._activatable[job.type] = deque()
        queue.append((seq, job))
        if self.on_jobs_available is not None:
            self.on_jobs_available(job.type)

    def _remove_job(self, job: Job) -> None:
        del self.jobs[job.key]
        self._queue_seq.pop(job.key, None)
        self.changes.delete(JOBS, job.key, job)

    def _raise_job_incident(self, job: Job, message: str) -> None:
        pi = self.instances[job.process_instance_key]
        incident = Incident(
            key=self.keys.next_key(), error_type=ErrorType.JOB_NO_RETRIES, error_message=message,
            process_instance_key=pi.key, definition=pi.definition, element_id=job.element_id,
            element_instance_key=job.element_instance_key, job_key=job.key,
            creation_ms=self.clock.now_ms(),
        )
        job.incident_key = incident.key
        self.incidents[incident.key] = incident
        pi.open_incidents.add(incident.key)
        self.changes.upsert(INCIDENTS, incident.key, incident)
        self.changes.upsert(PROCESS_INSTANCES, pi.key, pi)

    def _view(self, job: Job, names: list[str] | None) -> ActivatedJobView:
        d = job.definition
        return ActivatedJobView(
            key=job.key, type=job.type, process_instance_key=job.process_instance_key,
            bpmn_process_id=d.bpmn_process_id, process_definition_version=d.version,
            process_definition_key=d.key, element_id=job.element_id,
            element_instance_key=job.element_instance_key, custom_headers=job.custom_headers,
            worker=job.worker, retries=job.retries, deadline_ms=job.deadline_ms,
            variables=self.visible_variables(job.element_instance_key, names),
            tenant_id=d.tenant_id,
        )

    def _on_due(self, kind: str, key: int, due_ms: int) -> None:
        job = self.jobs.get(key)
        if job is None:
            return
        if kind == JOB_DEADLINE:
            if job.state is JobState.ACTIVATED and job.deadline_ms == due_ms:
                self._make_activatable(job)
        elif kind == JOB_BACKOFF and (
            job.state is JobState.FAILED and job.backoff_until_ms == due_ms
            and job.incident_key is None and job.retries > 0
        ):
            self._make_activatable(job)

    # ------------------------------------------------------------------ variables

    def _parent_scope(self, scope_key: int) -> int | None:
        ei = self.element_instances.get(scope_key)
        return ei.flow_scope_key if ei is not None else None

    def visible_variables(self, scope_key: int, names: list[str] | None = None) -> str:
        """JSON object of the variables seen from ``scope_key`` (inner scopes shadow outer)."""
        found: dict[str, str] = {}
        scope: int | None = scope_key
        while scope is not None:
            local = self.variables.get(scope)
            if local:
                if names is None:
                    for name, var in local.items():
                        if name not in found:
                            found[name] = var.value
                else:
                    for name in names:
                        if name not in found and name in local:
                            found[name] = local[name].value
            scope = self._parent_scope(scope)
        return render_document(found)

    def _set_variable(self, pi_key: int, scope_key: int, name: str, value: str) -> None:
        local = self.variables.get(scope_key)
        if local is None:
            local = self.variables[scope_key] = {}
        var = local.get(name)
        if var is None:
            var = local[name] = Variable(self.keys.next_key(), scope_key, pi_key, name, value)
        elif var.value == value:
            return
        else:
            var.value = value
        self.changes.upsert(VARIABLES, (scope_key, name), var)

    def _set_variable_propagating(self, pi_key: int, scope_key: int, name: str, value: str) -> None:
        scope: int | None = scope_key
        while scope is not None:
            local = self.variables.get(scope)
            if local is not None and name in local:
                self._set_variable(pi_key, scope, name, value)
                return
            scope = self._parent_scope(scope)
        self._set_variable(pi_key, pi_key, name, value)

    def _drop_scope_variables(self, scope_key: int) -> None:
        local = self.variables.pop(scope_key, None)
        if local:
            for name, var in local.items():
                self.changes.delete(VARIABLES, (scope_key, name), var)

    # ------------------------------------------------------------------ restore

    def restore(self, state: LoadedState) -> None:
        """Rebuild live state from the store (called once, before serving)."""
        self.keys = KeyGenerator(state.key_counter)
        parsed: dict[str, Any] = {}
        for row in state.definitions:
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
            if row["process_instance_key"] not in self.instances:
                continue
            job = Job(
                key=row["key"], type=row["type"],
                process_instance_key=row["process_instance_key"],
                element_instance_key=row["element_instance_key"],
                definition=self.definitions[row["process_definition_key"]],
                element_id=row["element_id"], retries=row["retries"],
                custom_headers=row["custom_headers"], state=JobState(row["state"]),
                worker=row["worker"], deadline_ms=row["deadline_ms"],
                backoff_until_ms=row["backoff_until_ms"], error_message=row["error_message"],
                incident_key=row["incident_key"], persisted=True,
            )
            self.jobs[job.key] = job
            if job.state is JobState.ACTIVATABLE:
                seq = self._queue_seq[job.key] = 1
                self._activatable.setdefault(job.type, deque()).append((seq, job))
            elif job.state is JobState.ACTIVATED:
                self.scheduler.schedule(job.deadline_ms, JOB_DEADLINE, job.key)
            elif job.state is JobState.FAILED and job.incident_key is None and job.retries > 0:
                self.scheduler.schedule(job.backoff_until_ms, JOB_BACKOFF, job.key)
