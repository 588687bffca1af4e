"""The audit log (`l`): who did what, when, on which orders and with what outcome, from the local store."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from console.store import AuditEntry

AuditSource = Callable[[], list[AuditEntry]]
Labeller = Callable[[str | None], str]

OUTCOME_STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow", "unchecked": "yellow"}


class AuditLogScreen(ModalScreen[None]):
    """Newest first; `ctrl+r` reads the store again."""

    BINDINGS = [
        Binding("escape,l,q", "app.pop_screen", "Close", id="audit-close"),
        Binding("ctrl+r", "reload", "Reload", id="audit-reload"),
    ]

    def __init__(self, source: AuditSource, label: Labeller) -> None:
        super().__init__()
        self.source = source
        self.label = label

    def compose(self) -> ComposeResult:
        with Vertical(id="audit-body"):
            yield Label("Audit log: newest first (escape closes, ctrl+r reloads)", id="audit-title")
            yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in (("When (UTC)", 14), ("Who", 18), ("Action", 11), ("Order", 7), ("Outcome", 9),
                            ("Detail", 60)):
            table.add_column(name, key=name, width=width)
        self.action_reload()
        table.focus()

    def action_reload(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        entries = self.source()
        for n, entry in enumerate(entries):
            table.add_row(
                entry.at[5:19].replace("T", " "),
                f"{entry.user}@{entry.console}" if entry.console else entry.user,
                entry.action,
                self.label(entry.order_id) if entry.order_id else "—",
                Text(entry.outcome, style=OUTCOME_STYLE.get(entry.outcome.split(" ")[0].rstrip(","), "")),
                entry.detail,
                key=str(n),
            )
        self.query_one("#audit-title", Label).update(
            f"Audit log: {len(entries)} entries, newest first (escape closes, ctrl+r reloads)")
