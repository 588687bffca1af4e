"""The orders the table shows: the `/` filter, the sort column and the page, over the view model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from console.orders import OrderSummary
from console.state import DONE, FAILED, RUNNING, ConsoleState, OrderView
from workers.stages import STAGES, STATUS_SEQUENCE

#: Rows handed to the table at once; `[` and `]` page through the rest.
PAGE_SIZE = 500

#: Filter words that match a condition instead of text.
FLAG_WORDS = ("incident", "stuck", "drift", "declined", "marked")

#: The statuses in fulfillment order, for sorting by workflow status.
_STATUS_RANK = {status: n for n, status in enumerate(("-", "claimed", *STATUS_SEQUENCE))}


def drift_of(view: OrderView) -> str:
    """What the reconciler found out of step between engine and Medusa ("" when nothing).

    The ``drift`` field belongs to the reconciler's part of the view model; an order
    without one has no drift.
    """
    value = getattr(view, "drift", "")
    if not value:
        return ""
    return value if isinstance(value, str) else "drift"


def current_stage(view: OrderView) -> str:
    """The label of the stage the order is at (running, failed or next), "" when all done."""
    for stage, progress in zip(STAGES, view.stages, strict=True):
        if progress.state in (RUNNING, FAILED):
            return stage.label
    for stage, progress in zip(STAGES, view.stages, strict=True):
        if progress.state != DONE:
            return stage.label
    return ""


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """What the operator asked to see: filter text, sort column and direction, page."""

    text: str = ""
    sort: str = "Order"
    descending: bool = True
    page: int = 0

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.lower().split())

    def with_text(self, text: str) -> OrderQuery:
        return replace(self, text=text, page=0)

    def sorted_by(self, column: str) -> OrderQuery:
        """Sort by ``column``; choosing the current column again flips the direction."""
        if column == self.sort:
            return replace(self, descending=not self.descending, page=0)
        return replace(self, sort=column, descending=column in ("Order", "Total", "Progress"), page=0)


@dataclass(frozen=True, slots=True)
class Facts:
    """Per-order facts the filter and the marks need, gathered once per selection."""

    incidents: dict[str, str]  # order id -> incident error
    marked: frozenset[str]

    @classmethod
    def of(cls, state: ConsoleState, marked: Iterable[str] = ()) -> Facts:
        errors = {i.order_id: i.error for i in state.incidents.values() if i.order_id}
        return cls(errors, frozenset(marked))


class TextCache:
    """The lower-cased text the filter searches, per order: the fixed fields while the order
    object is the same, the changing ones until the order is reported changed (``forget``)."""

    def __init__(self) -> None:
        self._texts: dict[str, tuple[OrderSummary, str]] = {}
        self._changing: dict[str, str] = {}

    def fixed(self, order: OrderSummary) -> str:
        kept = self._texts.get(order.id)
        if kept is not None and kept[0] is order:
            return kept[1]
        text = " ".join((order.id, order.label, str(order.display_id or ""), order.email, order.customer,
                         order.status)).lower()
        self._texts[order.id] = (order, text)
        return text

    def changing(self, view: OrderView, facts: Facts) -> str:
        text = self._changing.get(view.order.id)
        if text is None:
            text = self._changing[view.order.id] = _changing_text(view, facts)
        return text

    def forget(self, order_ids: Iterable[str]) -> None:
        """These orders changed (status, stage, incident, drift): their text is read again."""
        for order_id in order_ids:
            self._changing.pop(order_id, None)

    def clear(self) -> None:
        self._changing.clear()


def _changing_text(view: OrderView, facts: Facts) -> str:
    return " ".join((view.workflow_status, current_stage(view), view.note,
                     facts.incidents.get(view.order.id, ""), drift_of(view))).lower()


def matches(view: OrderView, words: tuple[str, ...], facts: Facts, cache: TextCache | None = None) -> bool:
    """Every word must match: a flag word its condition, any other word some field's text."""
    fixed: str | None = None
    changing: str | None = None
    cache = cache or TextCache()
    for word in words:
        if word == "incident":
            ok = view.order.id in facts.incidents
        elif word == "stuck":
            ok = bool(view.stuck)
        elif word == "drift":
            ok = bool(drift_of(view))
        elif word == "declined":
            ok = "declined" in view.workflow_status
        elif word == "marked":
            ok = view.order.id in facts.marked
        else:
            if fixed is None:
                fixed = cache.fixed(view.order)
            ok = word in fixed
            if not ok:  # the fields that change are looked at only when the fixed ones miss
                if changing is None:
                    changing = cache.changing(view, facts)
                ok = word in changing
        if not ok:
            return False
    return True


#: Sort columns whose value never changes for an order once seen (no re-sort when only they change).
FIXED_SORTS = frozenset({"Order", "Age", "Customer", "Email"})


def _progress(view: OrderView) -> int:
    return sum(1 for s in view.stages if s.state == DONE)


SORT_KEYS: dict[str, Callable[[OrderView], object]] = {
    "Order": lambda v: v.order.display_id if v.order.display_id is not None else -1,
    "Age": lambda v: v.order.created_at,
    "Workflow": lambda v: _STATUS_RANK.get(v.workflow_status, len(_STATUS_RANK)),
    "Medusa": lambda v: v.order.status,
    "Progress": _progress,
    "Customer": lambda v: v.order.customer.lower(),
    "Email": lambda v: v.order.email.lower(),
    "Total": lambda v: v.order.total if v.order.total is not None else -1.0,
}


def select(state: ConsoleState, query: OrderQuery, marked: Iterable[str] = (),
           cache: TextCache | None = None) -> list[str]:
    """Ids of every order the filter shows, in the chosen order (all pages)."""
    facts = Facts.of(state, marked)
    words = query.words
    views = [v for v in state.orders.values() if not words or matches(v, words, facts, cache)]
    key = SORT_KEYS.get(query.sort, SORT_KEYS["Order"])
    if query.sort == "Age":  # descending age = oldest created first
        views.sort(key=key, reverse=not query.descending)
    else:
        views.sort(key=key, reverse=query.descending)
    return [v.order.id for v in views]


def page_of(ids: list[str], page: int, size: int = PAGE_SIZE) -> tuple[list[str], int]:
    """The slice for ``page`` (clamped to the last one) and the page actually shown."""
    last = max(0, (len(ids) - 1) // size)
    page = min(max(0, page), last)
    return ids[page * size:(page + 1) * size], page
