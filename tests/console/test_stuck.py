"""Stuck orders: a stage running longer than max(floor, factor x its observed p95), flagged once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.events import IncidentRaised, JobActivated, OrderSeen, StageCompleted
from console.orders import OrderSummary
from console.state import ConsoleState
from console.stuck import StuckWatch, p95

T0 = datetime(2026, 1, 5, 5, 15, tzinfo=UTC)


def _activated(order_id: str, at: datetime, stage: str = "verify-payment") -> JobActivated:
    return JobActivated(at=at, order_id=order_id, stage=stage, job_key=1, process_instance_key=2, retries=3,
                        delay_s=1.0)


def _completed(order_id: str, at: datetime, stage: str = "verify-payment") -> StageCompleted:
    return StageCompleted(at=at, order_id=order_id, stage=stage, job_key=1, process_instance_key=2)


def test_p95_is_nearest_rank():
    assert p95([]) is None
    assert p95([3.0]) == 3.0
    assert p95([float(n) for n in range(1, 101)]) == 95.0


def test_threshold_is_the_floor_until_the_stage_is_slow():
    watch = StuckWatch(min_s=30, factor=3)
    assert watch.threshold("verify-payment") == 30
    for n in range(20):
        watch.observe(_activated(f"o{n}", T0))
        watch.observe(_completed(f"o{n}", T0 + timedelta(seconds=20)))
    assert watch.threshold("verify-payment") == 60, "3 x p95 of 20 s"
    assert watch.threshold("reserve-inventory") == 30, "each stage has its own"


def test_a_stage_past_its_threshold_is_flagged_once():
    watch = StuckWatch(min_s=30, factor=3)
    watch.observe(_activated("o1", T0))
    assert watch.scan(T0 + timedelta(seconds=29)) == []
    watch.observe(_activated("o1", T0 + timedelta(seconds=10)))  # the job retried: same stage
    found = watch.scan(T0 + timedelta(seconds=31))
    assert [(e.order_id, e.stage, e.running_s) for e in found] == [("o1", "verify-payment", 31.0)]
    assert watch.scan(T0 + timedelta(seconds=90)) == [], "announced once"
    watch.observe(_completed("o1", T0 + timedelta(seconds=95)))
    watch.observe(_activated("o1", T0 + timedelta(seconds=95), stage="reserve-inventory"))
    assert len(watch.scan(T0 + timedelta(seconds=200))) == 1, "a later stage can stick again"


def test_an_order_with_an_open_incident_is_not_stuck():
    watch = StuckWatch(min_s=1, factor=3)
    watch.observe(_activated("o1", T0))
    watch.observe(IncidentRaised(at=T0, order_id="o1", stage="verify-payment", job_key=1,
                                 process_instance_key=2, error="x"))
    assert watch.scan(T0 + timedelta(seconds=60), lambda order_id: True) == []
    assert len(watch.scan(T0 + timedelta(seconds=60), lambda order_id: False)) == 1, "resolved: it counts again"


def test_state_flags_and_clears_stuck():
    state = ConsoleState()
    order = OrderSummary(id="o1", display_id=1, status="pending", email="", customer="", total=None,
                         currency="EUR", item_count=1, created_at="", updated_at="",
                         metadata={"workflow_status": "started", "workflow_instance": "2"})
    state.apply(OrderSeen(at=T0, order=order))
    watch = StuckWatch(min_s=5, factor=3)
    watch.observe(_activated("o1", T0))
    for event in watch.scan(T0 + timedelta(seconds=6)):
        state.apply(event)
    assert state.orders["o1"].stuck == "Payment"
    assert "stuck in Payment" in state.log[-1][1]
    state.take_dirty()
    state.apply(_completed("o1", T0 + timedelta(seconds=7)))
    assert state.orders["o1"].stuck == "" and "o1" in state.take_dirty()


def _seen(status: str, at: datetime, last_updated: datetime | None = None) -> OrderSeen:
    metadata = {"workflow_status": status, "workflow_instance": "2"}
    if last_updated is not None:
        metadata["last_updated"] = last_updated.isoformat()
    return OrderSeen(at=at, order=OrderSummary(id="o1", display_id=1, status="pending", email="", customer="",
                                               total=None, currency="EUR", item_count=1, created_at="",
                                               updated_at="", metadata=metadata))


def test_a_viewer_learns_the_stage_from_medusa_alone():
    watch = StuckWatch(min_s=30, factor=3)
    watch.observe(_seen("payment_verified", T0 + timedelta(seconds=50), last_updated=T0))
    found = watch.scan(T0 + timedelta(seconds=31))
    assert [(e.stage, e.running_s) for e in found] == [("reserve-inventory", 31.0)], "timed from last_updated"
    watch.observe(_seen("completed", T0 + timedelta(seconds=60)))
    assert watch.scan(T0 + timedelta(seconds=600)) == []


def test_a_stale_read_never_moves_the_stage_back():
    watch = StuckWatch(min_s=30, factor=3)
    watch.observe(_activated("o1", T0, stage="reserve-inventory"))
    watch.observe(_seen("started", T0 + timedelta(seconds=1), last_updated=T0 - timedelta(seconds=100)))
    found = watch.scan(T0 + timedelta(seconds=31))
    assert [e.stage for e in found] == ["reserve-inventory"]
