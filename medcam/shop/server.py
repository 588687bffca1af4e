"""``ShopServer``: runs the shop app with uvicorn on the caller's event loop, on its own socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from .app import create_app

log = logging.getLogger(__name__)

DB_FILENAME = "shop.sqlite3"


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without signal handlers, reporting when it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise OSError(f"shop server: cannot resolve host {host!r}: {exc}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        message = f"shop server: cannot listen on {host}:{port}: {exc.strerror}"
        raise OSError(exc.errno, message) from exc
    return sock


class ShopServer:
    """The embedded Medusa-compatible shop over ``data_dir/shop.sqlite3``.

    ``start()`` binds (port 0 lets the OS pick; ``port`` then holds the real one),
    opens and seeds the database and returns once requests are accepted.
    """

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 9000) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self._server: _EmbeddedUvicorn | None = None
        self._task: asyncio.Task | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("ShopServer is already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sock = _bind(self.host, self.port)
        try:
            app = create_app(self.db_path)
        except BaseException:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on",
            timeout_graceful_shutdown=5,
        )
        server = _EmbeddedUvicorn(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="medcam-shop")
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            sock.close()
            reason = task.exception() if not task.cancelled() else None
            raise RuntimeError(f"shop server failed to start on {self.url}: {reason!r}")
        self._server, self._task = server, task
        log.info("shop listening on %s (data %s)", self.url, self.db_path)

    async def stop(self) -> None:
        server, task = self._server, self._task
        if server is None or task is None:
            return
        self._server = self._task = None
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=10)
        except TimeoutError:
            server.force_exit = True
            await task
