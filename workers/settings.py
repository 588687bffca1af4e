"""What the workers need to know, independent of how the console reads its configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.callback import CallbackPolicy
from workers.stages import DECLINE_STAGES, SEED_DELAYS_S, STAGES, Stage

#: The seed's FailJob back-off after a stage's callback gave up: 5 s.
SEED_JOB_RETRY_BACKOFF_MS = 5000

#: Jobs each task type may run at once unless MEDCAM_TASK_CONCURRENCY says otherwise: above
#: 1,000 orders in flight at the seed's delays, so no order waits behind a job limit.
DEFAULT_TASK_CONCURRENCY = 2000

#: The task types each process needs workers for.
PROCESS_TASK_TYPES: dict[str, tuple[str, ...]] = {
    "poc": tuple(stage.task_type for stage in STAGES),
    "parallel": tuple(stage.task_type for stage in (*STAGES, *DECLINE_STAGES)),
}


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Settings of the three fulfillment workers (the seed's numbers are the defaults)."""

    medusa_url: str
    delays_s: tuple[float, ...] = SEED_DELAYS_S
    callback: CallbackPolicy = field(default_factory=CallbackPolicy)
    callback_path: str = "/demo"
    #: "demo" posts to the seed's route; "admin" writes through Medusa's Admin API.
    callback_mode: str = "demo"
    #: HMAC secret for signing callbacks (MEDCAM_CALLBACK_SECRET); None sends them unsigned.
    callback_secret: str | None = None
    #: FailJob back-off after a stage gave up.
    job_retry_backoff_ms: int = SEED_JOB_RETRY_BACKOFF_MS
    slack_webhook_url: str | None = None
    slack_admin_url: str | None = None
    worker_name: str = "medcam-console"
    max_jobs_to_activate: int = 32
    #: Jobs of one task type running at once (pyzeebe's max_running_jobs), per task type;
    #: kept above max_jobs_to_activate so a full batch never makes the poller sleep (PYZEEBE.md).
    task_concurrency: tuple[tuple[str, int], ...] = ()
    default_task_concurrency: int = DEFAULT_TASK_CONCURRENCY
    #: "poc" (the seed's process) or "parallel": which task types get a worker.
    process: str = "poc"
    #: Slack messages waiting to be posted; when full the oldest is dropped (and counted).
    slack_queue_size: int = 1000
    poll_retry_delay_s: float = 0.05
    #: Long-poll length of ActivateJobs in ms (0 = the gateway default).
    request_timeout_ms: int = 10_000
    #: Also open StreamActivatedJobs (Zeebe 8.4+): jobs are pushed the moment they exist.
    #: A gateway without it answers UNIMPLEMENTED, which stops a pyzeebe worker, so it is
    #: only on where the gateway is known to have it.
    job_streaming: bool = False
    #: Demo only: a random ± share (0..1) of each stage's simulated work (MEDCAM_DEMO_STAGE_JITTER).
    stage_jitter: float = 0.0

    @property
    def task_types(self) -> tuple[str, ...]:
        return PROCESS_TASK_TYPES[self.process]

    def concurrency_of(self, task_type: str) -> int:
        """How many jobs of ``task_type`` may run at once."""
        return dict(self.task_concurrency).get(task_type, self.default_task_concurrency)

    def delay_for(self, stage: Stage) -> float:
        return self.delays_s[stage.delay_index]

    def job_timeout_ms(self, stage: Stage) -> int:
        """The job lock: the stage's work plus every callback attempt and wait, with margin.

        A lock shorter than that would let Zeebe hand the job to another worker while
        this one is still retrying its callback.
        """
        policy = self.callback
        waits = sum(policy.delay_after(n) or 0.0 for n in range(1, policy.attempts + 1))
        worst_s = self.delay_for(stage) + policy.attempts * policy.timeout_s + waits
        return int((worst_s + 10.0) * 1000)


def parse_task_concurrency(text: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """Parse MEDCAM_TASK_CONCURRENCY: ``N`` for every task type and/or ``type=N`` items.

    ``"500"``, ``"verify-payment=100,send-notification=50"`` or ``"800,release-inventory=20"``.
    Returns (default, per-task overrides). Raises ValueError with a message for the operator.
    """
    known = PROCESS_TASK_TYPES["parallel"]
    default = DEFAULT_TASK_CONCURRENCY
    overrides: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, value = part.rpartition("=")
        name = name.strip()
        try:
            count = int(value.strip())
        except ValueError:
            raise ValueError(f"{part!r}: expected N or task-type=N with N a whole number") from None
        if not 1 <= count <= 100_000:
            raise ValueError(f"{part!r}: N must be between 1 and 100000")
        if not name:
            default = count
        elif name in known:
            overrides[name] = count
        else:
            raise ValueError(f"{name!r} is not a task type ({', '.join(known)})")
    return default, tuple(sorted(overrides.items()))
