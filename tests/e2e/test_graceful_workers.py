"""SIGTERM of `medcam-console workers` mid-run: running jobs finish or are handed back; nothing twice."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
from tests.e2e.test_cli import CLI
from tests.shop.conftest import create_order, load_catalogue

ORDERS = 100

pytestmark = pytest.mark.timeout(300)


def _environment(tmp_path: Path, backends, name: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_"))}
    environment.update({
        "ZEEBE_ADDRESS": backends.zeebe_address,
        "ZEEBE_REST_ADDRESS": backends.rest_url,
        "MEDUSA_BACKEND_URL": backends.shop_url,
        "MEDCAM_DATA_DIR": str(tmp_path / name),
        # Stage 2 outlasts the grace period, so the jobs running it at SIGTERM are handed back.
        "MEDCAM_STAGE_DELAYS": "0.2,3,0.2",
        "MEDCAM_SHUTDOWN_GRACE_S": "0.5",
        "MEDCAM_JOB_STREAMING": "true",  # the pushed-jobs stream must be cut too
    })
    return environment


async def _start_workers(tmp_path: Path, backends, name: str) -> asyncio.subprocess.Process:
    workers = await asyncio.create_subprocess_exec(
        *CLI, "workers", cwd=tmp_path, env=_environment(tmp_path, backends, name),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert workers.stderr is not None
    async with asyncio.timeout(60):
        while b"workers: running" not in (line := await workers.stderr.readline()):
            assert line, "workers exited before running"
    return workers


async def _statuses(shop: httpx.AsyncClient) -> dict[str, str | None]:
    orders = (await shop.get("/admin/orders", params={"limit": 1000})).json()["orders"]
    return {o["id"]: o["metadata"].get("workflow_status") for o in orders}


async def _wait_until(shop: httpx.AsyncClient, enough, within: float) -> dict[str, str | None]:
    async with asyncio.timeout(within):
        while True:
            statuses = await _statuses(shop)
            if enough(statuses):
                return statuses
            await asyncio.sleep(0.05)  # polling the shop, not waiting for time to pass


async def test_sigterm_hands_back_unfinished_jobs_and_every_order_completes_once(tmp_path, backends):
    channel = create_insecure_channel(backends.zeebe_address)
    client = ZeebeClient(channel)
    await client.deploy_resource(str(ORDER_FULFILLMENT))
    async with httpx.AsyncClient(base_url=backends.shop_url, timeout=30) as shop:
        catalogue = await load_catalogue(shop)
        orders = [(await create_order(shop, catalogue))["id"] for _ in range(ORDERS)]
        instances = {}
        for order_id in orders:
            instances[order_id] = (await client.run_process(
                ORDER_PROCESS_ID, {"orderId": order_id, "timestamp": "t"})).process_instance_key

        first = await _start_workers(tmp_path, backends, "first")
        # Half the orders are in stage 2 (3 s of work): SIGTERM lands in the middle of the run.
        await _wait_until(shop, lambda s: sum(v == "payment_verified" for v in s.values()) >= ORDERS // 2, 120)
        first.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            _, raw = await first.communicate()
        stderr = raw.decode()
        assert first.returncode == 0, stderr
        assert "Traceback" not in stderr
        handed_back = int(re.search(r"workers: stopped \((\d+) job\(s\) handed back\)", stderr).group(1))
        assert handed_back >= 1, stderr  # stage-2 jobs were running and outlast the grace period
        unfinished = await _statuses(shop)
        assert sum(v != "completed" for v in unfinished.values()) > 0

        second = await _start_workers(tmp_path, backends, "second")
        try:
            final = await _wait_until(shop, lambda s: all(v == "completed" for v in s.values()), 120)
        finally:
            second.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                await second.communicate()
        assert second.returncode == 0

        assert set(final) == set(orders)
        for order_id in orders:
            order = (await shop.get(f"/admin/orders/{order_id}")).json()["order"]
            assert order["status"] == "completed"
        search = (await shop.post(  # same client type; the engine's REST v2 search
            f"{backends.rest_url}/v2/process-instances/search",
            json={"filter": {"processDefinitionId": ORDER_PROCESS_ID}, "page": {"limit": 1000}},
        )).json()
    await channel.close()
    states = {int(i["processInstanceKey"]): i["state"] for i in search["items"]}
    assert states == {key: "COMPLETED" for key in instances.values()}

    # Each stage's callback was applied exactly once per order: one stored outcome per
    # idempotency key (order:status:instance), each applied, three per order.
    with sqlite3.connect(backends.shop.data_dir / "shop.sqlite3") as db:
        outcomes = db.execute("SELECT key, outcome FROM callback_keys").fetchall()
    per_order: dict[str, list[str]] = {}
    for key, outcome in outcomes:
        assert json.loads(outcome)["applied"] is True, key
        order_id, status, instance = key.split(":")
        assert int(instance) == instances[order_id]
        per_order.setdefault(order_id, []).append(status)
    assert {o: sorted(s) for o, s in per_order.items()} == {
        o: ["completed", "inventory_reserved", "payment_verified"] for o in orders
    }
