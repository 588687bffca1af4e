"""A stage that runs past the stuck threshold is flagged, counted in the header and announced once on Slack."""

from __future__ import annotations

from console.events import OrderStuck, StageCompleted
from console.widgets.pulse_bar import counts
from tests.e2e.conftest import fast_settings, running_console
from tests.workers.test_slack import Webhook


async def test_slow_stage_is_flagged_and_announced_once(tmp_path, backends, asgi_server):
    hook = Webhook()
    async with asgi_server(hook.app) as url:
        settings = fast_settings(tmp_path, backends, stage_delays=(3.0, 0.05, 0.05), stuck_min_s=0.5,
                                 stuck_factor=3.0, slack_webhook_url=f"{url}/services/T0/B0/secret")
        async with running_console(settings) as (runtime, events):
            order = await runtime.demo.create()
            order_id = order["id"]
            stuck = await events.wait_for(lambda: events.of(OrderStuck, order_id=order_id))
            assert stuck[0].stage == "verify-payment" and stuck[0].threshold_s == 0.5
            assert runtime.state.orders[order_id].stuck == "Payment"
            assert counts(runtime.state)["stuck"] == 1
            await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
            assert runtime.state.orders[order_id].stuck == "", "the stage finished: no longer stuck"
            assert len(events.of(OrderStuck)) == 1, "flagged once"
    titles = [post["blocks"][0]["text"]["text"] for post in hook.posts]
    assert titles.count("⏳ Order Stuck - Payment (Stage 1/3)") == 1
