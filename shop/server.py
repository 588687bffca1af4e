"""``ShopServer``: runs the shop app with uvicorn on the caller's event loop, on its own socket."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from serving.asgi import HttpServer

from .app import DEFAULT_RATE_LIMIT, create_app
from .auth import DEFAULT_TOKEN_LIFETIME_S
from .bodylimit import MAX_BODY_BYTES
from .faults import DemoFaults
from .ratelimit import RateLimit

log = logging.getLogger(__name__)

DB_FILENAME = "shop.sqlite3"


class ShopServer:
    """The embedded Medusa-compatible shop over ``data_dir/shop.sqlite3``.

    ``start()`` binds (port 0 lets the OS pick; ``port`` then holds the real one),
    opens and seeds the database and returns once requests are accepted. It binds
    loopback unless ``host`` says otherwise. The keyword arguments are those of
    :func:`shop.app.create_app` (the console passes ``MEDCAM_CALLBACK_SECRET``
    and ``MEDUSA_API_KEY``; ``admin_email``/``admin_password`` add Medusa's admin login;
    ``faults`` the demo faults it starts with).
    """

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 9000,
        *,
        callback_secret: str | None = None,
        api_key: str | None = None,
        admin_email: str | None = None,
        admin_password: str | None = None,
        token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.time,
        faults: DemoFaults | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self._app_options = {
            "callback_secret": callback_secret,
            "api_key": api_key,
            "admin_email": admin_email,
            "admin_password": admin_password,
            "token_lifetime_s": token_lifetime_s,
            "rate_limit": rate_limit,
            "max_body_bytes": max_body_bytes,
            "clock": clock,
            "faults": faults,
        }
        self._http: HttpServer | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        if self._http is not None:
            raise RuntimeError("ShopServer is already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        app = create_app(self.db_path, **self._app_options)
        http = HttpServer(app, self.host, self.port, "shop server", lifespan="on")
        await http.start()
        self._http = http
        self.port = http.port
        log.info("shop listening on %s (data %s)", self.url, self.db_path)

    async def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.stop()
