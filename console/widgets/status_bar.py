"""The header's first line: the live state of Zeebe, REST, Medusa and Slack, and the workers."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from console.events import ConsoleSetup
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


def _kind(setup: ConsoleSetup | None, component: str) -> str:
    """``embedded`` / ``SaaS`` / ``self-managed`` for the engine, ``embedded`` for the shop."""
    if setup is None:
        return ""
    if component == "zeebe":
        return setup.engine_kind
    if component == "medusa" and setup.shop_embedded:
        return "embedded"
    return ""


class StatusBar(Static):
    """One line; re-rendered only when its text changed (an update costs a layout pass)."""

    _shown: str = ""

    def show(self, state: ConsoleState, now: datetime, mode: str) -> None:
        text = Text()
        setup = state.setup
        for component, label in COMPONENTS:
            status = state.backends.get(component)
            if status is None:
                if component == "slack" and setup is not None and not setup.slack:
                    text.append("○ Slack off ", style="dim")
                continue
            dot_style = "green" if status.ok else "bold red"
            text.append("● ", style=dot_style)
            # REST shares the engine's host and Slack's URL is a secret: a dot says enough. A
            # component that is down says so without the reason (it is in the log): with all
            # four down the line still fits 120 columns.
            if not status.ok:
                detail = "down"
            else:
                detail = "" if component in ("zeebe-rest", "slack") else (
                    _kind(setup, component) or _short_url(status.detail))
            text.append(f"{label} {detail[:48]}".rstrip() + " ")
        worker = state.worker_state.split(" (")[0]
        text.append("● ", style=WORKER_DOT.get(worker, "yellow"))
        count = f"{setup.workers} " if setup is not None else ""
        text.append(f"{count}workers  " if worker == "running" else f"{count}workers {worker}  ")
        text.append(f"{len(state.orders)} orders", style="bold")
        text.append(f"  {mode + '  ' if mode else ''}{now:%H:%M:%S}", style="dim")
        if text.plain != self._shown:
            self._shown = text.plain
            self.update(text, layout=False)  # one line, always: no layout pass
