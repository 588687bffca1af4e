"""SIGKILL of the console (its embedded engine and shop child exits with it) with 200 orders in flight."""

from __future__ import annotations

import httpx

from tests.chaos.ledger import Shop, Tally, all_done, check_orders, eventually, store_counts
from tests.chaos.processes import Process, console_env, free_ports, reaped

ORDERS = 200
IN_FLIGHT = ("started", "payment_verified", "inventory_reserved")


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/health")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_console_killed_with_200_orders_in_flight_all_complete_after_restart(tmp_path):
    grpc_port, rest_port, shop_port = free_ports(3)
    data_dir = tmp_path / "data"
    env = console_env(
        data_dir,
        MEDCAM_ENGINE_GRPC_PORT=grpc_port, MEDCAM_ENGINE_REST_PORT=rest_port, MEDCAM_SHOP_PORT=shop_port,
        MEDCAM_DEMO_ORDERS=0, MEDCAM_STAGE_DELAYS="2,2,2", MEDCAM_POLL_INTERVAL_S="0.5",
        MEDCAM_CLAIM_SETTLE_S="0.1",
        # The restarted console has another id (host:pid): the dead one's claims go stale in 5 s.
        MEDCAM_CLAIM_TTL_S="5",
    )
    shop = Shop(f"http://127.0.0.1:{shop_port}")
    rest_url = f"http://127.0.0.1:{rest_port}"
    try:
        with reaped() as processes:
            # The 200 orders exist before the console starts, so that all of them go in flight together.
            engine = Process(["engine", "--grpc-port", str(grpc_port), "--rest-port", str(rest_port),
                              "--shop-port", str(shop_port)], env, tmp_path)
            processes.append(engine)
            await eventually(lambda: _answers(shop.url), within_s=60, what="engine command's shop")
            ids = set(await shop.create_orders(ORDERS))
            engine.stop()
            await eventually(lambda: _gone(shop.url), within_s=20, what="engine command stopped")

            first = Process([], env, tmp_path, terminal=True)
            processes.append(first)

            async def in_flight() -> tuple[int, int] | None:
                if not await _answers(shop.url):
                    return None
                orders = await shop.orders()
                statuses = [(o.get("metadata") or {}).get("workflow_status") for o in orders]
                running = sum(1 for s in statuses if s in IN_FLIGHT)
                done = sum(1 for s in statuses if s == "completed")
                return (running, done) if running >= ORDERS * 3 // 4 else None

            running, done = await eventually(in_flight, within_s=120, what="three quarters of the orders in flight")
            first.sigkill()
            await eventually(lambda: _gone(shop.url), within_s=20, what="embedded child exits with the console")

            second = Process([], env, tmp_path, terminal=True)
            processes.append(second)
            await eventually(lambda: _answers(shop.url), within_s=60, what="restarted console's shop")
            assert {o["id"] for o in await shop.orders()} == ids

            problems = []
            try:
                await eventually(lambda: all_done(shop, rest_url, ids), within_s=180, every_s=1.0, what="every order completed")
            except AssertionError as exc:
                problems.append(str(exc))
            completed = len(await shop.finished(ids))
            problems += await check_orders(shop, rest_url, ids)
            counts = store_counts([data_dir / "console.sqlite3"])
            second.stop()
    finally:
        await shop.close()
    Tally.from_store(
        "console SIGKILL, 200 in flight", orders=ORDERS, completed=completed, counts=counts,
        extra={"in_flight_at_kill": running, "completed_at_kill": done},
    ).report()
    assert not problems, "\n".join(problems[:20])


async def _gone(url: str) -> bool:
    return not await _answers(url)
