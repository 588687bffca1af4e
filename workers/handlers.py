"""The task handler of one fulfillment stage: work, status callback, Slack, output variables."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pyzeebe import Job

from protocol.timestamps import format_iso
from workers.callback import StatusCallback
from workers.events import EventSink, JobActivated, StageCompleted
from workers.slack import SlackNotifier
from workers.stages import Stage, stage_outputs

#: How long before the end of a stage's work its job is checked (covers one round trip).
HEARTBEAT_LEAD_S = 0.02

#: Asks Zeebe whether the job is still ours (and extends its lock); False when it is gone.
JobHeartbeat = Callable[[Job], Awaitable[bool]]


class MissingOrderId(Exception):
    """The process instance has no usable ``orderId`` variable."""


class StageAbandonedError(Exception):
    """The job disappeared while the stage ran (its instance was cancelled)."""


class StageHandler:
    """Runs ``stage`` for one job; pyzeebe completes the job with the returned variables."""

    def __init__(
        self,
        stage: Stage,
        delay_s: float,
        callback: StatusCallback,
        slack: SlackNotifier,
        on_event: EventSink,
        heartbeat: JobHeartbeat,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.stage = stage
        self.delay_s = delay_s
        self._callback = callback
        self._slack = slack
        self._on_event = on_event
        self._heartbeat = heartbeat
        self._now = now or (lambda: datetime.now(UTC))

    async def __call__(self, job: Job) -> dict[str, object]:
        stage = self.stage
        order_id = order_id_of(job)
        self._on_event(
            JobActivated(
                at=self._now(),
                order_id=order_id,
                stage=stage.task_type,
                job_key=job.key,
                process_instance_key=job.process_instance_key,
                retries=job.retries,
                delay_s=self.delay_s,
            )
        )
        if self.delay_s > 0:
            # The simulated work of the seed's stage. A cancelled instance must not get a late
            # status callback that overwrites "cancelled" in Medusa, so the job is checked to
            # still be ours at the end of the work; the check overlaps the work's last moments
            # instead of adding a round trip before every callback.
            loop = asyncio.get_running_loop()
            began = loop.time()
            await asyncio.sleep(max(0.0, self.delay_s - HEARTBEAT_LEAD_S))
            alive = await self._heartbeat(job)
            left = self.delay_s - (loop.time() - began)
            if left > 0:
                await asyncio.sleep(left)
            if not alive:
                raise StageAbandonedError(f"job {job.key} of order {order_id} is gone")
        await self._callback.send(
            order_id, stage.task_type, stage.status, stage.message, job.process_instance_key
        )
        await self._slack.stage_done(order_id, stage, stage.message)
        finished_at = self._now()
        self._on_event(
            StageCompleted(
                at=finished_at,
                order_id=order_id,
                stage=stage.task_type,
                job_key=job.key,
                process_instance_key=job.process_instance_key,
            )
        )
        return stage_outputs(stage, format_iso(finished_at))


def order_id_of(job: Job) -> str:
    """The job's ``orderId`` variable; raises MissingOrderId with a clear reason."""
    value = job.variables.get("orderId")
    if not isinstance(value, str) or not value.strip():
        raise MissingOrderId(
            f"process instance {job.process_instance_key} has no string variable 'orderId' "
            f"(got {value!r})"
        )
    return value
