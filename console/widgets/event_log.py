"""The live event log panel: one line per event worth seeing, newest at the bottom."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from console.state import ConsoleState

KEPT = 500


class EventLog(RichLog):
    """Appends only the lines the state logged since the last sync."""

    def on_mount(self) -> None:
        self.max_lines = KEPT
        self._seen = 0

    def sync(self, state: ConsoleState) -> None:
        new = state.log_seq - self._seen
        if new <= 0:
            return
        self._seen = state.log_seq
        for at, line, style in list(state.log)[-min(new, KEPT):]:
            text = Text(f"{at:%H:%M:%S} ", style="dim")
            text.append(line, style=style)
            self.write(text)
