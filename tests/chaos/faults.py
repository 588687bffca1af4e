"""Loopback fault injectors: a TCP proxy that passes, answers 500 or is unreachable; a Slack sink."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

PASS, ERROR, DOWN = "pass", "error", "down"

_ERROR_BODY = b'{"success":false,"error":"chaos: the shop answers 500"}'


async def _read_request(reader: asyncio.StreamReader) -> bool:
    """Read one HTTP/1.1 request (head and Content-Length body); False at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return False
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    if length:
        try:
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return False
    return True


def _response(status: int, reason: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n").encode() + body


class FaultProxy:
    """Sits on a fixed loopback port in front of ``upstream``; ``mode`` decides what clients get.

    ``pass``: bytes both ways. ``error``: every request is answered ``500`` by the proxy.
    ``down``: the port is closed (connection refused). Switching mode drops open connections,
    so a keep-alive connection cannot carry on in the old mode.
    """

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.port = port
        self.mode = PASS
        self.errors_answered = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def set_mode(self, mode: str) -> None:
        self.mode = mode
        for writer in list(self._writers):
            writer.close()
        if mode == DOWN and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        elif mode != DOWN and self._server is None:
            await self.start()

    async def stop(self) -> None:
        await self.set_mode(DOWN)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.mode == ERROR:
                while await _read_request(reader):
                    self.errors_answered += 1
                    writer.write(_response(500, "Internal Server Error", _ERROR_BODY))
                    await writer.drain()
            elif self.mode == PASS:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                self._writers.add(up_writer)
                try:
                    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                finally:
                    self._writers.discard(up_writer)
                    up_writer.close()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class SlackSink:
    """A webhook that answers every POST with ``status`` (429 with Retry-After) and counts them."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/services/T0/B0/chaos"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await _read_request(reader):
                self.requests += 1
                reason = {429: "Too Many Requests", 500: "Internal Server Error"}.get(self.status, "OK")
                body = b"ok" if self.status == 200 else b"chaos"
                head = f"HTTP/1.1 {self.status} {reason}\r\ncontent-length: {len(body)}\r\n"
                if self.status == 429:
                    head += "retry-after: 1\r\n"
                writer.write(head.encode() + b"connection: close\r\n\r\n" + body)
                await writer.drain()
                break
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[SlackSink]:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        try:
            yield self
        finally:
            self._server.close()
            await self._server.wait_closed()
