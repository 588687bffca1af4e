"""The main screen: orders on top, incidents and callback attempts below, status line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label

from console.widgets.callbacks_panel import CallbacksPanel
from console.widgets.incidents_panel import IncidentsPanel
from console.widgets.orders_table import OrdersTable
from console.widgets.status_bar import StatusBar


class MainScreen(Screen):
    """Layout only; the app refreshes the widgets from its state on a timer."""

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
