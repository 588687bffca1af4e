"""The task handler of one fulfillment stage: work, status callback, Slack, output variables."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pyzeebe import Job

from bpmn import PARALLEL_PROCESS_ID
from protocol.timestamps import format_iso
from workers.callback import StatusCallback
from workers.events import EventSink, JobActivated, StageCompleted
from workers.medusa_order import OrderReadError, payment_declined
from workers.slack import OrderSource, SlackNotifier
from workers.stages import STAGES, Stage, stage_outputs

#: The first stage: it announces the order on Slack and, where the process can take a
#: declined payment, checks the order's payment status in Medusa.
VERIFY_PAYMENT = STAGES[0].task_type
#: Processes whose verify-payment throws PAYMENT_DECLINED (they catch it); the seed's does not.
DECLINE_AWARE_PROCESSES = frozenset({PARALLEL_PROCESS_ID})

#: How long before the end of a stage's work its job is checked (covers one round trip).
HEARTBEAT_LEAD_S = 0.02

#: Asks Zeebe whether the job is still ours (and extends its lock); False when it is gone.
JobHeartbeat = Callable[[Job], Awaitable[bool]]


class MissingOrderId(Exception):
    """The process instance has no usable ``orderId`` variable."""


class StageAbandonedError(Exception):
    """The job disappeared while the stage ran (its instance was cancelled)."""


class PaymentDeclinedError(Exception):
    """The order's payment is declined in Medusa: verify-payment throws PAYMENT_DECLINED."""

    def __init__(self, order_id: str, payment_status: str) -> None:
        super().__init__(f"payment of order {order_id} was declined (payment_status {payment_status!r})")
        self.payment_status = payment_status


class PaymentCheckFailed(Exception):
    """The order could not be read to check its payment; the job fails and is retried."""


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
        orders: OrderSource | None = None,
        jitter: float = 0.0,
    ) -> None:
        self.stage = stage
        self._orders = orders
        self.jitter = jitter
        self.delay_s = delay_s
        self._callback = callback
        self._slack = slack
        self._on_event = on_event
        self._heartbeat = heartbeat
        self._now = now or (lambda: datetime.now(UTC))

    async def __call__(self, job: Job) -> dict[str, object]:
        stage = self.stage
        order_id = order_id_of(job)
        delay_s = self.work_s()
        self._on_event(
            JobActivated(
                at=self._now(),
                order_id=order_id,
                stage=stage.task_type,
                job_key=job.key,
                process_instance_key=job.process_instance_key,
                retries=job.retries,
                delay_s=delay_s,
            )
        )
        if stage.task_type == VERIFY_PAYMENT:
            self._slack.order_created(order_id)
        reading = None
        checks_payment = stage.task_type == VERIFY_PAYMENT and job.bpmn_process_id in DECLINE_AWARE_PROCESSES
        if self._orders is not None and checks_payment:
            # Read the order while the stage works, so the check costs no extra time.
            reading = asyncio.ensure_future(self._orders(order_id))
            reading.add_done_callback(_observe)
        try:
            await self._work(job, order_id, delay_s)
            if reading is not None:
                await self._check_payment(reading, order_id)
        finally:
            if reading is not None and not reading.done():
                reading.cancel()
        if stage.status is not None:
            await self._callback.send(
                order_id, stage.task_type, stage.status, stage.message, job.process_instance_key
            )
        warehouse = dict(stage.extra_outputs).get("warehouse")
        self._slack.stage_done(order_id, stage, stage.message, str(warehouse) if warehouse else None)
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

    async def _check_payment(self, reading: asyncio.Future[dict], order_id: str) -> None:
        try:
            order = await reading
        except OrderReadError as exc:
            raise PaymentCheckFailed(f"cannot check the payment: {exc}") from None
        if payment_declined(order):
            raise PaymentDeclinedError(order_id, str(order.get("payment_status")))

    def work_s(self) -> float:
        """This run's simulated work: the stage's delay, ± a random share of it when jitter is on."""
        if self.jitter <= 0 or self.delay_s <= 0:
            return self.delay_s
        return max(0.0, self.delay_s * (1.0 + random.uniform(-self.jitter, self.jitter)))

    async def _work(self, job: Job, order_id: str, delay_s: float) -> None:
        """The stage's simulated work; raises StageAbandonedError if the job went away."""
        if delay_s > 0:
            # The simulated work of the seed's stage. A cancelled instance must not get a late
            # status callback that overwrites "cancelled" in Medusa, so the job is checked to
            # still be ours at the end of the work; the check overlaps the work's last moments
            # instead of adding a round trip before every callback.
            loop = asyncio.get_running_loop()
            began = loop.time()
            await asyncio.sleep(max(0.0, delay_s - HEARTBEAT_LEAD_S))
            alive = await self._heartbeat(job)
            left = delay_s - (loop.time() - began)
            if left > 0:
                await asyncio.sleep(left)
            if not alive:
                raise StageAbandonedError(f"job {job.key} of order {order_id} is gone")


def _observe(future: asyncio.Future) -> None:
    """Retrieve a read's outcome so an abandoned one never logs 'exception never retrieved'."""
    if not future.cancelled():
        future.exception()


def order_id_of(job: Job) -> str:
    """The job's ``orderId`` variable; raises MissingOrderId with a clear reason."""
    value = job.variables.get("orderId")
    if not isinstance(value, str) or not value.strip():
        raise MissingOrderId(
            f"process instance {job.process_instance_key} has no string variable 'orderId' "
            f"(got {value!r})"
        )
    return value
