"""The header's second line: orders in flight, done, incidents, stuck, drift, throughput, faults."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from console.event_text import describe_faults
from console.order_query import drift_of
from console.state import ConsoleState
from console.throughput import sparkline

FINAL = frozenset({"completed", "cancelled", "payment_declined"})


def counts(state: ConsoleState) -> dict[str, int]:
    """in flight, done, incidents, stuck and drift over every order the console knows."""
    flight = done = stuck = drift = 0
    for view in state.orders.values():
        status = view.order.workflow_status
        if status == "completed":
            done += 1
        elif status not in FINAL and view.instance_key is not None:
            flight += 1
        stuck += bool(view.stuck)
        drift += bool(drift_of(view))
    incidents = len({i.order_id or i.process_instance_key for i in state.incidents.values()})
    return {"in flight": flight, "done": done, "incidents": incidents, "stuck": stuck, "drift": drift}


STYLE = {"incidents": "bold red", "stuck": "bold yellow", "drift": "bold cyan"}


class PulseBar(Static):
    """One line; re-rendered only when its text changed."""

    _shown: str = ""

    def show(self, state: ConsoleState, now: datetime, *, paused: bool = False, marked: int = 0) -> None:
        text = Text()
        # Faults and pause come first: a narrow terminal cuts the end of the line, never them.
        faults = describe_faults(state.faults)
        if faults:
            text.append(f"FAULT: {faults}", style="bold white on red")
            text.append("  ")
        if paused:
            text.append("PAUSED", style="bold black on yellow")
            text.append("  ")
        for name, value in counts(state).items():
            text.append(f"{value} ", style=STYLE.get(name, "bold") if value else "")
            text.append(f"{name}  ", style="" if value or name not in STYLE else "dim")
        text.append(f"{state.throughput.per_minute(now)}/min ", style="bold")
        text.append(sparkline(state.throughput.series(now)[-12:]), style="green")
        if marked:
            text.append(f"  {marked} marked", style="bold magenta")
        if text.plain != self._shown:
            self._shown = text.plain
            self.update(text)
