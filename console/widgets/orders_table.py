"""The orders table: filtered, sorted and paged rows with stage bars and marks, updated by diff."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from console.order_query import (
    FIXED_SORTS,
    Facts,
    OrderQuery,
    TextCache,
    drift_of,
    narrows,
    page_of,
    select,
)
from console.state import ConsoleState, OrderView
from console.widgets.row_table import Cell, RowTable
from console.widgets.stage_bar import stage_bar
from protocol.timestamps import parse_timestamp
from workers.stages import STAGES

STATUS_STYLE = {
    "completed": "green",
    "cancelled": "dim",
    "payment_declined": "magenta",
    "started": "cyan",
    "claimed": "yellow",
    "-": "dim",
}

#: Every column, in the order shown. The order with its marks, the three stages, the workflow
#: status and Medusa's status are always there (at 80 columns they fill the line).
COLUMNS = ("Order", *(s.label for s in STAGES), "Workflow", "Medusa", "Age", "Customer", "Email",
           "Total", "Note")
ALWAYS = COLUMNS[:6]
#: The others join while the terminal has room for them, in this order: the age, the note (an
#: incident's cause, stuck, drift), then who and how much. A column out of view would still be
#: rendered on every repaint (the table draws whole rows), so none is added that cannot be seen.
OPTIONAL = ("Age", "Note", "Customer", "Total", "Email")
#: Width of each column; the stage bars take BAR_NARROW or BAR_WIDE; the note takes what is left
#: (NOTE_MIN to NOTE_MAX).
WIDTHS = {"Order": 9, "Workflow": 18, "Medusa": 9, "Age": 4, "Customer": 16, "Email": 26,
          "Total": 14}
NOTE_MIN, NOTE_MAX = 24, 60
BAR_NARROW, BAR_WIDE, WIDE_FROM = 9, 12, 140
#: Each column is padded by one cell on either side; the vertical scrollbar takes two.
PAD, SCROLLBAR = 2, 2


def layout_for(width: int) -> tuple[tuple[str, ...], dict[str, int]]:
    """The columns a terminal ``width`` wide shows, in display order, and their widths."""
    bar = BAR_WIDE if width >= WIDE_FROM else BAR_NARROW
    widths = dict(WIDTHS) | {s.label: bar for s in STAGES}
    room = width - SCROLLBAR - sum(widths[name] + PAD for name in ALWAYS)
    chosen: set[str] = set()
    widths["Note"] = NOTE_MIN
    for name in OPTIONAL:
        if widths[name] + PAD > room:
            break  # in order: a later column never takes the place of an earlier one
        chosen.add(name)
        room -= widths[name] + PAD
    widths["Note"] = min(NOTE_MAX, NOTE_MIN + room)
    columns = tuple(name for name in COLUMNS if name in ALWAYS or name in chosen)
    return columns, {name: widths[name] for name in columns}


#: Filter texts built ahead per refresh (4 a second): 10,000 orders are ready in 2.5 s.
WARM_PER_SYNC = 1000
#: Every visible row's cells are rebuilt this often (ages); rows with a running stage at every
#: sync. Only rows that then draw differently are repainted; ages move in 5 s steps.
AGE_EVERY_S = 5.0


def age(created_at: str, now: datetime) -> str:
    """``42s``, ``5m``, ``3h``, ``2d`` since the order was created."""
    when = parse_timestamp(created_at)
    if when is None:
        return "?"
    seconds = max(0, int((now - when).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _money(view: OrderView) -> str:
    total = view.order.total
    return "—" if total is None else f"{total:,.2f} {view.order.currency}"


def marks(view: OrderView, facts: Facts) -> Text:
    """``*`` marked, ``I`` incident (or ``S`` stuck), ``D`` drift, then the order's label."""
    text = Text()
    text.append("*" if view.order.id in facts.marked else " ", style="bold magenta")
    if view.order.id in facts.incidents:
        text.append("I", style="bold red")
    elif view.stuck:
        text.append("S", style="bold yellow")
    else:
        text.append(" ")
    text.append("D" if drift_of(view) else " ", style="bold cyan")
    text.append(view.order.label, style="bold")
    return text


def note(view: OrderView, facts: Facts) -> Text:
    error = facts.incidents.get(view.order.id)
    if error is not None:
        text = " ".join(error.split())
        cause = text.rsplit("failed: ", 1)[-1]  # our errors name the cause last
        return Text(f"incident: {cause}"[:80], style="red")
    if view.stuck:
        return Text(f"stuck in {view.stuck}", style="yellow")
    if drift_of(view):
        return Text(f"drift: {drift_of(view)}", style="cyan")
    return Text(view.note[:80], style="red" if view.note else "")


class OrdersTable(RowTable):
    """One page of the filtered, sorted orders. ``sync`` touches only what changed.

    The cursor stays on the order it is on while rows come and go, except on the first row:
    there it stays on the first row, so a table sorted newest first follows new orders.
    """

    def on_mount(self) -> None:
        self.shown: list[str] = []  # every order the filter shows, sorted (all pages)
        self.page = 0
        self._key: tuple[OrderQuery, int] | None = None
        self._known = 0  # orders in the state at the last selection
        self._texts = TextCache()
        self._aged: datetime | None = None
        self._in_view: set[str] = set()  # the rows on screen at the last sync
        self._built_from: tuple[ConsoleState, datetime, Facts] | None = None
        self._add_columns()

    def _add_columns(self) -> None:
        columns, widths = layout_for(self.app.size.width)
        self._bar = widths[STAGES[0].label]
        self._picks = [COLUMNS.index(name) for name in columns]
        self.set_columns(columns, widths, right=("Total",))

    def fit(self) -> bool:
        """Choose the columns and their widths for the terminal's width; True when rebuilt."""
        if layout_for(self.app.size.width) == (self.columns, self._widths):
            return False
        self._add_columns()
        self._key = None
        return True

    def cells(self, view: OrderView, now: datetime, facts: Facts) -> tuple[Cell, ...]:
        """The row's cells, for the columns shown."""
        every = self._all_cells(view, now, facts)
        return tuple(every[n] for n in self._picks)

    def _all_cells(self, view: OrderView, now: datetime, facts: Facts) -> tuple[Cell, ...]:
        workflow = view.workflow_status
        incident = view.order.id in facts.incidents
        style = "bold red" if incident else STATUS_STYLE.get(workflow, "")
        return (
            marks(view, facts),
            *(stage_bar(stage, now, self._bar) for stage in view.stages),
            Text(workflow, style=style),
            view.order.status,
            age(view.order.created_at, now),
            view.order.customer[:16],
            view.order.email[:26],
            _money(view),
            note(view, facts),
        )

    def sync(self, state: ConsoleState, changed: set[str], now: datetime, query: OrderQuery,
             marked: set[str], *, force: bool = False, rebuild_texts: bool = False) -> None:
        """Reselect when orders, filter, sort or marks changed; then diff the page into the rows.

        ``force`` reselects and compares every row; ``rebuild_texts`` drops every filter text
        (texts of changed orders are always dropped: they are built again)."""
        facts = Facts.of(state, marked)
        if rebuild_texts:
            self._texts.clear()
        self._texts.forget(changed)
        key = (query, len(marked))
        asked = key != self._key  # the operator changed filter, sort, page or marks
        if force or asked or self._reselect(state, changed, query):
            among: list[str] | None = None
            presorted = False
            if (asked and not force and self._key is not None and len(state.orders) == self._known
                    and narrows(self._key[0], query)):  # typing on: only what was shown, or changed
                shown = set(self.shown)
                extra = [i for i in changed if i not in shown and i in state.orders]
                among = self.shown + extra
                # A sort on what never changes keeps the shown orders in order.
                presorted = not extra and query.sort in FIXED_SORTS
            self.shown = select(state, query, marked, self._texts, among, presorted)
            self._key = key
            self._known = len(state.orders)
        page_ids, self.page = page_of(self.shown, query.page)
        self._built_from = (state, now, facts)  # what rows are built from when first drawn
        if page_ids != self._keys:
            self._restructure(page_ids, follow_top=not asked)
        dirty = {k for k in (self._rows if force else changed) if self.built(k)}
        every = self._aged is None or (now - self._aged).total_seconds() >= AGE_EVERY_S
        if every:
            self._aged = now
        dirty |= self._visible(state, every)
        for order_id in dirty:
            view = state.orders.get(order_id)
            if view is not None:
                self.update_row(order_id, self.cells(view, now, facts))
        # The filter's texts are built ahead, a slice per refresh, so the first key typed
        # into the filter does not build 10,000 of them.
        self._texts.warm(state, facts, WARM_PER_SYNC)

    def warm_texts(self, state: ConsoleState, marked: set[str]) -> None:
        """Build a slice of the filter texts not built yet (nothing when all are)."""
        if self._texts.cold(state):
            self._texts.warm(state, Facts.of(state, marked), WARM_PER_SYNC)

    def _reselect(self, state: ConsoleState, changed: set[str], query: OrderQuery) -> bool:
        """Whether the selection can have changed: new orders, or changed ones under a filter
        or a sort on something that changes (an unfiltered table by order number stays put)."""
        if len(state.orders) != self._known:
            return True
        return bool(changed) and (bool(query.words) or query.sort not in FIXED_SORTS)

    def _restructure(self, page_ids: list[str], *, follow_top: bool) -> None:
        """Rows in, rows out, re-sorted. ``follow_top``: orders came or went by themselves (not
        by the operator's filter or sort), so a cursor on the first row stays there."""
        selected = self.selected_order_id
        on_top = follow_top and self.cursor_row == 0
        self.set_rows(page_ids)  # rows new here are built when first drawn
        if on_top:
            self.move_cursor(0)
        elif selected in self._index:
            self.move_cursor(self._index[selected], scroll=False)

    def build_cells(self, key: str) -> tuple[Cell, ...]:
        assert self._built_from is not None, "rows come only from a sync"
        state, now, facts = self._built_from
        return self.cells(state.orders[key], now, facts)

    def _visible(self, state: ConsoleState, every: bool) -> set[str]:
        """Rows on screen whose bars move (or, with ``every``, all of them: ages move too).
        Rows off screen catch up when they change or at the first sync after they scroll into view."""
        keys = self.visible_keys()
        came_into_view, self._in_view = set(keys) - self._in_view, set(keys)
        if every:
            return {k for k in keys if k in state.orders}
        # Rows that scrolled into view catch up on their ages now; bars move at every sync.
        return {k for k in keys if k in state.running or (k in came_into_view and k in state.orders)}

    @property
    def selected_order_id(self) -> str | None:
        return self.cursor_key
