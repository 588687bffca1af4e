"""The status callback to Medusa (the seed's ``POST /demo``), with retries and back-off."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from protocol.progress import COMPLETED, StageOrder
from protocol.signing import sign
from protocol.timestamps import format_iso
from workers.events import CallbackAttempt, EventSink
from workers.http import error_reason
from workers.order_gate import OrderGate

log = logging.getLogger(__name__)

#: Lets the receiver apply a repeated callback once (the shop stores these keys).
IDEMPOTENCY_HEADER = "X-Idempotency-Key"

#: The status that completes the order (the seed's /demo does the same).
FINAL_STATUS = COMPLETED

#: HTTP answers that may succeed when asked again; any other 4xx is the request's fault.
RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """The seed's retry schedule: 3 attempts, waits 1 s then 2 s (doubling), 5 s per attempt."""

    attempts: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 5.0

    def delay_after(self, attempt: int) -> float | None:
        """Seconds to wait after failed ``attempt`` (1-based), or None if it was the last."""
        if attempt >= self.attempts:
            return None
        return self.backoff_s * 2 ** (attempt - 1)


class CallbackError(Exception):
    """The callback did not succeed; ``retryable`` says whether another attempt may help."""

    def __init__(self, message: str, *, http_status: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.retryable = retryable


class _Retryable(CallbackError):
    pass


class CallbackFailed(Exception):
    """Every attempt failed (or the answer was final); the job must be failed."""


class StatusCallback:
    """Delivers ``{orderId, status, message}`` to Medusa until it is accepted.

    Each attempt has one deadline (``policy.timeout_s``) and holds the order's ``gate``, so
    it never overlaps another metadata write to the same order made through that gate.
    ``mode="demo"`` (the seed's contract) posts it to ``{base_url}{path}``; ``mode="admin"``
    writes the same metadata through Medusa's stock Admin API (``AdminRoute``), for a
    Medusa without the custom route; ``http`` must then carry the Admin API credentials.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        on_event: EventSink,
        policy: CallbackPolicy | None = None,
        path: str = "/demo",
        now: Callable[[], datetime] | None = None,
        secret: str | None = None,
        mode: str = "demo",
        gate: OrderGate | None = None,
    ) -> None:
        self._on_event = on_event
        self._gate = gate or OrderGate()
        self.policy = policy or CallbackPolicy()
        self._now = now or (lambda: datetime.now(UTC))
        if mode == "admin":
            self.route: DemoRoute | AdminRoute = AdminRoute(http, base_url, self._now)
        elif mode == "demo":
            self.route = DemoRoute(http, base_url.rstrip("/") + path, secret)
        else:
            raise ValueError(f"unknown callback mode {mode!r} (demo or admin)")

    async def send(
        self, order_id: str, stage: str, status: str, message: str, instance_key: int | None = None
    ) -> None:
        """Deliver one status update; raise CallbackFailed when it cannot be delivered.

        Every attempt carries the same idempotency key (order, status, workflow instance) and,
        with a secret, a fresh HMAC signature over the exact bytes sent.
        """
        policy = self.policy
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=lambda state: policy.delay_after(state.attempt_number) or 0.0,
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._attempt(attempt.retry_state, order_id, stage, status, message, instance_key)
        except CallbackError as exc:
            raise CallbackFailed(
                f"status callback '{status}' for order {order_id} failed: {exc}"
            ) from exc

    async def _attempt(
        self,
        state: RetryCallState,
        order_id: str,
        stage: str,
        status: str,
        message: str,
        instance_key: int | None,
    ) -> None:
        number = state.attempt_number
        key = f"{order_id}:{status}:{instance_key if instance_key is not None else '-'}"
        started = time.perf_counter()
        http_status: int | None = None
        try:
            # One deadline for the whole attempt: the wait for the order's gate and for a
            # connection slot, and every request the route makes, not each httpx phase.
            async with asyncio.timeout(self.policy.timeout_s):
                async with self._gate.hold(order_id):
                    http_status, error = await self.route.deliver(
                        order_id, status, message, key, self.policy.timeout_s
                    )
        except (TimeoutError, httpx.TimeoutException):
            http_status = None
            error = f"timed out after {self.policy.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = _network_error(exc)
        latency_ms = (time.perf_counter() - started) * 1000
        retryable = error is not None and (
            http_status is None or http_status >= 500 or http_status in RETRYABLE_4XX
        )
        next_delay = self.policy.delay_after(number) if retryable else None
        self._on_event(
            CallbackAttempt(
                at=self._now(),
                order_id=order_id,
                stage=stage,
                status=status,
                attempt=number,
                max_attempts=self.policy.attempts,
                ok=error is None,
                http_status=http_status,
                error=error,
                latency_ms=round(latency_ms, 2),
                next_delay_s=next_delay,
            )
        )
        if error is None:
            return
        if retryable:
            raise _Retryable(error, http_status=http_status, retryable=True)
        raise CallbackError(error, http_status=http_status, retryable=False)


#: (HTTP status of the decisive answer, None when accepted else a one-line error).
Delivery = tuple[int, str | None]


def _delivery(response: httpx.Response, step: str = "") -> Delivery:
    if response.is_success:
        return response.status_code, None
    reason = error_reason(response)
    return response.status_code, f"{step}HTTP {response.status_code}" + (f": {reason}" if reason else "")


class DemoRoute:
    """The seed's ``POST /demo`` with an idempotency key, signed when a secret is set."""

    def __init__(self, http: httpx.AsyncClient, url: str, secret: str | None) -> None:
        self._http = http
        self.url = url
        self._secret = secret or None

    async def deliver(self, order_id: str, status: str, message: str, key: str, timeout_s: float) -> Delivery:
        body = json.dumps(
            {"orderId": order_id, "status": status, "message": message}, separators=(",", ":")
        ).encode()
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
        if self._secret:
            headers.update(sign(self._secret, int(time.time()), body))
        response = await self._http.post(self.url, content=body, headers=headers, timeout=timeout_s)
        return _delivery(response)


class AdminRoute:
    """The same update through Medusa's stock Admin API (``MEDCAM_CALLBACK_MODE=admin``).

    Reads the order first and skips an update that would move its workflow backwards or
    touch a cancelled one (what the shop's /demo refuses), then merges ``workflow_status``,
    ``workflow_message`` and ``last_updated`` into its metadata and, for the last stage,
    completes the order (``POST /admin/orders/{id}/complete``). Every step is idempotent,
    so a retried attempt repeats them safely.
    """

    def __init__(self, http: httpx.AsyncClient, base_url: str, now: Callable[[], datetime]) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._now = now
        self._stages = StageOrder()

    async def deliver(self, order_id: str, status: str, message: str, key: str, timeout_s: float) -> Delivery:
        path = f"{self._base}/admin/orders/{quote(order_id, safe='')}"
        response = await self._http.get(path, params={"fields": "id,status,+metadata"}, timeout=timeout_s)
        if not response.is_success:
            return _delivery(response, "reading the order: ")
        order = _order_in(response)
        if order is None:
            return response.status_code, "reading the order: the answer holds no order object"
        metadata = order.get("metadata") if isinstance(order.get("metadata"), dict) else {}
        refusal = self._stages.refusal(metadata.get("workflow_status"), str(order.get("status")), status)
        if refusal is not None:
            log.info("status %s for order %s not applied: %s", status, order_id, refusal)
            return response.status_code, None
        update = {"workflow_status": status, "workflow_message": message, "last_updated": format_iso(self._now())}
        response = await self._http.post(path, json={"metadata": update}, timeout=timeout_s)
        if not response.is_success:
            return _delivery(response, "writing metadata: ")
        if status == FINAL_STATUS and order.get("status") != "completed":
            response = await self._http.post(f"{path}/complete", json={}, timeout=timeout_s)
            if not response.is_success:
                return _delivery(response, "completing the order: ")
        return response.status_code, None


def _order_in(response: httpx.Response) -> dict | None:
    """The ``order`` object of an Admin API answer, or None when the body has none."""
    try:
        data = response.json()
    except ValueError:
        return None
    order = data.get("order") if isinstance(data, dict) else None
    return order if isinstance(order, dict) else None


def _network_error(exc: httpx.HTTPError) -> str:
    """One line naming the failure, without the URL's credentials or a traceback."""
    kind = type(exc).__name__
    text = str(exc).strip() or kind
    return f"{kind}: {text[:200]}" if text != kind else kind
