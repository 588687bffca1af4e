"""The status callback to Medusa (the seed's ``POST /demo``), with retries and back-off."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from medcam.workers.events import CallbackAttempt, EventSink
from medcam.workers.signing import sign

#: Lets the receiver apply a repeated callback once (the shop stores these keys).
IDEMPOTENCY_HEADER = "X-Idempotency-Key"

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
    """Posts ``{orderId, status, message}`` to ``{base_url}/demo`` until it is accepted."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        on_event: EventSink,
        policy: CallbackPolicy | None = None,
        path: str = "/demo",
        now: Callable[[], datetime] | None = None,
        secret: str | None = None,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + path
        self._on_event = on_event
        self.policy = policy or CallbackPolicy()
        self._now = now or (lambda: datetime.now(UTC))
        self._secret = secret or None

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
            wait=wait_exponential(multiplier=policy.backoff_s, exp_base=2, min=0, max=3600),
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
        body = json.dumps(
            {"orderId": order_id, "status": status, "message": message}, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: f"{order_id}:{status}:{instance_key if instance_key is not None else '-'}",
        }
        if self._secret:
            headers.update(sign(self._secret, int(time.time()), body))
        started = time.perf_counter()
        http_status: int | None = None
        try:
            response = await self._http.post(
                self._url, content=body, headers=headers, timeout=self.policy.timeout_s
            )
            http_status = response.status_code
            error = None if response.is_success else f"HTTP {http_status}{_error_detail(response)}"
        except httpx.TimeoutException:
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


def _error_detail(response: httpx.Response) -> str:
    """A short reason from a JSON error body such as ``{"error": "..."}``, if there is one."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    if isinstance(payload, dict):
        for key in ("error", "message", "detail"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return f": {value[:200]}"
    return ""


def _network_error(exc: httpx.HTTPError) -> str:
    """One line naming the failure, without the URL's credentials or a traceback."""
    kind = type(exc).__name__
    text = str(exc).strip() or kind
    return f"{kind}: {text[:200]}" if text != kind else kind
