"""No order left behind: 1,000 orders created while auto-start runs, each fulfilled exactly once."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable

import pytest

from console.clients.medusa import MedusaAdmin
from console.demo_orders import DemoOrderMaker
from console.events import CallbackAttempt, InstanceStarted, OrderSeen, StageCompleted
from console.settings import Settings
from tests.e2e.conftest import running_console

ORDERS = int(os.environ.get("MEDCAM_TEST_ORDERS", "1000"))


async def _create(url: str, count: int, makers: int = 4) -> list[str]:
    """``count`` demo orders made by ``makers`` concurrent clients (as shoppers would)."""
    ids: list[str] = []

    async def maker(n: int, seed: int) -> None:
        medusa = MedusaAdmin(url)
        try:
            make = DemoOrderMaker(medusa, seed=seed)
            for _ in range(n):
                ids.append((await make.create())["id"])
        finally:
            await medusa.close()

    share = [count // makers + (1 if i < count % makers else 0) for i in range(makers)]
    await asyncio.gather(*(maker(n, seed) for seed, n in enumerate(share)))
    return ids


class Finished:
    """Collects the orders ``matches`` accepts; ``all`` is set once every expected one is in."""

    def __init__(self, matches: Callable[[object], str | None]) -> None:
        self.matches = matches
        self.expected: set[str] = set()
        self.done: set[str] = set()
        self.all = asyncio.Event()

    def __call__(self, event: object) -> None:
        order_id = self.matches(event) if event is not None else None
        if order_id is not None:
            self.done.add(order_id)
        if self.expected and self.expected <= self.done:
            self.all.set()

    async def wait(self, expected: set[str], within: float) -> None:
        self.expected = expected
        self(None)
        await asyncio.wait_for(self.all.wait(), within)


def _last_stage(event: object) -> str | None:
    if isinstance(event, StageCompleted) and event.stage == "send-notification":
        return event.order_id
    return None


def _seen_completed(event: object) -> str | None:
    if isinstance(event, OrderSeen) and event.order.status == "completed" and event.order.workflow_status == "completed":
        return event.order.id
    return None


@pytest.mark.timeout(900)
async def test_a_thousand_orders_created_while_auto_start_runs_all_complete_once(tmp_path):
    # The embedded engine and shop in their child process, as `medcam-console` runs them.
    settings = Settings(
        data_dir=tmp_path / "console", stage_delays=(0.0, 0.0, 0.0), engine_grpc_port=0, engine_rest_port=0,
        shop_port=0, poll_interval_s=0.2, sweep_interval_s=5.0, claim_settle_s=0.05,
    )
    async with running_console(settings) as (runtime, events):
        shop_url = runtime.endpoints.medusa_url
        finished, shown = Finished(_last_stage), Finished(_seen_completed)
        runtime.bus.subscribe(finished)
        runtime.bus.subscribe(shown)
        ids = set(await _create(shop_url, ORDERS))
        assert len(ids) == ORDERS
        await finished.wait(ids, within=600)

        started = Counter(e.order_id for e in events.of(InstanceStarted))
        assert {order_id: n for order_id, n in started.items() if n != 1} == {}, "one instance per order"
        assert set(started) == ids
        done = Counter(e.order_id for e in events.of(StageCompleted, stage="send-notification"))
        assert set(done.values()) == {1}, "each order's last stage ran once"
        delivered = Counter(e.order_id for e in events.of(CallbackAttempt) if e.ok)
        assert set(delivered.values()) == {3}, "three accepted callbacks per order, no repeat"

        keys = {e.order_id: e.process_instance_key for e in events.of(InstanceStarted)}
        orders, count = await runtime.medusa.list_orders(limit=1000)
        assert count == ORDERS
        for order in orders:
            meta = order["metadata"]
            assert (order["status"], meta["workflow_status"]) == ("completed", "completed"), order["id"]
            assert meta["workflow_instance"] == str(keys[order["id"]])
        # The console's state counts every order (what the header shows), each completed.
        runtime.feed.poke()
        try:
            await shown.wait(ids, within=120)
        except TimeoutError:
            missing = sorted(ids - shown.done)
            raise AssertionError(f"{len(missing)} orders never shown completed, e.g. {missing[:3]}") from None
        assert len(runtime.state.orders) == ORDERS
        assert all(runtime.state.orders[i].order.workflow_status == "completed" for i in ids)
