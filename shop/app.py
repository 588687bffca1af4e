"""The shop's ASGI application: ``create_app(db_path)`` wires storage, guards and the routes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from protocol.progress import WORKFLOW_SEQUENCE, StageOrder

from .api import shop_routes
from .apikey import ApiKeyMiddleware
from .auth import DEFAULT_TOKEN_LIFETIME_S, AdminLogin
from .bodylimit import MAX_BODY_BYTES, BodyLimitMiddleware
from .errors import error_for_path
from .faults import DemoFaults
from .history import ensure_history
from .operations import Guards
from .ratelimit import RateLimit, RateLimitMiddleware, TokenBuckets
from .repository import KEY_RETENTION_S, ShopRepository

#: Generous enough for the benchmark (~1,000 req/s from one client) never to be throttled.
DEFAULT_RATE_LIMIT = RateLimit(rate=2000.0, burst=4000)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        return error_for_path(path, 404, "not_found", f"Route {request.method} {path} not found")
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {path}"
        return error_for_path(path, 405, "not_allowed", message)
    return error_for_path(path, exc.status_code, "invalid_data", str(exc.detail))


def create_app(
    db_path: Path,
    *,
    callback_secret: str | None = None,
    api_key: str | None = None,
    admin_email: str | None = None,
    admin_password: str | None = None,
    token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S,
    rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
    max_body_bytes: int = MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
    key_retention_s: float = KEY_RETENTION_S,
    workflow_statuses: Sequence[str] = WORKFLOW_SEQUENCE,
    faults: DemoFaults | None = None,
) -> Starlette:
    """The shop app over the SQLite file ``db_path`` (created, migrated and seeded now).

    ``callback_secret``: POST /demo must be signed with it (401 otherwise). ``api_key``:
    /admin needs it as HTTP Basic user name or Bearer token (401 otherwise). Empty or None
    turns either check off. ``admin_email``/``admin_password`` (both or neither): the admin
    user of ``POST /auth/user/emailpass``, whose Bearer JWTs (valid ``token_lifetime_s``,
    24 h by default as Medusa's jwtExpiresIn) /admin then accepts too; /admin stays open
    only when neither a key nor a login is configured. ``rate_limit`` (None: off) applies
    per client address; ``max_body_bytes`` caps request bodies (413). ``clock`` (unix
    seconds) drives the signature window, the rate limiter, idempotency-key retention and
    token expiry. ``workflow_statuses`` are the stages, in order, that callbacks may not
    move backwards through. ``faults``: the demo faults (none by default), switched at
    runtime through ``/medcam/faults``.
    The database connection is closed when the app's lifespan ends.
    """
    login = AdminLogin(admin_email, admin_password, clock=clock, lifetime_s=token_lifetime_s)
    repository = ShopRepository.open(Path(db_path), key_retention_s)
    ensure_history(repository.db)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            repository.close()

    middleware = []
    if rate_limit is not None:
        middleware.append(Middleware(RateLimitMiddleware, buckets=TokenBuckets(rate_limit, clock)))
    middleware.append(Middleware(BodyLimitMiddleware, max_bytes=max_body_bytes))
    if api_key or login.configured:
        token_valid = login.token_valid if login.configured else None
        middleware.append(Middleware(ApiKeyMiddleware, key=api_key, token_valid=token_valid))
    routes, document = shop_routes(
        repository,
        login,
        faults or DemoFaults(),
        guards=Guards(admin=bool(api_key) or login.configured, signed_callbacks=bool(callback_secret)),
        callback_secret=callback_secret or None,
        clock=clock,
        stages=StageOrder(workflow_statuses),
        db_path=Path(db_path),
    )
    # FastAPI declares the routes and writes the document; Starlette, which FastAPI is built
    # on, serves them, as each handler reads its own request.
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    # Strict paths, as every route is documented: "/admin/orders/" is a 404, not a redirect.
    app.router.redirect_slashes = False
    app.state.openapi_document = document
    app.state.repository = repository
    app.state.admin_login = login
    return app
