"""Serves an ASGI app with uvicorn on the caller's event loop, on a socket bound up front."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn


class _QuietUvicorn(uvicorn.Server):
    """uvicorn that leaves the host's signal handlers alone and says when it accepts."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_socket(host: str, port: int, what: str) -> socket.socket:
    """A listening-ready TCP socket; port 0 lets the OS pick. OSError names ``what``."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise OSError(f"{what}: cannot resolve host {host!r}: {exc}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"{what}: cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


class HttpServer:
    """One ASGI app on one socket: ``await start()`` returns once requests are accepted."""

    def __init__(self, app, host: str, port: int, what: str, lifespan: str = "off") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.what = what
        self.lifespan = lifespan
        self._server: _QuietUvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self.what} is already started")
        sock = self._socket = bind_socket(self.host, self.port, self.what)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan=self.lifespan,
            timeout_graceful_shutdown=5,
            # Nothing proxies these loopback servers: X-Forwarded-* from a local client must
            # not rewrite the peer address (the shop's rate limit keys on it), and leaving
            # uvicorn's proxy-headers middleware out saves its pass over every request.
            proxy_headers=False,
        )
        server = _QuietUvicorn(config)
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name=self.what)
        ready = asyncio.get_running_loop().create_task(server.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            self._close_socket()
            reason = task.exception() if not task.cancelled() else None
            raise RuntimeError(f"{self.what} failed to start on {self.url}: {reason!r}")
        self._server, self._task = server, task

    async def stop(self, timeout_s: float = 10.0) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is not None and task is not None:
            server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=timeout_s)
            except TimeoutError:
                server.force_exit = True
                await task
        self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
