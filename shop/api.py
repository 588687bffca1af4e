"""The shop's routes, declared with FastAPI, and the OpenAPI document they serve at /openapi.json."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute

from protocol.progress import StageOrder

from .admin import admin_router
from .answers import Error
from .auth import AdminLogin, auth_router
from .callback import callback_router
from .document import OPENAPI_PATH, describe
from .faults import DemoFaults, faults_router
from .history import history_router
from .operations import Guards, errors, shop_router
from .repository import ShopRepository


async def _health(request: Request) -> Response:
    return PlainTextResponse("OK")


def _service_router(document: dict[str, Any]) -> APIRouter:
    """``/health`` and ``/openapi.json`` (serving ``document``, filled in once it is written)."""
    router = shop_router()
    router.add_api_route(
        "/health", _health, methods=["GET"], tags=["service"],
        summary="Liveness probe (never rate limited)", response_class=PlainTextResponse,
        response_description="The shop is up",
        responses={200: {"content": {"text/plain": {"schema": {"const": "OK"}}}}},
        openapi_extra={"security": []},
    )
    served: list[bytes] = []

    async def serve(request: Request) -> Response:
        if not served:
            served.append(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode())
        return Response(served[0], media_type="application/json")

    router.add_api_route(
        OPENAPI_PATH, serve, methods=["GET"], tags=["service"], summary="This document",
        response_model=dict[str, Any], response_description="OpenAPI 3.1 document",
        responses=errors(Error, 429), openapi_extra={"security": []},
    )
    return router


def shop_routes(
    repository: ShopRepository,
    login: AdminLogin,
    faults: DemoFaults,
    *,
    guards: Guards,
    callback_secret: str | None = None,
    clock: Callable[[], float] = time.time,
    stages: StageOrder | None = None,
    db_path: Path = Path("shop.sqlite3"),
) -> tuple[list[BaseRoute], dict[str, Any]]:
    """Every route, bound to its state (``db_path`` is the shop's file, which the metadata
    history reads), and the OpenAPI document FastAPI writes of them."""
    routes: list[BaseRoute] = []
    document: dict[str, Any] = {}
    for router in (
        _service_router(document),
        callback_router(
            repository, faults, guards, secret=callback_secret, clock=clock, stages=stages
        ),
        admin_router(repository, faults, guards),
        history_router(db_path),
        auth_router(login),
        faults_router(faults, guards),
    ):
        routes.extend(router.routes)
    document.update(describe(routes))
    for route in routes:  # HEAD answers as GET does (the document lists GET only)
        if isinstance(route, APIRoute) and "GET" in route.methods:
            route.methods.add("HEAD")
    return routes, document


def openapi_document(
    *, api_key: bool = False, signed_callbacks: bool = False, admin_login: bool = False
) -> dict[str, Any]:
    """The document of a shop with these checks on (no database is opened to write it)."""
    guards = Guards(admin=api_key or admin_login, signed_callbacks=signed_callbacks)
    login = AdminLogin(None, None, clock=time.time)
    unused: Any = None  # the handlers are never called
    return shop_routes(unused, login, DemoFaults(), guards=guards)[1]
