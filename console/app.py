"""The Textual app: view state (filter, sort, page, marks, pause), refresh loop and operator actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.bulk import BulkItem, Outcome, plan_cancel, plan_retry, run_bulk, summary
from console.clients.errors import BackendError
from console.events import OperatorAction
from console.fulfillment import RETRY_JOB_RETRIES, FulfillmentError
from console.order_detail import DetailLoader
from console.order_query import PAGE_SIZE, OrderQuery
from console.runtime import ConsoleRuntime
from console.screens.audit_log import AuditLogScreen
from console.screens.bulk import BulkDialog
from console.screens.help import HelpScreen
from console.screens.main import MainScreen, key_name
from console.screens.order_detail import OrderDetailScreen
from console.state import ConsoleState
from console.store import AuditEntry
from console.widgets.callbacks_panel import CallbacksPanel
from console.widgets.event_log import EventLog
from console.widgets.incidents_panel import IncidentsPanel
from console.widgets.orders_table import OrdersTable
from console.widgets.panel_tabs import PanelTabs
from console.widgets.pulse_bar import PulseBar
from console.widgets.status_bar import StatusBar

REFRESH_S = 0.25

BulkRunner = Callable[[str, list[BulkItem], int, Callable[[Outcome], None]], Awaitable[list[Outcome]]]


class MedcamApp(App[None]):
    """The operator's console."""

    TITLE = "medcam-console"
    SUB_TITLE = "order fulfillment · Medusa × Zeebe"
    CSS_PATH = "medcam.tcss"
    BINDINGS = [
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
        audit: Callable[[], list[AuditEntry]] | None = None,
        bulk_runner: BulkRunner | None = None,
        background: bool = True,
    ) -> None:
        """``background``: run the runtime's background jobs as the app's workers (False when
        they already run as plain asyncio tasks, as the UI benchmark starts them)."""
        super().__init__()
        self._background = background
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
        self._audit = audit or (runtime.store.audit_log if runtime is not None else list)
        self._bulk_runner = bulk_runner
        #: What the orders table shows, and the operator's marks.
        self.order_query = OrderQuery()
        self.marked: set[str] = set()
        self.paused = False
        self._touched: set[str] = set()  # rows whose marks changed since the last refresh
        self._held: set[str] = set()  # orders that changed while live updates were paused
        self._heap_settled = False  # the heap is frozen once the first orders are drawn
        self._drawn: tuple[object, ...] = ()  # what the last refresh drew from

    # ------------------------------------------------------------------ lifecycle
    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def on_mount(self) -> None:
        self.call_after_refresh(self.refresh_panels)
        self.set_interval(REFRESH_S, self.refresh_panels)
        if self.runtime is not None and self._background:
            for name, job in self.runtime.background_jobs():
                self.run_worker(job(), name=name, group=name, exit_on_error=False)
            if self.demo_orders and not self.read_only:
                self._run("demo-orders", lambda: self.runtime.top_up_demo_orders(self.demo_orders))

    def refresh_panels(self, force: bool = False, *, rebuild_texts: bool = False) -> None:
        """Pull what changed from the state and diff it into the widgets (a few times a second).

        ``force`` redraws every row and panel; ``rebuild_texts`` also builds every order's
        filter text again (the operator's ctrl+r: something may have changed unannounced)."""
        try:
            self._refresh_panels(force, rebuild_texts)
        except (ScreenStackError, NoMatches):
            pass  # the app is closing: its screens and their widgets are going

    def _refresh_panels(self, force: bool, rebuild_texts: bool = False) -> None:
        screen = self.screen
        if not isinstance(screen, MainScreen) or not screen.ready:
            return  # not mounted yet, or a dialog is on top: the next tick catches up
        now = self.clock()
        state = self.state
        if self.paused and not force:
            # The counts keep up while the table holds still.
            self._held |= state.take_dirty()
            screen.query_one(PulseBar).show(state, now, self._held, paused=True, marked=len(self.marked))
            return
        # Nothing new, nothing moving, the same second and the same view: nothing to draw (an
        # idle console passes here three times out of four).
        drawn = (state.version, self.order_query, len(self.marked), int(now.timestamp()))
        if not force and drawn == self._drawn and not (state.running or self._touched or self._held):
            # Still, the filter's texts are built ahead, so a first key typed soon after start
            # (or after a burst of changes) finds them ready.
            screen.query_one(OrdersTable).warm_texts(state, self.marked)
            return
        self._drawn = drawn
        changed = state.take_dirty() | self._touched | self._held
        self._held = set()
        self._touched = set()
        table = screen.query_one(OrdersTable)
        with self.batch_update():
            table.sync(state, changed, now, self.order_query, self.marked, force=force,
                       rebuild_texts=rebuild_texts)
            screen.query_one(IncidentsPanel).sync(state, now)
            screen.query_one(CallbacksPanel).sync(state)
            screen.query_one(EventLog).sync(state)
            screen.query_one(StatusBar).show(state, now, self.mode)
            screen.query_one(PulseBar).show(state, now, None if force else changed, paused=self.paused,
                                            marked=len(self.marked))
            self._retitle(screen, table)
        if not self._heap_settled and table.row_count and self.runtime is not None:
            self._heap_settled = True
            self.call_after_refresh(self.runtime.heap.settle)  # after this frame is on screen

    def _retitle(self, screen: Screen, table: OrdersTable) -> None:
        query = self.order_query
        shown = len(table.shown)
        paged = shown > PAGE_SIZE
        if isinstance(screen, MainScreen) and paged != screen.paged:
            screen.paged = paged
            screen.refresh_bindings()  # `[` and `]` apply only with more than one page
        first = table.page * PAGE_SIZE
        title = f"Orders {first + 1 if shown else 0}-{min(shown, first + PAGE_SIZE)} of {shown:,}"
        if shown != len(self.state.orders):
            title += f" (filtered from {len(self.state.orders):,})"
        if query.text:
            title += f" · filter “{query.text}”"
        title += f" · sort {query.sort} {'↓' if query.descending else '↑'}"
        label = screen.query_one("#orders-title")
        if str(label.render()) != title:
            label.update(title, layout=False)  # type: ignore[attr-defined]  # one line: no layout pass
        panels = screen.query_one(PanelTabs)
        incidents = len(self.state.incidents)
        panels.retitle(0, f"Incidents {incidents}" if incidents else "Incidents")
        panels.retitle(1, "Callback attempts")
        panels.retitle(2, "Events")

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

    def get_system_commands(self, screen: Screen) -> Iterator[SystemCommand]:
        """The command palette lists every key of the main screen, as the footer and help do."""
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            for binding in MainScreen.BINDINGS:
                assert isinstance(binding, Binding)
                if screen.check_action(binding.action.split("(")[0], ()) is False:  # as the footer asks
                    continue
                key = key_name(binding)
                yield SystemCommand(f"{binding.description} ({key})", f"the {key} key",
                                    lambda action=binding.action: self.run_action(action, screen))

    # ------------------------------------------------------------------ view state
    def set_filter(self, text: str) -> None:
        if text != self.order_query.text:
            self.order_query = self.order_query.with_text(text)
            self.refresh_panels(force=not text)

    def set_sort(self, column: str) -> None:
        self.order_query = self.order_query.sorted_by(column)
        self.refresh_panels()

    def turn_page(self, step: int) -> None:
        shown = self.screen.query_one(OrdersTable).page if isinstance(self.screen, MainScreen) else 0
        self.order_query = replace(self.order_query, page=max(0, shown + step))
        self.refresh_panels()

    def toggle_mark(self, order_id: str | None) -> None:
        if order_id is None:
            return
        self.marked.symmetric_difference_update({order_id})
        self._touched.add(order_id)
        self.refresh_panels()

    def mark_shown(self, order_ids: Iterable[str]) -> None:
        """Mark every order the filter shows; if they all are marked already, unmark them."""
        shown = set(order_ids)
        if shown and shown <= self.marked:
            self.marked -= shown
        else:
            self.marked |= shown
        self._touched |= shown
        self.notify(f"{len(self.marked)} marked", timeout=2)
        self.refresh_panels()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self.refresh_panels(force=not self.paused)

    def force_refresh(self) -> None:
        runtime = self.runtime
        if runtime is not None and runtime.feed is not None:
            runtime.feed.poke()
        if runtime is not None and runtime.incidents is not None:
            self._run("refresh-incidents", runtime.incidents.poll_once)
        self.refresh_panels(force=True, rebuild_texts=True)
        self.notify("Refreshed", timeout=1)

    # ------------------------------------------------------------------ actions
    def selected(self) -> str | None:
        screen = self.screen
        if isinstance(screen, OrderDetailScreen):
            order_id: str | None = screen.order_id
        elif isinstance(screen, MainScreen):
            order_id = screen.query_one(OrdersTable).selected_order_id
        else:
            order_id = None
        if order_id is None or order_id not in self.state.orders:
            self.notify("Choose an order first (↑/↓).", severity="warning")
            return None
        return order_id

    def start_selected(self) -> None:
        order_id = self.selected()
        if order_id is None or not self._backend():
            return
        service = self.runtime.fulfillment  # type: ignore[union-attr]
        order = self.state.orders[order_id].order
        self._run("start", lambda: service.start(order), f"Fulfillment started for {order.label}")

    def open_bulk(self, action: str, *, selected_only: bool = False) -> None:
        """The dry-run dialog for the marked orders (or the selected one), then the run."""
        if selected_only or not self.marked:
            order_id = self.selected()
            targets = [order_id] if order_id else []
        else:
            targets = [oid for oid in self.screen.query_one(OrdersTable).shown if oid in self.marked]
            targets += sorted(self.marked - set(targets))
        if not targets:
            return
        state = self.state

        def plan(retries: int) -> list[BulkItem]:
            return plan_retry(state, targets, retries) if action == "retry" else plan_cancel(state, targets)

        async def run(items: list[BulkItem], retries: int, landed: Callable[[Outcome], None]) -> list[Outcome]:
            return await self._run_bulk(action, items, retries, landed)

        self.push_screen(BulkDialog(action, plan, run, RETRY_JOB_RETRIES))

    async def _run_bulk(self, action: str, items: list[BulkItem], retries: int,
                        landed: Callable[[Outcome], None]) -> list[Outcome]:
        if self._bulk_runner is not None:
            return await self._bulk_runner(action, items, retries, landed)
        if not self._backend():
            return []
        runtime = self.runtime
        assert runtime is not None and runtime.fulfillment is not None
        service = runtime.fulfillment
        state = self.state

        async def act(order_id: str) -> str:
            order = state.orders[order_id].order
            if action == "retry":
                count = await service.retry(order, retries)
                return "incident gone" if count == 1 else f"{count} incidents gone"
            await service.cancel(order)
            return "cancelled"

        outcomes = await run_bulk(items, act, landed)
        done = {o.order_id for o in outcomes if o.ok}
        self.marked -= done
        self._touched |= done
        labels = " ".join(state.orders[i.order_id].order.label for i in items if i.runnable)
        runtime.bus.publish(OperatorAction(at=self.clock(), action=f"bulk-{action}", order_id=None,
                                           outcome=summary(outcomes), detail=f"orders: {labels}"[:2000]))
        if runtime.feed is not None:
            runtime.feed.poke()
        return outcomes

    def new_order(self) -> None:
        if not self._backend():
            return
        runtime = self.runtime
        assert runtime is not None
        self._run("new-order", lambda: runtime.create_demo_orders(1), "Demo order created")

    def toggle_shop_down(self) -> None:
        if not self._backend():
            return
        switch = self.runtime.faults  # type: ignore[union-attr]
        if switch is None:
            self.notify("The shop-down switch exists on the embedded shop only.", severity="warning")
            return

        async def flip() -> None:
            faults = await switch.toggle_shop_down()
            self.notify("Shop is DOWN: every status callback gets 500" if faults.callbacks_down
                        else "Shop is back up", severity="warning" if faults.callbacks_down else "information",
                        timeout=4)

        self._run("shop-down", flip)

    def open_audit_log(self) -> None:
        state = self.state

        def label(order_id: str | None) -> str:
            view = state.orders.get(order_id or "")
            return view.order.label if view is not None else (order_id or "")[-10:]

        self.push_screen(AuditLogScreen(self._audit, label))

    def open_order_detail(self, order_id: str) -> None:
        """The order detail screen for one order (``escape`` comes back)."""
        self.push_screen(OrderDetailScreen(order_id, self.state, self.detail_loader, self.clock,
                                           live=self.runtime is not None))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def _backend(self) -> bool:
        if self.runtime is None or self.runtime.fulfillment is None:
            self.notify("No backend: this screen shows pinned demo data.", severity="warning")
            return False
        return True

    def _run(self, name: str, action: Callable[[], Awaitable[Any]], success: str | None = None) -> None:
        async def job() -> None:
            await action()
            if success:
                self.notify(success, timeout=4)
            if self.runtime is not None and self.runtime.feed is not None:
                self.runtime.feed.poke()

        self.run_worker(job(), name=name, group="actions", exit_on_error=False)
