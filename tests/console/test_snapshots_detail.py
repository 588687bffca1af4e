"""Snapshot tests of the order detail at 80×24 and 160×48 with pinned data and a frozen clock."""

from __future__ import annotations

import pytest

from console.screenshots import demo_app
from tests.console.test_order_detail import INCIDENT_ORDER, select


async def _open_incident_order(pilot) -> None:
    await select(pilot, INCIDENT_ORDER)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_order_detail(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=_open_incident_order)
