"""A real HTTP forwarder in front of the shop that can answer every status callback with 500."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from serving.asgi import HttpServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class CallbackGate:
    """Forwards every request to ``upstream``; while ``down``, POST /demo gets 500 instead."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.down = False
        self.refused = 0
        self._client = httpx.AsyncClient(base_url=self.upstream, timeout=10.0)
        app = Starlette(routes=[Route("/{path:path}", self._forward,
                                      methods=["GET", "POST", "PUT", "DELETE", "PATCH"])])
        self._server = HttpServer(app, "127.0.0.1", 0, "callback gate")

    @property
    def url(self) -> str:
        return self._server.url

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()
        await self._client.aclose()

    async def _forward(self, request: Request) -> Response:
        if self.down and request.method == "POST" and request.url.path == "/demo":
            self.refused += 1
            return Response('{"message":"the shop is down (test gate)"}', status_code=500,
                            media_type="application/json")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        answer = await self._client.request(request.method, request.url.path, params=request.query_params,
                                             content=await request.body(), headers=headers)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
        return Response(answer.content, status_code=answer.status_code, headers=kept)
