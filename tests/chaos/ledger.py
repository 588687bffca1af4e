"""What the chaos tier checks after a fault: every order done exactly once, nothing backwards, counts."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from bpmn import ORDER_PROCESS_ID
from console.clients.camunda_rest import CamundaRest
from console.clients.medusa import MedusaAdmin
from console.demo_orders import DemoOrderMaker
from protocol.progress import WORKFLOW_SEQUENCE

T = TypeVar("T")

#: Every tally reported in this run (conftest prints them in the terminal summary).
REPORTED: list[str] = []

#: The statuses a status callback applies (``started`` is the console's own write).
STAGE_STATUSES = WORKFLOW_SEQUENCE[1:]
_RANK = {status: rank for rank, status in enumerate(WORKFLOW_SEQUENCE)}


async def eventually(probe: Callable[[], Awaitable[T]], *, within_s: float, every_s: float = 0.25,
                     what: str = "condition") -> T:
    """Poll ``probe`` (external state: another process's shop or engine) until it is truthy."""
    deadline = time.monotonic() + within_s
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not reached within {within_s:g} s (last: {value!r})")
        await asyncio.sleep(every_s)


@dataclass
class Tally:
    """The counts each scenario reports."""

    scenario: str
    orders: int = 0
    completed: int = 0
    callback_retries: int = 0
    incidents_raised: int = 0
    incidents_resolved: int = 0
    drift_repaired: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_store(cls, scenario: str, orders: int, completed: int, counts: dict[str, int],
                   extra: dict[str, object]) -> Tally:
        """The tally of a scenario whose counts come from ``store_counts``."""
        kept = ("callback_retries", "incidents_raised", "incidents_resolved", "drift_repaired")
        return cls(scenario, orders, completed, **{k: counts[k] for k in kept}, extra=extra)

    def report(self) -> str:
        """Print the counts and keep them for the end-of-run summary."""
        line = json.dumps(asdict(self), separators=(", ", ": "))
        print(f"CHAOS {line}", flush=True)
        REPORTED.append(line)
        return line


class Shop:
    """The shop as the tests see it: its Admin API and the embedded shop's metadata history."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = MedusaAdmin(url)
        self._http = httpx.AsyncClient(base_url=url, timeout=15)

    async def close(self) -> None:
        await self.admin.close()
        await self._http.aclose()

    async def orders(self) -> list[dict]:
        """Every order (paged)."""
        found: list[dict] = []
        while True:
            page, count = await self.admin.list_orders(limit=200, offset=len(found), order="created_at")
            found.extend(page)
            if not page or len(found) >= count:
                return found

    async def finished(self, order_ids: set[str]) -> set[str]:
        """The ids among ``order_ids`` whose order and metadata both say completed."""
        return {o["id"] for o in await self.orders()
                if o["id"] in order_ids and o["status"] == "completed"
                and (o.get("metadata") or {}).get("workflow_status") == "completed"}

    async def create_orders(self, count: int, concurrency: int = 8) -> list[str]:
        """Create ``count`` demo orders as Medusa makes them (draft, then convert); returns their ids."""
        maker = DemoOrderMaker(self.admin, seed=count)
        limit = asyncio.Semaphore(concurrency)

        async def one() -> str:
            async with limit:
                return (await maker.create())["id"]

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def history(self, order_id: str) -> list[dict]:
        response = await self._http.get(f"/medcam/orders/{order_id}/metadata-history")
        response.raise_for_status()
        return response.json()["writes"]


async def active_instances(rest_url: str) -> int:
    """How many process instances the engine still runs (the scenarios' engines are private)."""
    async with httpx.AsyncClient(base_url=rest_url, timeout=15) as http:
        response = await http.post("/v2/process-instances/search",
                                   json={"filter": {"state": "ACTIVE"}, "page": {"limit": 1}})
        response.raise_for_status()
        return int(response.json()["page"]["totalItems"])


async def all_done(shop: Shop, rest_url: str, order_ids: set[str]) -> bool:
    """Every order completed in the shop and no instance left running in the engine."""
    try:
        return await shop.finished(order_ids) == order_ids and await active_instances(rest_url) == 0
    except httpx.HTTPError:
        return False  # a backend restarting: not done yet


def history_faults(order_id: str, writes: list[dict]) -> list[str]:
    """What is wrong in one order's metadata history: a status moved backwards, a stage applied twice."""
    faults = []
    best = -1
    for write in writes:
        rank = _RANK.get(write["workflow_status"] or "")
        if rank is None:
            continue
        if rank < best:
            faults.append(f"{order_id}: workflow_status moved back to {write['workflow_status']} (seq {write['seq']})")
        best = max(best, rank)
    # A status callback stamps last_updated; one stage applied twice leaves two stamps.
    stamps: dict[str, set[str]] = {}
    for write in writes:
        if write["workflow_status"] in STAGE_STATUSES and write["last_updated"]:
            stamps.setdefault(write["workflow_status"], set()).add(write["last_updated"])
    for status, seen in stamps.items():
        if len(seen) > 1:
            faults.append(f"{order_id}: {status} applied {len(seen)} times")
    for status in STAGE_STATUSES:
        if status not in stamps:
            faults.append(f"{order_id}: {status} never applied")
    return faults


async def check_orders(shop: Shop, rest_url: str, order_ids: set[str]) -> list[str]:
    """Every order: completed, exactly one COMPLETED instance, a clean metadata history."""
    problems: list[str] = []
    orders = {o["id"]: o for o in await shop.orders() if o["id"] in order_ids}
    rest = CamundaRest(rest_url)
    limit = asyncio.Semaphore(16)

    async def one(order_id: str) -> None:
        async with limit:
            order = orders.get(order_id)
            if order is None:
                problems.append(f"{order_id}: missing from the shop")
                return
            meta = order.get("metadata") or {}
            if order["status"] != "completed" or meta.get("workflow_status") != "completed":
                problems.append(f"{order_id}: stuck (status {order['status']}, workflow_status {meta.get('workflow_status')})")
            instances = await rest.instances_with_variable(ORDER_PROCESS_ID, "orderId", order_id)
            if len(instances) != 1:
                problems.append(f"{order_id}: {len(instances)} process instances")
            elif instances[0].get("state") != "COMPLETED":
                problems.append(f"{order_id}: instance {instances[0].get('processInstanceKey')} is {instances[0].get('state')}")
            recorded = meta.get("workflow_instance")
            if recorded and instances and str(instances[0].get("processInstanceKey")) != str(recorded):
                problems.append(f"{order_id}: workflow_instance {recorded} is not its instance")
            problems.extend(history_faults(order_id, await shop.history(order_id)))

    try:
        await asyncio.gather(*(one(order_id) for order_id in sorted(order_ids)))
    finally:
        await rest.close()
    return problems


def store_counts(store_paths: list[Path]) -> dict[str, int]:
    """Counts from consoles' local stores (what their workers and pollers reported)."""
    counts = {"callback_retries": 0, "incidents_raised": 0, "incidents_resolved": 0, "drift_repaired": 0,
              "slack_failed": 0}
    for path in store_paths:
        if not path.exists():
            continue
        conn = sqlite3.connect(path)
        try:
            counts["callback_retries"] += conn.execute(
                "SELECT count(*) FROM callback_attempts WHERE attempt > 1").fetchone()[0]
            raised = conn.execute(
                "SELECT DISTINCT json_extract(payload, '$.order_id') || ':' || json_extract(payload, '$.stage') "
                "FROM events WHERE kind = 'IncidentRaised'").fetchall()
            counts["incidents_raised"] += len(raised)
            counts["incidents_resolved"] += conn.execute(
                "SELECT count(DISTINCT json_extract(payload, '$.incident_key')) FROM events "
                "WHERE kind = 'IncidentResolved'").fetchone()[0]
            counts["drift_repaired"] += conn.execute(
                "SELECT count(*) FROM audit WHERE action LIKE '%repair%' AND outcome = 'ok'").fetchone()[0]
            counts["slack_failed"] += conn.execute(
                "SELECT count(*) FROM events WHERE kind = 'SlackFailed'").fetchone()[0]
        finally:
            conn.close()
    return counts
