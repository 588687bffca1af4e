"""Slack stage messages go to a real (loopback) webhook; failures never raise."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from workers.events import SlackFailed, SlackSent
from workers.slack import SlackNotifier
from workers.stages import STAGES


class Webhook:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[dict] = []
        self.app = Starlette(routes=[Route("/services/T0/B0/secret", self.post, methods=["POST"])])

    async def post(self, request: Request) -> PlainTextResponse:
        self.posts.append(json.loads(await request.body()))
        return PlainTextResponse("ok" if self.status == 200 else "invalid_token", status_code=self.status)


async def test_stage_messages_follow_the_seed(asgi_server):
    hook = Webhook()
    events: list = []
    async with asgi_server(hook.app) as url:
        slack = SlackNotifier(f"{url}/services/T0/B0/secret", events.append, admin_url="http://admin/app")
        for stage in STAGES:
            await slack.stage_done("order_9", stage, stage.message)
        await slack.workflow_error("order_9", STAGES[1], "status callback failed: HTTP 500")
    titles = [post["blocks"][0]["text"]["text"] for post in hook.posts]
    assert titles == [
        "💳 Payment Verified - Stage 1/3",
        "📦 Inventory Reserved - Stage 2/3",
        "🎉 Order Complete - Stage 3/3",
        "🚨 Workflow Error - Inventory (Stage 2/3)",
    ]
    assert "<http://admin/app/orders/order_9|Open order>" in json.dumps(hook.posts[0])
    assert [type(e) for e in events] == [SlackSent] * 4


async def test_failure_is_reported_without_the_secret_url(asgi_server):
    hook = Webhook(status=403)
    events: list = []
    async with asgi_server(hook.app) as url:
        secret_url = f"{url}/services/T0/B0/secret"
        slack = SlackNotifier(secret_url, events.append)
        await slack.stage_done("order_9", STAGES[0], "ok")
    assert len(events) == 1 and isinstance(events[0], SlackFailed)
    assert "403" in events[0].error
    assert "secret" not in events[0].error


async def test_unreachable_webhook_does_not_raise():
    events: list = []
    slack = SlackNotifier("http://127.0.0.1:9/services/x", events.append, timeout_s=1)
    await slack.stage_done("order_9", STAGES[0], "ok")
    assert isinstance(events[0], SlackFailed)
    assert "127.0.0.1:9/services/x" not in events[0].error


async def test_disabled_without_webhook():
    events: list = []
    slack = SlackNotifier(None, events.append)
    await slack.stage_done("order_9", STAGES[0], "ok")
    assert not slack.enabled and events == []
