"""The shop's ASGI application: ``create_app(db_path)`` wires storage, /demo and /admin routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .admin import admin_routes
from .callback import callback_routes
from .errors import medusa_error
from .repository import ShopRepository


async def _health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Route {request.method} {request.url.path} not found"
        return medusa_error(404, "not_found", message)
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
        return medusa_error(405, "not_allowed", message)
    return medusa_error(exc.status_code, "invalid_data", str(exc.detail))


def create_app(db_path: Path) -> Starlette:
    """The shop app over the SQLite file ``db_path`` (created, migrated and seeded now).

    The database connection is closed when the app's lifespan ends.
    """
    repository = ShopRepository.open(Path(db_path))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            repository.close()

    app = Starlette(
        routes=[
            Route("/health", _health, methods=["GET"]),
            *callback_routes(repository),
            *admin_routes(repository),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.repository = repository
    return app
