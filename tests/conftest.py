"""Shared fixtures: real HTTP servers on free loopback ports."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from serving.asgi import HttpServer


@contextlib.asynccontextmanager
async def serve_asgi(app) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 and a free port; yields its base URL."""
    server = HttpServer(app, "127.0.0.1", 0, "test server")
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


@pytest.fixture
def asgi_server():
    """``async with asgi_server(app) as url`` inside a test."""
    return serve_asgi
