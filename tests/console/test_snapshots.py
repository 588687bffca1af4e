"""Snapshot tests of the screens at 120×36 with a frozen clock and pinned data."""

from __future__ import annotations

from console.screenshots import SIZE, demo_app


def test_main_screen(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE)


def test_help_screen(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, press=["question_mark"])


def test_cancel_asks_first(snap_compare):
    """``c`` on the selected order opens the confirm dialog, focused on the safe answer."""
    assert snap_compare(demo_app(), terminal_size=SIZE, press=["down", "c"])
