"""Polls the REST v2 incident search and publishes IncidentRaised / IncidentResolved on change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from console.bus import EventBus
from console.clients.camunda_rest import CamundaRest, Incident
from console.clients.errors import BackendError
from console.events import BackendStatus, IncidentRaised, IncidentResolved
from workers.stages import STAGE_BY_ELEMENT

#: Maps an instance key to its order id (from the console's state).
OrderLookup = Callable[[int], str | None]


def _stage_of(element_id: str) -> str:
    stage = STAGE_BY_ELEMENT.get(element_id)
    return stage.task_type if stage else element_id


class IncidentPoller:
    """Diffs the set of ACTIVE incidents between polls."""

    def __init__(
        self,
        rest: CamundaRest,
        bus: EventBus,
        order_of: OrderLookup,
        interval_s: float = 2.0,
        now: Callable[[], datetime] | None = None,
        page_size: int = 200,
    ) -> None:
        self._rest = rest
        self._bus = bus
        self._order_of = order_of
        self.interval_s = interval_s
        self.page_size = page_size
        self._now = now or (lambda: datetime.now(UTC))
        self._open: dict[int, Incident] = {}
        self._healthy: bool | None = None

    async def poll_once(self) -> None:
        """One diff; the search is paged to the end, so an incident is never falsely "resolved"."""
        current = {i.key: i for i in await self._rest.active_incidents(limit=self.page_size)}
        for key, incident in current.items():
            if key not in self._open:
                self._bus.publish(
                    IncidentRaised(
                        at=self._now(),
                        order_id=self._order_of(incident.process_instance_key) or "",
                        stage=_stage_of(incident.element_id),
                        job_key=incident.job_key,
                        process_instance_key=incident.process_instance_key,
                        error=incident.error_message,
                        incident_key=key,
                    )
                )
        for key, incident in self._open.items():
            if key not in current:
                self._bus.publish(
                    IncidentResolved(
                        at=self._now(),
                        incident_key=key,
                        process_instance_key=incident.process_instance_key,
                        order_id=self._order_of(incident.process_instance_key),
                    )
                )
        self._open = current

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except BackendError as exc:
                self._report(False, str(exc))
            else:
                self._report(True, self._rest.base_url)
            await asyncio.sleep(self.interval_s)

    def _report(self, ok: bool, detail: str = "") -> None:
        if ok != self._healthy:
            self._healthy = ok
            self._bus.publish(BackendStatus(at=self._now(), component="zeebe-rest", ok=ok, detail=detail))
