"""The status line: where Zeebe and Medusa are, whether they answer, and the order counts."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from medcam.console.state import ConsoleState


class StatusBar(Static):
    """One line, re-rendered on each refresh tick (cheap)."""

    def show(self, state: ConsoleState, now: datetime, mode: str) -> None:
        text = Text()
        for component, label in (("zeebe", "Zeebe"), ("zeebe-rest", "REST"), ("medusa", "Medusa")):
            status = state.backends.get(component)
            if status is None:
                continue
            dot_style = "green" if status.ok else "bold red"
            text.append("● ", style=dot_style)
            detail = status.detail if status.ok else f"down: {status.detail}"
            text.append(f"{label} {detail[:48]}  ")
        text.append(f"workers {state.worker_state}  ", style="cyan")
        orders = state.orders.values()
        done = sum(1 for v in orders if v.order.workflow_status == "completed")
        text.append(f"{len(state.orders)} orders · {done} completed · ")
        incidents = len(state.incidents)
        text.append(f"{incidents} incident{'s' if incidents != 1 else ''}", style="bold red" if incidents else "")
        text.append(f"  {mode}  {now:%H:%M:%S}", style="dim")
        self.update(text)
