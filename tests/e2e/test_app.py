"""The Textual app driven by keys against a real runtime (engine and shop on loopback)."""

from __future__ import annotations

import asyncio

from console.app import MedcamApp
from console.events import (
    IncidentRaised,
    InstanceCancelled,
    InstanceStarted,
    OrderSeen,
    StageCompleted,
)
from console.runtime import ConsoleRuntime
from console.settings import Settings
from console.widgets.orders_table import OrdersTable
from tests.e2e.callback_gate import CallbackGate
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
            assert {"help", "quit", "filter", "mark", "audit_log", "pause"} <= enabled
            await pilot.press("s", "n", "c", "R", "C", "F")
            await pilot.pause()
            assert type(app.screen).__name__ == "MainScreen", "no dialog in read-only mode"
            # Anything a refused key had started would show within a few feed polls.
            await pilot.pause(0.5)
            assert not events.of(InstanceStarted)
            assert {e.order.id for e in events.of(OrderSeen)} == {seen[0].order.id}, "no demo order was created"
    finally:
        await runtime.stop()


async def test_incidents_then_filter_mark_all_and_bulk_retry_complete_every_order(tmp_path, backends):
    """The outage demo by keys: callbacks fail until incidents pile up, then `/incident`, `*`, `R`, `y`."""
    gate = CallbackGate(backends.shop_url)
    await gate.start()
    runtime, events = await _runtime(tmp_path, backends, auto_start=True, medusa_backend_url=gate.url)
    app = MedcamApp(runtime)
    try:
        async with app.run_test(size=SIZE) as pilot:
            gate.down = True
            orders = [await _new_order(pilot, events) for _ in range(3)]
            await events.wait_for(
                lambda: set(orders) <= {e.order_id for e in events.of(IncidentRaised) if e.incident_key}, within=30)
            assert not _completed(events, orders[:1])
            assert app.screen.check_action("shop_down", ()) is False, "F is for the embedded shop only"
            gate.down = False
            await pilot.press("slash", *"incident", "enter")
            await _drawn(pilot, lambda: set(app.screen.query_one(OrdersTable).shown) == set(orders))
            await pilot.press("asterisk", "R")
            await _drawn(pilot, lambda: type(app.screen).__name__ == "BulkDialog")
            dialog = app.screen
            assert "Retry 3 orders" in str(dialog.query_one("#bulk-title").render())
            await pilot.press("y")
            await _drawn(pilot, lambda: dialog.outcomes is not None, within=30)
            assert [o.ok for o in dialog.outcomes] == [True, True, True], dialog.outcomes
            await events.wait_for(lambda: _completed(events, orders), within=30)
            await pilot.press("escape")  # closes the dialog; the filter still shows open incidents only
            await _drawn(pilot, lambda: not app.screen.query_one(OrdersTable).shown)
            await pilot.press("slash", "escape")  # clears the filter
            await _drawn(pilot, lambda: all(_cell(app, o, "Workflow") == "completed" for o in orders))
            assert not app.marked, "orders retried successfully are unmarked"
            assert gate.refused >= 3 * 3 * 3, "each order's stage failed 3 jobs x 3 callback attempts"
            actions = [e.action for e in runtime.store.audit_log()]
            assert actions.count("retry") == 3 and actions[0] == "bulk-retry"
    finally:
        await runtime.stop()
        await gate.stop()


async def test_bulk_cancel_acts_on_the_marked_orders_only(tmp_path, backends):
    runtime, events = await _runtime(tmp_path, backends, auto_start=True, stage_delays=(30.0, 0.05, 0.05))
    app = MedcamApp(runtime)
    try:
        async with app.run_test(size=SIZE) as pilot:
            orders = [await _new_order(pilot, events) for _ in range(3)]
            await _drawn(pilot, lambda: all(app.state.orders[o].order.workflow_instance for o in orders))
            table = app.screen.query_one(OrdersTable)
            table.move_cursor(row=table.get_row_index(orders[0]))
            await pilot.press("space")  # marks orders[0] and moves down
            table.move_cursor(row=table.get_row_index(orders[2]))
            await pilot.press("space", "C")
            await _drawn(pilot, lambda: type(app.screen).__name__ == "BulkDialog")
            dialog = app.screen
            assert {item.order_id for item in dialog.items} == {orders[0], orders[2]}
            await pilot.press("y")
            await _drawn(pilot, lambda: dialog.outcomes is not None, within=30)
            assert all(o.ok for o in dialog.outcomes) and len(dialog.outcomes) == 2
            await events.wait_for(lambda: len(events.of(InstanceCancelled)) == 2)
            assert not events.of(InstanceCancelled, order_id=orders[1])
    finally:
        await runtime.stop()


async def test_outage_demo_from_the_keyboard_alone(tmp_path):
    """The README's demo on the embedded engine and shop: F, incidents pile up, F, /incident, *, R, y."""
    settings = Settings(
        data_dir=tmp_path / "console", engine_grpc_port=0, engine_rest_port=0, shop_port=0,
        stage_delays=(0.05, 0.05, 0.05), callback_backoff_s=0.02, job_retry_backoff_ms=100,
        poll_interval_s=0.1, claim_settle_s=0.05,
    )
    runtime = ConsoleRuntime(settings)
    events = Recorder()
    runtime.bus.subscribe(events)
    await runtime.start()
    app = MedcamApp(runtime)
    pulse = lambda: str(app.screen.query_one("#pulse-bar").render())  # noqa: E731
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("F")
            await _drawn(pilot, lambda: "FAULT: shop down" in pulse())
            orders = [await _new_order(pilot, events) for _ in range(3)]
            await _drawn(pilot, lambda: {i.order_id for i in app.state.incidents.values() if i.incident_key}
                         >= set(orders), within=30)
            await _drawn(pilot, lambda: "3 incidents" in pulse())
            await pilot.press("F")
            await _drawn(pilot, lambda: "FAULT" not in pulse())
            await pilot.press("slash", *"incident", "enter", "asterisk", "R")
            await _drawn(pilot, lambda: type(app.screen).__name__ == "BulkDialog")
            dialog = app.screen
            await pilot.press("y")
            await _drawn(pilot, lambda: dialog.outcomes is not None, within=30)
            assert [o.ok for o in dialog.outcomes] == [True] * 3, dialog.outcomes
            await events.wait_for(lambda: _completed(events, orders), within=30)
            await pilot.press("escape")
            await _drawn(pilot, lambda: "0 incidents" in pulse() and "3 done" in pulse())
    finally:
        await runtime.stop()
