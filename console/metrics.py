"""Prometheus metrics derived from the typed events on the console's bus."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from console.events import (
    CallbackAttempt,
    IncidentRaised,
    IncidentResolved,
    InstanceCancelled,
    JobActivated,
    JobFailed,
    SlackFailed,
    SlackSent,
    StageAbandoned,
    StageCompleted,
)
from workers.events import JobHandedBack
from workers.stages import STAGES

log = logging.getLogger(__name__)

#: Callback latency buckets in seconds: loopback milliseconds up to the seed's 5 s timeout.
CALLBACK_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: How many incident keys and open jobs are remembered to count each incident once.
REMEMBERED = 100_000
LAST_TASK_TYPE = STAGES[-1].task_type


class _Bounded(OrderedDict):
    """An insertion-ordered set that forgets its oldest keys beyond ``REMEMBERED``."""

    def add(self, key: object) -> None:
        self[key] = None
        self.move_to_end(key)
        while len(self) > REMEMBERED:
            self.popitem(last=False)


class FulfillmentMetrics:
    """Counters, a histogram and gauges fed by ``observe(event)`` (a bus subscriber)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs_activated = Counter("medcam_jobs_activated", "Jobs activated, by task type", ["task_type"], registry=r)
        self.jobs_completed = Counter("medcam_jobs_completed", "Jobs completed, by task type", ["task_type"], registry=r)
        self.jobs_failed = Counter("medcam_jobs_failed", "Jobs failed back to Zeebe, by task type", ["task_type"], registry=r)
        self.jobs_handed_back = Counter(
            "medcam_jobs_handed_back", "Jobs given back unfinished at shutdown, by task type", ["task_type"], registry=r,
        )
        self.callback_attempts = Counter(
            "medcam_callback_attempts", "Status callback attempts, by outcome (ok, http_error, error)",
            ["outcome"], registry=r,
        )
        self.callback_latency = Histogram(
            "medcam_callback_latency_seconds", "Status callback latency per attempt",
            buckets=CALLBACK_BUCKETS_S, registry=r,
        )
        self.incidents_raised = Counter("medcam_incidents_raised", "Incidents raised", registry=r)
        self.incidents_resolved = Counter("medcam_incidents_resolved", "Incidents resolved", registry=r)
        self.slack_posts = Counter("medcam_slack_posts", "Slack messages posted", registry=r)
        self.slack_failures = Counter("medcam_slack_failures", "Slack messages that failed", registry=r)
        self.orders_in_flight = Gauge(
            "medcam_orders_in_flight", "Orders whose first job was activated and whose last job is not done",
            registry=r,
        )
        self._in_flight: set[str] = set()
        self._open_jobs = _Bounded()
        self._resolved = _Bounded()

    def observe(self, event: object) -> None:
        """Update the metrics from one bus event (anything else is ignored)."""
        match event:
            case JobActivated(order_id=order_id, stage=task_type):
                self.jobs_activated.labels(task_type).inc()
                self._set_in_flight(order_id, True)
            case StageCompleted(order_id=order_id, stage=task_type):
                self.jobs_completed.labels(task_type).inc()
                if task_type == LAST_TASK_TYPE:
                    self._set_in_flight(order_id, False)
            case JobFailed(stage=task_type):
                self.jobs_failed.labels(task_type).inc()
            case JobHandedBack(stage=task_type):
                self.jobs_handed_back.labels(task_type).inc()
            case StageAbandoned(order_id=order_id) | InstanceCancelled(order_id=order_id):
                self._set_in_flight(order_id, False)
            case CallbackAttempt():
                self._callback(event)
            case IncidentRaised():
                self._incident_raised(event)
            case IncidentResolved(incident_key=key):
                if key not in self._resolved:
                    self._resolved.add(key)
                    self.incidents_resolved.inc()
            case SlackSent():
                self.slack_posts.inc()
            case SlackFailed():
                self.slack_failures.inc()

    def _callback(self, event: CallbackAttempt) -> None:
        if event.ok:
            outcome = "ok"
        elif event.http_status is not None:
            outcome = "http_error"
        else:
            outcome = "error"
        self.callback_attempts.labels(outcome).inc()
        self.callback_latency.observe(max(event.latency_ms, 0.0) / 1000.0)

    def _incident_raised(self, event: IncidentRaised) -> None:
        """Count each incident once: the worker reports it first, the incident poller again."""
        job = (event.process_instance_key, event.job_key)
        if event.incident_key is None:  # the worker's own report: a new incident on that job
            self._open_jobs.add(job)
            self.incidents_raised.inc()
            return
        if event.job_key is not None and job in self._open_jobs:
            return  # the poller found the incident the worker already reported
        if event.job_key is not None:
            self._open_jobs.add(job)
        self.incidents_raised.inc()

    def _set_in_flight(self, order_id: str, flying: bool) -> None:
        if flying:
            self._in_flight.add(order_id)
        else:
            self._in_flight.discard(order_id)
        self.orders_in_flight.set(len(self._in_flight))


@dataclass
class MetricsEndpoint:
    """The HTTP server prometheus-client runs in a thread, serving one registry."""

    host: str
    port: int
    _server: Any

    @classmethod
    def serve(cls, metrics: FulfillmentMetrics, port: int, host: str = "127.0.0.1") -> MetricsEndpoint:
        """Serve ``/metrics`` on ``host:port`` (port 0 picks a free one). Raises OSError."""
        server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
        bound = server.server_address[1]
        log.info("metrics served on http://%s:%s/metrics", host, bound)
        return cls(host, bound, server)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
