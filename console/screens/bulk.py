"""The bulk retry / cancel dialog: a dry run first, `y` runs it, then each order's outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from console.bulk import BulkItem, Outcome, summary

Planner = Callable[[int], list[BulkItem]]
Runner = Callable[[list[BulkItem], int, Callable[[Outcome], None]], Awaitable[list[Outcome]]]

WHAT = {
    "retry": "For each order with an open incident: UpdateJobRetries, then ResolveIncident, "
             "then check that the incident is gone.",
    "cancel": "For each order with a running workflow: CancelProcessInstance, then metadata "
              "workflow_status \"cancelled\". This cannot be undone.",
}


class BulkDialog(ModalScreen[list[Outcome] | None]):
    """Dismisses with the outcomes (None when backed out before running)."""

    BINDINGS = [
        Binding("y", "confirm", "Yes, do it", id="bulk-yes", priority=True),
        Binding("n,escape", "back_out", "No / close", id="bulk-no", priority=True),
        Binding("plus,equals_sign", "retries(1)", "More retries", id="bulk-more", key_display="+"),
        Binding("minus", "retries(-1)", "Fewer retries", id="bulk-fewer", key_display="-"),
    ]

    #: The most retries a job can be given back from this dialog.
    MAX_RETRIES = 99

    def __init__(self, action: str, plan: Planner, run: Runner, retries: int = 3) -> None:
        super().__init__()
        self.action = action
        self.plan = plan
        self.runner = run
        self.retries = retries
        self.items = plan(retries)
        self.outcomes: list[Outcome] | None = None
        self.running = False

    @property
    def runnable(self) -> int:
        return sum(1 for item in self.items if item.runnable)

    def compose(self) -> ComposeResult:
        with Vertical(id="bulk-dialog", classes=self.action):
            yield Label(self._title(), id="bulk-title")
            yield Label(WHAT[self.action], id="bulk-what")
            if self.action == "retry":
                yield Label(self._retries_text(), id="bulk-retries")
            yield DataTable(id="bulk-orders", cursor_type="row")
            yield Label(self._hint(), id="bulk-hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Order", key="order", width=7)
        table.add_column("Dry run", key="plan", width=40)
        table.add_column("Outcome", key="outcome", width=40)
        for item in self.items:
            table.add_row(item.label, Text(item.plan, style="" if item.runnable else "dim"), "", key=item.order_id)
        table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retries":
            return self.action == "retry" and not self.running and self.outcomes is None
        return True

    def _retries_text(self) -> str:
        return f"Retries to give back: {self.retries}   (+ / - to change)"

    def _title(self) -> str:
        verb = "Retry" if self.action == "retry" else "Cancel"
        count = len(self.items)
        skipped = count - self.runnable
        noun = "order" if self.runnable == 1 else "orders"
        text = f"{verb} {self.runnable} {noun}"
        return text + (f" ({skipped} of {count} skipped)" if skipped else "")

    def _hint(self) -> str:
        if self.outcomes is not None:
            return f"Done: {summary(self.outcomes)}. escape closes."
        if self.running:
            return "Running… each order's outcome appears as it lands."
        if not self.runnable:
            return "Nothing to do. n or escape goes back."
        return "y: do it   n / escape: back out"

    def action_retries(self, step: int) -> None:
        self.retries = min(self.MAX_RETRIES, max(1, self.retries + step))
        self.query_one("#bulk-retries", Label).update(self._retries_text())
        self.items = self.plan(self.retries)
        table = self.query_one(DataTable)
        for item in self.items:
            table.update_cell(item.order_id, "plan", Text(item.plan, style="" if item.runnable else "dim"))

    def action_confirm(self) -> None:
        if self.running or self.outcomes is not None or not self.runnable:
            return
        self.running = True
        self.query_one("#bulk-hint", Label).update(self._hint())
        self.run_worker(self._run(), name=f"bulk-{self.action}", group="actions", exit_on_error=False)

    async def _run(self) -> None:
        table = self.query_one(DataTable)

        def landed(outcome: Outcome) -> None:
            style = "green" if outcome.ok else "bold red"
            text = ("ok: " if outcome.ok else "failed: ") + outcome.detail
            table.update_cell(outcome.order_id, "outcome", Text(text, style=style))

        try:
            self.outcomes = await self.runner(self.items, self.retries, landed)
        finally:
            self.running = False
            if self.outcomes is None:
                self.outcomes = []
            self.query_one("#bulk-hint", Label).update(self._hint())

    def action_back_out(self) -> None:
        if self.running:
            self.notify("Still running; the outcomes land in the audit log (l).", timeout=4)
        self.dismiss(self.outcomes)
