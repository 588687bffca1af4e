"""The Textual app driven by keys against a real runtime (engine and shop on loopback)."""

from __future__ import annotations

import asyncio

from console.app import MedcamApp
from console.events import (
    InstanceCancelled,
    InstanceStarted,
    OrderSeen,
    StageCompleted,
)
from console.runtime import ConsoleRuntime
from console.widgets.orders_table import OrdersTable
from tests.e2e.conftest import Recorder, fast_settings

SIZE = (120, 36)


async def _runtime(tmp_path, backends, **overrides) -> tuple[ConsoleRuntime, Recorder]:
    overrides.setdefault("auto_start", False)
    runtime = ConsoleRuntime(fast_settings(tmp_path, backends, **overrides))
    events = Recorder()
    runtime.bus.subscribe(events)
    await runtime.start()
    return runtime, events


def _cell(app: MedcamApp, order_id: str, column: str) -> str | None:
    table = app.screen.query_one(OrdersTable)
    try:
        return str(table.get_cell(order_id, column))
    except Exception:  # the row is not drawn yet
        return None


async def _drawn(pilot, check, within: float = 20.0) -> None:
    """Let the app run refresh ticks until ``check()`` holds (a timeout fails the test)."""
    async with asyncio.timeout(within):
        while not check():
            await pilot.pause(0.05)


async def _new_order(pilot, events) -> str:
    """Press ``n`` and return the id of the order that appears."""
    known = {e.order.id for e in events.of(OrderSeen)}
    await pilot.press("n")
    seen = await events.wait_for(lambda: [e for e in events.of(OrderSeen) if e.order.id not in known])
    order_id = seen[0].order.id
    await _drawn(pilot, lambda: _cell(pilot.app, order_id, "Order") is not None)
    return order_id


def _completed(events: Recorder, order_ids: list[str]) -> bool:
    done = {e.order.id for e in events.of(OrderSeen) if e.order.workflow_status == "completed"}
    return set(order_ids) <= done


async def test_new_order_then_start_by_keys(tmp_path, backends):
    runtime, events = await _runtime(tmp_path, backends)
    app = MedcamApp(runtime)
    try:
        async with app.run_test(size=SIZE) as pilot:
            order_id = await _new_order(pilot, events)
            assert _cell(app, order_id, "Workflow") == "-"
            await pilot.press("s")
            await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
            await events.wait_for(lambda: _completed(events, [order_id]))
            await _drawn(pilot, lambda: _cell(app, order_id, "Workflow") == "completed")
            assert len(events.of(InstanceStarted, order_id=order_id)) == 1
    finally:
        await runtime.stop()


async def test_cancel_shows_the_dry_run_and_only_yes_cancels(tmp_path, backends):
    runtime, events = await _runtime(tmp_path, backends, stage_delays=(30.0, 0.05, 0.05))
    app = MedcamApp(runtime)
    try:
        async with app.run_test(size=SIZE) as pilot:
            order_id = await _new_order(pilot, events)
            await pilot.press("s")
            await events.wait_for(lambda: events.of(InstanceStarted, order_id=order_id))
            await events.wait_for(
                lambda: any(e.order.workflow_instance for e in events.of(OrderSeen) if e.order.id == order_id)
            )
            await _drawn(pilot, lambda: app.state.orders[order_id].order.workflow_instance is not None)
            await pilot.press("c")
            await _drawn(pilot, lambda: type(app.screen).__name__ == "BulkDialog")
            assert "Cancel 1 order" in str(app.screen.query_one("#bulk-title").render())
            await pilot.press("n")  # back out
            await _drawn(pilot, lambda: type(app.screen).__name__ == "MainScreen")
            # The decision is taken as the dialog closes: a cancel would be a worker by now.
            assert not [w for w in app.workers if w.name.startswith("bulk-")], "backing out launched nothing"
            await pilot.press("c")
            await _drawn(pilot, lambda: type(app.screen).__name__ == "BulkDialog")
            dialog = app.screen
            await pilot.press("y")
            await events.wait_for(lambda: events.of(InstanceCancelled, order_id=order_id))
            await _drawn(pilot, lambda: dialog.outcomes is not None)
            assert [o.ok for o in dialog.outcomes] == [True]
            assert len(events.of(InstanceCancelled)) == 1, "backing out cancelled nothing"
            meta = (await runtime.medusa.get_order(order_id))["metadata"]
            assert meta["workflow_status"] == "cancelled"
            entries = runtime.store.audit_log()
            assert [e.action for e in entries if e.order_id == order_id] == ["cancel", "start"]  # newest first
    finally:
        await runtime.stop()


async def test_read_only_hides_and_refuses_write_actions(tmp_path, backends):
    runtime, events = await _runtime(tmp_path, backends)
    await runtime.demo.create()
    app = MedcamApp(runtime, read_only=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            seen = await events.wait_for(lambda: events.of(OrderSeen))
            await _drawn(pilot, lambda: _cell(app, seen[0].order.id, "Order") is not None)
            enabled = {active.binding.action for active in app.screen.active_bindings.values() if active.enabled}
            assert {"start", "retry", "cancel", "new_order", "bulk_retry", "bulk_cancel", "shop_down"}.isdisjoint(enabled)
            assert {"app.help", "quit", "filter", "mark", "audit_log", "pause"} <= enabled
            await pilot.press("s", "n", "c", "R", "C", "F")
            # Keys are handled in order: once help (pressed after them) is up, they were all handled.
            await pilot.press("question_mark")
            await _drawn(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
            assert "BulkDialog" not in [type(screen).__name__ for screen in app.screen_stack], "no dialog"
            writes = [w for w in app.workers if w.name in ("start", "new-order", "shop-down") or w.name.startswith("bulk-")]
            assert not writes, "no write was launched"
            assert not events.of(InstanceStarted)
    finally:
        await runtime.stop()
