"""The orders table: one row per order with per-stage progress bars, updated by diff."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from console.state import ConsoleState, OrderView
from console.widgets.stage_bar import stage_bar
from workers.stages import STAGES

STATUS_STYLE = {
    "completed": "green",
    "cancelled": "dim",
    "payment_declined": "magenta",
    "started": "cyan",
    "claimed": "yellow",
    "-": "dim",
}


def _newest_first(label: object) -> tuple[int, str]:
    """Sort key of the Order column: display ids numerically (labels look like ``#42``)."""
    text = str(label).lstrip("#")
    return (int(text), "") if text.isdigit() else (-1, text)


def _money(view: OrderView) -> str:
    total = view.order.total
    return "—" if total is None else f"{total:,.2f} {view.order.currency}"


class OrdersTable(DataTable):
    """Orders, newest first. ``sync`` touches only the cells that changed."""

    COLUMNS = ("Order", "Customer", "Total", "Status", "Workflow", *(s.label for s in STAGES), "Note")
    WIDTHS = (7, 14, 14, 9, 18, 9, 9, 9, None)

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for name, width in zip(self.COLUMNS, self.WIDTHS, strict=True):
            self.add_column(name, key=name, width=width)
        self._cells: dict[str, tuple[object, ...]] = {}

    def cells(self, view: OrderView, now: datetime, incident: bool) -> tuple[object, ...]:
        workflow = view.workflow_status
        style = "bold red" if incident else STATUS_STYLE.get(workflow, "")
        note = "incident" if incident else view.note
        return (
            Text(view.order.label, style="bold"),
            view.order.customer[:14],
            Text(_money(view), justify="right"),
            view.order.status,
            Text(workflow, style=style),
            *(stage_bar(stage, now) for stage in view.stages),
            Text(note[:60], style="red" if (incident or view.note) else ""),
        )

    def sync(self, state: ConsoleState, changed: set[str], now: datetime) -> None:
        """Add new orders, update changed cells, keep running bars moving."""
        moving = state.running
        added = False
        for order_id in sorted(changed | moving):
            view = state.orders.get(order_id)
            if view is None:
                continue
            new = self.cells(view, now, state.incident_for_order(order_id) is not None)
            old = self._cells.get(order_id)
            if old is None:
                self.add_row(*new, key=order_id)
                added = True
            else:
                for column, (before, after) in zip(self.COLUMNS, zip(old, new, strict=True), strict=True):
                    if str(before) != str(after) or getattr(before, "style", None) != getattr(after, "style", None):
                        self.update_cell(order_id, column, after)
            self._cells[order_id] = new
        if added:
            self.sort("Order", key=_newest_first, reverse=True)

    @property
    def selected_order_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return row_key.value
