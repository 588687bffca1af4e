"""Request body size limit: 413 with a JSON error before an oversized body reaches a route."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_for_path

MAX_BODY_BYTES = 1_048_576


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


class BodyLimitMiddleware:
    """ASGI middleware: bodies over ``max_bytes`` are answered 413 and never passed on.

    A declared ``Content-Length`` is checked up front (the server enforces it); a chunked
    body is read here, up to the limit, and handed on whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_body_bytes must not be negative, got {max_bytes}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._too_large(scope, receive, send, f"{int(declared)} bytes")
                return
            await self.app(scope, receive, send)
            return
        encoding = _header(scope, b"transfer-encoding")
        if encoding is None or b"chunked" not in encoding.lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"", message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send, f"more than {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(scope, _replay(body, None, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        response = error_for_path(
            scope["path"],
            413,
            "invalid_data",
            f"Request body is too large ({size}, at most {self.max_bytes})",
        )
        await response(scope, receive, send)


def _replay(body: bytes, first: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that yields ``first`` (or the whole ``body``) once, then the real one."""
    pending: list[Message] = [first or {"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
