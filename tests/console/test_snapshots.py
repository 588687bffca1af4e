"""Snapshot tests of every screen and dialog at 80×24 and 160×48, frozen clock, pinned data."""

from __future__ import annotations

import pytest

from console.screenshots import LARGE, SMALL, demo_app

MARK_INCIDENTS = ("slash", *"incident", "enter", "asterisk")

SCREENS = {
    "main": (),
    "filter-incident-marked": MARK_INCIDENTS,
    "bulk-retry-dry-run": (*MARK_INCIDENTS, "R"),
    "bulk-retry-outcome": (*MARK_INCIDENTS, "R", "y"),
    "cancel-dry-run": ("down", "c"),
    "audit-log": ("l",),
    "help": ("question_mark",),
}


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, screen, size):
    async def settle(pilot) -> None:
        """Press the keys one by one once the screen is up, then let every refresh and animation
        land (the machine may be loaded)."""
        await pilot.pause()
        for key in SCREENS[screen]:
            await pilot.press(key)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=size, run_before=settle)
