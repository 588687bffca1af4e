"""Stuck orders: a stage running longer than max(floor, factor × the stage's observed p95)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime

from console.events import (
    Event,
    IncidentRaised,
    InstanceCancelled,
    JobActivated,
    OrderSeen,
    OrderStuck,
    StageAbandoned,
    StageCompleted,
)
from protocol.timestamps import parse_timestamp
from workers.stages import STAGES, STATUS_CANCELLED, STATUS_SEQUENCE

#: Durations kept per stage for its p95.
SAMPLES = 500

#: The stage that runs after each metadata ``workflow_status`` (the seed's §2.2).
NEXT_STAGE = {status: stage.task_type for status, stage in zip(STATUS_SEQUENCE, STAGES, strict=False)}
_RANK = {stage.task_type: stage.number for stage in STAGES}
#: Statuses after which nothing runs.
FINAL = frozenset({STATUS_SEQUENCE[-1], STATUS_CANCELLED, "payment_declined"})


def p95(values: deque[float] | list[float]) -> float | None:
    """The 95th percentile (nearest rank), None without samples."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


class StuckWatch:
    """Follows the bus; ``scan`` returns each newly stuck order once per stage it sticks in."""

    def __init__(self, min_s: float = 30.0, factor: float = 3.0) -> None:
        self.min_s = min_s
        self.factor = factor
        self._durations: dict[str, deque[float]] = {}
        #: order id -> (stage task type, when the stage was first activated)
        self._running: dict[str, tuple[str, datetime]] = {}
        #: order id -> the stage it was announced stuck in
        self._announced: dict[str, str] = {}
        self._incident: set[str] = set()

    def threshold(self, stage: str) -> float:
        observed = p95(self._durations.get(stage, ()))
        return max(self.min_s, self.factor * observed) if observed is not None else self.min_s

    def observe(self, event: Event) -> None:
        """Fold one bus event in (subscribe this to the bus)."""
        match event:
            case JobActivated():
                current = self._running.get(event.order_id)
                if current is None or current[0] != event.stage:
                    self._running[event.order_id] = (event.stage, event.at)
            case StageCompleted():
                current = self._running.get(event.order_id)
                if current is not None and current[0] == event.stage:
                    took = (event.at - current[1]).total_seconds()
                    self._durations.setdefault(event.stage, deque(maxlen=SAMPLES)).append(max(0.0, took))
                self._forget(event.order_id)
            case StageAbandoned() | InstanceCancelled():
                self._forget(event.order_id)
            case IncidentRaised():
                self._incident.add(event.order_id)
            case OrderSeen():
                self._seen(event)

    def _seen(self, event: OrderSeen) -> None:
        """Medusa's status says which stage comes next: a console without its own workers (a
        viewer) learns from it alone; with workers, the earlier of the two times counts."""
        order = event.order
        stage = NEXT_STAGE.get(order.workflow_status or "")
        if stage is None:
            if order.workflow_status in FINAL:
                self._forget(order.id)
            return
        current = self._running.get(order.id)
        if current is not None and _RANK[current[0]] >= _RANK[stage]:
            return  # the same stage, or a stale read behind what the workers reported
        since = parse_timestamp(order.metadata.get("last_updated")) or parse_timestamp(
            order.metadata.get("workflow_started_at")) or event.at
        self._running[order.id] = (stage, min(since, event.at))

    def _forget(self, order_id: str) -> None:
        self._running.pop(order_id, None)
        self._incident.discard(order_id)
        self._announced.pop(order_id, None)

    def scan(self, now: datetime, has_incident: Callable[[str], bool] | None = None) -> list[OrderStuck]:
        """Orders that became stuck since the last scan (an order with an incident is not stuck)."""
        found: list[OrderStuck] = []
        for order_id, (stage, since) in self._running.items():
            if self._announced.get(order_id) == stage:
                continue
            if order_id in self._incident and (has_incident is None or has_incident(order_id)):
                continue
            running = (now - since).total_seconds()
            limit = self.threshold(stage)
            if running > limit:
                self._announced[order_id] = stage
                found.append(OrderStuck(at=now, order_id=order_id, stage=stage,
                                        running_s=round(running, 1), threshold_s=round(limit, 1)))
        return found
