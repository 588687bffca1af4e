"""The callback-attempts panel: each POST to Medusa, its outcome, latency and next retry."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from console.events import CallbackAttempt
from console.state import ConsoleState
from workers.stages import stage_label

SHOWN = 50


def describe(attempt: CallbackAttempt) -> Text:
    if attempt.ok:
        return Text(f"HTTP {attempt.http_status}", style="green")
    return Text(_short(attempt.error or "failed"), style="red")


def _short(error: str) -> str:
    """``HTTP 500``, ``timed out``, ``ConnectError``: the first words of an attempt's error."""
    return error.split(":", 1)[0][:10]


def next_retry(attempt: CallbackAttempt) -> str:
    if attempt.ok:
        return ""
    if attempt.next_delay_s is None:
        return "gave up"
    return f"in {attempt.next_delay_s:g}s"


class CallbacksPanel(DataTable):
    """Newest first; appends only attempts it has not shown yet."""

    COLUMNS = ("Time", "Order", "Stage", "Try", "Result", "ms", "Next")
    WIDTHS = (8, 6, 9, 3, 10, 4, 9)

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for name, width in zip(self.COLUMNS, self.WIDTHS, strict=True):
            self.add_column(name, key=name, width=width)
        self._newest: CallbackAttempt | None = None

    def sync(self, state: ConsoleState) -> None:
        attempts = list(state.callbacks)[:SHOWN]
        if not attempts or attempts[0] is self._newest:
            return
        self._newest = attempts[0]
        self.clear()  # at most SHOWN small rows; rebuilt only when a new attempt arrived
        for attempt in attempts:
            view = state.orders.get(attempt.order_id)
            self.add_row(
                attempt.at.strftime("%H:%M:%S"),
                view.order.label if view else attempt.order_id[-10:],
                stage_label(attempt.stage),
                f"{attempt.attempt}/{attempt.max_attempts}",
                describe(attempt),
                Text(f"{attempt.latency_ms:.0f}", justify="right"),
                next_retry(attempt),
            )
