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
    """The lower-cased text the filter searches, per order, kept while the order object is the
    same and until the order is reported changed (``forget``): its stages, incident and drift
    change without a new order object."""

    def __init__(self) -> None:
        self._texts: dict[str, tuple[OrderSummary, str]] = {}
        self._unbuilt: set[str] = set()

    def cold(self, state: ConsoleState) -> bool:
        """Whether some order has no text yet."""
        return bool(self._unbuilt) or len(self._texts) < len(state.orders)

    def warm(self, state: ConsoleState, facts: Facts, budget: int) -> None:
        """Build up to ``budget`` texts of orders that have none (new or changed ones)."""
        if len(self._texts) + len(self._unbuilt) < len(state.orders):
            self._unbuilt |= state.orders.keys() - self._texts.keys()  # orders not seen here yet
        while self._unbuilt and budget > 0:
            view = state.orders.get(self._unbuilt.pop())
            if view is not None:
                self.text(view, facts)
                budget -= 1

    def text(self, view: OrderView, facts: Facts) -> str:
        kept = self._texts.get(view.order.id)
        if kept is not None and kept[0] is view.order:
            return kept[1]
        text = _searched_text(view, facts)
        self._texts[view.order.id] = (view.order, text)
        self._unbuilt.discard(view.order.id)  # built on demand before its turn came
        return text

    def forget(self, order_ids: Iterable[str]) -> None:
        """These orders changed (status, stage, incident, drift): their text is built again."""
        for order_id in order_ids:
            if self._texts.pop(order_id, None) is not None:
                self._unbuilt.add(order_id)

    def clear(self) -> None:
        self._texts.clear()
        self._unbuilt.clear()


def _searched_text(view: OrderView, facts: Facts) -> str:
    order = view.order
    return " ".join((order.id, order.label, str(order.display_id or ""), order.email, order.customer,
                     order.status, view.workflow_status, current_stage(view), view.note,
                     facts.incidents.get(order.id, ""), drift_of(view))).lower()


def _flagged(view: OrderView, word: str, facts: Facts) -> bool:
    if word == "incident":
        return view.order.id in facts.incidents
    if word == "stuck":
        return bool(view.stuck)
    if word == "drift":
        return bool(drift_of(view))
    if word == "declined":
        return "declined" in view.workflow_status
    return view.order.id in facts.marked  # "marked"


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


def narrows(before: OrderQuery, after: OrderQuery) -> bool:
    """Whether every order ``after`` shows is one ``before`` showed: the text only grew at its
    end (typing on, or the first key typed), no flag word on either side (a flag is a condition,
    not text), same sort."""
    if (before.sort, before.descending) != (after.sort, after.descending):
        return False
    if not after.text.lower().startswith(before.text.lower()):
        return False
    return not any(word in FLAG_WORDS for word in (*before.words, *after.words))


def select(state: ConsoleState, query: OrderQuery, marked: Iterable[str] = (),
           cache: TextCache | None = None, among: Iterable[str] | None = None,
           presorted: bool = False) -> list[str]:
    """Ids of every order the filter shows, in the chosen order (all pages).

    ``among``: look only at these orders (the ones a narrower query can still show);
    ``presorted``: they are in the query's order already (filtering keeps it).
    """
    facts = Facts.of(state, marked)
    words = query.words
    if among is None:
        views = list(state.orders.values())
    else:
        views = [state.orders[i] for i in among if i in state.orders]
    cache = cache or TextCache()
    # Text words first, over one cached string per order (the common case, kept tight), then
    # the flag words' conditions over what is left.
    text = cache.text
    for word in (w for w in words if w not in FLAG_WORDS):
        views = [v for v in views if word in text(v, facts)]
    for word in (w for w in words if w in FLAG_WORDS):
        views = [v for v in views if _flagged(v, word, facts)]
    if presorted:
        return [v.order.id for v in views]
    column = SORT_KEYS.get(query.sort, SORT_KEYS["Order"])

    def key(view: OrderView) -> tuple[object, str]:
        return column(view), view.order.id  # ties broken the same way whatever was looked at

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
