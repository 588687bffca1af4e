"""A Slack webhook that is down, or answers 429 or 500, throughout: every order completes anyway."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from console.events import BackendStatus, CallbackAttempt, SlackDropped, SlackFailed, SlackSent
from console.settings import Settings
from tests.chaos.faults import SlackSink
from tests.chaos.ledger import Shop, Tally, all_done, check_orders, eventually
from tests.chaos.processes import free_ports
from tests.chaos.stack import embedded_stack, headless_console
from workers.stages import STAGES

ORDERS = 12
#: Slack messages per order: "order created" when fulfillment starts, then one per stage.
MESSAGES_PER_ORDER = 1 + len(STAGES)


@contextlib.asynccontextmanager
async def _webhook(kind: str) -> AsyncIterator[tuple[str, SlackSink | None]]:
    if kind == "down":
        (port,) = free_ports(1)  # nothing listens there: connection refused
        yield f"http://127.0.0.1:{port}/services/T0/B0/chaos", None
        return
    async with SlackSink(int(kind)).serving() as sink:
        yield sink.url, sink


@pytest.mark.parametrize("kind", ["down", "429", "500"])
async def test_slack_failing_throughout_never_stops_an_order(tmp_path, kind):
    async with embedded_stack(tmp_path / "embedded") as stack, _webhook(kind) as (webhook, sink):
        shop = Shop(stack.shop_url)
        settings = Settings(
            zeebe_address=stack.zeebe_address, zeebe_rest_address=stack.rest_url, medusa_backend_url=stack.shop_url,
            slack_webhook_url=webhook, data_dir=tmp_path / "console", stage_delays=(0.05, 0.05, 0.05),
            poll_interval_s=0.5, claim_settle_s=0.1, auto_start=True,
        )
        try:
            async with headless_console(settings) as (runtime, events):
                wanted = set(await shop.create_orders(ORDERS))
                problems: list[str] = []
                try:
                    await eventually(lambda: all_done(shop, stack.rest_url, wanted), within_s=120, every_s=0.5,
                                     what="every order completed")
                except AssertionError as exc:
                    problems.append(str(exc))
                completed = len(await shop.finished(wanted))
                # Slack's sender works through its queue one message at a time, after the orders:
                # a 429 waits its Retry-After (1 s here) before each of its 3 tries.
                with contextlib.suppress(AssertionError):
                    await eventually(lambda: _slack_outcomes(events.events, MESSAGES_PER_ORDER * ORDERS),
                                     within_s=150, what="every Slack notification tried")
                problems += await check_orders(shop, stack.rest_url, wanted)
                slack_state = runtime.state.backends.get("slack")
                seen = list(events.events)
        finally:
            await shop.close()
    failed = [e for e in seen if isinstance(e, SlackFailed)]
    dropped = [e for e in seen if isinstance(e, SlackDropped)]
    Tally(
        f"slack webhook {kind} throughout", orders=ORDERS, completed=completed,
        callback_retries=sum(1 for e in seen if isinstance(e, CallbackAttempt) and e.attempt > 1),
        extra={"slack_failed": len(failed), "slack_dropped": len(dropped), "slack_sent": sum(isinstance(e, SlackSent) for e in seen),
               "webhook_requests": sink.requests if sink else 0},
    ).report()
    assert not problems, "\n".join(problems[:20])
    # Every message of every order failed (or, with a full queue, was dropped) and was counted;
    # none got through.
    assert len(failed) + len(dropped) == MESSAGES_PER_ORDER * ORDERS
    assert not any(isinstance(e, SlackSent) for e in seen)
    if sink is not None:
        assert sink.requests >= len(failed)
    # The header's Slack dot is red, with the reason and without the webhook's URL (a secret).
    assert isinstance(slack_state, BackendStatus) and not slack_state.ok
    assert webhook not in slack_state.detail and "/services/" not in slack_state.detail


async def _slack_outcomes(events: list, wanted: int) -> bool:
    return sum(isinstance(e, SlackFailed | SlackSent | SlackDropped) for e in events) >= wanted

