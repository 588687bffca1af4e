"""Pinned demo data for snapshot tests and ``medcam-console screenshots``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.app import MedcamApp
from console.demo_detail import pinned_detail_loader
from console.events import (
    BackendStatus,
    CallbackAttempt,
    IncidentRaised,
    JobActivated,
    JobFailed,
    OrderSeen,
    StageCompleted,
    WorkerStatus,
)
from console.orders import OrderSummary
from console.state import ConsoleState

#: The fixed "now" of every snapshot and screenshot.
FROZEN_NOW = datetime(2026, 1, 5, 5, 15, 30, tzinfo=UTC)
SIZE = (120, 36)

_CUSTOMERS = [
    ("Aarav Shah", "aarav.shah@example.com", 129.0, "INR"),
    ("Lena Fischer", "lena.fischer@example.com", 58.5, "EUR"),
    ("Maya Iyer", "maya.iyer@example.com", 249.0, "INR"),
    ("Tom Becker", "tom.becker@example.com", 34.0, "EUR"),
    ("Priya Nair", "priya.nair@example.com", 77.25, "EUR"),
    ("Jonas Weber", "jonas.weber@example.com", 412.0, "INR"),
]
_STATUSES = ["completed", "inventory_reserved", "payment_verified", "started", "started", None]


def demo_state() -> ConsoleState:
    """Six orders at every stage, one incident, a few callback attempts."""
    state = ConsoleState()
    at = FROZEN_NOW - timedelta(seconds=20)
    for index, ((name, email, total, currency), status) in enumerate(zip(_CUSTOMERS, _STATUSES, strict=True)):
        order_id = f"order_01JGDEMO{index:04d}"
        metadata = {}
        if status:
            metadata = {"workflow_instance": str(2251799813685251 + index * 7), "workflow_status": status}
        first, last = name.split()
        order = OrderSummary(
            id=order_id, display_id=1001 + index, status="completed" if status == "completed" else "pending",
            email=email, customer=f"{first} {last}", total=total, currency=currency, item_count=2,
            created_at=(at + timedelta(seconds=index)).isoformat(), updated_at=at.isoformat(), metadata=metadata,
        )
        state.apply(OrderSeen(at=at, order=order))
    key = 2251799813685251
    state.apply(JobActivated(at=FROZEN_NOW - timedelta(seconds=1), order_id="order_01JGDEMO0001",
                             stage="send-notification", job_key=key + 100, process_instance_key=key + 7,
                             retries=3, delay_s=1.5))
    state.apply(JobActivated(at=FROZEN_NOW - timedelta(seconds=1), order_id="order_01JGDEMO0002",
                             stage="reserve-inventory", job_key=key + 101, process_instance_key=key + 14,
                             retries=3, delay_s=3.0))
    state.apply(StageCompleted(at=at, order_id="order_01JGDEMO0003", stage="verify-payment",
                               job_key=key + 102, process_instance_key=key + 21))
    for attempt, delay in ((1, 1.0), (2, 2.0), (3, None)):
        state.apply(CallbackAttempt(
            at=FROZEN_NOW - timedelta(seconds=12 - attempt * 3), order_id="order_01JGDEMO0004",
            stage="reserve-inventory", status="inventory_reserved", attempt=attempt, max_attempts=3, ok=False,
            http_status=500, error="HTTP 500: Internal server error", latency_ms=3.0 + attempt, next_delay_s=delay))
    state.apply(JobFailed(at=FROZEN_NOW - timedelta(seconds=2), order_id="order_01JGDEMO0004",
                          stage="reserve-inventory", job_key=key + 103, process_instance_key=key + 28,
                          retries_left=0, backoff_ms=5000, error="status callback failed: HTTP 500"))
    state.apply(IncidentRaised(at=FROZEN_NOW - timedelta(seconds=2), order_id="order_01JGDEMO0004",
                               stage="reserve-inventory", job_key=key + 103, process_instance_key=key + 28,
                               error="status callback 'inventory_reserved' for order order_01JGDEMO0004 "
                                     "failed: HTTP 500: Internal server error", incident_key=key + 104))
    state.apply(CallbackAttempt(at=FROZEN_NOW - timedelta(seconds=1), order_id="order_01JGDEMO0000",
                                stage="send-notification", status="completed", attempt=1, max_attempts=3,
                                ok=True, http_status=200, error=None, latency_ms=4.2, next_delay_s=None))
    state.apply(BackendStatus(at=at, component="zeebe", ok=True, detail="127.0.0.1:26500"))
    state.apply(BackendStatus(at=at, component="zeebe-rest", ok=True))
    state.apply(BackendStatus(at=at, component="medusa", ok=True, detail="http://127.0.0.1:9000"))
    state.apply(WorkerStatus(at=at, state="running"))
    return state


def demo_app() -> MedcamApp:
    """The main screen with the pinned data and a frozen clock (no backends)."""
    state = demo_state()
    return MedcamApp(state=state, clock=lambda: FROZEN_NOW, mode="demo data",
                     detail_loader=pinned_detail_loader(state, FROZEN_NOW))


async def _export(output: Path) -> list[Path]:
    paths: list[Path] = []
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        paths.append(Path(app.save_screenshot("main.svg", str(output))))
        await pilot.press("question_mark")
        await pilot.pause()
        paths.append(Path(app.save_screenshot("help.svg", str(output))))
        await pilot.press("escape", "down", "c")
        await pilot.pause()
        paths.append(Path(app.save_screenshot("cancel-confirm.svg", str(output))))
        await pilot.press("escape", "enter")  # the order with the incident
        await app.workers.wait_for_complete()
        await pilot.pause()
        paths.append(Path(app.save_screenshot("order-detail.svg", str(output))))
    return paths


def export_screenshots(output: Path) -> list[Path]:
    """Write the screens as SVG files into ``output``; returns their paths."""
    output.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_export(output))
