"""MEDCAM_PROCESS=parallel end to end: real engine, shop, workers, Slack sink; declined payments."""

from __future__ import annotations

import asyncio
import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bpmn import PARALLEL_PROCESS_ID
from console.events import (
    CallbackAttempt,
    IncidentRaised,
    InstanceStarted,
    JobFailed,
    PaymentDeclined,
    SlackSent,
    StageCompleted,
)
from console.state import DECLINED, DONE
from tests.e2e.conftest import fast_settings, running_console


class DecliningMedusa:
    """A real HTTP front for the shop that reports ``payment_status: canceled`` for chosen orders.

    It stands in for a payment provider that declined them (the embedded shop's own
    declined demo orders, MEDCAM_DEMO_DECLINE_RATE, are the shop's side of this feature).
    """

    def __init__(self, shop_url: str) -> None:
        self.shop_url = shop_url
        self.declined: set[str] = set()
        self.unreadable: set[str] = set()
        self.order_reads = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> Response:
        async with httpx.AsyncClient(base_url=self.shop_url) as http:
            upstream = await http.request(
                request.method, request.url.path, params=request.query_params,
                content=await request.body(), headers={"content-type": request.headers.get("content-type", "")},
            )
        body = upstream.content
        parts = request.url.path.strip("/").split("/")
        one_order = request.method == "GET" and parts[:2] == ["admin", "orders"] and len(parts) == 3
        if one_order and "payment_status" in request.query_params.get("fields", ""):
            self.order_reads += 1  # the workers' read (the console's own reads do not ask for it)
            if parts[2] in self.unreadable:
                return Response('{"message": "unavailable"}', 503, media_type="application/json")
        if one_order and parts[2] in self.declined:
            data = upstream.json()
            data["order"]["payment_status"] = "canceled"
            body = json.dumps(data).encode()
        return Response(body, upstream.status_code, media_type="application/json")


class HeldWebhook:
    """A loopback Slack webhook that holds every post until ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.posts: list[dict] = []
        self.app = Starlette(routes=[Route("/services/T/B/x", self.post, methods=["POST"])])

    async def post(self, request: Request) -> PlainTextResponse:
        payload = json.loads(await request.body())
        await self.release.wait()
        self.posts.append(payload)
        return PlainTextResponse("ok")


async def test_parallel_orders_complete_and_a_declined_one_releases_and_ends_declined(tmp_path, backends, asgi_server):
    medusa = DecliningMedusa(backends.shop_url)
    hook = HeldWebhook()
    async with asgi_server(medusa.app) as medusa_url, asgi_server(hook.app) as hook_url:
        settings = fast_settings(tmp_path, backends, medusa_backend_url=medusa_url, process="parallel",
                                 slack_webhook_url=f"{hook_url}/services/T/B/x", slack_admin_url="http://admin/app")
        async with running_console(settings) as (runtime, events):
            assert runtime.fulfillment.process_id == PARALLEL_PROCESS_ID
            made = [await runtime.demo.create() for _ in range(3)]
            declined_id = made[1]["id"]
            medusa.declined.add(declined_id)
            ids = {o["id"] for o in made}
            runtime.feed.poke()

            def finished() -> set[str]:
                return {e.order_id for e in events.of(StageCompleted) if e.stage in ("send-notification", "notify-payment-declined")}

            # Slack holds every post, yet every order finishes: no stage waits for Slack.
            await events.wait_for(lambda: ids <= finished(), within=30)
            assert events.of(SlackSent) == [] and len(hook.posts) == 0

            for order_id in ids - {declined_id}:
                order = await runtime.medusa.get_order(order_id)
                assert order["status"] == "completed" and order["metadata"]["workflow_status"] == "completed"
                stages = [e.stage for e in events.of(StageCompleted, order_id=order_id)]
                assert sorted(stages) == ["reserve-inventory", "send-notification", "verify-payment"]
                assert stages[-1] == "send-notification"  # after both parallel stages
                assert [s.state for s in runtime.state.orders[order_id].stages] == [DONE] * 3

            declined = await runtime.medusa.get_order(declined_id)
            assert declined["metadata"]["workflow_status"] == "payment_declined"
            assert declined["metadata"]["workflow_message"] == "Payment declined - customer notified, reservation released"
            assert declined["status"] != "completed"
            stages = [e.stage for e in events.of(StageCompleted, order_id=declined_id)]
            # The release waits for the reservation; verify-payment never completed.
            assert stages == ["reserve-inventory", "release-inventory", "notify-payment-declined"]
            [thrown] = events.of(PaymentDeclined, order_id=declined_id)
            assert thrown.payment_status == "canceled"
            ok = [e.status for e in events.of(CallbackAttempt, order_id=declined_id) if e.ok]
            assert ok == ["inventory_reserved", "payment_declined"]
            assert events.of(IncidentRaised) == []
            [started] = events.of(InstanceStarted, order_id=declined_id)
            async with httpx.AsyncClient(base_url=runtime.rest.base_url) as http:
                answer = await http.post("/process-instances/search", json={
                    "filter": {"processInstanceKey": str(started.process_instance_key)}})
            assert [i["state"] for i in answer.json()["items"]] == ["COMPLETED"]
            await events.wait_for(lambda: runtime.state.orders[declined_id].stages[0].state == DECLINED)

            # Released, Slack gets everything that was queued.
            hook.release.set()
            assert await runtime.workers.slack.drain(30)
            assert runtime.workers.slack.stats.sent == len(hook.posts)
            assert runtime.state.slack["sent"] == len(hook.posts) and runtime.state.slack["failed"] == 0
        titles = [p["blocks"][0]["text"]["text"] for p in hook.posts]
        for order in made:
            assert f"🛒 Order #{order['display_id']} created" in titles
        assert titles.count("🎉 Order Complete - Stage 3/3") == 2
        assert titles.count("💳 Payment Verified - Stage 1/3") == 2
        assert titles.count("🚫 Payment Declined") == 1 and titles.count("↩️ Inventory Released") == 1
        declined_post = hook.posts[titles.index("🚫 Payment Declined")]
        assert "Progress" not in json.dumps(declined_post) and declined_id in json.dumps(declined_post)


async def test_payment_that_cannot_be_checked_fails_the_job_until_an_incident(tmp_path, backends, asgi_server):
    medusa = DecliningMedusa(backends.shop_url)
    async with asgi_server(medusa.app) as medusa_url:
        settings = fast_settings(tmp_path, backends, medusa_backend_url=medusa_url, process="parallel")
        async with running_console(settings) as (runtime, events):
            order_id = (await runtime.demo.create())["id"]
            medusa.unreadable.add(order_id)
            runtime.feed.poke()
            [raised] = await events.wait_for(lambda: events.of(IncidentRaised, order_id=order_id), within=30)
            failed = events.of(JobFailed, order_id=order_id, stage="verify-payment")
            assert [f.retries_left for f in failed] == [2, 1, 0]
            assert medusa.order_reads == 3  # one read per attempt, no Slack configured
            assert raised.stage == "verify-payment"
            assert raised.error == f"cannot check the payment: reading order {order_id}: HTTP 503"
            assert events.of(PaymentDeclined) == []
            ok = [e.status for e in events.of(CallbackAttempt, order_id=order_id) if e.ok]
            assert "payment_verified" not in ok  # no stage is reported done that was not checked


async def test_the_seed_process_never_reads_the_payment(tmp_path, backends, asgi_server):
    medusa = DecliningMedusa(backends.shop_url)
    async with asgi_server(medusa.app) as medusa_url:
        settings = fast_settings(tmp_path, backends, medusa_backend_url=medusa_url)  # MEDCAM_PROCESS=poc
        async with running_console(settings) as (runtime, events):
            order_id = (await runtime.demo.create())["id"]
            medusa.declined.add(order_id)
            runtime.feed.poke()
            await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
            order = await runtime.medusa.get_order(order_id)
            assert order["metadata"]["workflow_status"] == "completed"
            assert medusa.order_reads == 0 and events.of(PaymentDeclined) == []
