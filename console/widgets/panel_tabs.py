"""The lower panels: side by side on a wide terminal, one at a time behind a tab line on a small one."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static

#: From this many columns the panels sit side by side.
SIDE_BY_SIDE_FROM = 150


class TabLine(Static):
    """``[Incidents 2] Callbacks  Events``: the active panel in brackets."""

    def show(self, titles: list[str], active: int) -> None:
        text = Text()
        for n, title in enumerate(titles):
            if n == active:
                text.append(f" {title} ", style="bold reverse")
            else:
                text.append(f" {title} ", style="dim")
            text.append(" ")
        text.append(" t: next panel", style="dim italic")
        self.update(text, layout=False)  # one line, always: no layout pass


class PanelTabs(Horizontal):
    """Holds the panels (children with a ``title`` attribute); ``cycle`` shows the next one."""

    active = 0

    def on_mount(self) -> None:
        self.fit(self.app.size.width)

    @property
    def panels(self) -> list[Widget]:
        return [child for child in self.children if child.has_class("panel")]

    def fit(self, width: int) -> None:
        """Side by side when wide, tabs when narrow."""
        self.set_class(width < SIDE_BY_SIDE_FROM, "tabbed")
        self._show()

    def cycle(self) -> None:
        self.active = (self.active + 1) % max(1, len(self.panels))
        self._show()

    def retitle(self, index: int, title: str) -> None:
        panels = self.panels
        if panels[index].border_title != title:
            panels[index].border_title = title
            self._show()

    def _show(self) -> None:
        tabbed = self.has_class("tabbed")
        for n, panel in enumerate(self.panels):
            panel.display = not tabbed or n == self.active
        line = self.screen.query_one(TabLine)
        line.display = tabbed
        line.show([str(p.border_title or "") for p in self.panels], self.active)
