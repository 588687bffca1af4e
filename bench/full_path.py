"""``medcam-console bench``: N orders through the whole path on a private embedded engine and shop."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import AliasChoices

from bench.engine_only import process_cpu_s
from console.clients.errors import BackendError
from console.events import Event, StageCompleted
from console.fulfillment import FulfillmentError
from console.orders import OrderSummary
from console.runtime import ConsoleRuntime
from console.settings import Settings
from workers.stages import DECLINE_STAGES, STAGES, STATUS_PAYMENT_DECLINED


def critical_path_s(process: str, delays: tuple[float, ...]) -> float:
    """Seconds of simulated work on the longest path of a completed order."""
    verify, reserve, notify = delays
    if process == "parallel":
        return max(verify, reserve) + notify
    return verify + reserve + notify


def declined_path_s(delays: tuple[float, ...]) -> float:
    """Seconds of simulated work of a declined order: the join, then release and notify."""
    verify, reserve, notify = delays
    return max(verify, reserve) + reserve + notify

#: Settings that would point the bench at real services: it never reads them.
BACKEND_SETTINGS = (
    "zeebe_address", "zeebe_client_id", "zeebe_client_secret", "zeebe_authorization_server_url",
    "zeebe_token_audience", "zeebe_token_scope", "zeebe_rest_address", "camunda_cluster_id",
    "camunda_cluster_region", "medusa_backend_url", "medusa_api_key", "medusa_admin_email",
    "medusa_admin_password", "callback_secret", "slack_webhook_url", "slack_admin_url",
)


def ignored_backend_settings(settings: Settings) -> list[str]:
    """The variables naming real services that ``settings`` (environment, ``.env``) carries."""
    names = []
    for name in BACKEND_SETTINGS:
        if getattr(settings, name) is not None:
            alias = Settings.model_fields[name].validation_alias
            names.append(alias.choices[0] if isinstance(alias, AliasChoices) else name.upper())
    if settings.callback_mode != "demo":
        names.append("MEDCAM_CALLBACK_MODE")
    return names


def private_settings(
    data_dir: Path, delays: tuple[float, ...], *, process: str = "poc", decline_rate: float = 0.0
) -> Settings:
    """The bench's settings: its own embedded engine and shop on free ports, nothing from
    the environment or ``.env`` that names a backend, Slack or a secret."""
    unset: dict[str, Any] = dict.fromkeys(BACKEND_SETTINGS)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        **unset,
        callback_mode="demo",
        data_dir=data_dir,
        stage_delays=delays,
        engine_grpc_port=0,
        engine_rest_port=0,
        shop_port=0,
        auto_start=False,
        # One console: no rival claim can land, so the claim is read back at once.
        claim_settle_s=0.0,
        process=process,
        # MEDCAM_DEMO_DECLINE_RATE: the embedded shop declines that share of the payments.
        demo_decline_rate=decline_rate,  # type: ignore[call-arg]  # the shop engineer's setting
    )


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run_bench(
    orders: int,
    concurrency: int,
    delays: tuple[float, ...],
    timeout_s: float = 600.0,
    data_dir: Path | None = None,
    submitters: int = 1,
    process: str = "poc",
    decline_rate: float = 0.0,
) -> dict[str, Any]:
    """Create ``orders`` orders, then time create-instance → last stage done for each.

    ``submitters`` play that many ``order.placed`` subscribers, each starting orders one
    after another; together they keep at most ``concurrency`` orders in flight.
    ``decline_rate`` asks the embedded shop (MEDCAM_DEMO_DECLINE_RATE) to decline that
    share of the demo orders' payments; only the parallel process has that path.
    """
    if decline_rate and process != "parallel":
        raise ValueError("--decline-rate needs --process parallel (the seed's process has no declined path)")
    if not 0.0 <= decline_rate <= 1.0:
        raise ValueError("--decline-rate must be between 0 and 1")
    with tempfile.TemporaryDirectory(prefix="medcam-bench-") as tmp:
        settings = private_settings(data_dir or Path(tmp), delays, process=process, decline_rate=decline_rate)
        runtime = ConsoleRuntime(settings, workers=True, auto_start=False, feeds=False)
        await runtime.start()
        try:
            return await _measure(runtime, orders, concurrency, delays, timeout_s, submitters, process, decline_rate)
        finally:
            await runtime.stop()


async def _measure(
    runtime: ConsoleRuntime, count: int, concurrency: int, delays: tuple[float, ...], timeout_s: float,
    submitters: int = 1, process: str = "poc", decline_rate: float = 0.0,
) -> dict[str, Any]:
    assert runtime.demo is not None and runtime.fulfillment is not None and runtime.medusa is not None
    creating = asyncio.Semaphore(8)

    async def create() -> dict[str, Any]:
        async with creating:
            return await runtime.demo.create()

    made = await asyncio.gather(*(create() for _ in range(count)))
    orders = [OrderSummary.from_medusa(o) for o in made]
    last_stages = {STAGES[-1].task_type, DECLINE_STAGES[-1].task_type}
    started: dict[str, float] = {}
    finished: dict[str, float] = {}
    failed: list[str] = []
    done_events = {order.id: asyncio.Event() for order in orders}
    all_done = asyncio.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, StageCompleted) and event.stage in last_stages and event.order_id in started:
            finished.setdefault(event.order_id, time.perf_counter())
            done_events[event.order_id].set()
            if len(finished) + len(failed) == count:
                all_done.set()

    runtime.bus.subscribe(on_event)
    runtime.start_background()
    limit = asyncio.Semaphore(max(1, concurrency))
    service = runtime.fulfillment

    async def through(order: OrderSummary) -> None:
        try:
            await done_events[order.id].wait()
        finally:
            limit.release()

    pending = iter(orders)

    async def submit() -> None:
        # One submitter, like one order.placed subscriber: its starts are issued one after
        # another; all submitters together keep at most `concurrency` orders in flight.
        waiting = []
        for order in pending:
            await limit.acquire()
            started[order.id] = time.perf_counter()
            try:
                await service.start(order, by="bench")
            except (FulfillmentError, BackendError) as exc:
                failed.append(f"{order.id}: {exc}")
                limit.release()
                if len(finished) + len(failed) == count:
                    all_done.set()
                continue
            waiting.append(asyncio.get_running_loop().create_task(through(order)))
        await asyncio.gather(*waiting)

    child = runtime.embedded.pid if runtime.embedded else None
    cpu_console, cpu_child = time.process_time(), process_cpu_s(child)
    began = time.perf_counter()
    starters = asyncio.gather(*(submit() for _ in range(max(1, submitters))))
    try:
        await asyncio.wait_for(all_done.wait(), timeout_s)
    except TimeoutError:
        pass
    elapsed = time.perf_counter() - began
    cpu_console = time.process_time() - cpu_console
    cpu_child = process_cpu_s(child) - cpu_child
    starters.cancel()
    await asyncio.gather(starters, return_exceptions=True)

    completed_ids: set[str] = set()
    declined_ids: set[str] = set()
    for order in orders:
        data = await runtime.medusa.get_order(order.id)
        status = (data.get("metadata") or {}).get("workflow_status")
        if data.get("status") == "completed" and status == "completed":
            completed_ids.add(order.id)
        elif status == STATUS_PAYMENT_DECLINED:
            declined_ids.add(order.id)
    incidents = len(await runtime.rest.active_incidents()) if runtime.rest else 0
    latency_of = {o: (finished[o] - started[o]) * 1000 for o in finished}
    latencies = list(latency_of.values())
    critical_ms = critical_path_s(process, delays) * 1000
    declined_ms = declined_path_s(delays) * 1000
    overheads = [max(0.0, lat - (declined_ms if o in declined_ids else critical_ms)) for o, lat in latency_of.items()]
    completed_p50 = _percentile([lat for o, lat in latency_of.items() if o in completed_ids], 50)
    return {
        "orders": count,
        "completed": len(completed_ids),
        "declined": len(declined_ids),
        "incidents": incidents,
        "process": process,
        "decline_rate": decline_rate,
        "concurrency": concurrency,
        "submitters": max(1, submitters),
        "delays_s": list(delays),
        "elapsed_s": round(elapsed, 3),
        "orders_per_s": round(len(finished) / elapsed, 2) if elapsed > 0 else 0.0,
        "latency_ms": {
            "p50": round(_percentile(latencies, 50), 2),
            "p95": round(_percentile(latencies, 95), 2),
            "p99": round(_percentile(latencies, 99), 2),
        },
        # Latency p50 of completed orders over the process's critical path of simulated work
        # (1.0 = no waiting beyond the stages' own time); null with zero delays.
        "inflation": round(completed_p50 / critical_ms, 4) if critical_ms > 0 and completed_ids else None,
        "start_errors": failed[:5],
        "overhead_ms": {"p50": round(_percentile(overheads, 50), 2), "p99": round(_percentile(overheads, 99), 2)},
        # Where the time goes: CPU per order in this process (workers, clients) and in the
        # embedded engine + shop child process.
        "cpu_ms_per_order": {
            "console": round(cpu_console * 1000 / max(1, count), 2),
            "engine_and_shop": round(cpu_child * 1000 / max(1, count), 2),
        },
    }
