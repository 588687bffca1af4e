"""Fixtures for the shop tests: a real ShopServer on a free loopback port over a tmp data dir."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from shop.server import ShopServer


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "shop-data"


@pytest.fixture
async def shop(data_dir: Path) -> AsyncIterator[ShopServer]:
    server = ShopServer(data_dir, port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class FakeClock:
    """An injectable unix clock that only moves when a test moves it."""

    def __init__(self, now: float = 1_767_590_100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


MakeShop = Callable[..., Awaitable[ShopServer]]


@pytest.fixture
async def make_shop(tmp_path: Path) -> AsyncIterator[MakeShop]:
    """Start ShopServers with ``create_app`` options (``api_key=…``, ``clock=…``); all stopped after."""
    servers: list[ShopServer] = []

    async def make(**options: object) -> ShopServer:
        server = ShopServer(tmp_path / f"shop-{len(servers)}", port=0, **options)  # type: ignore[arg-type]
        await server.start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            await server.stop()


@pytest.fixture
async def client(shop: ShopServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{shop.port}", timeout=10) as c:
        yield c


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    """One server per module, for the many read-only or rejected-input cases.

    Tests using it run on the module's event loop: ``@pytest.mark.asyncio(loop_scope="module")``.
    """
    server = ShopServer(tmp_path_factory.mktemp("shared-shop"), port=0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
            yield c
    finally:
        await server.stop()


@pytest.fixture
def db(shop: ShopServer) -> Iterator[sqlite3.Connection]:
    """A second, independent connection to the shop's file, for arranging and faults."""
    conn = sqlite3.connect(shop.db_path, isolation_level=None, timeout=5)
    try:
        yield conn
    finally:
        conn.close()


class Catalogue:
    """Ids from the running shop's catalogue endpoints."""

    def __init__(self, regions: list[dict], products: list[dict], customers: list[dict]) -> None:
        self.regions = {r["currency_code"]: r for r in regions}
        self.products = {p["handle"]: p for p in products}
        self.customers = customers

    def variant(self, handle: str, index: int = 0) -> dict:
        return self.products[handle]["variants"][index]


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue(client)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_catalogue(shared_client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue(shared_client)


async def load_catalogue(client: httpx.AsyncClient) -> Catalogue:
    regions = (await client.get("/admin/regions")).json()["regions"]
    products = (await client.get("/admin/products")).json()["products"]
    customers = (await client.get("/admin/customers")).json()["customers"]
    return Catalogue(regions, products, customers)


async def create_order(
    client: httpx.AsyncClient,
    catalogue: Catalogue,
    *,
    currency: str = "eur",
    customer: int = 0,
    metadata: dict | None = None,
    convert: bool = True,
) -> dict:
    """A demo order (mug ×2 + T-shirt M ×1) through draft-order create and convert."""
    body: dict = {
        "region_id": catalogue.regions[currency]["id"],
        "customer_id": catalogue.customers[customer]["id"],
        "items": [
            {"variant_id": catalogue.variant("coffee-mug")["id"], "quantity": 2},
            {"variant_id": catalogue.variant("t-shirt", 1)["id"], "quantity": 1},
        ],
    }
    if metadata is not None:
        body["metadata"] = metadata
    response = await client.post("/admin/draft-orders", json=body)
    assert response.status_code == 200, response.text
    draft = response.json()["draft_order"]
    if not convert:
        return draft
    response = await client.post(f"/admin/draft-orders/{draft['id']}/convert-to-order")
    assert response.status_code == 200, response.text
    return response.json()["order"]
