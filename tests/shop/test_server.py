"""ShopServer lifecycle: free port, durability across restarts, idempotent seeding."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from shop.server import ShopServer
from tests.shop.conftest import Catalogue, create_order


async def test_port_zero_binds_a_real_port_and_wal(shop: ShopServer) -> None:
    assert shop.port > 0
    assert shop.db_path.name == "shop.sqlite3" and shop.db_path.exists()
    with sqlite3.connect(shop.db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_restart_keeps_orders_and_continues_display_ids(data_dir: Path) -> None:
    first = ShopServer(data_dir, port=0)
    await first.start()
    try:
        async with httpx.AsyncClient(base_url=first.url) as client:
            catalogue = Catalogue(
                (await client.get("/admin/regions")).json()["regions"],
                (await client.get("/admin/products")).json()["products"],
                (await client.get("/admin/customers")).json()["customers"],
            )
            order = await create_order(client, catalogue, metadata={"workflow_status": "started"})
            await client.post(
                "/demo", json={"orderId": order["id"], "status": "completed", "message": "done"}
            )
            product_ids = [p["id"] for p in catalogue.products.values()]
    finally:
        await first.stop()

    second = ShopServer(data_dir, port=0)
    await second.start()
    try:
        async with httpx.AsyncClient(base_url=second.url) as client:
            kept = (await client.get(f"/admin/orders/{order['id']}")).json()["order"]
            assert kept["status"] == "completed"
            assert kept["metadata"]["workflow_message"] == "done"
            assert kept["items"] == order["items"]
            products = (await client.get("/admin/products")).json()
            assert products["count"] == 8
            assert sorted(p["id"] for p in products["products"]) == sorted(product_ids)
            newer = await create_order(client, catalogue)
            assert newer["display_id"] == order["display_id"] + 1
    finally:
        await second.stop()


async def test_busy_port_fails_with_a_clear_error(shop: ShopServer, tmp_path: Path) -> None:
    other = ShopServer(tmp_path / "other", port=shop.port)
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{shop.port}"):
        await other.start()


async def test_stop_is_idempotent_and_closes_the_port(data_dir: Path) -> None:
    server = ShopServer(data_dir, port=0)
    await server.stop()  # never started: nothing to do
    await server.start()
    url = server.url
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()
    await server.stop()
    await server.stop()
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{url}/health")
