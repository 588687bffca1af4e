"""Drift between Medusa's metadata and the engine: shown on the order, repaired within 10 s."""

from __future__ import annotations

from console.clients.medusa import MedusaAdmin
from console.events import (
    DriftDetected,
    DriftRepaired,
    EngineTruthSeen,
    InstanceStarted,
    OrderSeen,
    StageCompleted,
)
from console.runtime import ConsoleRuntime
from console.state import DONE
from tests.e2e.conftest import Recorder, fast_settings, running_console

REPAIR_WITHIN_S = 10.0


async def _completed_order(runtime, events) -> tuple[str, int]:
    """A demo order run to the end by ``runtime``'s workers; (order id, instance key)."""
    order_id = (await runtime.demo.create())["id"]
    runtime.feed.poke()
    await events.wait_for(lambda: events.of(StageCompleted, order_id=order_id, stage="send-notification"))
    await events.wait_for(lambda: [e for e in events.of(OrderSeen) if e.order.id == order_id
                                   and e.order.workflow_status == "completed" and e.order.status == "completed"])
    return order_id, events.of(InstanceStarted, order_id=order_id)[0].process_instance_key


async def test_status_set_back_after_completion_is_repaired(console):
    runtime, events = console
    order_id, _ = await _completed_order(runtime, events)

    await runtime.medusa.merge_metadata(order_id, {"workflow_status": "inventory_reserved"})
    repaired = await events.wait_for(lambda: events.of(DriftRepaired, order_id=order_id), within=REPAIR_WITHIN_S)
    detected = events.of(DriftDetected, order_id=order_id)
    # It moved backwards, and the order is completed without its final metadata.
    assert [d.kind for d in detected] == ["backwards,unfinished"]
    assert "metadata inventory_reserved, engine completed" in repaired[0].detail
    meta = (await runtime.medusa.get_order(order_id))["metadata"]
    assert meta["workflow_status"] == "completed"
    assert meta["workflow_message"] == "Customer notified - Order complete!"
    # The mark comes off once repaired, and the stage bars never went back.
    view = runtime.state.orders[order_id]
    assert view.drift == ""
    assert [s.state for s in view.stages] == [DONE, DONE, DONE]
    # The repair is in the audit log.
    runtime.store.flush()
    audit = list(runtime.store.db["audit"].rows_where("order_id = ?", [order_id]))
    assert [(a["action"], a["outcome"]) for a in audit if a["action"] == "auto-drift-repair"] == [
        ("auto-drift-repair", "ok")
    ]


async def test_missing_workflow_instance_is_written_back(console):
    runtime, events = console
    order_id, key = await _completed_order(runtime, events)

    await runtime.medusa.merge_metadata(order_id, {"workflow_instance": ""})
    await events.wait_for(lambda: events.of(DriftRepaired, order_id=order_id), within=REPAIR_WITHIN_S)
    assert events.of(DriftDetected, order_id=order_id)[0].kind == "instance"
    meta = (await runtime.medusa.get_order(order_id))["metadata"]
    assert meta["workflow_instance"] == str(key)
    assert meta["workflow_status"] == "completed"


async def test_viewer_reads_the_truth_from_the_engine_and_a_writing_console_repairs(tmp_path, backends):
    """Orders run by other workers: the truth comes from the REST v2 searches."""
    async with running_console(fast_settings(tmp_path / "a", backends)) as (runner, runner_events):
        order_id, key = await _completed_order(runner, runner_events)
    # The console that ran it is gone; someone sets the status back.
    admin = MedusaAdmin(backends.shop_url)
    try:
        await admin.merge_metadata(order_id, {"workflow_status": "inventory_reserved"})
    finally:
        await admin.close()

    viewer_settings = fast_settings(tmp_path / "viewer", backends, auto_start=False)
    viewer = ConsoleRuntime(viewer_settings, workers=False, auto_start=False, drift_repair=False)
    recorder = Recorder()
    viewer.bus.subscribe(recorder)
    await viewer.start()
    viewer.start_background()
    try:
        truth = await recorder.wait_for(lambda: recorder.of(EngineTruthSeen, order_id=order_id), within=20)
        assert (truth[0].process_instance_key, truth[0].stages_done, truth[0].state) == (key, 3, "COMPLETED")
        await recorder.wait_for(lambda: recorder.of(DriftDetected, order_id=order_id), within=REPAIR_WITHIN_S)
        view = viewer.state.orders[order_id]
        assert view.drift == "behind,unfinished", "the viewer never saw it completed in Medusa"
        assert [s.state for s in view.stages] == [DONE, DONE, DONE], "the bars show the engine's truth"
        assert view.order.workflow_status == "inventory_reserved", "Medusa's status keeps its own column"
        # The check that published the drift returned without writing (the viewer never writes).
        assert viewer.reconciler.repaired == 0
        assert (await viewer.medusa.get_order(order_id))["metadata"]["workflow_status"] == "inventory_reserved"
    finally:
        await viewer.stop()

    async with running_console(fast_settings(tmp_path / "w", backends)) as (writer, writer_events):
        await writer_events.wait_for(lambda: writer_events.of(DriftRepaired, order_id=order_id),
                                     within=REPAIR_WITHIN_S + 5)
        assert (await writer.medusa.get_order(order_id))["metadata"]["workflow_status"] == "completed"
