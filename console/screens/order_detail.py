"""The order detail screen: the process drawn, stage timeline, variables, drift, callbacks, Slack, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Static

from console.order_detail import DetailLoader, OrderDetail, TrailEntry
from console.state import ConsoleState
from console.widgets.process_diagram import ProcessDiagram

if TYPE_CHECKING:
    from console.app import MedcamApp

#: How often a live detail screen reloads from the engine and the store.
RELOAD_S = 1.0
#: Below this width the stage timeline and the variables stack instead of sitting side by side.
NARROW = 120

_STATE_STYLE = {"COMPLETED": "green", "FAILED": "red", "ERROR_THROWN": "red", "CANCELED": "dim"}


def _clock(at: datetime | None) -> str:
    return at.strftime("%H:%M:%S") if at else "—"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _table(*columns: str) -> Table:
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def stage_table(detail: OrderDetail, now: datetime) -> RenderableType:
    if not detail.stages:
        return Text("No stage has started.", style="dim")
    table = _table("Stage", "State", "Started", "Ended", "Took")
    for row in detail.stages:
        state = row.state + (f" ({row.retries} left)" if row.state == "FAILED" and row.retries is not None else "")
        table.add_row(row.label, Text(state, style=_STATE_STYLE.get(row.state, "yellow")),
                      _clock(row.started), _clock(row.ended), _seconds(row.duration_s(now)))
    return table


def variable_table(detail: OrderDetail) -> RenderableType:
    if not detail.variables:
        return Text("No variables (the engine was not asked or has none).", style="dim")
    table = _table("Variable", "Value")
    for name, value in detail.variables:
        table.add_row(name, value)
    return table


def drift_table(detail: OrderDetail) -> RenderableType:
    if not detail.drift:
        return Text("The engine has not been asked about this order.", style="dim")
    table = _table("", "Medusa metadata", "Engine", "")
    for row in detail.drift:
        mark = Text("drift", style="bold red") if row.drift else Text("same", style="green")
        table.add_row(row.name, Text(row.medusa, style="bold" if row.drift else ""), row.engine, mark)
    return table


def trail_table(entries: tuple[TrailEntry, ...], empty: str) -> RenderableType:
    if not entries:
        return Text(empty, style="dim")
    table = _table("At", "What")
    table.columns[0].no_wrap = True
    for entry in entries:
        at = entry.at[11:19] if len(entry.at) >= 19 else entry.at
        table.add_row(at, Text(entry.text, style="" if entry.ok else "red"))
    return table


class OrderDetailScreen(Screen[None]):
    """One order, everything known about it; ``escape`` goes back to the orders."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="detail-back"),
        Binding("s", "start", "Start", id="detail-start"),
        Binding("r", "retry", "Retry", id="detail-retry"),
        Binding("c", "cancel", "Cancel", id="detail-cancel"),
    ]

    app: MedcamApp

    def __init__(self, order_id: str, state: ConsoleState, loader: DetailLoader,
                 clock: Callable[[], datetime], *, live: bool = True) -> None:
        super().__init__()
        self.order_id = order_id
        self.state = state
        self.loader = loader
        self.clock = clock
        self.live = live
        self.detail: OrderDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Label("", id="detail-title")
        with VerticalScroll(id="detail-body"):
            yield Label("Process", classes="pane-title")
            yield ProcessDiagram(id="detail-diagram")
            yield Static(self._legend(), id="detail-legend")
            with Horizontal(id="detail-columns"):
                with Vertical(classes="detail-column"):
                    yield Label("Stage timeline", classes="pane-title")
                    yield Static(id="detail-stages", classes="detail-section")
                with Vertical(classes="detail-column"):
                    yield Label("Process variables", classes="pane-title")
                    yield Static(id="detail-variables", classes="detail-section")
            yield Label("Medusa metadata and engine state", classes="pane-title")
            yield Static(id="detail-drift", classes="detail-section")
            yield Label("Callback attempts", classes="pane-title")
            yield Static(id="detail-callbacks", classes="detail-section")
            yield Label("Slack messages", classes="pane-title")
            yield Static(id="detail-slack", classes="detail-section")
            yield Label("Audit trail", classes="pane-title")
            yield Static(id="detail-audit", classes="detail-section")
            yield Static(id="detail-problems", classes="detail-section")
        yield Footer()

    @staticmethod
    def _legend() -> Text:
        return Text.assemble(("■ done  ", "green"), ("■ current  ", "bold yellow"), ("■ incident  ", "bold red"),
                             ("■ not reached", "dim"))

    def on_mount(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")
        self.reload()
        if self.live:
            self.set_interval(RELOAD_S, self.reload)

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    @work(exclusive=True, group="order-detail", exit_on_error=False)
    async def reload(self) -> None:
        """Gather the order's detail (engine, store) and show it."""
        view = self.state.orders.get(self.order_id)
        if view is None:
            self.query_one("#detail-title", Label).update(f"Order {self.order_id} is no longer known.")
            return
        detail = await self.loader.load(view, self.state.incident_for_order(self.order_id))
        self.show(detail)

    def show(self, detail: OrderDetail) -> None:
        self.detail = detail
        now = self.clock()
        order = detail.order
        money = "—" if order.total is None else f"{order.total:,.2f} {order.currency}"
        instance = (f"instance {detail.instance_key} {detail.instance_state or ''}".rstrip()
                    if detail.instance_key else "no instance")
        title = Text.assemble((f"Order {order.label}", "bold"), f" · {order.customer} · {order.email} · {money} · ",
                              instance)
        if detail.incident is not None:
            title.append(f" · incident: {detail.incident.error}", style="bold red")
        with self.app.batch_update():
            self.query_one("#detail-title", Label).update(title)
            self.query_one(ProcessDiagram).show(detail.diagram, detail.path)
            self.query_one("#detail-stages", Static).update(stage_table(detail, now))
            self.query_one("#detail-variables", Static).update(variable_table(detail))
            self.query_one("#detail-drift", Static).update(drift_table(detail))
            self.query_one("#detail-callbacks", Static).update(trail_table(detail.callbacks, "No callback attempts."))
            self.query_one("#detail-slack", Static).update(trail_table(detail.slack, "No Slack messages."))
            self.query_one("#detail-audit", Static).update(trail_table(detail.audit, "No operator actions."))
            problems = self.query_one("#detail-problems", Static)
            problems.update(Text("\n".join(detail.problems), style="yellow"))
            problems.display = bool(detail.problems)

    # The write keys act on this order, as on the main screen (same dialogs); hidden when read-only.
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in ("start", "retry", "cancel") and self.app.read_only)

    def action_start(self) -> None:
        self.app.start_selected()

    def action_retry(self) -> None:
        self.app.open_bulk("retry", selected_only=True)

    def action_cancel(self) -> None:
        self.app.open_bulk("cancel", selected_only=True)
