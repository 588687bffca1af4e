"""The `/` filter, the sort columns and the paging over the view model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.events import IncidentRaised, JobActivated, OrderSeen, OrderStuck
from console.order_query import OrderQuery, narrows, page_of, select
from console.orders import OrderSummary
from console.state import ConsoleState

T0 = datetime(2026, 1, 5, 5, 15, tzinfo=UTC)


def _order(n: int, status: str | None, *, customer: str = "Ann Lee", email: str = "ann@example.com",
           total: float = 10.0) -> OrderSummary:
    metadata = {"workflow_status": status, "workflow_instance": str(100 + n)} if status else {}
    return OrderSummary(id=f"order_{n:03d}", display_id=n, status="pending", email=email, customer=customer,
                        total=total, currency="EUR", item_count=1,
                        created_at=(T0 + timedelta(seconds=n)).isoformat(), updated_at="", metadata=metadata)


def _state() -> ConsoleState:
    state = ConsoleState()
    state.apply(OrderSeen(at=T0, order=_order(1, "completed", customer="Maya Iyer", email="maya@shop.in", total=5)))
    state.apply(OrderSeen(at=T0, order=_order(2, "started", customer="Tom Becker", total=50)))
    state.apply(OrderSeen(at=T0, order=_order(3, "payment_verified", total=30)))
    state.apply(OrderSeen(at=T0, order=_order(4, "payment_declined", total=20)))
    state.apply(OrderSeen(at=T0, order=_order(5, None, total=40)))
    state.apply(IncidentRaised(at=T0, order_id="order_003", stage="reserve-inventory", job_key=9,
                               process_instance_key=103, error="status callback failed: HTTP 500: boom"))
    state.apply(JobActivated(at=T0, order_id="order_002", stage="verify-payment", job_key=8,
                             process_instance_key=102, retries=3, delay_s=2.0))
    state.apply(OrderStuck(at=T0, order_id="order_002", stage="verify-payment", running_s=40, threshold_s=30))
    return state


def _ids(state: ConsoleState, text: str = "", **query: object) -> list[int]:
    found = select(state, OrderQuery(text=text, **query), marked={"order_005"})
    return [state.orders[i].order.display_id for i in found]


def test_no_filter_shows_every_order_newest_first():
    assert _ids(_state()) == [5, 4, 3, 2, 1]


def test_flag_words_match_conditions():
    state = _state()
    assert _ids(state, "incident") == [3]
    assert _ids(state, "stuck") == [2]
    assert _ids(state, "declined") == [4]
    assert _ids(state, "marked") == [5]
    assert _ids(state, "drift") == [], "no order has drift"


def test_text_matches_id_display_id_email_customer_status_stage_and_error():
    state = _state()
    assert _ids(state, "order_004") == [4]
    assert _ids(state, "#2") == [2]
    assert _ids(state, "maya@shop") == [1]
    assert _ids(state, "BECKER") == [2], "case does not matter"
    assert _ids(state, "payment_verified") == [3]
    assert _ids(state, "boom") == [3], "the incident's error text"
    assert _ids(state, "inventory") == [3], "the stage the order is at"


def test_every_word_must_match():
    state = _state()
    assert _ids(state, "incident boom") == [3]
    assert _ids(state, "incident becker") == []


def test_sort_by_columns_and_direction():
    state = _state()
    assert _ids(state, sort="Total", descending=True) == [2, 5, 3, 4, 1]
    assert _ids(state, sort="Total", descending=False) == [1, 4, 3, 5, 2]
    assert _ids(state, sort="Workflow", descending=False)[:2] == [5, 2], "no workflow first, then started"
    assert _ids(state, sort="Age", descending=True) == [1, 2, 3, 4, 5], "oldest first"
    assert _ids(state, sort="Progress", descending=True)[0] == 1


def test_choosing_the_sort_column_again_flips_it():
    query = OrderQuery().sorted_by("Total")
    assert (query.sort, query.descending) == ("Total", True)
    assert query.sorted_by("Total").descending is False
    assert query.sorted_by("Customer").descending is False


def test_pages_are_bounded_and_clamped():
    ids = [str(n) for n in range(1234)]
    page, number = page_of(ids, 0, size=500)
    assert len(page) == 500 and number == 0
    page, number = page_of(ids, 2, size=500)
    assert len(page) == 234 and number == 2
    page, number = page_of(ids, 9, size=500)
    assert number == 2, "past the end shows the last page"
    assert page_of([], 3, size=500) == ([], 0)


def test_typing_on_narrows_only_when_no_flag_word_is_involved():
    q = OrderQuery()
    assert narrows(q.with_text("ma"), q.with_text("may"))
    assert narrows(q.with_text("ma"), q.with_text("ma iyer"))
    assert not narrows(q.with_text("may"), q.with_text("ma")), "deleting widens"
    assert narrows(q, q.with_text("m")), "no filter showed every order"
    assert not narrows(q.with_text("stuc"), q.with_text("stuck")), "a word turned into a flag"
    assert not narrows(q.with_text("stuck"), q.with_text("stuckx"))
    assert not narrows(q.with_text("ma"), q.with_text("may").sorted_by("Total")), "another sort"


def test_a_narrowed_selection_equals_a_full_one():
    state = _state()
    for before, after in (("", "e"), ("e", "ex"), ("ann", "ann lee"), ("pay", "payment_v")):
        wide = select(state, OrderQuery(text=before))
        full = select(state, OrderQuery(text=after))
        assert select(state, OrderQuery(text=after), among=wide) == full
        assert select(state, OrderQuery(text=after), among=wide, presorted=True) == full, "filtering keeps order"
