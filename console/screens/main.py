"""The main screen: header lines, the orders table, the filter line and the lower panels; its keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Label

from console.order_query import SORT_KEYS
from console.widgets.callbacks_panel import CallbacksPanel
from console.widgets.event_log import EventLog
from console.widgets.filter_bar import FilterBar
from console.widgets.incidents_panel import IncidentsPanel
from console.widgets.key_bar import KeyBar
from console.widgets.orders_table import OrdersTable
from console.widgets.panel_tabs import PanelTabs, TabLine
from console.widgets.pulse_bar import PulseBar
from console.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from console.app import MedcamApp

#: Actions that change something: hidden in read-only mode.
WRITE_ACTIONS = frozenset({"start", "retry", "cancel", "new_order", "bulk_retry", "bulk_cancel", "shop_down"})

_RETRY, _CANCEL = Binding.Group("Retry", compact=True), Binding.Group("Cancel", compact=True)
_MARK, _SORT, _PAGE = (Binding.Group(name, compact=True) for name in ("Mark", "Sort", "Page"))

#: The sort column cycle of `o` (the table's sortable columns, in reading order).
SORT_CYCLE = ("Order", "Progress", "Workflow", "Medusa", "Age", "Customer", "Email", "Total")


def key_name(binding: Binding) -> str:
    """How help and the palette name a binding's key (the key line shows the short sign)."""
    return "space" if binding.key == "space" else binding.key_display or binding.key


class MainScreen(Screen):
    """Layout and keys; the app refreshes the widgets from its state on a timer."""

    #: In the key line's order, most needed first: a narrow terminal cuts the end of the line,
    #: and `?` (help) and `ctrl+p` (palette) list every key. Pairs share one label.
    BINDINGS = [
        # Not priority: a priority key is handled as it arrives, ahead of the arrow keys read
        # with it (over SSH, "down down enter" comes in one read and opened the order above).
        # Only from the orders table (which has no enter of its own).
        Binding("enter", "order_detail", "Detail", id="order-detail"),
        Binding("question_mark", "app.help", "Help", id="help-keys", key_display="?"),
        # Priority: handled as it arrives, so the keys typed right behind it reach the filter.
        Binding("slash", "filter", "Filter", id="filter", key_display="/", priority=True),
        Binding("r", "retry", "Retry", id="retry", group=_RETRY),
        Binding("R", "bulk_retry", "Retry marked", id="bulk-retry", group=_RETRY),
        Binding("c", "cancel", "Cancel", id="cancel", group=_CANCEL),
        Binding("C", "bulk_cancel", "Cancel marked", id="bulk-cancel", group=_CANCEL),
        Binding("space", "mark", "Mark", id="mark", key_display="␣", group=_MARK),
        Binding("asterisk", "mark_all", "Mark shown", id="mark-all", key_display="*", group=_MARK),
        Binding("s", "start", "Start", id="start"),
        Binding("F", "shop_down", "Shop down", id="shop-down"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("o", "sort", "Sort", id="sort", group=_SORT),
        Binding("O", "sort_reverse", "Reverse", id="sort-reverse", group=_SORT),
        Binding("left_square_bracket", "page(-1)", "Prev page", id="page-prev", key_display="[", group=_PAGE),
        Binding("right_square_bracket", "page(1)", "Next page", id="page-next", key_display="]", group=_PAGE),
        Binding("t", "next_panel", "Next panel", id="next-panel"),
        Binding("l", "audit_log", "Audit log", id="audit-log"),
        Binding("ctrl+r", "refresh", "Refresh", id="refresh"),
        Binding("n", "new_order", "New order", id="new-order"),
    ]

    app: MedcamApp
    #: True once every widget is mounted (the app's refresh waits for it).
    ready = False
    #: More orders than one page shows (`[` and `]` apply).
    paged = False

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield PulseBar(id="pulse-bar")
        with Vertical(id="orders-pane"):
            yield Label("Orders", id="orders-title", classes="pane-title")
            yield OrdersTable(id="orders")
        yield FilterBar(id="filter")
        yield TabLine(id="tab-line")
        with PanelTabs(id="panels"):
            yield IncidentsPanel(id="incidents", classes="panel")
            yield CallbacksPanel(id="callbacks", classes="panel")
            yield EventLog(id="events", classes="panel", wrap=False, markup=False)
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        for selector, title in (("#incidents", "Incidents"), ("#callbacks", "Callback attempts"),
                                ("#events", "Events")):
            self.query_one(selector).border_title = title
        self.query_one(FilterBar).display = False
        self.query_one(PanelTabs).fit(self.app.size.width)
        self.query_one(OrdersTable).focus()
        self.ready = True

    def on_resize(self, event: events.Resize) -> None:
        if not self.ready:
            return
        self.query_one(PanelTabs).fit(event.size.width)
        self.refresh_bindings()  # `t` applies only when the panels are tabs
        if self.query_one(OrdersTable).fit():
            self.app.refresh_panels(force=True)

    # ------------------------------------------------------------------ keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.app
        if action == "order_detail":  # only from the orders table: enter elsewhere is theirs
            return isinstance(self.focused, OrdersTable)
        if action in WRITE_ACTIONS and app.read_only:
            return False
        if action == "page":  # only when there is more than one page (the app keeps `paged`)
            return self.paged
        if action == "next_panel":  # only when the panels are tabs
            return self.ready and self.query_one(PanelTabs).has_class("tabbed")
        if action == "shop_down":
            # Only the embedded shop has the switch (the pinned demo data has no shop at all).
            return app.runtime is None or app.runtime.faults is not None
        return True

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        bar.display = True
        # At once, not after the next refresh: keys typed right behind `/` belong to the filter.
        self.set_focus(bar)

    @on(FilterBar.Changed)
    def _filter_typed(self, event: FilterBar.Changed) -> None:
        self.app.set_filter(event.value)

    @on(FilterBar.Done)
    def _filter_done(self, event: FilterBar.Done) -> None:
        bar = self.query_one(FilterBar)
        if event.cleared:
            bar.display = False
            self.app.set_filter("")
        self.set_focus(self.query_one(OrdersTable))

    @on(OrdersTable.HeaderClicked, "#orders")
    def _header_clicked(self, event: OrdersTable.HeaderClicked) -> None:
        column = {"Payment": "Progress", "Inventory": "Progress", "Notify": "Progress"}.get(event.column, event.column)
        if column in SORT_KEYS:
            self.app.set_sort(column)

    def action_sort(self) -> None:
        current = self.app.order_query.sort
        following = SORT_CYCLE[(SORT_CYCLE.index(current) + 1) % len(SORT_CYCLE)] if current in SORT_CYCLE else "Order"
        self.app.set_sort(following)

    def action_sort_reverse(self) -> None:
        self.app.set_sort(self.app.order_query.sort)

    def action_page(self, step: int) -> None:
        self.app.turn_page(step)

    def action_mark(self) -> None:
        self.app.toggle_mark(self.query_one(OrdersTable).selected_order_id)
        self.query_one(OrdersTable).action_cursor_down()

    def _filter_caught_up(self) -> None:
        """Apply what the filter line holds now: a burst of keys can bring `*` or `R` here before
        the line's change messages."""
        self.app.set_filter(self.query_one(FilterBar).value)

    def action_mark_all(self) -> None:
        self._filter_caught_up()
        self.app.mark_shown(self.query_one(OrdersTable).shown)

    def action_next_panel(self) -> None:
        self.query_one(PanelTabs).cycle()

    def action_start(self) -> None:
        self.app.start_selected()

    def action_retry(self) -> None:
        self.app.open_bulk("retry", selected_only=True)

    def action_cancel(self) -> None:
        self.app.open_bulk("cancel", selected_only=True)

    def action_bulk_retry(self) -> None:
        self._filter_caught_up()
        self.app.open_bulk("retry")

    def action_bulk_cancel(self) -> None:
        self._filter_caught_up()
        self.app.open_bulk("cancel")

    def action_new_order(self) -> None:
        self.app.new_order()

    def action_shop_down(self) -> None:
        self.app.toggle_shop_down()

    def action_pause(self) -> None:
        self.app.toggle_pause()

    def action_refresh(self) -> None:
        self.app.force_refresh()

    def action_audit_log(self) -> None:
        self.app.open_audit_log()

    @on(OrdersTable.RowChosen, "#orders")
    def _row_chosen(self, event: OrdersTable.RowChosen) -> None:
        """A click on the selected row opens it too."""
        event.stop()
        self.action_order_detail()

    def action_order_detail(self) -> None:
        order_id = self.query_one(OrdersTable).selected_order_id
        if order_id is not None:
            self.app.open_order_detail(order_id)
