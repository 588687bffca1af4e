"""Health of the backends: Zeebe topology and Medusa /health (each second while one is down), Slack from its posts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from console.bus import EventBus
from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin
from console.clients.zeebe import ZeebeGateway
from console.events import BackendStatus, Event, SlackFailed, SlackSent

log = logging.getLogger(__name__)

#: Seconds between two health checks while a component is down (or not known yet): one that
#: comes back is seen within this.
CHECK_INTERVAL_S = 1.0
#: Seconds between two health checks while both answer. A Medusa that stops answering is
#: usually reported sooner by the order feed (every second); this bounds how long a Zeebe
#: outage can go unseen in the header, and halves an idle console's requests.
UP_INTERVAL_S = 2.0


class BackendMonitor:
    """Publishes an ``BackendStatus`` whenever a component's reachability changes.

    ``on_zeebe_up`` runs each time Zeebe answers after not answering (and at the first
    check): it deploys the process, so an engine that was absent at start, or restarted
    empty, is ready for instances. If it raises ``BackendError``, Zeebe counts as down and
    the next check tries again.
    """

    def __init__(
        self,
        zeebe: ZeebeGateway,
        medusa: MedusaAdmin,
        bus: EventBus,
        *,
        zeebe_label: str,
        on_zeebe_up: Callable[[], Awaitable[None]] | None = None,
        interval_s: float = CHECK_INTERVAL_S,
        up_interval_s: float = UP_INTERVAL_S,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._zeebe = zeebe
        self._medusa = medusa
        self._bus = bus
        self._zeebe_label = zeebe_label
        self._on_zeebe_up = on_zeebe_up
        self.interval_s = interval_s
        self.up_interval_s = max(interval_s, up_interval_s)
        self._now = now or (lambda: datetime.now(UTC))
        self._wake = asyncio.Event()
        #: Last published reachability per component (None: not known yet).
        self.state: dict[str, bool | None] = {"zeebe": None, "medusa": None, "slack": None}

    def known(self, component: str, ok: bool) -> None:
        """Record what start-up already found (and published), so only changes follow."""
        self.state[component] = ok

    def poke(self) -> None:
        """Check now instead of at the next tick."""
        self._wake.set()

    @property
    def zeebe_up(self) -> bool:
        return bool(self.state["zeebe"])

    def next_delay(self) -> float:
        """Seconds to the next check: longer while Zeebe and Medusa both answer."""
        if self.state["zeebe"] and self.state["medusa"]:
            return self.up_interval_s
        return self.interval_s

    async def check_once(self) -> None:
        """One round: Zeebe and Medusa side by side."""
        await asyncio.gather(self._check_zeebe(), self._check_medusa())

    async def run(self) -> None:
        """Check forever; a failing check never ends the loop."""
        while True:
            try:
                await self.check_once()
            except Exception:
                log.exception("backend health check failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.next_delay())
            except TimeoutError:
                pass

    def observe(self, event: Event) -> None:
        """Bus subscriber: Slack's state is the outcome of its last post."""
        if isinstance(event, SlackSent):
            self._set("slack", True, "")
        elif isinstance(event, SlackFailed):
            self._set("slack", False, event.error)

    async def _check_zeebe(self) -> None:
        try:
            await self._zeebe.topology()
        except BackendError as exc:
            self._set("zeebe", False, reason_of(exc))
            return
        if self.state["zeebe"] is not True and self._on_zeebe_up is not None:
            try:
                await self._on_zeebe_up()
            except BackendError as exc:
                self._set("zeebe", False, reason_of(exc))
                return
        self._set("zeebe", True, self._zeebe_label)

    async def _check_medusa(self) -> None:
        ok = await self._medusa.health()
        self._set("medusa", ok, self._medusa.base_url if ok else "GET /health failed")

    def _set(self, component: str, ok: bool, detail: str) -> None:
        if self.state[component] == ok:
            return
        self.state[component] = ok
        log.info("%s %s", component, "reachable" if ok else "unreachable", extra={"detail": detail})
        self._bus.publish(BackendStatus(at=self._now(), component=component, ok=ok, detail=detail))


def reason_of(exc: BackendError) -> str:
    """The gRPC code (UNAVAILABLE, DEADLINE_EXCEEDED …) when there is one: it fits the header."""
    if exc.code and exc.code != "ERROR":
        return exc.code
    return " ".join(str(exc).split())[:120]
