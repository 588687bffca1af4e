"""SIGTERM of `medcam-console workers` mid-run: running jobs finish or are handed back; nothing twice."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import httpx
import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

from bench.peer.sink import CallbackSink
from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
from serving.asgi import HttpServer
from tests.e2e.test_cli import CLI
from workers.stages import STAGES

ORDERS = 100

pytestmark = pytest.mark.timeout(300)


async def _start_workers(tmp_path: Path, backends, sink_url: str, name: str) -> asyncio.subprocess.Process:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_"))}
    environment.update({
        "ZEEBE_ADDRESS": backends.zeebe_address,
        "ZEEBE_REST_ADDRESS": backends.rest_url,
        # Every status callback goes to a sink that records each POST it gets, repeats included.
        "MEDUSA_BACKEND_URL": sink_url,
        "MEDCAM_DATA_DIR": str(tmp_path / name),
        # Stage 2 outlasts the grace period, so the jobs running it at SIGTERM are handed back.
        "MEDCAM_STAGE_DELAYS": "0.2,3,0.2",
        "MEDCAM_SHUTDOWN_GRACE_S": "0.5",
        "MEDCAM_JOB_STREAMING": "true",  # the pushed-jobs stream must be cut too
    })
    workers = await asyncio.create_subprocess_exec(
        *CLI, "workers", cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert workers.stderr is not None
    async with asyncio.timeout(60):
        while b"workers: running" not in (line := await workers.stderr.readline()):
            assert line, "workers exited before running"
    return workers


async def test_sigterm_hands_back_unfinished_jobs_and_every_order_completes_once(tmp_path, backends):
    sink = CallbackSink()
    server = HttpServer(sink, "127.0.0.1", 0, "callback sink")
    await server.start()
    channel = create_insecure_channel(backends.zeebe_address)
    try:
        client = ZeebeClient(channel)
        await client.deploy_resource(str(ORDER_FULFILLMENT))
        orders = [f"order_{n:03d}" for n in range(ORDERS)]
        instances = {}
        for order_id in orders:
            instances[order_id] = (await client.run_process(
                ORDER_PROCESS_ID, {"orderId": order_id, "timestamp": "t"})).process_instance_key

        first = await _start_workers(tmp_path, backends, server.url, "first")
        # Half the orders are in stage 2 (3 s of work): SIGTERM lands in the middle of the run.
        async with asyncio.timeout(120):
            await sink.wait_for_count("payment_verified", ORDERS // 2)
        first.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            _, raw = await first.communicate()
        stderr = raw.decode()
        assert first.returncode == 0, stderr
        assert "Traceback" not in stderr
        handed_back = int(re.search(r"workers: stopped \((\d+) job\(s\) handed back\)", stderr).group(1))
        assert handed_back >= 1, stderr  # stage-2 jobs were running and outlast the grace period
        assert sink.count("completed") < ORDERS

        second = await _start_workers(tmp_path, backends, server.url, "second")
        try:
            async with asyncio.timeout(120):
                await asyncio.gather(*(sink.finished(o) for o in orders))
        finally:
            second.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                await second.communicate()
        assert second.returncode == 0
        async with httpx.AsyncClient(timeout=10) as http:
            search = (await http.post(
                f"{backends.rest_url}/v2/process-instances/search",
                json={"filter": {"processDefinitionId": ORDER_PROCESS_ID}, "page": {"limit": 1000}},
            )).json()
    finally:
        await channel.close()
        await server.stop()
    states = {int(i["processInstanceKey"]): i["state"] for i in search["items"]}
    assert states == {key: "COMPLETED" for key in instances.values()}
    # Every POST the sink got, repeats included: each order's three status callbacks, once each.
    assert {o: sorted(s for s, _ in sink.callbacks[o]) for o in orders} == {
        o: sorted(stage.status for stage in STAGES) for o in orders
    }
