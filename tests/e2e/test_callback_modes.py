"""A whole fulfillment run with MEDCAM_CALLBACK_MODE=admin: metadata and completion via the Admin API."""

from __future__ import annotations

import sqlite3

from console.events import CallbackAttempt, InstanceStarted, StageCompleted
from shop.server import ShopServer
from tests.e2e.conftest import fast_settings, running_console


async def test_admin_mode_runs_orders_to_completed_without_the_demo_route(tmp_path, backends):
    settings = fast_settings(tmp_path, backends, callback_mode="admin")
    async with running_console(settings) as (runtime, events):
        made = [await runtime.demo.create() for _ in range(3)]
        ids = {o["id"] for o in made}
        runtime.feed.poke()
        await events.wait_for(
            lambda: ids <= {e.order_id for e in events.of(StageCompleted, stage="send-notification")}
        )
        for order_id in ids:
            ok = [e.status for e in events.of(CallbackAttempt, order_id=order_id) if e.ok]
            assert ok == ["payment_verified", "inventory_reserved", "completed"]
            order = await runtime.medusa.get_order(order_id)
            started = events.of(InstanceStarted, order_id=order_id)
            assert order["status"] == "completed"
            assert order["metadata"]["workflow_status"] == "completed"
            assert order["metadata"]["workflow_message"] == "Customer notified - Order complete!"
            assert order["metadata"]["workflow_instance"] == str(started[0].process_instance_key)
    with sqlite3.connect(backends.shop.db_path) as db:
        (demo_calls,) = db.execute("SELECT count(*) FROM callback_keys").fetchone()
    assert demo_calls == 0, "no callback went through POST /demo"


async def test_admin_mode_workers_carry_the_consoles_medusa_credentials(tmp_path, backends):
    """Against a shop that requires its API key, the workers' Admin API writes must send it."""
    keyed = ShopServer(tmp_path / "keyed-shop", port=0, api_key="sk_e2e_admin_mode")
    await keyed.start()
    try:
        settings = fast_settings(
            tmp_path, backends, callback_mode="admin",
            medusa_backend_url=keyed.url, medusa_api_key="sk_e2e_admin_mode",
        )
        async with running_console(settings) as (runtime, events):
            made = await runtime.demo.create()
            runtime.feed.poke()
            await events.wait_for(lambda: events.of(StageCompleted, order_id=made["id"], stage="send-notification"))
            failed = [e for e in events.of(CallbackAttempt, order_id=made["id"]) if not e.ok]
            assert failed == []
            order = await runtime.medusa.get_order(made["id"])
            assert order["status"] == "completed" and order["metadata"]["workflow_status"] == "completed"
    finally:
        await keyed.stop()
