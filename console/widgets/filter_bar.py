"""The `/` filter line: words that must all match; incident, stuck, drift, declined, marked are flags."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

PLACEHOLDER = "filter: id, #display id, email, customer, status, stage, error · incident stuck drift declined marked"


class FilterBar(Input):
    """Posts ``Changed`` as the operator types; enter keeps the filter, escape clears it."""

    # Priority, and the focus leaves at once: keys typed right behind enter or escape are
    # the screen's again (over SSH a burst of keys arrives in one read).
    BINDINGS = [
        Binding("escape", "clear_filter", "Clear filter", id="filter-clear", priority=True),
        Binding("enter", "keep_filter", "Keep filter", id="filter-keep", priority=True),
    ]

    class Done(Message):
        """The operator left the filter line (``cleared`` when it was emptied with escape)."""

        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def __init__(self, **kwargs: object) -> None:
        super().__init__(placeholder=PLACEHOLDER, **kwargs)  # type: ignore[arg-type]

    def action_clear_filter(self) -> None:
        self.value = ""
        self.screen.set_focus(None)
        self.post_message(self.Done(cleared=True))

    def action_keep_filter(self) -> None:
        self.screen.set_focus(None)
        self.post_message(self.Done(cleared=False))
