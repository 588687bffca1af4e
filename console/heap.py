"""Keeps garbage-collection pauses short as orders pile up: the long-lived heap is frozen."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: The first freeze once this many orders are held; the next each time the count has grown
#: by GROWTH (so a console that loads 10,000 orders freezes about six times, then rests).
FIRST_AT = 1000
GROWTH = 1.5
CHECK_S = 2.0
#: Collector thresholds: a young collection after 20,000 net allocations instead of 700 (one
#: refresh of a big table allocates more than that), the oldest generation after 50 middle
#: ones instead of 10. With 10,000 orders the default thresholds put 40–110 ms collections on
#: about one keypress in ten.
THRESHOLDS = (20_000, 20, 50)


def tune_collector() -> None:
    """Use THRESHOLDS for this process (the console's, where the screen and the workers run)."""
    gc.set_threshold(*THRESHOLDS)


class HeapSettler:
    """Collects, then freezes what survived, whenever the order count has grown enough.

    A full collection walks every tracked object; with 10,000 orders that is a pause of
    about 180 ms on this machine, which lands on a keypress sooner or later. Frozen objects
    are skipped by later collections (reference counting still frees them). The orders a
    console holds live as long as the console, so freezing them loses nothing; frozen garbage
    in a reference cycle waits for the next settle, which unfreezes and collects everything.
    """

    def __init__(self, count: Callable[[], int], *, first_at: int = FIRST_AT, growth: float = GROWTH) -> None:
        self._count = count
        self._next = first_at
        self._growth = growth
        self.freezes = 0

    def settle_if_grown(self) -> bool:
        """Collect and freeze when the count reached the next mark; True when it did."""
        held = self._count()
        if held < self._next:
            return False
        self.settle(held)
        return True

    def settle(self, held: int | None = None) -> None:
        """Collect and freeze now (the screen calls it once its first page of orders is drawn:
        its widgets and render caches are long-lived too)."""
        held = self._count() if held is None else held
        started = time.perf_counter()
        gc.unfreeze()  # what an earlier freeze kept and has since become garbage goes now
        gc.collect()
        gc.freeze()
        self.freezes += 1
        self._next = max(self._next, int(held * self._growth))
        log.info("heap frozen at %d orders in %.0f ms (%d objects frozen)", held,
                 (time.perf_counter() - started) * 1000, gc.get_freeze_count())

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_S)
            self.settle_if_grown()
