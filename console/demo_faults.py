"""The demo fault switch: "the shop is down" on the embedded shop, and what the header shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from console.bus import EventBus
from console.clients.medusa import MedusaAdmin
from console.events import DemoFaults


class ShopFaultsAnswer(Protocol):
    """What ``MedusaAdmin.faults()`` / ``set_faults()`` answer (the shop's fault switch)."""

    callbacks_down: bool
    callback_fail_rate: float
    decline_rate: float


class FaultSwitch:
    """Reads and flips the embedded shop's faults; publishes each state as a DemoFaults event."""

    def __init__(self, medusa: MedusaAdmin, bus: EventBus, now: Callable[[], datetime],
                 stage_jitter: float = 0.0) -> None:
        self._medusa = medusa
        self._bus = bus
        self._now = now
        self._jitter = stage_jitter
        self.current = DemoFaults(at=now(), stage_jitter=stage_jitter)

    async def load(self) -> DemoFaults:
        """Ask the shop which faults are on (publishes them)."""
        return self._publish(await self._medusa.faults())

    async def toggle_shop_down(self) -> DemoFaults:
        """Switch "every status callback gets 500" on or off; returns the new state."""
        wanted = not self.current.callbacks_down
        return self._publish(await self._medusa.set_faults(callbacks_down=wanted))

    def _publish(self, answer: ShopFaultsAnswer) -> DemoFaults:
        faults = DemoFaults(
            at=self._now(),
            callbacks_down=answer.callbacks_down,
            callback_fail_rate=answer.callback_fail_rate,
            decline_rate=answer.decline_rate,
            stage_jitter=self._jitter,
        )
        self.current = faults
        self._bus.publish(faults)
        return faults
