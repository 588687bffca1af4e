"""The status line: where Zeebe and Medusa are, whether they answer, and the order counts."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from console.state import ConsoleState

WORKER_DOT = {"running": "green", "stopped": "dim", "reconnecting": "bold red"}

def _short_url(text: str) -> str:
    """``http://127.0.0.1:8080/v2`` → ``127.0.0.1:8080``: room for the rest of the line."""
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            return text[len(prefix):].split("/", 1)[0]
    return text

class StatusBar(Static):
    """One line; re-rendered only when its text changed (an update costs a layout pass)."""

    _shown: str = ""

    def show(self, state: ConsoleState, now: datetime, mode: str) -> None:
        text = Text()
        for component, label in (("zeebe", "Zeebe"), ("zeebe-rest", "REST"), ("medusa", "Medusa")):
            status = state.backends.get(component)
            if status is None:
                continue
            dot_style = "green" if status.ok else "bold red"
            text.append("● ", style=dot_style)
            # REST shares the engine's host: its dot says enough and leaves room for the rest.
            detail = "" if status.ok and component == "zeebe-rest" else (
                _short_url(status.detail) if status.ok else f"down: {status.detail}")
            text.append(f"{label} {detail[:48]}".rstrip() + " ")
        worker = state.worker_state.split(" (")[0]
        text.append("● ", style=WORKER_DOT.get(worker, "yellow"))
        text.append("workers  " if worker == "running" else f"workers {worker}  ")

        orders = state.orders.values()
        done = sum(1 for v in orders if v.order.workflow_status == "completed")
        text.append(f"{len(state.orders)} orders · {done} done · ")
        incidents = len(state.incidents)
        text.append(f"{incidents} incident{'s' if incidents != 1 else ''}", style="bold red" if incidents else "")
        text.append(f"  {mode + '  ' if mode else ''}{now:%H:%M:%S}", style="dim")
        if text.plain != self._shown:
            self._shown = text.plain
            self.update(text)
