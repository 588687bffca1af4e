"""The engine is absent when the console starts, then started: the console opens anyway and reconnects."""

from __future__ import annotations

import time

from console.app import MedcamApp
from console.events import BackendStatus, JobActivated
from console.runtime import ConsoleRuntime
from console.settings import Settings
from tests.chaos.ledger import Shop, Tally, all_done, check_orders
from tests.chaos.processes import free_ports
from tests.chaos.stack import Recorder, embedded_stack, header, until

ORDERS = 10
SIZE = (120, 36)


async def test_console_opens_without_the_engine_and_connects_when_it_appears(tmp_path):
    grpc_port, rest_port = free_ports(2)
    async with embedded_stack(tmp_path / "shop", engine=False) as shop_stack:
        shop = Shop(shop_stack.shop_url)
        wanted = set(await shop.create_orders(ORDERS))
        settings = Settings(
            zeebe_address=f"127.0.0.1:{grpc_port}", zeebe_rest_address=f"http://127.0.0.1:{rest_port}",
            medusa_backend_url=shop_stack.shop_url, data_dir=tmp_path / "console",
            stage_delays=(0.2, 0.2, 0.2), poll_interval_s=0.5, claim_settle_s=0.1, auto_start=True,
        )
        runtime = ConsoleRuntime(settings, wait_for_backends=True)
        events = Recorder()
        runtime.bus.subscribe(events)
        try:
            await runtime.start()  # no StartupError: the console opens with Zeebe down
            app = MedcamApp(runtime)
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: "Zeebe down" in header(app), within_s=20, what="header shows Zeebe down")
                await until(pilot, lambda: len(runtime.state.orders) >= ORDERS, within_s=20, what="orders listed")
                assert not any(isinstance(e, JobActivated) for e in events.events)
                before = header(app)

                async with embedded_stack(tmp_path / "engine", shop=False, grpc_port=grpc_port,
                                          rest_port=rest_port):
                    appeared = time.monotonic()
                    await until(pilot, lambda: runtime.state.backends["zeebe"].ok, within_s=30,
                                what="Zeebe reachable again")
                    reconnect_s = time.monotonic() - appeared
                    # A configured ZEEBE_ADDRESS is a self-managed engine; up, its dot says so.
                    await until(pilot, lambda: "Zeebe self-managed" in header(app), within_s=10,
                                what="header shows Zeebe up")
                    await until(pilot, lambda: any(isinstance(e, JobActivated) for e in events.events),
                                within_s=30, what="workers polling")
                    polling_s = time.monotonic() - appeared
                    after = header(app)

                    rest_url = f"http://127.0.0.1:{rest_port}"
                    deadline = time.monotonic() + 120
                    while not await all_done(shop, rest_url, wanted) and time.monotonic() < deadline:
                        await pilot.pause(0.5)
                    completed = len(await shop.finished(wanted))
                    zeebe_states = [e.ok for e in events.events if isinstance(e, BackendStatus) and e.component == "zeebe"]
                    problems = await check_orders(shop, rest_url, wanted)
        finally:
            await runtime.stop()
            await shop.close()
    Tally(
        "engine absent at start, then started", orders=ORDERS, completed=completed,
        extra={"reconnect_s": round(reconnect_s, 2), "workers_polling_s": round(polling_s, 2),
               "header_before": before[:60], "header_after": after[:60]},
    ).report()
    # Down from the start, up once the engine answered: the header followed the real state.
    assert zeebe_states[0] is False and zeebe_states[-1] is True
    assert not problems, "\n".join(problems[:20])
