"""SIGKILL of a standalone ``medcam-console engine`` with 500 orders in flight, headless workers connected."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
from console.clients.zeebe import ZeebeGateway, ZeebeTarget
from tests.chaos.ledger import Shop, Tally, all_done, check_orders, eventually, store_counts
from tests.chaos.processes import Process, console_env, free_ports, reaped

ORDERS = 500


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/health")).status_code == 200
    except httpx.HTTPError:
        return False


async def _start_instances(address: str, order_ids: list[str]) -> None:
    """Play the order.placed subscriber: one instance per order, 32 requests at a time."""
    zeebe = ZeebeGateway(ZeebeTarget(address).channel_factory()())
    limit = asyncio.Semaphore(32)
    await zeebe.deploy(ORDER_FULFILLMENT)  # as the console does (an identical deployment is kept once)

    async def one(order_id: str) -> None:
        async with limit:
            await zeebe.create_instance(ORDER_PROCESS_ID, {"orderId": order_id, "timestamp": datetime.now(UTC).isoformat()})

    try:
        await asyncio.gather(*(one(order_id) for order_id in order_ids))
    finally:
        await zeebe.close()


async def test_engine_killed_with_500_orders_in_flight_all_complete_after_restart(tmp_path):
    grpc_port, rest_port, shop_port = free_ports(3)
    engine_args = ["engine", "--grpc-port", str(grpc_port), "--rest-port", str(rest_port), "--shop-port", str(shop_port)]
    engine_env = console_env(tmp_path / "engine")
    address, rest_url = f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{rest_port}"
    shop = Shop(f"http://127.0.0.1:{shop_port}")
    workers_dir = tmp_path / "workers"
    workers_env = console_env(
        workers_dir, ZEEBE_ADDRESS=address, ZEEBE_REST_ADDRESS=rest_url, MEDUSA_BACKEND_URL=shop.url,
        MEDCAM_STAGE_DELAYS="1,1,1",
    )
    try:
        with reaped() as processes:
            processes.append(engine := Process(engine_args, engine_env, tmp_path))
            await eventually(lambda: _answers(shop.url), within_s=60, what="engine and shop up")
            ids = await shop.create_orders(ORDERS)
            processes.append(workers := Process(["workers"], workers_env, tmp_path))
            await _start_instances(address, ids)

            async def busy() -> tuple[int, int] | None:
                statuses = [(o.get("metadata") or {}).get("workflow_status") for o in await shop.orders()]
                moved = sum(1 for s in statuses if s is not None)
                done = sum(1 for s in statuses if s == "completed")
                return (ORDERS - done, done) if moved >= 100 else None

            in_flight, done = await eventually(busy, within_s=120, what="workers busy on the orders")
            engine.sigkill_group()
            assert not await _answers(shop.url)
            assert workers.alive(), "the workers process must outlive the engine"

            processes.append(Process(engine_args, engine_env, tmp_path))
            await eventually(lambda: _answers(shop.url), within_s=60, what="engine restarted")
            wanted = set(ids)
            problems: list[str] = []
            try:
                await eventually(lambda: all_done(shop, rest_url, wanted), within_s=240, every_s=1.0,
                                 what="every order completed")
            except AssertionError as exc:
                problems.append(str(exc))
            completed = len(await shop.finished(wanted))
            problems += await check_orders(shop, rest_url, wanted)
            assert workers.alive()
            workers.stop()
            counts = store_counts([workers_dir / "console.sqlite3"])
    finally:
        await shop.close()
    Tally.from_store(
        "engine SIGKILL, 500 in flight", orders=ORDERS, completed=completed, counts=counts,
        extra={"in_flight_at_kill": in_flight, "completed_at_kill": done},
    ).report()
    assert not problems, "\n".join(problems[:20])

