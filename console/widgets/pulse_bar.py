"""The header's second line: orders in flight, done, incidents, stuck, drift, throughput, faults."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from console.event_text import describe_faults
from console.order_query import drift_of
from console.state import ConsoleState, OrderView
from console.throughput import sparkline

FINAL = frozenset({"completed", "cancelled", "payment_declined"})


def _kinds(view: OrderView) -> tuple[bool, bool, bool, bool]:
    """(in flight, done, stuck, drift) of one order."""
    status = view.order.workflow_status
    return (status not in FINAL and view.instance_key is not None, status == "completed",
            bool(view.stuck), bool(drift_of(view)))


class Tally:
    """The header's counts, kept up to date from the orders that changed (not a pass over all)."""

    def __init__(self) -> None:
        self._kinds: dict[str, tuple[bool, bool, bool, bool]] = {}
        self._totals = [0, 0, 0, 0]

    def update(self, state: ConsoleState, changed: set[str] | None = None) -> None:
        """Count ``changed`` orders again (all of them when None)."""
        for order_id in state.orders if changed is None else changed:
            view = state.orders.get(order_id)
            if view is None:
                continue
            new = _kinds(view)
            old = self._kinds.get(order_id, (False, False, False, False))
            if new != old:
                for n in range(4):
                    self._totals[n] += new[n] - old[n]
                self._kinds[order_id] = new

    def counts(self, state: ConsoleState) -> dict[str, int]:
        flight, done, stuck, drift = self._totals
        incidents = len({i.order_id or i.process_instance_key for i in state.incidents.values()})
        return {"in flight": flight, "done": done, "incidents": incidents, "stuck": stuck, "drift": drift}


def counts(state: ConsoleState) -> dict[str, int]:
    """in flight, done, incidents, stuck and drift over every order the console knows."""
    tally = Tally()
    tally.update(state)
    return tally.counts(state)


STYLE = {"incidents": "bold red", "stuck": "bold yellow", "drift": "bold cyan"}


class PulseBar(Static):
    """One line; re-rendered only when its text changed."""

    _shown: str = ""

    def on_mount(self) -> None:
        self.tally = Tally()
        self._counted = False

    def show(self, state: ConsoleState, now: datetime, changed: set[str] | None = None, *,
             paused: bool = False, marked: int = 0) -> None:
        """``changed``: the orders that changed since the last call (None: count them all)."""
        self.tally.update(state, changed if self._counted else None)
        self._counted = True
        text = Text()
        # Faults and pause come first: a narrow terminal cuts the end of the line, never them.
        faults = describe_faults(state.faults)
        if faults:
            text.append(f"FAULT: {faults}", style="bold white on red")
            text.append("  ")
        if paused:
            text.append("PAUSED", style="bold black on yellow")
            text.append("  ")
        for name, value in self.tally.counts(state).items():
            text.append(f"{value} ", style=STYLE.get(name, "bold") if value else "")
            text.append(f"{name}  ", style="" if value or name not in STYLE else "dim")
        text.append(f"{state.throughput.per_minute(now)}/min ", style="bold")
        text.append(sparkline(state.throughput.series(now)[-12:]), style="green")
        if marked:
            text.append(f"  {marked} marked", style="bold magenta")
        if text.plain != self._shown:
            self._shown = text.plain
            self.update(text, layout=False)  # one line, always: no layout pass
