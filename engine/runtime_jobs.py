"""Job commands of the runtime: activate, complete, fail, throw error, retries, timeout, push."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from .changes import JOBS
from .errors import INVALID_ARGUMENT, INVALID_STATE, NOT_FOUND, Rejection
from .records import (
    ActivatedJobView,
    ElementInstance,
    ErrorType,
    Incident,
    Job,
    JobEvent,
    JobState,
    ProcessInstance,
)
from .runtime_flow import Agenda, FlowMixin
from .runtime_state import JOB_BACKOFF, JOB_DEADLINE
from .variables import encode_value

NO_RETRIES_MESSAGE = "No more retries left."
_WORKABLE = (JobState.ACTIVATABLE, JobState.ACTIVATED)


class JobsMixin(FlowMixin):
    """Everything a worker (or an operator) does to a job."""

    # ------------------------------------------------------------------ activation

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
            views.append(self._lock(job, worker, deadline, names))
        return views

    def activate_pushed(self, job: Job, worker: str, timeout_ms: int,
                        fetch_variables: list[str]) -> ActivatedJobView | None:
        """Activate a job that was offered to a stream; None when it is no longer activatable."""
        if self.jobs.get(job.key) is not job or job.state is not JobState.ACTIVATABLE:
            return None
        self._queue_seq.pop(job.key, None)
        return self._lock(job, worker, self.clock.now_ms() + timeout_ms, fetch_variables or None)

    def requeue(self, job: Job) -> None:
        """An offered job found no stream after all: it joins the backlog."""
        if self.jobs.get(job.key) is job and job.state is JobState.ACTIVATABLE:
            self._enqueue(job)

    def _lock(self, job: Job, worker: str, deadline: int, names: list[str] | None) -> ActivatedJobView:
        job.state = JobState.ACTIVATED
        job.worker = worker
        job.deadline_ms = deadline
        self.changes.upsert(JOBS, job.key, job)
        self.scheduler.schedule(deadline, JOB_DEADLINE, job.key)
        return self._view(job, names)

    def release_jobs(self, views: Iterable[ActivatedJobView]) -> None:
        """Undelivered activations (the client went away) become activatable again."""
        for view in views:
            job = self.jobs.get(view.key)
            if (job is not None and job.state is JobState.ACTIVATED
                    and job.deadline_ms == view.deadline_ms and job.worker == view.worker):
                self._make_activatable(job)

    # ------------------------------------------------------------------ worker commands

    def complete_job(self, key: int, variables: dict[str, Any]) -> None:
        job = self._workable_job(key, "complete", "COMPLETE")
        pi = self.instances[job.process_instance_key]
        ei = self.element_instances[job.element_instance_key]
        self._end_job(job, JobEvent.COMPLETED)
        node = pi.definition.model.nodes[ei.element_id]
        if variables:
            self._write_result(pi.key, ei, node, variables)
        agenda: Agenda = []
        self._complete_or_incident(pi, ei, node, agenda)
        self._run(pi, agenda)

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
        job.last_event = JobEvent.FAILED
        job.updated_ms = self.clock.now_ms()
        if retries > 0:
            job.failed_with_retries_left = True
        if retries > 0 and backoff_ms <= 0:
            self._make_activatable(job)
            return
        job.state = JobState.FAILED
        if retries > 0:
            job.backoff_until_ms = self.clock.now_ms() + backoff_ms
            self.scheduler.schedule(job.backoff_until_ms, JOB_BACKOFF, job.key)
        else:
            self._job_incident(job, ErrorType.JOB_NO_RETRIES, error_message or NO_RETRIES_MESSAGE)
        self.changes.upsert(JOBS, job.key, job)

    def throw_error(self, key: int, error_code: str, error_message: str,
                    variables: dict[str, Any]) -> None:
        """Caught by a boundary event of the task, or an UNHANDLED_ERROR_EVENT incident."""
        job = self._workable_job(key, "throw an error for", "THROW_ERROR")
        pi = self.instances[job.process_instance_key]
        ei = self.element_instances[job.element_instance_key]
        node = pi.definition.model.nodes[ei.element_id]
        job.error_code = error_code
        job.error_message = error_message
        job.last_event = JobEvent.ERROR_THROWN
        job.updated_ms = self.clock.now_ms()
        boundary = node.catching(error_code)
        if boundary is not None:
            agenda: Agenda = []
            self._interrupt(pi, ei, boundary, variables, agenda)  # ends the job as well
            job.last_event = JobEvent.ERROR_THROWN  # rows are rendered at commit time
            self._run(pi, agenda)
            return
        job.state = JobState.ERROR_THROWN
        job.deadline_ms = 0
        self._job_incident(
            job, ErrorType.UNHANDLED_ERROR_EVENT,
            f"Expected to throw an error event with the code '{error_code}' with message "
            f"'{error_message}', but it was not caught. No error events are available in the "
            "scope.",
        )
        self.changes.upsert(JOBS, job.key, job)

    # ------------------------------------------------------------------ operator commands

    def update_job_retries(self, key: int, retries: int) -> None:
        self._check_retries(key, retries)
        job = self._live_job(key, "update retries for", "UPDATE_RETRIES")
        self._set_retries(job, retries)

    def update_job_timeout(self, key: int, timeout_ms: int) -> None:
        """Move an activated job's deadline to now + ``timeout_ms`` (shorten or extend)."""
        job = self._live_job(key, "update job deadline", "UPDATE_TIMEOUT", with_key=True)
        self._check_activated(job, "update job deadline", "UPDATE_TIMEOUT")
        self._set_deadline(job, timeout_ms)

    def update_job(self, key: int, retries: int | None, timeout_ms: int | None) -> None:
        """REST ``PATCH /jobs/{key}``: retries and/or timeout, all or nothing."""
        if retries is not None:
            self._check_retries(key, retries, "UPDATE")
        job = self._live_job(key, "update", "UPDATE")
        if timeout_ms is not None:
            self._check_activated(job, "update job deadline", "UPDATE")
        if retries is not None:
            self._set_retries(job, retries)
        if timeout_ms is not None:
            self._set_deadline(job, timeout_ms)

    def _check_retries(self, key: int, retries: int, intent: str = "UPDATE_RETRIES") -> None:
        if retries < 1:
            raise Rejection(
                INVALID_ARGUMENT,
                f"Expected to update retries for job with key '{key}' with a positive amount of "
                f"retries, but the amount given was '{retries}'",
                intent,
            )

    def _check_activated(self, job: Job, verb: str, intent: str) -> None:
        if job.state is not JobState.ACTIVATED:
            raise Rejection(
                INVALID_STATE,
                f"Expected to {verb} with key '{job.key}', but it is in state "
                f"'{job.state.value}'",
                intent,
            )

    def _set_retries(self, job: Job, retries: int) -> None:
        job.retries = retries
        job.last_event = JobEvent.RETRIES_UPDATED
        job.updated_ms = self.clock.now_ms()
        self.changes.upsert(JOBS, job.key, job)

    def _set_deadline(self, job: Job, timeout_ms: int) -> None:
        job.deadline_ms = self.clock.now_ms() + max(0, timeout_ms)
        job.updated_ms = self.clock.now_ms()
        self.changes.upsert(JOBS, job.key, job)
        self.scheduler.schedule(job.deadline_ms, JOB_DEADLINE, job.key)

    # ------------------------------------------------------------------ helpers

    def _live_job(self, key: int, verb: str, intent: str, with_key: bool = False) -> Job:
        job = self.jobs.get(key)
        if job is None:
            what = f"{verb} with key '{key}'" if with_key else f"{verb} job with key '{key}'"
            raise Rejection(NOT_FOUND, f"Expected to {what}, but no such job was found", intent)
        return job

    def _workable_job(self, key: int, verb: str, intent: str) -> Job:
        job = self._live_job(key, verb, intent)
        if job.state not in _WORKABLE:
            raise Rejection(
                INVALID_STATE,
                f"Expected to {verb} job with key '{key}', but it is in state '{job.state.value}'",
                intent,
            )
        return job

    def _create_job(self, pi: ProcessInstance, ei: ElementInstance, job_type: str, retries: int,
                    headers_json: str) -> Job:
        now = self.clock.now_ms()
        job = Job(
            key=self.keys.next_key(), type=job_type, process_instance_key=pi.key,
            element_instance_key=ei.key, definition=pi.definition, element_id=ei.element_id,
            retries=retries, custom_headers=headers_json, created_ms=now, updated_ms=now,
        )
        ei.job_key = job.key
        self.jobs[job.key] = job
        return job

    def _make_activatable(self, job: Job) -> None:
        job.state = JobState.ACTIVATABLE
        job.worker = ""
        job.deadline_ms = 0
        job.backoff_until_ms = 0
        self.changes.upsert(JOBS, job.key, job)
        offer = self.job_offer
        if offer is not None and offer(job):
            # pushed to a stream: invalidate any older backlog entry of this job
            self._queue_seq[job.key] = self._queue_seq.get(job.key, 0) + 1
            return
        self._enqueue(job)

    def _enqueue(self, job: Job) -> None:
        seq = self._queue_seq.get(job.key, 0) + 1
        self._queue_seq[job.key] = seq
        queue = self._activatable.get(job.type)
        if queue is None:
            queue = self._activatable[job.type] = deque()
        queue.append((seq, job))
        if self.on_jobs_available is not None:
            self.on_jobs_available(job.type)

    def _end_job(self, job: Job, event: JobEvent) -> None:
        """The job leaves the runtime; its row stays as history for the job search."""
        del self.jobs[job.key]
        self._queue_seq.pop(job.key, None)
        now = self.clock.now_ms()
        job.last_event = event
        job.end_ms = now
        job.updated_ms = now
        job.deadline_ms = 0
        self.changes.upsert(JOBS, job.key, job)

    def _job_incident(self, job: Job, error_type: ErrorType, message: str) -> None:
        pi = self.instances[job.process_instance_key]
        incident = Incident(
            key=self.keys.next_key(), error_type=error_type, error_message=message,
            process_instance_key=pi.key, definition=pi.definition, element_id=job.element_id,
            element_instance_key=job.element_instance_key, job_key=job.key,
            creation_ms=self.clock.now_ms(),
        )
        job.incident_key = incident.key
        self._open_incident(pi, incident)

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

    def _on_job_due(self, kind: str, key: int, due_ms: int) -> None:
        job = self.jobs.get(key)
        if job is None:
            return
        if kind == JOB_DEADLINE:
            if job.state is JobState.ACTIVATED and job.deadline_ms == due_ms:
                job.last_event = JobEvent.TIMED_OUT
                job.updated_ms = self.clock.now_ms()
                self._make_activatable(job)
        elif (job.state is JobState.FAILED and job.backoff_until_ms == due_ms
              and job.incident_key is None and job.retries > 0):
            self._make_activatable(job)
