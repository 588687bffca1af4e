"""The order detail against a real engine and shop: variables, path, timeline and trail from them."""

from __future__ import annotations

import asyncio
import json

from console.app import MedcamApp
from console.events import CallbackAttempt, IncidentRaised, OrderSeen, StageCompleted
from console.runtime import ConsoleRuntime
from console.screens.main import MainScreen
from console.screens.order_detail import OrderDetailScreen
from tests.e2e.conftest import Recorder, fast_settings

SIZE = (120, 36)


async def _until(pilot, check, within: float = 15.0):
    """Let the app run until ``check()`` returns something truthy (a timeout fails the test)."""
    async with asyncio.timeout(within):
        while not (result := check()):
            await pilot.pause(0.05)
        return result


async def _runtime(tmp_path, backends, **overrides) -> tuple[ConsoleRuntime, Recorder]:
    runtime = ConsoleRuntime(fast_settings(tmp_path, backends, **overrides))
    events = Recorder()
    runtime.bus.subscribe(events)
    await runtime.start()
    return runtime, events


def _detail(app: MedcamApp):
    screen = app.screen
    return screen.detail if isinstance(screen, OrderDetailScreen) else None


async def test_a_completed_order_shows_the_engines_variables_and_the_whole_path(tmp_path, backends):
    runtime, events = await _runtime(tmp_path, backends)
    app = MedcamApp(runtime)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("n")
            seen = await events.wait_for(lambda: events.of(OrderSeen))
            order_id = seen[0].order.id
            await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
            await events.wait_for(lambda: any(
                e.order.workflow_status == "completed" for e in events.of(OrderSeen) if e.order.id == order_id))
            await _until(pilot, lambda: app.screen.query("OrdersTable") and
                         app.screen.query_one("OrdersTable").selected_order_id == order_id)
            await pilot.press("enter")
            detail = await _until(pilot, lambda: (d := _detail(app)) and d.instance_state == "COMPLETED"
                                  and d.order.workflow_status == "completed" and len(d.callbacks) == 3 and d)
            variables = {name: json.loads(value) for name, value in detail.variables}
            assert variables["orderId"] == order_id
            assert variables["paymentVerified"] is True and variables["inventoryReserved"] is True
            assert variables["warehouse"] == "Mumbai" and variables["notificationSent"] is True
            assert {"verifiedAt", "reservedAt", "sentAt"} <= set(variables)
            assert detail.path.done == set(detail.diagram.shapes)
            assert detail.path.taken == {f.id for f in detail.diagram.flows}
            assert [(r.element_id, r.state) for r in detail.stages] == [
                ("Task_VerifyPayment", "COMPLETED"), ("Task_ReserveInventory", "COMPLETED"),
                ("Task_SendNotification", "COMPLETED")]
            assert all(r.duration_s(detail.stages[-1].ended) >= 0.05 for r in detail.stages)
            assert not any(row.drift for row in detail.drift)
            assert all(entry.ok for entry in detail.callbacks)
            assert not detail.problems
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, MainScreen)
    finally:
        await runtime.stop()


async def test_an_incident_is_drawn_on_its_element_with_the_failed_callbacks(tmp_path, backends):
    runtime, events = await _runtime(tmp_path, backends, stage_delays=(0.05, 0.5, 0.05))
    app = MedcamApp(runtime)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("n")
            seen = await events.wait_for(lambda: events.of(OrderSeen))
            order_id = seen[0].order.id
            await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="verify-payment"))
            await backends.shop.stop()  # Medusa goes away: every inventory callback fails
            await events.wait_for(lambda: events.of(IncidentRaised, order_id=order_id), within=30)
            await _until(pilot, lambda: app.screen.query("OrdersTable") and
                         app.screen.query_one("OrdersTable").selected_order_id == order_id)
            await pilot.press("enter")
            detail = await _until(pilot, lambda: (d := _detail(app)) and d.path.incident
                                  and len(d.callbacks) >= 4 and d)
            assert detail.path.incident == {"Task_ReserveInventory"}
            assert "Task_VerifyPayment" in detail.path.done
            assert "Task_SendNotification" not in detail.path.done
            failed = [e for e in detail.callbacks if not e.ok]
            attempts = events.of(CallbackAttempt, order_id=order_id, ok=False)
            assert len(failed) >= 3 and len(attempts) >= 3
            reserve = next(r for r in detail.stages if r.element_id == "Task_ReserveInventory")
            assert reserve.state == "FAILED" and reserve.retries == 0
    finally:
        await runtime.stop()
