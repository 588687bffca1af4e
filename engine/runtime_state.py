"""The runtime's in-memory state, shared by the command mixins that make up the Runtime."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from .changes import ChangeSet
from .clock import Clock
from .keys import KeyGenerator
from .records import (
    BufferedMessage,
    ElementInstance,
    ErrorType,
    Incident,
    Job,
    JoinState,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Timer,
    Variable,
)
from .scheduler import Scheduler

# Scheduler entry kinds.
JOB_DEADLINE = "job-deadline"
JOB_BACKOFF = "job-backoff"
TIMER = "timer"
MESSAGE_TTL = "message-ttl"

# Called with the root variables (name -> JSON text) when an instance completes.
ResultListener = Callable[[dict[str, str]], None]


class StepFailure(Exception):
    """An element's activate or complete step failed; it becomes an incident of this type."""

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class RuntimeState:
    """All live engine state, in memory; the mixins add the commands that change it."""

    def __init__(self, clock: Clock, scheduler: Scheduler) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self.keys = KeyGenerator()
        self.changes = ChangeSet()
        self.definitions: dict[int, ProcessDefinition] = {}
        self.versions: dict[str, list[ProcessDefinition]] = {}
        self.instances: dict[int, ProcessInstance] = {}
        self.element_instances: dict[int, ElementInstance] = {}
        self.variables: dict[int, dict[str, Variable]] = {}
        self.jobs: dict[int, Job] = {}
        self.incidents: dict[int, Incident] = {}
        self.timers: dict[int, Timer] = {}
        self.subscriptions: dict[int, MessageSubscription] = {}
        # (message name, correlation key) -> open subscriptions / buffered messages, oldest first
        self.subscriptions_by_message: dict[tuple[str, str], list[MessageSubscription]] = {}
        self.messages: dict[int, BufferedMessage] = {}
        self.messages_by_key: dict[tuple[str, str], list[BufferedMessage]] = {}
        self.joins: dict[tuple[int, str], JoinState] = {}
        self.result_listeners: dict[int, ResultListener] = {}
        # Per job type, FIFO of (sequence, job); entries whose sequence no longer matches the
        # job's are stale and skipped (cheaper than removing them from the middle).
        self._activatable: dict[str, deque[tuple[int, Job]]] = {}
        self._queue_seq: dict[int, int] = {}
        # Told when jobs of a type join the backlog (long polling wakes up on it).
        self.on_jobs_available: Callable[[str], None] | None = None
        # Offered every job that becomes activatable; returns True when it will push the
        # job to a stream itself (then the job skips the backlog).
        self.job_offer: Callable[[Job], bool] | None = None
