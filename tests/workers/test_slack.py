"""Slack messages go to a real (loopback) webhook as Block Kit, from a bounded queue."""

from __future__ import annotations

import json
import logging

import httpx
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shop.server import ShopServer
from tests.shop.conftest import create_order, load_catalogue
from workers.events import SlackDropped, SlackFailed, SlackSent
from workers.medusa_order import OrderReader
from workers.slack import SlackNotifier, retry_after_s
from workers.stages import STAGES

HOOK_PATH = "/services/T0/B0/secret"


def block_kit_problems(payload: dict) -> list[str]:
    """What slack_sdk's Block Kit models find wrong with a webhook payload ([] when valid)."""
    problems = [] if payload.get("text") else ["no fallback text"]
    for block in payload.get("blocks", []):
        try:
            parsed = Block.parse(block)
            parsed.validate_json()
        except SlackObjectFormationError as exc:
            problems.append(str(exc))
            continue
        if parsed.to_dict() != block:
            problems.append(f"not a known block layout: {block}")
    return problems


class Webhook:
    """A loopback Slack webhook: records each payload and answers with the next scripted reply.

    Every payload is checked against slack_sdk's Block Kit models; ``invalid`` collects problems.
    """

    def __init__(self, *replies: tuple[int, dict[str, str]]) -> None:
        self.replies = list(replies)
        self.posts: list[dict] = []
        self.invalid: list[str] = []
        self.app = Starlette(routes=[Route(HOOK_PATH, self.post, methods=["POST"])])

    async def post(self, request: Request) -> PlainTextResponse:
        payload = json.loads(await request.body())
        self.posts.append(payload)
        self.invalid.extend(block_kit_problems(payload))
        status, headers = self.replies.pop(0) if self.replies else (200, {})
        return PlainTextResponse("ok" if status == 200 else "rate_limited", status_code=status, headers=headers)

    def texts(self) -> list[str]:
        return [json.dumps(post, ensure_ascii=False) for post in self.posts]


def _header(post: dict) -> str:
    return post["blocks"][0]["text"]["text"]


async def test_stage_messages_keep_the_seed_titles_with_progress_and_warehouse(asgi_server):
    hook = Webhook()
    events: list = []
    async with asgi_server(hook.app) as url:
        slack = SlackNotifier(f"{url}{HOOK_PATH}", events.append, admin_url="http://admin/app")
        for stage in STAGES:
            warehouse = dict(stage.extra_outputs).get("warehouse")
            slack.stage_done("order_9", stage, stage.message, str(warehouse) if warehouse else None)
        slack.workflow_error("order_9", STAGES[1], "status callback failed: HTTP 500")
        assert await slack.drain(10)
        await slack.aclose()
    assert [_header(p) for p in hook.posts] == [
        "💳 Payment Verified - Stage 1/3",
        "📦 Inventory Reserved - Stage 2/3",
        "🎉 Order Complete - Stage 3/3",
        "🚨 Workflow Error - Inventory (Stage 2/3)",
    ]
    texts = hook.texts()
    assert "■□□ 1/3" in texts[0] and "■■□ 2/3" in texts[1] and "■■■ 3/3" in texts[2]
    assert "*Warehouse:*\\nMumbai" in texts[1]
    assert "Warehouse" not in texts[0] and "Warehouse" not in texts[2]
    assert "<http://admin/app/orders/order_9|order_9>" in texts[0]
    # The error message names the stage and the error.
    assert "reserve-inventory" in texts[3] and "status callback failed: HTTP 500" in texts[3]
    assert [type(e) for e in events] == [SlackSent] * 4
    assert slack.stats.sent == 4 and slack.stats.failed == 0
    assert hook.invalid == []


async def test_notice_is_a_plain_message_about_an_order(asgi_server):
    hook = Webhook()
    events: list = []
    async with asgi_server(hook.app) as url:
        slack = SlackNotifier(f"{url}{HOOK_PATH}", events.append, admin_url="http://admin/app")
        slack.notice("order_5", "⏳ Order Stuck - Payment (Stage 1/3)", "Payment has been running for 60s")
        assert await slack.drain(10)
    [post] = hook.posts
    assert hook.invalid == []
    assert _header(post) == "⏳ Order Stuck - Payment (Stage 1/3)"
    assert "<http://admin/app/orders/order_5|order_5>" in hook.texts()[0]
    assert post["blocks"][2]["elements"][0]["text"] == "Payment has been running for 60s"
    assert [type(e) for e in events] == [SlackSent]


async def test_order_created_message_carries_the_order_from_medusa(asgi_server, tmp_path):
    hook = Webhook()
    shop = ShopServer(tmp_path / "shop", port=0)
    await shop.start()
    try:
        async with httpx.AsyncClient(base_url=shop.url, timeout=10) as admin:
            order = await create_order(admin, await load_catalogue(admin), currency="eur")
        events: list = []
        async with httpx.AsyncClient() as http, asgi_server(hook.app) as url:
            reader = OrderReader(http, shop.url)
            slack = SlackNotifier(f"{url}{HOOK_PATH}", events.append, admin_url="http://admin/app/",
                                  orders=reader.get)
            slack.order_created(order["id"])
            slack.order_created(order["id"])  # announced once per order
            assert await slack.drain(10)
            await slack.aclose()
    finally:
        await shop.stop()
    assert len(hook.posts) == 1 and hook.invalid == []
    post = hook.posts[0]
    text = hook.texts()[0]
    assert _header(post) == f"🛒 Order #{order['display_id']} created"
    assert f"<http://admin/app/orders/{order['id']}|#{order['display_id']}>" in text
    address = order["shipping_address"]
    assert f"{address['first_name']} {address['last_name']}" in text
    assert order["email"] in text and address["address_1"] in text and address["city"] in text
    for item in order["items"]:
        assert f"{item['quantity']} × {item['title']} — {item['unit_price']:,.2f} EUR" in text
    totals = {f["text"].split(":*")[0].lstrip("*"): f["text"].split("\n")[1] for f in post["blocks"][3]["fields"]}
    assert totals == {
        "Subtotal": f"{order['item_subtotal']:,.2f} EUR",
        "Shipping": f"{order['shipping_total']:,.2f} EUR",
        "Discounts": "0.00 EUR",
        "Tax": "0.00 EUR",
        "Total": f"{order['total']:,.2f} EUR",
    }
    assert [type(e) for e in events] == [SlackSent]


async def test_unreadable_order_is_a_counted_failure(asgi_server):
    hook = Webhook()
    events: list = []
    async with httpx.AsyncClient() as http, asgi_server(hook.app) as url:
        reader = OrderReader(http, "http://127.0.0.1:9", timeout_s=1)
        slack = SlackNotifier(f"{url}{HOOK_PATH}", events.append, orders=reader.get)
        slack.order_created("order_missing")
        assert await slack.drain(10)
    assert hook.posts == []
    assert isinstance(events[0], SlackFailed) and "order_missing" in events[0].error
    assert slack.stats.failed == 1


async def test_429_waits_for_retry_after_then_posts(asgi_server):
    hook = Webhook((429, {"Retry-After": "0.2"}), (200, {}))
    events: list = []
    async with asgi_server(hook.app) as url:
        slack = SlackNotifier(f"{url}{HOOK_PATH}", events.append)
        slack.stage_done("order_1", STAGES[0], "ok")
        assert await slack.drain(10)
    assert len(hook.posts) == 2 and hook.posts[0] == hook.posts[1]
    assert [type(e) for e in events] == [SlackSent]


async def test_429_with_retry_after_over_the_limit_is_counted_not_awaited(asgi_server):
    hook = Webhook((429, {"Retry-After": "3600"}))
    events: list = []
    async with asgi_server(hook.app) as url:
        slack = SlackNotifier(f"{url}{HOOK_PATH}", events.append, max_retry_after_s=30)
        slack.stage_done("order_1", STAGES[0], "ok")
        assert await slack.drain(10)
    assert len(hook.posts) == 1
    assert isinstance(events[0], SlackFailed) and "429" in events[0].error and "3600" in events[0].error
    assert slack.stats.failed == 1


async def test_full_queue_drops_the_oldest_and_counts_it(asgi_server):
    hook = Webhook()
    events: list = []
    async with asgi_server(hook.app) as url:
        slack = SlackNotifier(f"{url}{HOOK_PATH}", events.append, capacity=2)
        for n in range(5):  # enqueuing never waits for Slack: all five go in at once
            slack.stage_done(f"order_{n}", STAGES[0], "ok")
        assert slack.stats.dropped == 3 and slack.stats.queued == 2
        assert await slack.drain(10)
    dropped = [e for e in events if isinstance(e, SlackDropped)]
    assert [e.order_id for e in dropped] == ["order_0", "order_1", "order_2"]
    assert [e.dropped_total for e in dropped] == [1, 2, 3]
    assert ["order_3" in t for t in hook.texts()] == [True, False]
    assert "order_4" in hook.texts()[1]


async def test_failure_is_reported_without_the_secret_url(asgi_server, caplog):
    hook = Webhook((403, {}))
    events: list = []
    caplog.set_level(logging.DEBUG)
    async with asgi_server(hook.app) as url:
        secret_url = f"{url}{HOOK_PATH}"
        slack = SlackNotifier(secret_url, events.append)
        slack.stage_done("order_9", STAGES[0], "ok")
        assert await slack.drain(10)
    assert len(events) == 1 and isinstance(events[0], SlackFailed)
    assert "403" in events[0].error
    assert "secret" not in events[0].error
    assert "secret" not in caplog.text


async def test_unreachable_webhook_does_not_raise():
    events: list = []
    slack = SlackNotifier("http://127.0.0.1:9/services/x", events.append, timeout_s=1)
    slack.stage_done("order_9", STAGES[0], "ok")
    assert await slack.drain(10)
    assert isinstance(events[0], SlackFailed)
    assert "127.0.0.1:9/services/x" not in events[0].error


async def test_disabled_without_webhook():
    events: list = []
    slack = SlackNotifier(None, events.append)
    slack.stage_done("order_9", STAGES[0], "ok")
    slack.order_created("order_9")
    assert not slack.enabled and events == [] and slack.stats.queued == 0


def test_long_values_stay_within_block_kit_limits():
    from workers import slack_blocks

    many = {"id": "order_1", "display_id": 1, "currency_code": "inr", "total": 1,
            "items": [{"title": "Mug " * 20, "quantity": 1, "unit_price": 1}] * 40}
    _, blocks = slack_blocks.order_created(many, None)
    assert block_kit_problems({"text": "t", "blocks": blocks}) == []
    assert "…and 30 more" in json.dumps(blocks, ensure_ascii=False)
    _, blocks = slack_blocks.workflow_error(STAGES[2], "order_1", None, "e" * 10_000)
    assert block_kit_problems({"text": "t", "blocks": blocks}) == []


def test_retry_after_in_seconds_or_as_an_http_date():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 7, 13, 0, 0, tzinfo=UTC)
    assert retry_after_s({"Retry-After": "2"}, now) == 2.0
    assert retry_after_s({"retry-after": ["0.5"]}, now) == 0.5
    assert retry_after_s({"Retry-After": "Mon, 07 Dec 2026 13:00:30 GMT"}, now) == 30.0
    assert retry_after_s({"Retry-After": "Mon, 07 Dec 2026 12:59:00 GMT"}, now) == 0.0
    for bad in ({"Retry-After": "soon"}, {"Retry-After": "-3"}, {}, None):
        assert retry_after_s(bad, now) is None
