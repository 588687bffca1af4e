"""The status callback: seed retry schedule, events per attempt, final vs retryable answers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from workers.callback import CallbackFailed, CallbackPolicy, StatusCallback
from workers.events import CallbackAttempt

FAST = CallbackPolicy(attempts=3, backoff_s=0.01, timeout_s=0.5)


class Target:
    """A real HTTP endpoint answering each POST /demo with the next scripted status."""

    def __init__(self, statuses: list[int], hang_s: float = 0.0) -> None:
        self.statuses = statuses
        self.bodies: list[dict] = []
        self.hang_s = hang_s
        self.arrived = asyncio.Event()
        self.app = Starlette(routes=[Route("/demo", self.demo, methods=["POST"])])

    async def demo(self, request: Request) -> JSONResponse:
        self.bodies.append(await request.json())
        self.arrived.set()
        status = self.statuses.pop(0) if self.statuses else 200
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        body = {"success": True} if status < 400 else {"success": False, "error": f"boom {status}"}
        return JSONResponse(body, status_code=status)


async def _send(url: str, events: list, policy: CallbackPolicy = FAST) -> None:
    async with httpx.AsyncClient() as http:
        callback = StatusCallback(http, url, events.append, policy)
        await callback.send("order_1", "verify-payment", "payment_verified", "Payment verified successfully")


async def test_success_posts_the_seed_body_once(asgi_server):
    target = Target([200])
    events: list[CallbackAttempt] = []
    async with asgi_server(target.app) as url:
        await _send(url, events)
    assert target.bodies == [
        {"orderId": "order_1", "status": "payment_verified", "message": "Payment verified successfully"}
    ]
    assert [(e.attempt, e.ok, e.http_status, e.next_delay_s) for e in events] == [(1, True, 200, None)]


async def test_server_errors_retry_then_succeed(asgi_server):
    target = Target([500, 503, 200])
    events: list[CallbackAttempt] = []
    async with asgi_server(target.app) as url:
        await _send(url, events)
    assert len(target.bodies) == 3
    assert [(e.attempt, e.ok, e.http_status) for e in events] == [(1, False, 500), (2, False, 503), (3, True, 200)]
    assert [e.next_delay_s for e in events] == [0.01, 0.02, None]
    assert events[0].error == "HTTP 500: boom 500"


async def test_three_failures_give_up_with_callback_failed(asgi_server):
    target = Target([500, 500, 500, 200])
    events: list[CallbackAttempt] = []
    async with asgi_server(target.app) as url:
        with pytest.raises(CallbackFailed, match="HTTP 500"):
            await _send(url, events)
    assert len(target.bodies) == 3, "exactly the seed's 3 attempts"
    assert events[-1].next_delay_s is None and not events[-1].ok


async def test_client_error_is_final_not_retried(asgi_server):
    target = Target([404])
    events: list[CallbackAttempt] = []
    async with asgi_server(target.app) as url:
        with pytest.raises(CallbackFailed, match="404"):
            await _send(url, events)
    assert len(target.bodies) == 1
    assert events[0].next_delay_s is None


async def test_timeout_counts_as_a_failed_attempt(asgi_server):
    target = Target([200, 200, 200], hang_s=1.0)
    events: list[CallbackAttempt] = []
    policy = CallbackPolicy(attempts=2, backoff_s=0.01, timeout_s=0.2)
    async with asgi_server(target.app) as url:
        with pytest.raises(CallbackFailed, match="timed out"):
            await _send(url, events, policy)
    assert [e.error for e in events] == ["timed out after 0.2 s"] * 2


async def test_unreachable_target_is_retried_and_named():
    events: list[CallbackAttempt] = []
    with pytest.raises(CallbackFailed, match="ConnectError"):
        await _send("http://127.0.0.1:9", events)
    assert len(events) == 3 and all(e.http_status is None for e in events)


def test_seed_schedule_is_one_then_two_seconds():
    policy = CallbackPolicy()
    assert (policy.attempts, policy.timeout_s) == (3, 5.0)
    assert [policy.delay_after(n) for n in (1, 2, 3)] == [1.0, 2.0, None]


async def test_signed_callback_carries_idempotency_key_and_valid_signature(asgi_server):
    from protocol.signing import verify

    seen: list[tuple[dict, bytes]] = []

    async def demo(request: Request) -> JSONResponse:
        seen.append((dict(request.headers), await request.body()))
        return JSONResponse({"success": True})

    app = Starlette(routes=[Route("/demo", demo, methods=["POST"])])
    events: list[CallbackAttempt] = []
    async with asgi_server(app) as url, httpx.AsyncClient() as http:
        callback = StatusCallback(http, url, events.append, FAST, secret="k3y")
        await callback.send("order_1", "verify-payment", "payment_verified", "ok", instance_key=42)
    headers, body = seen[0]
    assert headers["x-idempotency-key"] == "order_1:payment_verified:42"
    assert verify("k3y", headers, body, now=int(headers["x-medcam-timestamp"])) is None
    assert verify("other", headers, body, now=int(headers["x-medcam-timestamp"])) is not None


async def test_waiting_for_a_connection_slot_counts_against_the_attempt_deadline(asgi_server):
    """One deadline per attempt: a callback stuck behind a busy connection pool times out."""
    from workers.http import BoundedAsyncClient

    target = Target([], hang_s=3.0)
    events: list[CallbackAttempt] = []
    policy = CallbackPolicy(attempts=1, backoff_s=0.01, timeout_s=0.5)
    async with asgi_server(target.app) as url, BoundedAsyncClient(max_in_flight=1) as http:
        # Another request holds the only slot for longer than the callback's deadline.
        hog = asyncio.get_running_loop().create_task(http.post(f"{url}/demo", json={}, timeout=10))
        await asyncio.wait_for(target.arrived.wait(), 5)
        callback = StatusCallback(http, url, events.append, policy)
        with pytest.raises(CallbackFailed, match="timed out after 0.5 s"):
            await callback.send("order_1", "verify-payment", "payment_verified", "Payment verified successfully")
        hog.cancel()
    assert len(target.bodies) == 1, "the callback never got a connection"
    assert [(e.attempt, e.ok, e.error) for e in events] == [(1, False, "timed out after 0.5 s")]


async def test_a_slow_answer_is_cut_at_the_attempt_deadline(asgi_server):
    """A server that trickles its answer cannot stretch one attempt past the deadline."""
    target = Target([200], hang_s=2.0)
    events: list[CallbackAttempt] = []
    policy = CallbackPolicy(attempts=2, backoff_s=0.01, timeout_s=0.3)
    async with asgi_server(target.app) as url:
        with pytest.raises(CallbackFailed):
            await _send(url, events, policy)
    assert [(e.attempt, e.error) for e in events] == [(1, "timed out after 0.3 s"), (2, "timed out after 0.3 s")]
