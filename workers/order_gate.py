"""One metadata write per order in flight: status callbacks and the console's writes take turns.

Medusa merges order metadata read-modify-write, so two writes to one order that overlap can
carry an older ``workflow_status`` back over a newer one. Writers in one process that hold
the order's gate for each write never overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class OrderGate:
    """A lock per order id, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, order_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(order_id) or (asyncio.Lock(), 0)
        self._locks[order_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[order_id]
            if users <= 1:
                del self._locks[order_id]
            else:
                self._locks[order_id] = (lock, users - 1)

    def __len__(self) -> int:
        """Orders with a write in flight or waiting."""
        return len(self._locks)
