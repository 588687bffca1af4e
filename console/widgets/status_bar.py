"""The status line: the live state of Zeebe, REST, Medusa and Slack, the workers, the order counts."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from console.state import ConsoleState

WORKER_DOT = {"running": "green", "stopped": "dim", "reconnecting": "bold red"}
#: The components with a dot, in order; each appears once its state is known.
COMPONENTS = (("zeebe", "Zeebe"), ("zeebe-rest", "REST"), ("medusa", "Medusa"), ("slack", "Slack"))

def _short_url(text: str) -> str:
    """``http://127.0.0.1:8080/v2`` → ``127.0.0.1:8080``: room for the rest of the line."""
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            return text[len(prefix):].split("/", 1)[0]
    return text

class StatusBar(Static):
    """One line; re-rendered only when its text changed (an update costs a layout pass)."""

    _shown: str = ""
    _done: tuple[int, int] = (-1, 0)  # (state version, orders completed then)

    def show(self, state: ConsoleState, now: datetime, mode: str) -> None:
        text = Text()
        for component, label in COMPONENTS:
            status = state.backends.get(component)
            if status is None:
                continue
            dot_style = "green" if status.ok else "bold red"
            text.append("● ", style=dot_style)
            # REST shares the engine's host and Slack's URL is a secret: a dot says enough. A
            # component that is down says so without the reason (it is in the log): with all
            # four down the line still fits 120 columns.
            if not status.ok:
                detail = "down"
            else:
                detail = "" if component in ("zeebe-rest", "slack") else _short_url(status.detail)
            text.append(f"{label} {detail[:48]}".rstrip() + " ")
        worker = state.worker_state.split(" (")[0]
        text.append("● ", style=WORKER_DOT.get(worker, "yellow"))
        text.append("workers  " if worker == "running" else f"workers {worker}  ")

        if self._done[0] != state.version:  # count again only after something changed
            self._done = (state.version, sum(1 for v in state.orders.values() if v.order.workflow_status == "completed"))
        done = self._done[1]
        text.append(f"{len(state.orders)} orders · {done} done · ")
        incidents = len(state.incidents)
        text.append(f"{incidents} incident{'s' if incidents != 1 else ''}", style="bold red" if incidents else "")
        text.append(f"  {mode + '  ' if mode else ''}{now:%H:%M:%S}", style="dim")
        if text.plain != self._shown:
            self._shown = text.plain
            self.update(text)
