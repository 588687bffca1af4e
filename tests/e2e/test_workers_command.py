"""`medcam-console workers` as a separate process: it runs orders on a shared engine and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
from pyzeebe import ZeebeClient, create_insecure_channel

from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
from tests.e2e.test_cli import CLI
from tests.shop.conftest import create_order, load_catalogue


async def test_headless_workers_complete_an_order_and_stop_on_sigterm(tmp_path, backends):
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_"))}
    environment.update({
        "ZEEBE_ADDRESS": backends.zeebe_address,
        "ZEEBE_REST_ADDRESS": backends.rest_url,
        "MEDUSA_BACKEND_URL": backends.shop_url,
        "MEDCAM_DATA_DIR": str(tmp_path / "workers"),
        "MEDCAM_STAGE_DELAYS": "zero",
    })
    workers = await asyncio.create_subprocess_exec(
        *CLI, "workers", cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    channel = create_insecure_channel(backends.zeebe_address)
    try:
        async with httpx.AsyncClient(base_url=backends.shop_url, timeout=10) as shop:
            order = await create_order(shop, await load_catalogue(shop))
            client = ZeebeClient(channel)
            await client.deploy_resource(str(ORDER_FULFILLMENT))
            await client.run_process(ORDER_PROCESS_ID, {"orderId": order["id"], "timestamp": "t"})
            async with asyncio.timeout(60):
                while True:
                    current = (await shop.get(f"/admin/orders/{order['id']}")).json()["order"]
                    if current["status"] == "completed":
                        break
                    await asyncio.sleep(0.05)  # polling the shop, not waiting for time to pass
        assert current["metadata"]["workflow_status"] == "completed"
        assert current["metadata"]["workflow_message"] == "Customer notified - Order complete!"
    finally:
        await channel.close()
        workers.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            _, raw = await workers.communicate()
        stderr = raw.decode()
    assert workers.returncode == 0, stderr
    assert "workers: running 3 task types" in stderr
    assert "workers: stopping" in stderr
    assert "Traceback" not in stderr
