"""Pinned demo data for snapshot tests and ``medcam-console screenshots``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.app import MedcamApp
from console.bulk import BulkItem, Outcome
from console.demo_detail import pinned_detail_loader
from console.events import (
    BackendStatus,
    CallbackAttempt,
    ConsoleSetup,
    DemoFaults,
    IncidentRaised,
    InstanceStarted,
    JobActivated,
    JobFailed,
    OrderSeen,
    OrderStuck,
    StageCompleted,
    WorkerStatus,
)
from console.orders import OrderSummary
from console.state import ConsoleState
from console.store import AuditEntry

#: The fixed "now" of every snapshot and screenshot.
FROZEN_NOW = datetime(2026, 1, 5, 5, 15, 30, tzinfo=UTC)
SIZE = (120, 36)
SMALL = (80, 24)
LARGE = (160, 48)

_CUSTOMERS = [
    ("Aarav Shah", "aarav.shah@example.com", 129.0, "INR"),
    ("Lena Fischer", "lena.fischer@example.com", 58.5, "EUR"),
    ("Maya Iyer", "maya.iyer@example.com", 249.0, "INR"),
    ("Tom Becker", "tom.becker@example.com", 34.0, "EUR"),
    ("Priya Nair", "priya.nair@example.com", 77.25, "EUR"),
    ("Jonas Weber", "jonas.weber@example.com", 412.0, "INR"),
    ("Ishaan Rao", "ishaan.rao@example.com", 99.0, "INR"),
    ("Sofia Marino", "sofia.marino@example.com", 18.9, "EUR"),
    ("Kavya Menon", "kavya.menon@example.com", 310.0, "INR"),
    ("Felix Braun", "felix.braun@example.com", 45.0, "EUR"),
]
_STATUSES = ["completed", "inventory_reserved", "payment_verified", "started", "started", None,
             "completed", "started", "started", "completed"]
_KEY = 2251799813685251
#: Orders (by index) whose reserve-inventory callback gave up: incidents in the demo.
_INCIDENTS = (4, 8)


def _order_id(index: int) -> str:
    return f"order_01JGDEMO{index:04d}"


def _seen(state: ConsoleState, index: int, status: str | None, at: datetime) -> None:
    name, email, total, currency = _CUSTOMERS[index]
    metadata = {}
    if status:
        metadata = {"workflow_instance": str(_KEY + index * 7), "workflow_status": status}
    order = OrderSummary(
        id=_order_id(index), display_id=1001 + index, status="completed" if status == "completed" else "pending",
        email=email, customer=name, total=total, currency=currency, item_count=2,
        created_at=(FROZEN_NOW - timedelta(seconds=20 + 37 * (len(_CUSTOMERS) - index))).isoformat(),
        updated_at=at.isoformat(), metadata=metadata,
    )
    state.apply(OrderSeen(at=at, order=order))


def demo_state() -> ConsoleState:
    """Ten orders at every stage, two incidents, a stuck order, callback attempts, a fault on."""
    state = ConsoleState()
    at = FROZEN_NOW - timedelta(seconds=20)
    for index, status in enumerate(_STATUSES):
        _seen(state, index, "started" if status == "completed" else status, at - timedelta(minutes=5))
    for index, status in enumerate(_STATUSES):
        if status == "completed":  # completions over the last minutes feed the sparkline
            _seen(state, index, status, FROZEN_NOW - timedelta(seconds=25 + 7 * index))
    state.apply(InstanceStarted(at=at, order_id=_order_id(7), process_instance_key=_KEY + 49))
    state.apply(JobActivated(at=FROZEN_NOW - timedelta(seconds=1), order_id=_order_id(1),
                             stage="send-notification", job_key=_KEY + 100, process_instance_key=_KEY + 7,
                             retries=3, delay_s=1.5))
    state.apply(JobActivated(at=FROZEN_NOW - timedelta(seconds=1), order_id=_order_id(2),
                             stage="reserve-inventory", job_key=_KEY + 101, process_instance_key=_KEY + 14,
                             retries=3, delay_s=3.0))
    state.apply(StageCompleted(at=at, order_id=_order_id(3), stage="verify-payment",
                               job_key=_KEY + 102, process_instance_key=_KEY + 21))
    state.apply(JobActivated(at=FROZEN_NOW - timedelta(seconds=95), order_id=_order_id(7),
                             stage="verify-payment", job_key=_KEY + 106, process_instance_key=_KEY + 49,
                             retries=3, delay_s=2.0))
    state.apply(OrderStuck(at=FROZEN_NOW - timedelta(seconds=65), order_id=_order_id(7), stage="verify-payment",
                           running_s=30.5, threshold_s=30.0))
    for index in _INCIDENTS:
        order_id, instance = _order_id(index), _KEY + index * 7
        state.apply(StageCompleted(at=at, order_id=order_id, stage="verify-payment",
                                   job_key=_KEY + 110 + index, process_instance_key=instance))
        for attempt, delay in ((1, 1.0), (2, 2.0), (3, None)):
            state.apply(CallbackAttempt(
                at=FROZEN_NOW - timedelta(seconds=12 - attempt * 3), order_id=order_id,
                stage="reserve-inventory", status="inventory_reserved", attempt=attempt, max_attempts=3,
                ok=False, http_status=500, error="HTTP 500: Internal server error", latency_ms=3.0 + attempt,
                next_delay_s=delay))
        state.apply(JobFailed(at=FROZEN_NOW - timedelta(seconds=2), order_id=order_id,
                              stage="reserve-inventory", job_key=_KEY + 120 + index, process_instance_key=instance,
                              retries_left=0, backoff_ms=5000, error="status callback failed: HTTP 500"))
        state.apply(IncidentRaised(at=FROZEN_NOW - timedelta(seconds=2), order_id=order_id,
                                   stage="reserve-inventory", job_key=_KEY + 120 + index,
                                   process_instance_key=instance,
                                   error=f"status callback 'inventory_reserved' for order {order_id} "
                                         "failed: HTTP 500: Internal server error", incident_key=_KEY + 130 + index))
    state.apply(CallbackAttempt(at=FROZEN_NOW - timedelta(seconds=1), order_id=_order_id(0),
                                stage="send-notification", status="completed", attempt=1, max_attempts=3,
                                ok=True, http_status=200, error=None, latency_ms=4.2, next_delay_s=None))
    state.apply(BackendStatus(at=at, component="zeebe", ok=True, detail="127.0.0.1:26500"))
    state.apply(BackendStatus(at=at, component="zeebe-rest", ok=True))
    state.apply(BackendStatus(at=at, component="medusa", ok=True, detail="http://127.0.0.1:9000"))
    state.apply(ConsoleSetup(at=at, engine_kind="embedded", shop_embedded=True, slack=False, workers=3))
    state.apply(WorkerStatus(at=at, state="running"))
    state.apply(DemoFaults(at=FROZEN_NOW - timedelta(seconds=30), callbacks_down=True))
    return state


def demo_audit() -> list[AuditEntry]:
    """A pinned audit log: what an operator did during the demo outage."""
    def entry(seconds: int, action: str, index: int | None, outcome: str, detail: str) -> AuditEntry:
        when = (FROZEN_NOW - timedelta(seconds=seconds)).isoformat()
        order = _order_id(index) if index is not None else None
        return AuditEntry(when, "ops", "ops-host:4242", action, order, outcome, detail)

    return [
        entry(5, "bulk-retry", None, "2 ok", "orders: #1005 #1009"),
        entry(6, "retry", 8, "ok", "1 incident(s) resolved with 3 retries; gone"),
        entry(6, "retry", 4, "ok", "1 incident(s) resolved with 3 retries; gone"),
        entry(80, "cancel", 5, "ok", "instance 2251799813685286"),
        entry(300, "auto-start", 9, "ok", "instance 2251799813685314"),
        entry(301, "start", 3, "ok", "instance 2251799813685272"),
    ]


async def demo_bulk(action: str, items: list[BulkItem], retries: int,
                    landed: Callable[[Outcome], None]) -> list[Outcome]:
    """Pinned outcomes for the bulk dialog's screenshot (no backend behind the demo data)."""
    outcomes = []
    for item in items:
        if item.runnable:
            outcome = Outcome(item.order_id, True, "incident gone" if action == "retry"
                              else "cancelled")
            landed(outcome)
            outcomes.append(outcome)
    return outcomes


def demo_app() -> MedcamApp:
    """The main screen with the pinned data and a frozen clock (no backends)."""
    state = demo_state()
    return MedcamApp(state=state, clock=lambda: FROZEN_NOW, mode="demo data", audit=demo_audit,
                     bulk_runner=demo_bulk, detail_loader=pinned_detail_loader(state, FROZEN_NOW))


#: Each screenshot: file name, terminal size, keys pressed on a fresh demo app.
SHOTS: tuple[tuple[str, tuple[int, int], tuple[str, ...]], ...] = (
    ("main.svg", SIZE, ()),
    ("main-80x24.svg", SMALL, ()),
    ("filter-incident.svg", SIZE, ("slash", *"incident", "enter", "asterisk")),
    ("bulk-retry.svg", SIZE, ("slash", *"incident", "enter", "asterisk", "R")),
    ("bulk-retry-outcome.svg", SIZE, ("slash", *"incident", "enter", "asterisk", "R", "y")),
    ("audit-log.svg", SIZE, ("l",)),
    ("help.svg", SIZE, ("question_mark",)),
    ("order-detail.svg", SIZE, ("slash", *"#1005", "enter", "enter")),  # an order with an incident
)


async def _shoot(output: Path, name: str, size: tuple[int, int], keys: tuple[str, ...]) -> Path:
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await app.workers.wait_for_complete()  # the detail screen loads in a worker
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        return Path(app.save_screenshot(name, str(output)))


async def _export(output: Path) -> list[Path]:
    return [await _shoot(output, name, size, keys) for name, size, keys in SHOTS]


def export_screenshots(output: Path) -> list[Path]:
    """Write the screens as SVG files into ``output``; returns their paths."""
    output.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_export(output))
