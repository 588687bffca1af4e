"""The Textual app: bindings, refresh loop, operator actions and background workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from console.clients.errors import BackendError
from console.fulfillment import FulfillmentError
from console.order_detail import DetailLoader
from console.runtime import ConsoleRuntime
from console.screens.confirm import ConfirmDialog
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.screens.order_detail import OrderDetailScreen
from console.state import ConsoleState
from console.widgets.callbacks_panel import CallbacksPanel
from console.widgets.incidents_panel import IncidentsPanel
from console.widgets.orders_table import OrdersTable
from console.widgets.status_bar import StatusBar

#: Actions that change something; hidden in read-only mode and without a runtime.
WRITE_ACTIONS = frozenset({"start", "retry", "cancel", "new_order"})

REFRESH_S = 0.25


class MedcamApp(App[None]):
    """The operator's console."""

    TITLE = "medcam-console"
    SUB_TITLE = "order fulfillment · Medusa × Zeebe"
    CSS_PATH = "medcam.tcss"
    BINDINGS = [
        Binding("s", "start", "Start", id="start"),
        Binding("r", "retry", "Retry", id="retry"),
        Binding("c", "cancel", "Cancel", id="cancel"),
        Binding("n", "new_order", "New order", id="new-order"),
        Binding("question_mark", "help", "Help", id="help", key_display="?"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        runtime: ConsoleRuntime | None = None,
        *,
        state: ConsoleState | None = None,
        read_only: bool = False,
        demo_orders: int = 0,
        clock: Callable[[], datetime] | None = None,
        mode: str = "",
        detail_loader: DetailLoader | None = None,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.state = runtime.state if runtime is not None else (state or ConsoleState())
        self.read_only = read_only
        self.demo_orders = demo_orders
        self.clock = clock or (lambda: datetime.now(UTC))
        self.mode = mode or ("read-only" if read_only else "")
        self.detail_loader = detail_loader or DetailLoader(
            runtime.rest if runtime is not None else None,
            runtime.store.timeline if runtime is not None else None,
        )

    # ------------------------------------------------------------------ lifecycle
    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def on_mount(self) -> None:
        self.call_after_refresh(self.refresh_panels)
        self.set_interval(REFRESH_S, self.refresh_panels)
        if self.runtime is not None:
            for name, job in self.runtime.background_jobs():
                self.run_worker(job(), name=name, group=name, exit_on_error=False)
            if self.demo_orders and not self.read_only:
                self._run("demo-orders", lambda: self.runtime.top_up_demo_orders(self.demo_orders))

    def refresh_panels(self) -> None:
        """Pull what changed from the state and diff it into the widgets."""
        screen = self.screen
        if not isinstance(screen, MainScreen) or not screen.query(OrdersTable):
            return  # not composed yet, or a dialog is on top: the next tick catches up
        now = self.clock()
        state = self.state
        changed = state.take_dirty()
        with self.batch_update():
            screen.query_one(OrdersTable).sync(state, changed, now)
            screen.query_one(IncidentsPanel).sync(state, now)
            screen.query_one(CallbacksPanel).sync(state)
            screen.query_one(StatusBar).show(state, now, self.mode)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Background jobs and actions report failures here, never as a crash."""
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        if isinstance(error, FulfillmentError | BackendError):
            self.notify(str(error), title=worker.name, severity="error", timeout=8)
        else:
            self.log.error(f"{worker.name} failed: {error!r}")
            self.notify(f"{type(error).__name__}: {error}", title=f"{worker.name} failed", severity="error")

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in WRITE_ACTIONS and self.read_only)

    def _selected(self, *, needs_backend: bool = True):
        if needs_backend and self.runtime is None:
            self._no_backend()
            return None
        if isinstance(self.screen, OrderDetailScreen):
            order_id: str | None = self.screen.order_id
        elif isinstance(self.screen, MainScreen):
            order_id = self.screen.query_one(OrdersTable).selected_order_id
        else:
            return None
        view = self.state.orders.get(order_id) if order_id else None
        if view is None:
            self.notify("Choose an order first (↑/↓).", severity="warning")
        return view

    def action_start(self) -> None:
        view = self._selected()
        if view is None or self.runtime is None:
            return
        service = self.runtime.fulfillment
        order = view.order
        self._run("start", lambda: service.start(order), f"Fulfillment started for {order.label}")

    def action_retry(self) -> None:
        view = self._selected()
        if view is None or self.runtime is None:
            return
        service = self.runtime.fulfillment
        order = view.order
        self._run("retry", lambda: service.retry(order), f"Incident of {order.label} resolved; the job runs again")

    def action_cancel(self) -> None:
        view = self._selected(needs_backend=False)
        if view is None:
            return
        order = view.order

        def decided(confirmed: bool | None) -> None:
            if not confirmed:
                return
            if self.runtime is None:
                self._no_backend()
                return
            service = self.runtime.fulfillment
            self._run("cancel", lambda: service.cancel(order), f"Fulfillment of {order.label} cancelled")

        self.push_screen(
            ConfirmDialog(f"Cancel fulfillment of order {order.label} ({order.customer})?", "Cancel it"),
            decided,
        )

    def action_new_order(self) -> None:
        if self.runtime is None:
            return
        runtime = self.runtime
        self._run("new-order", lambda: runtime.create_demo_orders(1), "Demo order created")

    def _no_backend(self) -> None:
        self.notify("No backend: this screen shows pinned demo data.", severity="warning")

    def open_order_detail(self, order_id: str) -> None:
        """The order detail screen for one order (``escape`` comes back)."""
        self.push_screen(OrderDetailScreen(order_id, self.state, self.detail_loader, self.clock,
                                           live=self.runtime is not None))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def _run(self, name: str, action: Callable[[], Awaitable[Any]], success: str | None = None) -> None:
        async def job() -> None:
            await action()
            if success:
                self.notify(success, timeout=4)
            if self.runtime is not None and self.runtime.feed is not None:
                self.runtime.feed.poke()

        self.run_worker(job(), name=name, group="actions", exit_on_error=False)
