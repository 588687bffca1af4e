"""The main screen: orders on top, incidents and callback attempts below, status line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label

from console.widgets.callbacks_panel import CallbacksPanel
from console.widgets.incidents_panel import IncidentsPanel
from console.widgets.orders_table import OrdersTable
from console.widgets.status_bar import StatusBar


class MainScreen(Screen):
    """Layout only; the app refreshes the widgets from its state on a timer."""

    #: A priority binding, so the footer lists it over the table's own (hidden) enter.
    BINDINGS = [Binding("enter", "order_detail", "Detail", id="order-detail", priority=True)]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "order_detail":  # only from the orders table: enter elsewhere is theirs
            return isinstance(self.focused, OrdersTable)
        return True

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield StatusBar(id="status-bar")
        with Vertical(id="orders-pane"):
            yield Label("Orders", classes="pane-title")
            yield OrdersTable(id="orders")
        with Horizontal(id="lower"):
            with Vertical(id="incidents-pane"):
                yield Label("Incidents", classes="pane-title")
                yield IncidentsPanel(id="incidents")
            with Vertical(id="callbacks-pane"):
                yield Label("Callback attempts", classes="pane-title")
                yield CallbacksPanel(id="callbacks")
        yield Footer()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """A click on the selected row opens it too."""
        if isinstance(event.data_table, OrdersTable):
            event.stop()
            self.action_order_detail()

    def action_order_detail(self) -> None:
        order_id = self.query_one(OrdersTable).selected_order_id
        if order_id is not None:
            self.app.open_order_detail(order_id)  # type: ignore[attr-defined]
