"""What the workers need to know, independent of how the console reads its configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.callback import CallbackPolicy
from workers.stages import SEED_DELAYS_S, Stage

#: The seed's FailJob back-off after a stage's callback gave up: 5 s.
SEED_JOB_RETRY_BACKOFF_MS = 5000


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
    #: Above max_jobs_to_activate so a full batch never makes the poller sleep (PYZEEBE.md).
    max_running_jobs: int = 128
    poll_retry_delay_s: float = 0.05
    #: Long-poll length of ActivateJobs in ms (0 = the gateway default).
    request_timeout_ms: int = 10_000
    #: Also open StreamActivatedJobs (Zeebe 8.4+): jobs are pushed the moment they exist.
    #: A gateway without it answers UNIMPLEMENTED, which stops a pyzeebe worker, so it is
    #: only on where the gateway is known to have it.
    job_streaming: bool = False

    def delay_for(self, stage: Stage) -> float:
        return self.delays_s[stage.number - 1]

    def job_timeout_ms(self, stage: Stage) -> int:
        """The job lock: the stage's work plus every callback attempt and wait, with margin.

        A lock shorter than that would let Zeebe hand the job to another worker while
        this one is still retrying its callback.
        """
        policy = self.callback
        waits = sum(policy.delay_after(n) or 0.0 for n in range(1, policy.attempts + 1))
        worst_s = self.delay_for(stage) + policy.attempts * policy.timeout_s + waits
        return int((worst_s + 10.0) * 1000)
