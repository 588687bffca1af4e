"""End to end on a real engine and shop: happy path, failure → incident → retry, cancel."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3

import grpc
import httpx
import pytest
from pyzeebe.proto import gateway_pb2, gateway_pb2_grpc
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bpmn import ORDER_PROCESS_ID
from console.clients.errors import BackendError
from console.clients.zeebe import ZeebeGateway
from console.events import (
    CallbackAttempt,
    IncidentRaised,
    IncidentResolved,
    InstanceStarted,
    JobActivated,
    JobFailed,
    StageAbandoned,
    StageCompleted,
)
from console.orders import OrderSummary
from console.runtime import ConsoleRuntime
from engine.store import DB_FILE_NAME
from tests.e2e.conftest import fast_settings, running_console

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def _instance_state(runtime: ConsoleRuntime, key: int) -> str | None:
    """The engine's state of one process instance, read through REST v2 (None when unknown)."""
    async with httpx.AsyncClient(base_url=runtime.rest.base_url) as http:
        answer = await http.post(
            "/process-instances/search", json={"filter": {"processInstanceKey": str(key)}}
        )
    answer.raise_for_status()
    items = answer.json()["items"]
    return items[0]["state"] if items else None


async def _order(runtime: ConsoleRuntime, order_id: str) -> dict:
    assert runtime.medusa is not None
    return await runtime.medusa.get_order(order_id)


async def test_five_orders_reach_completed_with_the_seed_metadata(console):
    runtime, events = console
    made = [await runtime.demo.create() for _ in range(5)]
    ids = {o["id"] for o in made}
    runtime.feed.poke()

    await events.wait_for(
        lambda: ids <= {e.order_id for e in events.of(StageCompleted, stage="send-notification")}
    )
    for order_id in ids:
        ok_statuses = [e.status for e in events.of(CallbackAttempt, order_id=order_id) if e.ok]
        assert ok_statuses == ["payment_verified", "inventory_reserved", "completed"]
        started = events.of(InstanceStarted, order_id=order_id)
        assert len(started) == 1, "auto-start creates exactly one instance per order"
        order = await _order(runtime, order_id)
        meta = order["metadata"]
        assert order["status"] == "completed"
        assert meta["workflow_status"] == "completed"
        assert meta["workflow_instance"] == str(started[0].process_instance_key)
        assert meta["workflow_message"] == "Customer notified - Order complete!"
        assert ISO_MS.match(meta["workflow_started_at"]) and ISO_MS.match(meta["last_updated"])
        assert "workflow_error" not in meta, "empty error keys are deleted, not stored"
    # The instances are finished in the engine too (the last CompleteJob follows the
    # handler's StageCompleted, so the state is waited for, not assumed).
    for started in events.of(InstanceStarted):
        await _until_state(runtime, started.process_instance_key, "COMPLETED")


async def _until_state(runtime: ConsoleRuntime, key: int, wanted: str, within: float = 10.0) -> None:
    """Return once the engine reports the process instance in state ``wanted``."""
    async with asyncio.timeout(within):
        while True:
            if await _instance_state(runtime, key) == wanted:
                return
            await asyncio.sleep(0.05)


async def test_output_variables_are_read_back_from_the_engine(console, backends, tmp_path):
    """The stages' output variables as the engine holds them: REST v2 search and its store."""
    runtime, events = console
    order_id = (await runtime.demo.create())["id"]
    runtime.feed.poke()
    started = await events.wait_for(lambda: events.of(InstanceStarted, order_id=order_id))
    key = started[0].process_instance_key
    await _until_state(runtime, key, "COMPLETED")

    for name, value in (("paymentVerified", True), ("inventoryReserved", True), ("warehouse", "Mumbai"),
                        ("notificationSent", True), ("orderId", order_id)):
        found = await runtime.rest.instances_with_variable(ORDER_PROCESS_ID, name, value)
        assert key in [int(i["processInstanceKey"]) for i in found], f"{name}={value!r} searchable"

    db = sqlite3.connect(f"file:{tmp_path / 'engine' / DB_FILE_NAME}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT name, value FROM variables WHERE process_instance_key = ? AND scope_key = ?", (key, key)
        ).fetchall()
    finally:
        db.close()
    variables = {name: json.loads(value) for name, value in rows}
    assert {k: variables[k] for k in ("paymentVerified", "inventoryReserved", "warehouse", "notificationSent")} == {
        "paymentVerified": True, "inventoryReserved": True, "warehouse": "Mumbai", "notificationSent": True,
    }
    for stamp in ("verifiedAt", "reservedAt", "sentAt"):
        assert ISO_MS.match(variables[stamp]), stamp
    assert variables["verifiedAt"] <= variables["reservedAt"] <= variables["sentAt"]


class FlakyMedusa:
    """A real HTTP front for the shop whose /demo answers 500 while ``broken``."""

    def __init__(self, shop_url: str) -> None:
        self.shop_url = shop_url
        self.broken = True
        self.demo_calls = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> Response:
        if request.url.path == "/demo" and request.method == "POST":
            self.demo_calls += 1
            if self.broken:
                return Response('{"success": false, "error": "database unavailable"}', 500,
                                media_type="application/json")
        async with httpx.AsyncClient(base_url=self.shop_url) as http:
            upstream = await http.request(
                request.method, request.url.path, params=request.query_params,
                content=await request.body(), headers={"content-type": request.headers.get("content-type", "")},
            )
        return Response(upstream.content, upstream.status_code, media_type="application/json")


async def test_failing_callback_raises_incident_and_retry_completes(tmp_path, backends, asgi_server):
    flaky = FlakyMedusa(backends.shop_url)
    async with asgi_server(flaky.app) as medusa_url:
        settings = fast_settings(tmp_path, backends, medusa_backend_url=medusa_url)
        async with running_console(settings) as (runtime, events):
            order_id = (await runtime.demo.create())["id"]
            runtime.feed.poke()
            raised = await events.wait_for(
                lambda: [e for e in events.of(IncidentRaised, order_id=order_id) if e.incident_key], within=30
            )
            # 3 job retries × 3 callback attempts, each job failure with back-off.
            attempts = events.of(CallbackAttempt, order_id=order_id)
            assert [a.attempt for a in attempts] == [1, 2, 3] * 3
            assert all(a.http_status == 500 and not a.ok for a in attempts)
            assert [a.next_delay_s for a in attempts[:3]] == [0.02, 0.04, None]
            failed = events.of(JobFailed, order_id=order_id)
            assert [f.retries_left for f in failed] == [2, 1, 0]
            assert all(f.backoff_ms == 100 for f in failed)
            assert raised[0].stage == "verify-payment"
            assert "HTTP 500" in raised[0].error
            # Shown: the incident is in the console's state (what the panel renders).
            assert runtime.state.incident_for_order(order_id) is not None

            flaky.broken = False
            order = OrderSummary.from_medusa(await runtime.medusa.get_order(order_id))
            resolved = await runtime.fulfillment.retry(order)
            assert resolved == 1
            await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
            assert events.of(IncidentResolved)
            final = await runtime.medusa.get_order(order_id)
            assert final["status"] == "completed"
            assert final["metadata"]["workflow_status"] == "completed"
            await events.wait_for(lambda: runtime.state.incident_for_order(order_id) is None)


async def test_retry_without_incident_says_so(console):
    runtime, events = console
    order_id = (await runtime.demo.create())["id"]
    runtime.feed.poke()
    await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
    order = OrderSummary.from_medusa(await runtime.medusa.get_order(order_id))
    from console.fulfillment import FulfillmentError

    with pytest.raises(FulfillmentError, match="no open incident"):
        await runtime.fulfillment.retry(order)


async def test_cancel_mid_flight_stops_the_order(tmp_path, backends):
    settings = fast_settings(tmp_path, backends, stage_delays=(1.5, 0.05, 0.05))
    async with running_console(settings) as (runtime, events):
        order_id = (await runtime.demo.create())["id"]
        runtime.feed.poke()
        activated = await events.wait_for(lambda: events.of(JobActivated, order_id=order_id))
        job_key = activated[0].job_key
        order = OrderSummary.from_medusa(await runtime.medusa.get_order(order_id))
        assert order.workflow_status == "started"
        await runtime.fulfillment.cancel(order)

        await events.wait_for(lambda: events.of(StageAbandoned, order_id=order_id))
        assert not events.of(CallbackAttempt, order_id=order_id), "no late callback after cancel"
        assert not events.of(StageCompleted, order_id=order_id)
        meta = (await runtime.medusa.get_order(order_id))["metadata"]
        assert meta["workflow_status"] == "cancelled"
        assert await _instance_state(runtime, order.workflow_instance) == "TERMINATED"
        # The job is gone from the engine.
        async with grpc.aio.insecure_channel(backends.zeebe_address) as channel:
            stub = gateway_pb2_grpc.GatewayStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.UpdateJobRetries(gateway_pb2.UpdateJobRetriesRequest(jobKey=job_key, retries=3))
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        # Cancelling twice is refused clearly, not a crash.
        with pytest.raises(BackendError):
            await runtime.zeebe.cancel_instance(order.workflow_instance)


async def test_manual_start_when_auto_start_is_off(tmp_path, backends):
    async with running_console(fast_settings(tmp_path, backends, auto_start=False)) as (runtime, events):
        order_id = (await runtime.demo.create())["id"]
        runtime.feed.poke()
        await events.wait_for(lambda: order_id in runtime.state.orders)
        assert not events.of(InstanceStarted, order_id=order_id)
        key = await runtime.fulfillment.start(runtime.state.orders[order_id].order)
        await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
        meta = (await runtime.medusa.get_order(order_id))["metadata"]
        assert meta["workflow_instance"] == str(key)
        assert meta["workflow_status"] == "completed"


async def test_a_start_that_zeebe_did_not_answer_is_tried_again_not_given_up(tmp_path, backends):
    """UNAVAILABLE from CreateProcessInstance is 'not now': no workflow_error, the claim stays,
    and the next start looks the order up in the engine first, then starts it exactly once."""
    async with running_console(fast_settings(tmp_path, backends, auto_start=False)) as (runtime, events):
        order_id = (await runtime.demo.create())["id"]
        runtime.feed.poke()
        await events.wait_for(lambda: order_id in runtime.state.orders)
        service = runtime.fulfillment
        working = service._zeebe
        dead = grpc.aio.insecure_channel(f"127.0.0.1:{_closed_port()}")
        service._zeebe = ZeebeGateway(dead, request_timeout_s=2.0)
        try:
            with pytest.raises(BackendError) as caught:
                await service.start(runtime.state.orders[order_id].order)
        finally:
            service._zeebe = working
            await dead.close()
        assert caught.value.transient
        meta = (await runtime.medusa.get_order(order_id))["metadata"]
        assert not meta.get("workflow_error"), "a backend that was away is not a failed start"
        assert meta.get("workflow_claim"), "the claim stays until the engine was asked"
        key = await service.start(await service.fresh(order_id))
        await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
        assert len(events.of(InstanceStarted, order_id=order_id)) == 1
        assert (await runtime.medusa.get_order(order_id))["metadata"]["workflow_instance"] == str(key)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_medusa_is_one_clear_startup_error(tmp_path, backends):
    from console.runtime import StartupError

    runtime = ConsoleRuntime(fast_settings(tmp_path, backends, medusa_backend_url="http://127.0.0.1:9"))
    try:
        with pytest.raises(StartupError, match=r"^cannot reach Medusa at http://127.0.0.1:9 \(GET /health failed\)$"):
            await runtime.start()
    finally:
        await runtime.stop()


async def test_signed_callbacks_against_a_shop_that_requires_them(tmp_path):
    """With MEDCAM_CALLBACK_SECRET and MEDUSA_API_KEY the embedded shop insists on both."""
    from engine.server import EngineServer
    from shop.server import ShopServer
    from tests.e2e.conftest import Backends

    engine = EngineServer(tmp_path / "engine", grpc_port=0, rest_port=0)
    shop = ShopServer(tmp_path / "shop", port=0, callback_secret="cb-secret", api_key="sk_test_key")
    await engine.start()
    await shop.start()
    try:
        backends = Backends(engine, shop)
        async with httpx.AsyncClient() as http:
            unsigned = await http.post(f"{backends.shop_url}/demo", json={"orderId": "x", "status": "s"})
            anonymous = await http.get(f"{backends.shop_url}/admin/orders")
        assert (unsigned.status_code, anonymous.status_code) == (401, 401)
        settings = fast_settings(tmp_path, backends, callback_secret="cb-secret", medusa_api_key="sk_test_key")
        async with running_console(settings) as (runtime, events):
            order_id = (await runtime.demo.create())["id"]
            runtime.feed.poke()
            await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
            assert all(a.ok for a in events.of(CallbackAttempt, order_id=order_id))
            assert (await runtime.medusa.get_order(order_id))["metadata"]["workflow_status"] == "completed"
    finally:
        await shop.stop()
        await engine.stop()


async def test_workers_with_job_streaming(tmp_path, backends):
    """StreamActivatedJobs (job push) on the embedded engine carries the whole path too."""
    async with running_console(fast_settings(tmp_path, backends, job_streaming=True)) as (runtime, events):
        assert runtime.workers.settings.job_streaming
        ids = {(await runtime.demo.create())["id"] for _ in range(3)}
        runtime.feed.poke()
        await events.wait_for(
            lambda: ids <= {e.order_id for e in events.of(StageCompleted, stage="send-notification")}
        )
        for order_id in ids:
            assert (await runtime.medusa.get_order(order_id))["metadata"]["workflow_status"] == "completed"
