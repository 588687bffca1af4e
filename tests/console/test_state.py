"""The view model folds events into per-order stage progress, incidents and attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.events import (
    CallbackAttempt,
    IncidentRaised,
    IncidentResolved,
    InstanceCancelled,
    JobActivated,
    OrderSeen,
    StageCompleted,
)
from console.orders import OrderSummary, order_total
from console.state import CANCELLED, DONE, PENDING, RUNNING, ConsoleState, StageProgress

T0 = datetime(2026, 1, 5, 5, 15, tzinfo=UTC)


def order(status: str | None = None, instance: int | None = None, order_id: str = "o1") -> OrderSummary:
    metadata = {}
    if status:
        metadata["workflow_status"] = status
    if instance:
        metadata["workflow_instance"] = str(instance)
    return OrderSummary(id=order_id, display_id=7, status="pending", email="a@b", customer="A B", total=10.0,
                        currency="EUR", item_count=1, created_at="", updated_at=str(status), metadata=metadata)


def test_metadata_status_implies_stage_progress():
    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("inventory_reserved", 99)))
    assert [s.state for s in state.orders["o1"].stages] == [DONE, DONE, PENDING]
    assert state.order_for_instance(99) == "o1"
    assert state.take_dirty() == {"o1"} and state.take_dirty() == set()


def test_running_stage_moves_with_time_and_survives_a_stale_poll():
    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("started", 99)))
    state.apply(JobActivated(at=T0, order_id="o1", stage="verify-payment", job_key=1,
                             process_instance_key=99, retries=3, delay_s=2.0))
    stage = state.orders["o1"].stages[0]
    assert stage.state == RUNNING
    assert stage.fraction(T0 + timedelta(seconds=1)) == 0.5
    assert stage.fraction(T0 + timedelta(seconds=10)) == 0.95, "never shows done before it is"
    state.apply(OrderSeen(at=T0, order=order("payment_verified", 99)))
    state.apply(StageCompleted(at=T0, order_id="o1", stage="verify-payment", job_key=1,
                               process_instance_key=99))
    assert state.orders["o1"].stages[0] == StageProgress(DONE, T0)


def test_cancel_keeps_finished_stages():
    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("payment_verified", 99)))
    state.apply(InstanceCancelled(at=T0, order_id="o1", process_instance_key=99))
    state.apply(OrderSeen(at=T0, order=order("cancelled", 99)))
    assert [s.state for s in state.orders["o1"].stages] == [DONE, CANCELLED, CANCELLED]


def test_incident_from_worker_then_rest_then_resolved():
    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("started", 99)))
    state.apply(IncidentRaised(at=T0, order_id="o1", stage="verify-payment", job_key=5,
                               process_instance_key=99, error="boom"))
    state.apply(IncidentRaised(at=T0, order_id="o1", stage="verify-payment", job_key=5,
                               process_instance_key=99, error="boom", incident_key=77))
    assert len(state.incidents) == 1 and state.incident_for_order("o1").incident_key == 77
    state.apply(IncidentResolved(at=T0, incident_key=77, process_instance_key=99))
    assert state.incident_for_order("o1") is None


def test_callback_attempts_are_kept_newest_first_and_bounded():
    state = ConsoleState(max_callbacks=3)
    for n in range(5):
        state.apply(CallbackAttempt(at=T0, order_id="o1", stage="verify-payment", status="payment_verified",
                                    attempt=n, max_attempts=3, ok=False, http_status=500, error="x",
                                    latency_ms=1.0, next_delay_s=1.0))
    assert [a.attempt for a in state.callbacks] == [4, 3, 2]


def test_order_total_prefers_the_summary():
    # Medusa 2.12 can list a wrong `total` while summary.current_order_total is right.
    assert order_total({"total": 0, "summary": {"current_order_total": 42.5}}) == 42.5
    assert order_total({"total": "12.5"}) == 12.5
    assert order_total({}) is None


def test_a_claimed_order_without_a_status_shows_claimed():
    from dataclasses import replace

    from console.claims import CLAIM_KEY, Claim

    state = ConsoleState()
    claimed = replace(order(), metadata={CLAIM_KEY: Claim.make("ops:1", T0).token()})
    state.apply(OrderSeen(at=T0, order=claimed))
    assert state.orders["o1"].workflow_status == "claimed"
    state.apply(OrderSeen(at=T0, order=order()))
    assert state.orders["o1"].workflow_status == "-"
    state.apply(OrderSeen(at=T0, order=order("started", 5)))
    assert state.orders["o1"].workflow_status == "started"


def test_declined_payment_is_its_own_final_state():
    from console.events import PaymentDeclined, SlackDropped, SlackFailed, SlackSent
    from console.state import DECLINED

    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("started", 99)))
    state.apply(StageCompleted(at=T0, order_id="o1", stage="reserve-inventory", job_key=2,
                               process_instance_key=99))
    changed = state.apply(PaymentDeclined(at=T0, order_id="o1", job_key=1, process_instance_key=99,
                                          payment_status="canceled"))
    assert changed == {"o1"}
    assert [s.state for s in state.orders["o1"].stages] == [DECLINED, DONE, PENDING]
    # The decline path's own jobs do not move the three stage bars.
    state.apply(JobActivated(at=T0, order_id="o1", stage="release-inventory", job_key=3,
                             process_instance_key=99, retries=3, delay_s=3.0))
    assert [s.state for s in state.orders["o1"].stages] == [DECLINED, DONE, PENDING]
    state.apply(OrderSeen(at=T0, order=order("payment_declined", 99)))
    assert [s.state for s in state.orders["o1"].stages] == [DECLINED] * 3
    assert state.orders["o1"].workflow_status == "payment_declined"
    for event in (SlackSent(at=T0, order_id="o1", title="t"), SlackFailed(at=T0, order_id="o1", title="t", error="x"),
                  SlackDropped(at=T0, order_id="o1", title="t", dropped_total=1)):
        state.apply(event)
    assert state.slack == {"sent": 1, "failed": 1, "dropped": 1}


def test_a_declined_stage_is_drawn_as_declined():
    from console.state import DECLINED
    from console.widgets.stage_bar import stage_bar

    bar = stage_bar(StageProgress(DECLINED), T0)
    assert bar.plain.strip() == "⊘ decline" and len(bar.plain) == 9
    assert bar.plain != stage_bar(StageProgress(CANCELLED), T0).plain


def test_running_orders_and_the_version_follow_the_events():
    """Widgets read the running set and the version instead of scanning every order each tick."""
    state = ConsoleState()
    before = state.version
    state.apply(OrderSeen(at=T0, order=order("started", 99)))
    assert state.version > before and state.running == set()
    state.apply(JobActivated(at=T0, order_id="o1", stage="verify-payment", job_key=1,
                             process_instance_key=99, retries=3, delay_s=2.0))
    assert state.running == {"o1"}
    seen = state.version
    state.apply(StageCompleted(at=T0, order_id="o1", stage="verify-payment", job_key=1, process_instance_key=99))
    assert state.running == set() and state.version > seen
    state.apply(JobActivated(at=T0, order_id="o1", stage="reserve-inventory", job_key=2,
                             process_instance_key=99, retries=3, delay_s=3.0))
    state.apply(InstanceCancelled(at=T0, order_id="o1", process_instance_key=99))
    assert state.running == set()
    idle = state.version
    state.apply(object())  # type: ignore[arg-type]  # not an event of the state: nothing changes
    assert state.version == idle


def test_workers_own_incident_is_cleared_when_its_job_runs_again_without_rest():
    """No REST address: nobody fills in an incident key, so the job running again ends it."""
    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("started", 99)))
    state.apply(IncidentRaised(at=T0, order_id="o1", stage="verify-payment", job_key=5,
                               process_instance_key=99, error="HTTP 500"))
    assert state.incident_for_order("o1") is not None
    state.apply(JobActivated(at=T0, order_id="o1", stage="verify-payment", job_key=5,
                             process_instance_key=99, retries=1, delay_s=0.0))
    assert state.incident_for_order("o1") is None
    assert "o1" in state.take_dirty()


def test_a_status_set_back_in_medusa_does_not_undo_finished_stages():
    """The bars show the engine's truth; Medusa's status keeps its own column."""
    from console.events import DriftDetected, DriftRepaired

    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("started", 99)))
    for number, stage in enumerate(("verify-payment", "reserve-inventory", "send-notification"), start=1):
        state.apply(StageCompleted(at=T0, order_id="o1", stage=stage, job_key=number,
                                   process_instance_key=99))
    state.apply(OrderSeen(at=T0, order=order("inventory_reserved", 99)))
    view = state.orders["o1"]
    assert [s.state for s in view.stages] == [DONE, DONE, DONE]
    assert view.workflow_status == "inventory_reserved"
    state.apply(DriftDetected(at=T0, order_id="o1", kind="backwards", detail="metadata behind"))
    assert view.drift == "backwards"
    state.apply(DriftRepaired(at=T0, order_id="o1", kind="backwards", detail="metadata behind"))
    assert view.drift == ""


def test_throughput_counts_orders_reaching_completed_while_watched():
    from console.throughput import sparkline

    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("completed", 1)))  # already done when first seen: not counted
    assert state.throughput.total == 0
    state.apply(OrderSeen(at=T0, order=order("inventory_reserved", 1)))
    state.apply(OrderSeen(at=T0 + timedelta(seconds=5), order=order("completed", 1)))
    state.apply(OrderSeen(at=T0 + timedelta(seconds=6), order=order("completed", 1)))  # a repeat: once
    assert state.throughput.total == 1
    assert state.throughput.per_minute(T0 + timedelta(seconds=30)) == 1
    assert state.throughput.per_minute(T0 + timedelta(seconds=70)) == 0
    series = state.throughput.series(T0 + timedelta(seconds=30))
    assert sum(series) == 1 and len(series) == 20
    assert sparkline([0, 1, 2, 4]) == "▁▂▄█" and sparkline([0, 0]) == "▁▁"


def test_the_event_log_keeps_readable_lines():
    from console.event_text import describe_faults
    from console.events import DemoFaults

    state = ConsoleState(max_log=2)
    state.apply(OrderSeen(at=T0, order=order("started", 99)))
    state.apply(IncidentRaised(at=T0, order_id="o1", stage="verify-payment", job_key=5,
                               process_instance_key=99, error="status callback failed: HTTP 500"))
    state.apply(DemoFaults(at=T0, callbacks_down=True, callback_fail_rate=0.2))
    assert [line for _, line, _ in state.log] == [
        "#7 incident at Payment: status callback failed: HTTP 500",
        "demo faults: shop down · 20% callbacks fail",
    ]
    assert state.log_seq == 2
    assert describe_faults(DemoFaults(at=T0)) == ""
    assert describe_faults(DemoFaults(at=T0, stage_jitter=0.3)) == "jitter ±30%"


def test_a_later_stage_finishing_first_leaves_a_running_stage_running():
    """The parallel process runs verify-payment beside reserve-inventory: finishing the
    reservation first must not mark the payment done; a stage never seen is filled in."""
    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=order("started", 99)))
    state.apply(JobActivated(at=T0, order_id="o1", stage="verify-payment", job_key=1,
                             process_instance_key=99, retries=3, delay_s=2.0))
    state.apply(StageCompleted(at=T0, order_id="o1", stage="reserve-inventory", job_key=2,
                               process_instance_key=99))
    assert [s.state for s in state.orders["o1"].stages][:2] == [RUNNING, DONE]
    state.apply(OrderSeen(at=T0, order=order("started", 98, order_id="o2")))
    state.apply(StageCompleted(at=T0, order_id="o2", stage="reserve-inventory", job_key=3,
                               process_instance_key=98))
    assert [s.state for s in state.orders["o2"].stages][:2] == [DONE, DONE]
