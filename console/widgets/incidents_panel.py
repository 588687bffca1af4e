"""The incidents panel: open Zeebe incidents, from the REST search and the workers' events."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from console.state import ConsoleState
from workers.stages import stage_label

#: Incidents name their stage by task type; the panel shows the short label.


def ago(at: datetime, now: datetime) -> str:
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _short_error(error: str) -> str:
    """The informative tail of a long error (the cause comes last in ours)."""
    text = " ".join(error.split())
    if ": " in text and len(text) > 40:
        text = text.split(": ", 1)[1]
    return text.split(":", 1)[0][:9]


class IncidentsPanel(DataTable):
    """Rebuilt when the set of incidents changes (it is small); row key = job key."""

    COLUMNS = ("Order", "Stage", "Since", "Error", "Incident")
    WIDTHS = (6, 9, 6, 9, 16)

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for name, width in zip(self.COLUMNS, self.WIDTHS, strict=True):
            self.add_column(name, key=name, width=width)
        self._shown: dict[str, tuple[str, ...]] = {}

    def sync(self, state: ConsoleState, now: datetime) -> None:
        rows: dict[str, tuple[str, ...]] = {}
        for slot, incident in sorted(state.incidents.items(), key=lambda kv: kv[1].at, reverse=True):
            view = state.orders.get(incident.order_id or "")
            label = view.order.label if view else (incident.order_id or "?")
            rows[":".join(map(str, slot))] = (
                label,
                stage_label(incident.stage)[:9],
                ago(incident.at, now),
                _short_error(incident.error),
                str(incident.incident_key) if incident.incident_key else "pending",
            )
        for key in set(self._shown) - set(rows):
            self.remove_row(key)
        for key, cells in rows.items():
            old = self._shown.get(key)
            if old is None:
                self.add_row(*(Text(c, style="red") if i == 3 else c for i, c in enumerate(cells)), key=key)
            else:
                for column, before, after in zip(self.COLUMNS, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, column, Text(after, style="red") if column == "Error" else after)
        self._shown = rows
