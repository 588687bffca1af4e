"""Runs the fulfillment workers (one per task type of the process) on one gRPC channel, kept alive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import grpc
import httpx
from pyzeebe import Job, JobController, ZeebeWorker
from pyzeebe.errors import JobAlreadyDeactivatedError, JobNotFoundError
from pyzeebe.proto import gateway_pb2, gateway_pb2_grpc

from bpmn import PAYMENT_DECLINED
from workers.callback import CallbackFailed, StatusCallback
from workers.events import (
    EventSink,
    IncidentRaised,
    JobFailed,
    JobHandedBack,
    PaymentDeclined,
    StageAbandoned,
    WorkerStatus,
)
from workers.handlers import (
    MissingOrderId,
    PaymentCheckFailed,
    PaymentDeclinedError,
    StageAbandonedError,
    StageHandler,
)
from workers.http import BoundedAsyncClient
from workers.medusa_order import OrderReader
from workers.order_gate import OrderGate
from workers.settings import WorkerSettings
from workers.slack import SlackNotifier
from workers.stages import TASK_BY_TYPE

log = logging.getLogger(__name__)

#: Makes a fresh gRPC channel to the Zeebe gateway (insecure, TLS or OAuth).
ChannelFactory = Callable[[], grpc.aio.Channel]

#: Waits before rebuilding a worker whose connection died, doubling up to the maximum.
RESTART_BACKOFF_S = (0.5, 30.0)
#: After the grace period, how long handed-back jobs and jobs being completed may take.
HAND_BACK_TIMEOUT_S = 15.0
#: How long a channel replaced by ``reconnect()`` stays open for the jobs still running on it.
RETIRED_CHANNEL_S = 120.0


class JobHandedBackError(Exception):
    """The worker is shutting down: the job goes back to Zeebe unfinished."""


class _CommitMarker:
    """The status callback, noting which job tasks began sending it: those are never handed
    back (their callback may have landed), only let finish."""

    def __init__(self, callback: StatusCallback, committed: set[asyncio.Task]) -> None:
        self._callback = callback
        self._committed = committed

    async def send(self, *args: object, **kwargs: object) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._committed.add(task)
        await self._callback.send(*args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self._callback, name)


class _DrainableWorker(ZeebeWorker):
    """A pyzeebe worker whose job activation (long polls and job streams) can be cut at once.

    pyzeebe's own ``stop()`` only stops between activation calls, so a job stream stays
    open and keeps receiving jobs. Each poller's task is remembered so that ``stop_activating``
    can cancel it; the cancelled poller returns quietly.
    """

    def _init_tasks(self) -> None:
        super()._init_tasks()
        self._activators: set[asyncio.Task] = set()
        self._activation_stopped = False
        for poller in (*self._job_pollers, *self._job_streamers):
            poller.poll = self._cancellable(poller.poll)  # type: ignore[method-assign]

    def _cancellable(self, poll: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._activators.add(task)
            try:
                await poll()
            except asyncio.CancelledError:
                if not self._activation_stopped:
                    raise
                task.uncancel()
            finally:
                self._activators.discard(task)

        return run

    def stop_activating(self) -> None:
        """Activate no more jobs: end every long poll and job stream now."""
        self._activation_stopped = True
        for poller in (*getattr(self, "_job_pollers", ()), *getattr(self, "_job_streamers", ())):
            poller.stop_event.set()
        for task in tuple(getattr(self, "_activators", ())):
            task.cancel()


class FulfillmentWorkers:
    """The verify-payment, reserve-inventory and send-notification workers (and, for the
    parallel process, release-inventory and notify-payment-declined).

    A pyzeebe worker cannot be restarted once stopped and may give up after connection
    errors, so this runner supervises it and builds a new one (on a new channel) when
    ``work()`` ends while it should still run.
    """

    def __init__(
        self,
        settings: WorkerSettings,
        channel_factory: ChannelFactory,
        on_event: EventSink,
        http: httpx.AsyncClient | None = None,
        now: Callable[[], datetime] | None = None,
        callback_auth: httpx.Auth | None = None,
        medusa_auth: httpx.Auth | None = None,
        gate: OrderGate | None = None,
    ) -> None:
        self.settings = settings
        self._channel_factory = channel_factory
        self._on_event = on_event
        self._now = now or (lambda: datetime.now(UTC))
        self._own_http = http is None
        # The Admin API callback mode needs Medusa's credentials; /demo is sent without them.
        self._http = http or BoundedAsyncClient(auth=callback_auth if settings.callback_mode == "admin" else None)
        self.callback = StatusCallback(
            self._http,
            settings.medusa_url,
            on_event,
            settings.callback,
            path=settings.callback_path,
            now=self._now,
            secret=settings.callback_secret,
            mode=settings.callback_mode,
            gate=gate,
        )
        # Reads orders for the payment check and the Slack order message (Admin API auth).
        self.orders = OrderReader(self._http, settings.medusa_url, auth=medusa_auth or callback_auth,
                                  timeout_s=settings.callback.timeout_s)
        self.slack = SlackNotifier(
            settings.slack_webhook_url, on_event, settings.slack_admin_url, now=self._now,
            capacity=settings.slack_queue_size, orders=self.orders.get,
        )
        self._worker: ZeebeWorker | None = None
        self._channel: grpc.aio.Channel | None = None
        self._stub: gateway_pb2_grpc.GatewayStub | None = None
        self._stopping = asyncio.Event()
        #: Jobs whose stage handler is running: job key -> (job, the task running it).
        self._running: dict[int, tuple[Job, asyncio.Task]] = {}
        self._draining = False
        self._handing_back: set[int] = set()
        #: Tasks of jobs that began their status callback: they finish, whatever the grace.
        self._committed: set[asyncio.Task] = set()
        self._reconnect = asyncio.Event()
        self._retired: list[tuple[asyncio.TimerHandle, grpc.aio.Channel]] = []

    async def run(self) -> None:
        """Work until ``stop()``; rebuild the worker whenever its connection gives up."""
        delay = RESTART_BACKOFF_S[0]
        while not self._stopping.is_set():
            self._channel = self._channel_factory()
            self._stub = gateway_pb2_grpc.GatewayStub(self._channel)
            self._worker = self._build_worker(self._channel)
            self._status("running", f"{len(self.settings.task_types)} task types")
            self._reconnect.clear()
            try:
                if await self._work_until_reconnect(self._worker):
                    delay = RESTART_BACKOFF_S[0]
                    continue  # Zeebe is back: new pollers at once, no back-off
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poller died; say why and start again
                self._status("reconnecting", _one_line(exc))
            else:
                if not self._stopping.is_set():
                    self._status("reconnecting", "worker stopped polling")
            finally:
                await self._close_channel()
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, RESTART_BACKOFF_S[1])
        self._status("stopped")

    def reconnect(self) -> None:
        """Zeebe answers again: poll now, not after pyzeebe's 5 s retry sleep or our back-off.

        Jobs already running finish and complete on the old channel, closed a while later.
        """
        if not self._stopping.is_set():
            self._reconnect.set()

    async def _work_until_reconnect(self, worker: ZeebeWorker) -> bool:
        """Run ``worker``; True if ``reconnect()`` ended it (its channel is then retired, not closed)."""
        work = asyncio.ensure_future(worker.work())
        kick = asyncio.ensure_future(self._reconnect.wait())
        try:
            await asyncio.wait({work, kick}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            work.cancel()
            raise
        finally:
            kick.cancel()
        if work.done() or self._stopping.is_set():
            await work
            return False
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            retire = asyncio.get_running_loop().call_later(RETIRED_CHANNEL_S, _close_later, channel)
            self._retired.append((retire, channel))
        return True

    async def stop(self, grace_s: float | None = None) -> int:
        """Stop activating jobs, let running jobs finish, give Slack a moment, close connections.

        With ``grace_s``, jobs still running after that many seconds are handed back to
        Zeebe (FailJob with their retries unchanged and no back-off) so another worker
        takes them at once. Returns how many jobs were handed back.
        """
        self._stopping.set()
        self._draining = True
        handed_back = 0
        worker = self._worker
        if isinstance(worker, _DrainableWorker):
            worker.stop_activating()
            handed_back = await self._drain(grace_s)
        if worker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.stop(), None if grace_s is None else HAND_BACK_TIMEOUT_S)
        for retire, channel in self._retired:
            retire.cancel()
            with contextlib.suppress(Exception):
                await channel.close()
        self._retired.clear()
        await self.slack.aclose()
        if self._own_http:
            await self._http.aclose()
        return handed_back

    async def _drain(self, grace_s: float | None) -> int:
        """Wait up to ``grace_s`` for the running jobs; hand back those still running."""
        running = [task for _, task in self._running.values()]
        if not running:
            return 0
        self._status("draining", f"{len(running)} running job(s)")
        _, late = await asyncio.wait(running, timeout=grace_s)
        if not late:
            return 0
        # A job still in its stage's work is handed back; one already sending its status
        # callback finishes it (the callback's own retries bound that), so no status callback
        # is ever sent twice because of a shutdown. Jobs past their handler are being completed.
        unfinished = [(job, task) for job, task in self._running.values()
                      if task in late and task not in self._committed]
        for job, task in unfinished:
            self._handing_back.add(job.key)
            task.cancel()
        await asyncio.wait(late, timeout=HAND_BACK_TIMEOUT_S + self._callback_worst_s())
        return len(unfinished)

    def _callback_worst_s(self) -> float:
        """The longest a status callback can take: every attempt timing out, every wait."""
        policy = self.settings.callback
        waits = sum(policy.delay_after(n) or 0.0 for n in range(1, policy.attempts + 1))
        return policy.attempts * policy.timeout_s + waits

    def _build_worker(self, channel: grpc.aio.Channel) -> ZeebeWorker:
        s = self.settings
        worker = _DrainableWorker(
            channel,
            name=s.worker_name,
            request_timeout=s.request_timeout_ms,
            max_connection_retries=-1,
            poll_retry_delay=s.poll_retry_delay_s,  # type: ignore[arg-type]  # float is fine
            exception_handler=self._on_failure,
            stream_enabled=s.job_streaming,
        )
        for task_type in s.task_types:
            stage = TASK_BY_TYPE[task_type]
            handler = StageHandler(
                stage,
                s.delay_for(stage),
                _CommitMarker(self.callback, self._committed),  # type: ignore[arg-type]
                self.slack,
                self._on_event,
                self._heartbeat,
                now=self._now,
                orders=self.orders.get,
                jitter=s.stage_jitter,
            )

            worker.task(
                stage.task_type,
                variables_to_fetch=["orderId"],
                timeout_ms=s.job_timeout_ms(stage),
                max_jobs_to_activate=min(s.max_jobs_to_activate, s.concurrency_of(task_type)),
                max_running_jobs=s.concurrency_of(task_type),
            )(job_task(self._tracked(_limited(handler, asyncio.Semaphore(s.concurrency_of(task_type))))))
        return worker

    def _tracked(self, handle: Callable[[Job], Awaitable[dict[str, object]]]):
        """``handle`` with the job remembered while it runs, so shutdown can wait or hand it back."""

        async def run(job: Job) -> dict[str, object]:
            if self._draining:
                raise JobHandedBackError("the worker is shutting down")
            task = asyncio.current_task()
            assert task is not None
            self._running[job.key] = (job, task)
            try:
                return await handle(job)
            except asyncio.CancelledError:
                if job.key not in self._handing_back:
                    raise
                task.uncancel()
                raise JobHandedBackError("the worker's shutdown grace period ended") from None
            finally:
                self._running.pop(job.key, None)
                self._handing_back.discard(job.key)
                self._committed.discard(task)

        return run

    async def _heartbeat(self, job: Job) -> bool:
        """Extend the job's lock; False when Zeebe no longer knows the job."""
        if self._stub is None:
            return True
        timeout = self.settings.job_timeout_ms(TASK_BY_TYPE[job.type])
        try:
            await self._stub.UpdateJobTimeout(
                gateway_pb2.UpdateJobTimeoutRequest(jobKey=job.key, timeout=timeout), timeout=10
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                return False
            # UNIMPLEMENTED (older gateway) or a passing fault: carry on, Zeebe decides later.
        return True

    async def _on_failure(self, exc: Exception, job: Job, controller: JobController) -> None:
        stage = TASK_BY_TYPE.get(job.type)
        order_id = str(job.variables.get("orderId", "?"))
        stage_name = stage.task_type if stage else job.type
        if isinstance(exc, StageAbandonedError):
            self._abandoned(order_id, stage_name, job)
            return
        if isinstance(exc, JobHandedBackError):
            await self._hand_back(job, order_id, stage_name, str(exc))
            return
        if isinstance(exc, PaymentDeclinedError):
            await self._declined(exc, order_id, job, controller)
            return
        if isinstance(exc, CallbackFailed | MissingOrderId | PaymentCheckFailed):
            error = str(exc)
        else:
            log.error("stage %s crashed", stage_name, exc_info=exc)
            error = f"{type(exc).__name__}: {exc}"
        retries_left = max(job.retries - 1, 0)
        backoff = self.settings.job_retry_backoff_ms
        try:
            await controller.set_failure_status(error[:4000], retry_back_off_ms=backoff)
        except (JobNotFoundError, JobAlreadyDeactivatedError):
            self._abandoned(order_id, stage_name, job)
            return
        self._on_event(
            JobFailed(
                at=self._now(),
                order_id=order_id,
                stage=stage_name,
                job_key=job.key,
                process_instance_key=job.process_instance_key,
                retries_left=retries_left,
                backoff_ms=backoff,
                error=error,
            )
        )
        if retries_left == 0:
            self._on_event(
                IncidentRaised(
                    at=self._now(),
                    order_id=order_id,
                    stage=stage_name,
                    job_key=job.key,
                    process_instance_key=job.process_instance_key,
                    error=error,
                )
            )
            if stage is not None:
                self.slack.workflow_error(order_id, stage, error)

    async def _declined(self, exc: PaymentDeclinedError, order_id: str, job: Job, controller: JobController) -> None:
        """ThrowError PAYMENT_DECLINED: the process's error boundary takes the order from here."""
        try:
            await controller.set_error_status(
                str(exc), error_code=PAYMENT_DECLINED,
                variables={"paymentDeclined": True, "paymentStatus": exc.payment_status},
            )
        except (JobNotFoundError, JobAlreadyDeactivatedError):
            self._abandoned(order_id, job.type, job)
            return
        self._on_event(PaymentDeclined(at=self._now(), order_id=order_id, job_key=job.key,
                                       process_instance_key=job.process_instance_key,
                                       payment_status=exc.payment_status))

    async def _hand_back(self, job: Job, order_id: str, stage: str, reason: str) -> None:
        """Give the job back unfinished: its retries stay, and no back-off delays the next worker."""
        if self._stub is None:
            return  # no channel: the job's timeout gives it back
        try:
            await self._stub.FailJob(
                gateway_pb2.FailJobRequest(
                    jobKey=job.key, retries=job.retries, errorMessage=f"handed back: {reason}", retryBackOff=0
                ),
                timeout=10,
            )
        except grpc.aio.AioRpcError as exc:
            # Gone already (cancelled), or unreachable: its timeout gives it back then.
            log.warning("handing back job %s failed: %s", job.key, exc.code().name)
            return
        self._on_event(
            JobHandedBack(
                at=self._now(), order_id=order_id, stage=stage, job_key=job.key,
                process_instance_key=job.process_instance_key,
            )
        )

    def _abandoned(self, order_id: str, stage: str, job: Job) -> None:
        self._on_event(
            StageAbandoned(
                at=self._now(),
                order_id=order_id,
                stage=stage,
                job_key=job.key,
                process_instance_key=job.process_instance_key,
            )
        )

    def _status(self, state: str, detail: str = "") -> None:
        self._on_event(WorkerStatus(at=self._now(), state=state, detail=detail))

    async def _close_channel(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()
            self._channel = None
            self._stub = None


def _close_later(channel: grpc.aio.Channel) -> None:
    asyncio.ensure_future(channel.close())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _limited(
    handle: Callable[[Job], Awaitable[dict[str, object]]], limit: asyncio.Semaphore
) -> Callable[[Job], Awaitable[dict[str, object]]]:
    """``handle`` under a task type's concurrency limit; it holds for streamed jobs too,
    which pyzeebe's max_running_jobs does not count."""

    async def limited(job: Job) -> dict[str, object]:
        async with limit:
            return await handle(job)

    return limited


def job_task(handle: Callable[[Job], Awaitable[dict[str, object]]]):
    """A pyzeebe task function that hands the whole job to ``handle``.

    pyzeebe passes the fetched variables by name and finds the job parameter by its
    annotation *object*; this module's postponed annotations would leave a string there.
    """

    async def task(job: Job, **_variables: object) -> dict[str, object]:
        return await handle(job)

    task.__annotations__["job"] = Job
    return task
