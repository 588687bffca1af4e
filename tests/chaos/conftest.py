"""The chaos tier: faults injected into real processes; runs only with MEDCAM_CHAOS=1 (.ci/run sets it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHAOS_DIR = Path(__file__).parent


#: Each scenario's own waits are bounded well below this; it only stops a hung one.
SCENARIO_TIMEOUT_S = 420


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chaos = os.environ.get("MEDCAM_CHAOS") == "1"
    skip = pytest.mark.skip(reason="chaos tier (several minutes): MEDCAM_CHAOS=1 pytest tests/chaos")
    for item in items:
        if CHAOS_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(SCENARIO_TIMEOUT_S) if chaos else skip)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    from tests.chaos.ledger import REPORTED

    if REPORTED:
        terminalreporter.section("chaos counts")
        for line in REPORTED:
            terminalreporter.write_line(line)
