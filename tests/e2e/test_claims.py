"""Order claims across consoles: one instance per order, stale claims recovered, lost writes repaired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pyzeebe import ZeebeClient, create_insecure_channel

from bpmn import ORDER_PROCESS_ID
from console.claims import CLAIM_KEY, Claim, claim_of
from console.events import InstanceStarted, OperatorAction, StageCompleted
from console.fulfillment import AutoStarter, ClaimLost
from console.orders import OrderSummary
from tests.e2e.conftest import Recorder, fast_settings, running_console


async def _instances_of(rest_url: str, order_id: str) -> list[dict]:
    body = {
        "filter": {
            "processDefinitionId": ORDER_PROCESS_ID,
            "variables": [{"name": "orderId", "value": f'"{order_id}"'}],
        }
    }
    async with httpx.AsyncClient(base_url=rest_url) as http:
        response = await http.post("/v2/process-instances/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _stale_token(owner: str, ttl_s: float) -> str:
    return Claim.make(owner, datetime.now(UTC) - timedelta(seconds=ttl_s + 5)).token()


def test_a_claim_round_trips_through_its_metadata_value():
    claim = Claim.make("ops-box:4242", datetime(2026, 11, 26, 18, 0, 0, 123000, tzinfo=UTC))
    parsed = Claim.parse(claim.token())
    assert parsed == claim
    assert claim.token().startswith("ops-box:4242#") and claim.token().endswith("@2026-11-26T18:00:00.123Z")
    now = claim.at + timedelta(seconds=59)
    assert not claim.is_stale(now, 60) and claim.is_stale(now + timedelta(seconds=1), 60)


@pytest.mark.parametrize(
    "value", [None, "", 42, "no-markers", "owner#nonce@not-a-date", "#nonce@2026-01-01T00:00:00Z",
              "owner#@2026-01-01T00:00:00Z", "owner#n@2026-01-01T00:00:00"],
)
def test_unreadable_claims_count_as_no_claim(value):
    assert Claim.parse(value) is None
    assert claim_of({CLAIM_KEY: value}) is None


async def test_two_consoles_start_each_new_order_exactly_once(tmp_path, backends):
    """Both consoles see the same new orders at the same moment; claims decide who starts."""
    common = {"claim_settle_s": 0.3, "poll_interval_s": 0.05}
    a = fast_settings(tmp_path / "a", backends, console_id="console-a", **common)
    b = fast_settings(tmp_path / "b", backends, console_id="console-b", **common)
    async with running_console(a) as (run_a, _), running_console(b) as (run_b, _):
        events = Recorder()  # hears both consoles
        run_a.bus.subscribe(events)
        run_b.bus.subscribe(events)
        made = [await run_a.demo.create() for _ in range(8)]
        ids = {o["id"] for o in made}
        run_a.feed.poke()
        run_b.feed.poke()
        await events.wait_for(
            lambda: ids <= {e.order_id for e in events.of(StageCompleted, stage="send-notification")},
            within=60,
        )
        for order_id in ids:
            started = events.of(InstanceStarted, order_id=order_id)
            assert len(started) == 1, f"order {order_id} was started {len(started)} times"
            ok = [e for e in events.of(OperatorAction, order_id=order_id, outcome="ok") if e.action == "auto-start"]
            assert len(ok) == 1
            instances = await _instances_of(backends.rest_url, order_id)
            assert len(instances) == 1, f"the engine holds {len(instances)} instances for {order_id}"
            order = await run_a.medusa.get_order(order_id)
            assert order["metadata"]["workflow_instance"] == instances[0]["processInstanceKey"]
            assert CLAIM_KEY not in order["metadata"], "the claim is released once the instance is recorded"


async def test_a_live_claim_of_another_console_stops_a_start(tmp_path, backends):
    settings = fast_settings(tmp_path, backends, auto_start=False)
    async with running_console(settings) as (runtime, _):
        made = await runtime.demo.create()
        live = Claim.make("other-console:1", datetime.now(UTC)).token()
        await runtime.medusa.merge_metadata(made["id"], {CLAIM_KEY: live})
        order = OrderSummary.from_medusa(await runtime.medusa.get_order(made["id"]))
        with pytest.raises(ClaimLost, match="being started by other-console:1"):
            await runtime.fulfillment.start(order)
        assert await _instances_of(backends.rest_url, made["id"]) == []
        assert (await runtime.medusa.get_order(made["id"]))["metadata"][CLAIM_KEY] == live


async def test_a_stale_claim_without_an_instance_is_taken_over(tmp_path, backends):
    """The claiming console died before creating the instance: another one starts the order."""
    settings = fast_settings(tmp_path, backends, claim_ttl_s=30)
    async with running_console(settings) as (runtime, events):
        runtime.auto_starter = None  # hold auto-start until the ghost claim is in place
        made = await runtime.demo.create()
        await runtime.medusa.merge_metadata(made["id"], {CLAIM_KEY: _stale_token("ghost:1", 30)})
        await _consider(runtime, made["id"])
        await events.wait_for(lambda: events.of(StageCompleted, order_id=made["id"], stage="send-notification"))
        instances = await _instances_of(backends.rest_url, made["id"])
        assert len(instances) == 1
        meta = (await runtime.medusa.get_order(made["id"]))["metadata"]
        assert meta["workflow_instance"] == instances[0]["processInstanceKey"]
        assert CLAIM_KEY not in meta


async def test_a_stale_claim_whose_instance_exists_is_recorded_not_restarted(tmp_path, backends):
    """The claiming console created the instance and died before writing it down."""
    settings = fast_settings(tmp_path, backends, claim_ttl_s=30)
    async with running_console(settings) as (runtime, events):
        runtime.auto_starter = None
        made = await runtime.demo.create()
        order_id = made["id"]
        await runtime.medusa.merge_metadata(order_id, {CLAIM_KEY: _stale_token("ghost:2", 30)})
        # Stale claims are judged against when the instance started; this one started after
        # the claim (as the dead console's would have).
        channel = create_insecure_channel(backends.zeebe_address)
        try:
            created = await ZeebeClient(channel).run_process(
                ORDER_PROCESS_ID, {"orderId": order_id, "timestamp": "x"}
            )
        finally:
            await channel.close()
        await _consider(runtime, made["id"])
        recovered = await events.wait_for(
            lambda: [e for e in events.of(OperatorAction, order_id=order_id) if e.action == "auto-recover"]
        )
        assert recovered[0].outcome == "ok"
        meta = (await runtime.medusa.get_order(order_id))["metadata"]
        assert meta["workflow_instance"] == str(created.process_instance_key)
        assert CLAIM_KEY not in meta
        assert events.of(InstanceStarted, order_id=order_id) == [], "no second instance"
        assert len(await _instances_of(backends.rest_url, order_id)) == 1


async def test_a_claim_that_goes_stale_while_watched_is_picked_up(tmp_path, backends):
    """A live claim is left alone, then looked at again the moment it goes stale."""
    settings = fast_settings(tmp_path, backends, claim_ttl_s=1.0)
    async with running_console(settings) as (runtime, events):
        runtime.auto_starter = None
        made = await runtime.demo.create()
        claimed_at = datetime.now(UTC)
        live = Claim(owner="slow-console:3", nonce="abcd", at=claimed_at).token()
        await runtime.medusa.merge_metadata(made["id"], {CLAIM_KEY: live})
        await _consider(runtime, made["id"])
        started = await events.wait_for(lambda: events.of(InstanceStarted, order_id=made["id"]), within=20)
        assert started[0].at >= claimed_at + timedelta(seconds=1.0), "started only once the claim was stale"


async def test_a_dropped_workflow_instance_is_written_again(tmp_path, backends):
    """A concurrent read-merge-write of the metadata lost our workflow_instance: we repair it."""
    settings = fast_settings(tmp_path, backends, stage_delays=(1.0, 0.05, 0.05))
    async with running_console(settings) as (runtime, events):
        made = await runtime.demo.create()
        runtime.feed.poke()
        started = await events.wait_for(lambda: events.of(InstanceStarted, order_id=made["id"]))
        key = str(started[0].process_instance_key)
        await events.wait_for(
            lambda: [e for e in events.of(OperatorAction, order_id=made["id"]) if e.action == "auto-start"]
        )
        await runtime.medusa.merge_metadata(made["id"], {"workflow_instance": ""})
        runtime.feed.poke()
        await events.wait_for(
            lambda: [e for e in events.of(OperatorAction, order_id=made["id"]) if e.action == "auto-repair"]
        )
        assert (await runtime.medusa.get_order(made["id"]))["metadata"]["workflow_instance"] == key
        assert len(events.of(InstanceStarted, order_id=made["id"])) == 1


async def _consider(runtime, order_id: str) -> None:
    """Hand the order as it is now to a fresh auto-starter (the feed may have shown it earlier)."""
    runtime.auto_starter = AutoStarter(runtime.fulfillment)
    runtime.auto_starter.consider(OrderSummary.from_medusa(await runtime.medusa.get_order(order_id)))


async def test_a_start_from_an_old_view_backs_off_and_takes_its_claim_back(tmp_path, backends):
    """Our view predates another console recording its instance: no second instance, no litter."""
    settings = fast_settings(tmp_path, backends, auto_start=False)
    async with running_console(settings) as (runtime, _):
        made = await runtime.demo.create()
        old_view = OrderSummary.from_medusa(await runtime.medusa.get_order(made["id"]))
        await runtime.medusa.merge_metadata(made["id"], {"workflow_instance": "2251799813699999",
                                                         "workflow_status": "payment_verified"})
        with pytest.raises(ClaimLost, match="got workflow 2251799813699999 meanwhile"):
            await runtime.fulfillment.start(old_view)
        meta = (await runtime.medusa.get_order(made["id"]))["metadata"]
        assert CLAIM_KEY not in meta
        assert meta["workflow_status"] == "payment_verified", "the other console's progress stays"
        assert await _instances_of(backends.rest_url, made["id"]) == []


class _ClaimRefusingMedusa:
    """A real HTTP front for the shop that answers 503 to the first ``refusals`` claim writes."""

    def __init__(self, shop_url: str, refusals: int) -> None:
        from starlette.applications import Starlette
        from starlette.routing import Route

        self.shop_url = shop_url
        self.refusals = refusals
        self.refused = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request):  # type: ignore[no-untyped-def]
        from starlette.responses import Response

        body = await request.body()
        if request.method == "POST" and CLAIM_KEY.encode() in body and self.refused < self.refusals:
            self.refused += 1
            return Response('{"message": "database busy"}', 503, media_type="application/json")
        async with httpx.AsyncClient(base_url=self.shop_url) as http:
            upstream = await http.request(
                request.method, request.url.path, params=request.query_params, content=body,
                headers={"content-type": request.headers.get("content-type", "")},
            )
        return Response(upstream.content, upstream.status_code, media_type="application/json")


async def test_a_claim_write_that_fails_is_tried_again_later(tmp_path, backends, asgi_server):
    """A BackendError while claiming is not swallowed: auto-start looks at the order again."""
    front = _ClaimRefusingMedusa(backends.shop_url, refusals=2)
    async with asgi_server(front.app) as medusa_url:
        settings = fast_settings(tmp_path, backends, medusa_backend_url=medusa_url)
        async with running_console(settings) as (runtime, events):
            runtime.auto_starter.retry_after_s = 0.2
            order_id = (await runtime.demo.create())["id"]
            runtime.feed.poke()
            await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
            assert front.refused == 2, "the first two claim writes failed"
            assert len(events.of(InstanceStarted, order_id=order_id)) == 1
            meta = (await runtime.medusa.get_order(order_id))["metadata"]
            assert meta["workflow_status"] == "completed"
