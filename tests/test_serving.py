"""serving:  the event loop the processes run on, and what the servers trust."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from serving.event_loop import EVENT_LOOP_ENV, loop_factory, run


def test_uvloop_is_preferred_when_installed_and_asyncio_can_be_forced(monkeypatch):
    uvloop = pytest.importorskip("uvloop")
    monkeypatch.delenv(EVENT_LOOP_ENV, raising=False)
    assert loop_factory() is uvloop.new_event_loop
    monkeypatch.setenv(EVENT_LOOP_ENV, "asyncio")
    assert loop_factory() is asyncio.new_event_loop
    assert run(_loop_type()) is type(asyncio.new_event_loop())


def test_run_uses_the_loop_picked(monkeypatch):
    uvloop = pytest.importorskip("uvloop")
    monkeypatch.setenv(EVENT_LOOP_ENV, "uvloop")
    assert run(_loop_type()) is uvloop.Loop


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


async def _peer(request: Request) -> JSONResponse:
    assert request.client is not None
    return JSONResponse({"host": request.client.host, "scheme": request.url.scheme})


async def test_forwarding_headers_do_not_change_the_peer(asgi_server):
    app = Starlette(routes=[Route("/peer", _peer)])
    async with asgi_server(app) as url, httpx.AsyncClient() as http:
        got = await http.get(f"{url}/peer", headers={"X-Forwarded-For": "203.0.113.9",
                                                     "X-Forwarded-Proto": "https"})
    assert got.json() == {"host": "127.0.0.1", "scheme": "http"}
