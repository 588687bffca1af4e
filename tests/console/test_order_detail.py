"""The order detail screen with pinned data: enter opens it, escape goes back, what it shows."""

from __future__ import annotations

from console.app import MedcamApp
from console.screens.bulk import BulkDialog
from console.screens.main import MainScreen
from console.screens.order_detail import OrderDetailScreen
from console.screenshots import demo_app
from console.widgets.orders_table import OrdersTable

INCIDENT_ORDER = "order_01JGDEMO0004"  # reserve-inventory ran out of retries
OTHER_ORDER = "order_01JGDEMO0001"


async def select(pilot, order_id: str) -> None:
    """Put the orders table's cursor on ``order_id`` (wherever sorting put its row)."""
    await pilot.pause()
    table = pilot.app.screen.query_one(OrdersTable)
    table.move_cursor(table.get_row_index(order_id))
    await pilot.pause()


async def _open(pilot, order_id: str) -> OrderDetailScreen:
    await select(pilot, order_id)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, OrderDetailScreen)
    return screen


async def test_enter_opens_the_selected_order_and_escape_goes_back() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = await _open(pilot, INCIDENT_ORDER)
        assert screen.order_id == INCIDENT_ORDER
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        screen = await _open(pilot, OTHER_ORDER)
        assert screen.order_id == OTHER_ORDER


async def test_the_detail_marks_the_incident_the_path_and_the_drift() -> None:
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = await _open(pilot, INCIDENT_ORDER)
        detail = screen.detail
        assert detail is not None
        assert detail.path.incident == {"Task_ReserveInventory"}
        assert detail.path.done == {"StartEvent_OrderPlaced", "Task_VerifyPayment"}
        assert detail.path.taken == {"Flow_ToVerifyPayment", "Flow_ToReserveInventory"}
        assert [(r.label, r.state) for r in detail.stages] == [("Verify Payment", "COMPLETED"),
                                                              ("Reserve Inventory", "FAILED")]
        status = next(r for r in detail.drift if r.name == "workflow_status")
        assert (status.medusa, status.engine, status.drift) == ("started", "payment_verified", True)
        assert dict(detail.variables)["paymentVerified"] == "true"
        assert "inventoryReserved" not in dict(detail.variables)
        assert [e.ok for e in detail.callbacks] == [True, False, False, False]
        assert len(detail.slack) == 2 and detail.audit[0].text.startswith("retry: failed")
        drift_text = str(screen.query_one("#detail-drift").render())
        assert "drift" in drift_text


async def test_write_keys_on_the_detail_act_on_its_order() -> None:
    """`r` and `c` on the detail open the dry run for this order, not the table's selected row."""
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await select(pilot, OTHER_ORDER)
        await _open(pilot, INCIDENT_ORDER)
        for key, action in (("r", "retry"), ("c", "cancel")):
            await pilot.press(key)
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, BulkDialog) and dialog.action == action
            assert [item.order_id for item in dialog.items] == [INCIDENT_ORDER]
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, OrderDetailScreen)


async def test_an_empty_table_opens_nothing() -> None:
    app = MedcamApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_enter_opens_the_detail_only_from_the_orders_table() -> None:
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await select(pilot, INCIDENT_ORDER)
        footer_keys = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "order_detail" in footer_keys
        app.screen.query_one("#incidents").focus()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


def test_medusa_one_running_stage_ahead_is_not_drift() -> None:
    """The worker posts the status before completing its job; Medusa behind the engine is drift."""
    from console.order_detail import StageRow, drift_rows
    from console.orders import OrderSummary

    def order(status: str) -> OrderSummary:
        return OrderSummary(id="o", display_id=1, status="pending", email="", customer="", total=None, currency="",
                            item_count=0, created_at="", updated_at="",
                            metadata={"workflow_instance": "7", "workflow_status": status})

    stages = (StageRow("Task_VerifyPayment", "Verify Payment", "COMPLETED", None, None),
              StageRow("Task_ReserveInventory", "Reserve Inventory", "ACTIVATED", None, None))
    status = {r.name: r for r in drift_rows(order("inventory_reserved"), 7, "ACTIVE", stages)}["workflow_status"]
    assert status.engine == "payment_verified" and not status.drift
    behind = {r.name: r for r in drift_rows(order("started"), 7, "ACTIVE", stages)}["workflow_status"]
    assert behind.drift
    other = {r.name: r for r in drift_rows(order("started"), 8, "ACTIVE", stages)}["workflow_instance"]
    assert other.drift


def test_a_declined_payment_is_the_engines_status_on_the_parallel_process() -> None:
    from console.order_detail import StageRow, engine_status

    declined = (StageRow("Task_VerifyPayment", "Verify Payment", "ERROR_THROWN", None, None),
                StageRow("Task_ReserveInventory", "Reserve Inventory", "COMPLETED", None, None),
                StageRow("Task_ReleaseInventory", "Release Inventory", "COMPLETED", None, None),
                StageRow("Task_NotifyPaymentDeclined", "Notify Payment Declined", "COMPLETED", None, None))
    assert engine_status(declined, "COMPLETED") == "payment_declined"
    assert engine_status(declined[:2], "ACTIVE") == "inventory_reserved"
    assert engine_status(declined, "TERMINATED") == "cancelled"


async def test_arrow_keys_read_with_enter_in_one_burst_move_before_it_opens():
    """Over SSH "down down enter" can arrive in one read: enter opens the order two rows down,
    not the one the cursor was on when the burst arrived."""
    from textual import events

    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(OrdersTable)
        expected = table.row_keys[2]
        for key in ("down", "down", "enter"):
            app.post_message(events.Key(key, "\r" if key == "enter" else None))
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order_id == expected
