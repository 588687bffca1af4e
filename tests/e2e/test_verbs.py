"""The CLI verbs (orders, start, retry, cancel) against a real engine and shop on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sqlite3
from pathlib import Path

import grpc
import httpx
from pyzeebe.proto import gateway_pb2, gateway_pb2_grpc

from tests.e2e.test_cli import CLI
from tests.shop.conftest import create_order, load_catalogue


def _env(tmp_path: Path, backends, *, embedded: bool = False) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_"))}
    environment["MEDCAM_DATA_DIR"] = str(tmp_path / "cli")
    environment["MEDCAM_CLAIM_SETTLE_S"] = "0"
    if embedded:  # as if a console had started the embedded engine and shop on its ports
        environment.update({
            "MEDCAM_ENGINE_GRPC_PORT": str(backends.engine.grpc_port),
            "MEDCAM_ENGINE_REST_PORT": str(backends.engine.rest_port),
            "MEDCAM_SHOP_PORT": str(backends.shop.port),
        })
    else:
        environment.update({
            "ZEEBE_ADDRESS": backends.zeebe_address,
            "ZEEBE_REST_ADDRESS": backends.rest_url,
            "MEDUSA_BACKEND_URL": backends.shop_url,
        })
    return environment


async def cli(tmp_path: Path, backends, *args: str, embedded: bool = False, stdin: int | None = None):
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, cwd=tmp_path, env=_env(tmp_path, backends, embedded=embedded),
        stdin=stdin if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(90):
        out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def _orders(backends, count: int) -> list[dict]:
    async with httpx.AsyncClient(base_url=backends.shop_url, timeout=10) as shop:
        catalogue = await load_catalogue(shop)
        return [await create_order(shop, catalogue) for _ in range(count)]


async def _order(backends, order_id: str) -> dict:
    async with httpx.AsyncClient(base_url=backends.shop_url, timeout=10) as shop:
        return (await shop.get(f"/admin/orders/{order_id}")).json()["order"]


async def _fail_job_for_good(backends) -> int:
    """Activate the verify-payment job and fail it with no retries left: an incident."""
    async with grpc.aio.insecure_channel(backends.zeebe_address) as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)
        jobs = []
        async with asyncio.timeout(20):
            while not jobs:
                async for response in stub.ActivateJobs(gateway_pb2.ActivateJobsRequest(
                        type="verify-payment", worker="test", timeout=60_000, maxJobsToActivate=1,
                        requestTimeout=1000)):
                    jobs.extend(response.jobs)
        await stub.FailJob(gateway_pb2.FailJobRequest(jobKey=jobs[0].key, retries=0, errorMessage="boom"))
        return jobs[0].key


async def _incidents(backends) -> list[dict]:
    async with httpx.AsyncClient(timeout=10) as http:
        body = (await http.post(f"{backends.rest_url}/v2/incidents/search",
                                json={"filter": {"state": "ACTIVE"}})).json()
    return body["items"]


async def test_start_list_retry_and_cancel_through_the_cli(tmp_path, backends):
    first, second = await _orders(backends, 2)

    code, out, err = await cli(tmp_path, backends, "start", f"#{first['display_id']}", "--json")
    assert code == 0, err
    result = json.loads(out)["results"][0]
    assert (result["action"], result["order"], result["ok"]) == ("start", first["id"], True)
    instance = result["detail"].removeprefix("instance ")
    assert (await _order(backends, first["id"]))["metadata"]["workflow_instance"] == instance

    # Starting it again is refused: the order already has a workflow.
    code, out, err = await cli(tmp_path, backends, "start", first["id"])
    assert code == 1
    assert "FAILED, order" in out and "already has workflow" in out

    code, out, _ = await cli(tmp_path, backends, "orders", "--json", "--filter", "started")
    listed = json.loads(out)
    assert code == 0 and listed["count"] == 1
    assert listed["orders"][0]["id"] == first["id"] and listed["orders"][0]["workflow_instance"] == instance
    code, out, _ = await cli(tmp_path, backends, "orders")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ORDER", "ID", "STATUS", "WORKFLOW", "INSTANCE", "CUSTOMER", "TOTAL"]
    assert len(lines) == 3 and any(second["id"] in line and " - " in line for line in lines)

    job_key = await _fail_job_for_good(backends)
    assert [int(i["jobKey"]) for i in await _incidents(backends)] == [job_key]
    code, out, err = await cli(tmp_path, backends, "retry", "--all-incidents")
    assert code == 0, err
    assert out.strip().endswith("ok, 1 incident(s) resolved")
    assert await _incidents(backends) == []

    code, out, _ = await cli(tmp_path, backends, "retry", second["id"])
    assert code == 1 and "has no workflow to retry" in out

    code, out, err = await cli(tmp_path, backends, "cancel", first["id"], "--yes")
    assert code == 0, err
    assert (await _order(backends, first["id"]))["metadata"]["workflow_status"] == "cancelled"
    async with httpx.AsyncClient(timeout=10) as http:
        state = (await http.get(f"{backends.rest_url}/v2/process-instances/{instance}")).json()["state"]
    assert state == "TERMINATED"  # REST v2 names a cancelled instance so

    # The verbs write the same audit log as the console's keys.
    with sqlite3.connect(tmp_path / "cli" / "console.sqlite3") as db:
        audit = db.execute("SELECT action, outcome FROM audit ORDER BY at").fetchall()
    assert ("start", "ok") in audit and ("retry", "ok") in audit and ("cancel", "ok") in audit


async def test_cancel_asks_on_a_terminal_and_refuses_without_one(tmp_path, backends):
    (order,) = await _orders(backends, 1)
    code, _, err = await cli(tmp_path, backends, "start", order["id"])
    assert code == 0, err

    code, _, err = await cli(tmp_path, backends, "cancel", order["id"])
    assert code == 2 and "run it on a terminal or pass --yes" in err

    main, secondary = pty.openpty()
    try:
        os.write(main, b"n\n")
        code, out, err = await cli(tmp_path, backends, "cancel", order["id"], stdin=secondary)
    finally:
        os.close(main)
        os.close(secondary)
    assert code == 1 and "nothing cancelled" in err
    assert (await _order(backends, order["id"]))["metadata"]["workflow_status"] == "started"


async def test_verbs_use_a_running_embedded_engine_and_never_start_one(tmp_path, backends):
    (order,) = await _orders(backends, 1)
    code, out, err = await cli(tmp_path, backends, "orders", "--json", embedded=True)
    assert code == 0, err
    assert [o["id"] for o in json.loads(out)["orders"]] == [order["id"]]

    environment = _env(tmp_path, backends, embedded=True)
    environment.update({"MEDCAM_ENGINE_REST_PORT": "9", "MEDCAM_SHOP_PORT": "9"})
    process = await asyncio.create_subprocess_exec(
        *CLI, "orders", cwd=tmp_path, env=environment, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, raw = await process.communicate()
    assert process.returncode == 2
    assert "embedded engine (127.0.0.1:9) and shop (127.0.0.1:9) are not running" in raw.decode()
    assert not (tmp_path / "cli" / "embedded").exists()  # nothing was started


async def test_bad_order_reference_and_bad_usage_are_one_line(tmp_path, backends):
    code, _, err = await cli(tmp_path, backends, "start", "#999")
    assert code == 2 and err.strip() == "medcam-console: no order '#999' (give an order id or a display id such as #12)"
    code, _, err = await cli(tmp_path, backends, "retry")
    assert code == 2 and "retry needs ORDER... or --all-incidents" in err
