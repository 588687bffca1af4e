"""The Medusa client's email/password login against real shops on loopback: login, refresh,
re-login after a 401, one login for concurrent requests, errors without secrets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin
from console.events import StageCompleted
from engine.server import EngineServer
from serving.asgi import HttpServer
from shop.app import create_app
from shop.auth import AdminLogin
from shop.server import ShopServer
from tests.e2e.conftest import Backends, fast_settings, running_console
from tests.shop.conftest import FakeClock

EMAIL = "admin@medcam.test"
PASSWORD = "pw-correct-horse-battery"
KEY = "sk_console_auth"
HOUR = 3600.0


class Shop:
    """A shop app with an admin user, served on loopback; restartable on the same port."""

    def __init__(self, data_dir: Path, clock: FakeClock, **options: object) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self.options = options
        self.port = 0
        self.app: Starlette | None = None
        self._http: HttpServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def login(self) -> AdminLogin:
        assert self.app is not None
        return self.app.state.admin_login

    async def start(self) -> None:
        self.app = create_app(
            self.data_dir / "shop.sqlite3",
            admin_email=EMAIL,
            admin_password=PASSWORD,
            clock=self.clock,
            **self.options,  # type: ignore[arg-type]
        )
        self._http = HttpServer(self.app, "127.0.0.1", self.port, "test shop", lifespan="on")
        await self._http.start()
        self.port = self._http.port

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop()
            self._http = None

    async def restart(self) -> None:
        """A new app (so a new signing secret) on the same port and data."""
        await self.stop()
        await self.start()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def shop(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Shop]:
    server = Shop(tmp_path / "shop", clock, token_lifetime_s=HOUR)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def admin_client(url: str, **options: object) -> AsyncIterator[MedusaAdmin]:
    options = {"admin_email": EMAIL, "admin_password": PASSWORD, **options}
    client = MedusaAdmin(url, **options)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        await client.close()


async def test_login_then_admin_calls_reuse_the_token(shop: Shop, clock: FakeClock) -> None:
    async with admin_client(shop.url, clock=clock) as medusa:
        assert await medusa.health()
        assert shop.login.logins == 0, "/health is not an admin call: no login for it"
        orders, count = await medusa.list_orders()
        assert orders == [] and count == 0
        assert len(await medusa.list_products()) == 8
        assert len(await medusa.list_regions()) >= 1
    assert (shop.login.logins, shop.login.refreshes) == (1, 0)


async def test_bad_password_is_one_line_naming_the_settings_without_secrets(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with admin_client(shop.url, admin_password="pw-wrong-secret") as medusa:
        assert await medusa.health()
        with pytest.raises(BackendError) as caught:
            await medusa.list_orders()
    message = str(caught.value)
    assert caught.value.code == "HTTP_401"
    assert message == (
        "medusa: POST /auth/user/emailpass: HTTP 401 unauthorized - check "
        "MEDUSA_ADMIN_EMAIL/MEDUSA_ADMIN_PASSWORD: Invalid email or password"
    )
    assert "\n" not in message
    assert "pw-wrong-secret" not in message and "pw-wrong-secret" not in caplog.text
    assert PASSWORD not in caplog.text


async def test_token_close_to_expiry_is_refreshed(shop: Shop, clock: FakeClock) -> None:
    async with admin_client(shop.url, clock=clock) as medusa:
        await medusa.list_orders()
        clock.advance(HOUR - 400)  # more than 5 minutes left: still used as it is
        await medusa.list_orders()
        assert (shop.login.logins, shop.login.refreshes) == (1, 0)
        clock.advance(200)  # 200 s left: refreshed before the call
        await medusa.list_orders()
        assert (shop.login.logins, shop.login.refreshes) == (1, 1)
        clock.advance(HOUR - 250)  # the refreshed token is due in turn
        await medusa.list_orders()
        assert (shop.login.logins, shop.login.refreshes) == (1, 2)


async def test_an_expired_token_means_a_new_login(shop: Shop, clock: FakeClock) -> None:
    async with admin_client(shop.url, clock=clock) as medusa:
        await medusa.list_orders()
        clock.advance(HOUR + 1)  # the shop would refuse a refresh now: log in again
        await medusa.list_orders()
    assert (shop.login.logins, shop.login.refreshes) == (2, 0)


async def test_a_401_mid_session_logs_in_again_once_and_repeats(
    shop: Shop, clock: FakeClock
) -> None:
    frozen = FakeClock(clock.now)  # the client never sees the token age
    async with admin_client(shop.url, clock=frozen) as medusa:
        await medusa.list_orders()
        clock.advance(HOUR + 1)  # expired at the shop, not yet for the client
        orders, _ = await medusa.list_orders()
        assert orders == []
        assert (shop.login.logins, shop.login.refreshes) == (2, 0)


async def test_a_restarted_shop_refuses_the_old_token_and_the_client_logs_in_again(
    shop: Shop, clock: FakeClock
) -> None:
    async with admin_client(shop.url, clock=clock) as medusa:
        draft = await medusa.create_draft_order(await _draft_body(medusa))
        await shop.restart()  # a new signing secret: the token the client holds is void
        order = await medusa.convert_draft_order(draft["id"])
        assert order["id"] and order["status"] == "pending"
        assert (shop.login.logins, shop.login.refreshes) == (1, 0)


async def test_a_refused_refresh_falls_back_to_a_login(shop: Shop, clock: FakeClock) -> None:
    async with admin_client(shop.url, clock=clock) as medusa:
        await medusa.list_orders()
        await shop.restart()
        clock.advance(HOUR - 60)  # due for a refresh, which the new shop refuses
        await medusa.list_orders()
        assert (shop.login.logins, shop.login.refreshes) == (1, 0)


async def test_concurrent_requests_share_one_login_and_one_refresh(
    shop: Shop, clock: FakeClock
) -> None:
    async with admin_client(shop.url, clock=clock) as medusa:
        results = await asyncio.gather(*(medusa.list_orders(limit=1) for _ in range(20)))
        assert all(count == 0 for _, count in results)
        assert (shop.login.logins, shop.login.refreshes) == (1, 0)
        clock.advance(HOUR - 10)
        await asyncio.gather(*(medusa.list_products() for _ in range(20)))
        assert (shop.login.logins, shop.login.refreshes) == (1, 1)
        await shop.restart()
        await asyncio.gather(*(medusa.list_regions() for _ in range(20)))
        assert (shop.login.logins, shop.login.refreshes) == (1, 0)


async def test_the_api_key_wins_over_email_and_password(tmp_path: Path, clock: FakeClock) -> None:
    shop = Shop(tmp_path / "shop", clock, api_key=KEY)
    await shop.start()
    try:
        async with admin_client(shop.url, api_key=KEY) as medusa:
            assert medusa.credential == "MEDUSA_API_KEY"
            await medusa.list_orders()
        assert shop.login.logins == 0
        async with admin_client(shop.url, api_key="sk_wrong") as medusa:
            with pytest.raises(BackendError) as caught:
                await medusa.list_orders()
        assert "check MEDUSA_API_KEY" in str(caught.value) and "sk_wrong" not in str(caught.value)
        assert shop.login.logins == 0
    finally:
        await shop.stop()


async def test_email_without_password_is_refused_by_the_client() -> None:
    with pytest.raises(ValueError, match="together"):
        MedusaAdmin("http://127.0.0.1:9", admin_email=EMAIL)


class Refusing:
    """A server whose login always succeeds but whose Admin API always answers 401."""

    def __init__(self, token: object = "not.a.jwt") -> None:
        self.token = token
        self.logins = 0
        self.admin_calls = 0
        self.app = Starlette(routes=[
            Route("/auth/user/emailpass", self.login, methods=["POST"]),
            Route("/admin/orders", self.orders, methods=["GET"]),
        ])

    async def login(self, request: Request) -> JSONResponse:
        self.logins += 1
        return JSONResponse({"token": self.token})

    async def orders(self, request: Request) -> JSONResponse:
        self.admin_calls += 1
        return JSONResponse({"type": "unauthorized", "message": "Unauthorized"}, status_code=401)


async def test_a_second_401_is_reported_not_retried_again(asgi_server) -> None:
    server = Refusing()
    async with asgi_server(server.app) as url, admin_client(url) as medusa:
        with pytest.raises(BackendError) as caught:
            await medusa.list_orders()
    assert (server.logins, server.admin_calls) == (2, 2)
    assert caught.value.code == "HTTP_401"
    assert "check MEDUSA_ADMIN_EMAIL/MEDUSA_ADMIN_PASSWORD" in str(caught.value)
    assert "not.a.jwt" not in str(caught.value)


async def test_a_login_answer_without_a_token_is_a_clear_error(asgi_server) -> None:
    server = Refusing(token=None)
    async with asgi_server(server.app) as url, admin_client(url) as medusa:
        with pytest.raises(BackendError, match="carries no token"):
            await medusa.list_orders()
    assert server.admin_calls == 0


async def test_a_medusa_behind_a_path_prefix(asgi_server, tmp_path: Path) -> None:
    shop = create_app(tmp_path / "shop.sqlite3", admin_email=EMAIL, admin_password=PASSWORD)
    proxy = Starlette(routes=[Mount("/medusa", app=shop)])
    try:
        async with asgi_server(proxy) as url, admin_client(f"{url}/medusa/") as medusa:
            assert await medusa.health()
            assert len(await medusa.list_products()) == 8
        assert shop.state.admin_login.logins == 1
    finally:
        shop.state.repository.close()


async def test_an_unreachable_medusa_during_login_is_unavailable() -> None:
    async with admin_client("http://127.0.0.1:9") as medusa:
        with pytest.raises(BackendError) as caught:
            await medusa.list_orders()
    assert caught.value.code == "UNAVAILABLE"


async def test_the_console_runs_orders_through_with_email_and_password(tmp_path: Path) -> None:
    """Runtime wiring: the Admin API by login; the workers' callbacks (/demo) need none."""
    engine = EngineServer(tmp_path / "engine", grpc_port=0, rest_port=0)
    shop = ShopServer(tmp_path / "shop", port=0, admin_email=EMAIL, admin_password=PASSWORD)
    await engine.start()
    await shop.start()
    try:
        settings = fast_settings(
            tmp_path, Backends(engine, shop), medusa_admin_email=EMAIL, medusa_admin_password=PASSWORD
        )
        async with running_console(settings) as (runtime, events):
            assert runtime.medusa is not None and runtime.demo is not None
            assert runtime.medusa.credential == "MEDUSA_ADMIN_EMAIL/MEDUSA_ADMIN_PASSWORD"
            made = [await runtime.demo.create() for _ in range(2)]
            ids = {o["id"] for o in made}
            await events.wait_for(
                lambda: ids <= {e.order_id for e in events.of(StageCompleted, stage="send-notification")}
            )
            for order_id in ids:
                order = await runtime.medusa.get_order(order_id)
                assert order["status"] == "completed"
                assert order["metadata"]["workflow_status"] == "completed"
    finally:
        await shop.stop()
        await engine.stop()


async def _draft_body(medusa: MedusaAdmin) -> dict:
    region = (await medusa.list_regions())[0]
    product = (await medusa.list_products())[0]
    return {
        "region_id": region["id"],
        "email": "ada@example.com",
        "items": [{"variant_id": product["variants"][0]["id"], "quantity": 1}],
    }
