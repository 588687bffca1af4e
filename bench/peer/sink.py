"""A callback sink: answers the seed's ``/demo`` route and records when each callback came."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict

_OK_HEADERS = [(b"content-type", b"application/json")]


class CallbackSink:
    """An ASGI app: ``POST /demo`` is recorded and answered 200; ``GET /demo`` and ``/health`` too."""

    def __init__(self, final_status: str = "completed") -> None:
        self.final_status = final_status
        #: order id -> [(status, perf_counter time)] in arrival order.
        self.callbacks: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self._finished: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._arrived = asyncio.Event()

    async def finished(self, order_id: str) -> float:
        """Wait for the order's final callback; its arrival time (perf_counter)."""
        await self._finished[order_id].wait()
        return next(at for status, at in self.callbacks[order_id] if status == self.final_status)

    def count(self, status: str) -> int:
        """How many orders got a callback with ``status``."""
        return sum(any(s == status for s, _ in calls) for calls in self.callbacks.values())

    async def wait_for_count(self, status: str, orders: int) -> None:
        """Return once ``orders`` orders got a callback with ``status``."""
        while self.count(status) < orders:
            self._arrived.clear()
            await self._arrived.wait()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == "/demo":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            data = json.loads(body)
            order_id, status = str(data["orderId"]), str(data["status"])
            self.callbacks[order_id].append((status, time.perf_counter()))
            self._arrived.set()
            if status == self.final_status:
                self._finished[order_id].set()
            answer = {"success": True, "orderId": order_id, "status": status}
            await _reply(send, 200, answer)
        elif method == "GET" and path in ("/demo", "/health"):
            await _reply(send, 200, {"status": "ok", "service": "callback-sink"})
        else:
            await _reply(send, 404, {"error": "not found"})


async def _reply(send, status: int, body: dict) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [*_OK_HEADERS, (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})
