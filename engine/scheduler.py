"""Heap of due times (job deadlines and back-offs, timers, message TTLs) fired by a Clock."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable

from .clock import Clock

log = logging.getLogger(__name__)

DueHandler = Callable[[str, int, int], None]


class Scheduler:
    """Calls ``on_due(kind, key, due_ms)`` once the clock reaches ``due_ms``.

    Entries are never removed early: the handler checks whether the entry still matters
    (a job completed before its deadline simply ignores the call).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[int, int, str, int]] = []
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.on_due: DueHandler | None = None

    def schedule(self, due_ms: int, kind: str, key: int) -> None:
        earliest = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (due_ms, next(self._seq), kind, key))
        if self._wake is not None and (earliest is None or due_ms < earliest):
            self._wake.set()

    def wake(self) -> None:
        """Re-check due times now (a manual clock calls this when it moves)."""
        if self._wake is not None:
            self._wake.set()

    def fire_due(self) -> None:
        """Run every handler whose time has come."""
        now = self._clock.now_ms()
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, kind, key = heapq.heappop(heap)
            if self.on_due is not None:
                try:
                    self.on_due(kind, key, due)
                except Exception:  # a bad entry must not stop the scheduler
                    log.exception("scheduled %s for key %s failed", kind, key)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self.fire_due()
            delay = None
            if self._heap:
                delay = max(0.0, (self._heap[0][0] - self._clock.now_ms()) / 1000)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def start(self) -> None:
        self._wake = asyncio.Event()
        subscribe = getattr(self._clock, "subscribe", None)
        if subscribe is not None:
            subscribe(self.wake)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="engine-scheduler")

    async def stop(self) -> None:
        unsubscribe = getattr(self._clock, "unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe(self.wake)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
