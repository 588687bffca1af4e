"""The workers' order read (payment check, Slack order message) against a real Medusa 2.12."""

from __future__ import annotations

import json

import httpx

from workers import slack_blocks
from workers.medusa_order import OrderReader, payment_declined

from .seed import Seeded


async def test_the_order_reader_gets_payment_status_items_address_and_totals(medusa: Seeded, fresh_order: dict) -> None:
    async with httpx.AsyncClient() as http:
        reader = OrderReader(http, medusa.base_url, auth=httpx.BasicAuth(medusa.secret_key, ""))
        order = await reader.get(fresh_order["id"])
    assert isinstance(order.get("payment_status"), str) and not payment_declined(order)
    assert order["display_id"] == fresh_order["display_id"] and order["email"] == "fresh@example.com"
    assert order["currency_code"] == "eur"
    assert order["shipping_address"]["city"] == "Berlin"
    assert [(i["quantity"], float(i["unit_price"])) for i in order["items"]] == [(1, 12.5)]
    text, blocks = slack_blocks.order_created(order, "http://admin/app")
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert f"🛒 Order #{order['display_id']} created" == blocks[0]["text"]["text"]
    assert "Fresh Order" in rendered and "fresh@example.com" in rendered and "Alexanderplatz 1" in rendered
    assert "12.50 EUR" in rendered and f"{float(order['total']):,.2f} EUR" in rendered


async def test_the_parallel_process_completes_a_real_medusa_order(medusa: Seeded, fresh_order: dict, tmp_path) -> None:
    from console.clients.medusa import MedusaAdmin
    from console.events import StageCompleted
    from console.orders import OrderSummary
    from console.runtime import ConsoleRuntime

    from .test_medusa_real import _console_settings, _until_completed

    # verify-payment (1 s) outlasts the console's workflow_instance write; reserve-inventory
    # (1.2 s) runs beside it, so its callback lands after payment_verified.
    settings = _console_settings(medusa, tmp_path / "console", process="parallel", stage_delays=(1.0, 1.2, 0.05))
    runtime = ConsoleRuntime(settings)
    done: list[StageCompleted] = []
    runtime.bus.subscribe(lambda e: done.append(e) if isinstance(e, StageCompleted) else None)
    admin = MedusaAdmin(medusa.base_url, api_key=medusa.secret_key)
    await runtime.start()
    try:
        runtime.start_background()
        assert runtime.fulfillment is not None
        order = await admin.get_order(fresh_order["id"])
        key = await runtime.fulfillment.start(OrderSummary.from_medusa(order))
        final = await _until_completed(admin, fresh_order["id"])
    finally:
        await runtime.stop()
        await admin.close()
    assert final["metadata"]["workflow_instance"] == str(key)
    assert final["metadata"]["workflow_message"] == "Customer notified - Order complete!"
    stages = [e.stage for e in done if e.order_id == fresh_order["id"]]
    assert stages == ["verify-payment", "reserve-inventory", "send-notification"]
