"""The demo fault switch: "the shop is down" on the embedded shop, and what the header shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from console.bus import EventBus
from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin
from console.events import DemoFaults


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

    def _publish(self, answer: dict[str, Any]) -> DemoFaults:
        try:
            faults = DemoFaults(
                at=self._now(),
                callbacks_down=bool(answer.get("callbacks_down", False)),
                callback_fail_rate=float(answer.get("callback_fail_rate") or 0.0),
                stage_jitter=self._jitter,
            )
        except (TypeError, ValueError):
            raise BackendError("medusa", f"the shop's faults answer is not understood: {answer!r}") from None
        self.current = faults
        self._bus.publish(faults)
        return faults
