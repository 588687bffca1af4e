"""The console's hold on its backends: opening while they are down, and restarting its embedded child."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from console.clients.medusa import MedusaAdmin
from console.demo_orders import DemoOrderMaker
from console.embedded import EmbeddedServices
from console.events import BackendStatus
from console.runtime import ConsoleRuntime
from console.settings import Settings
from tests.e2e.conftest import Recorder


async def test_a_console_that_waits_opens_with_zeebe_and_medusa_down_and_says_so(tmp_path):
    settings = Settings(zeebe_address="127.0.0.1:9", zeebe_rest_address="http://127.0.0.1:9",
                        medusa_backend_url="http://127.0.0.1:9", data_dir=tmp_path)
    runtime = ConsoleRuntime(settings, wait_for_backends=True)
    events = Recorder()
    runtime.bus.subscribe(events)
    try:
        await runtime.start()
        down = {e.component: e for e in events.of(BackendStatus)}
        assert not down["zeebe"].ok and down["zeebe"].detail == "UNAVAILABLE"
        assert not down["medusa"].ok
        assert runtime.monitor is not None and not runtime.monitor.zeebe_up
        assert any(name == "backends" for name, _ in runtime.background_jobs())
    finally:
        await runtime.stop()


async def _shop_answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/health")).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("standby", [False, True], ids=["cold", "standby"])
async def test_a_killed_embedded_child_is_started_again_on_the_same_ports_and_data(tmp_path, standby):
    services = EmbeddedServices(tmp_path / "embedded", engine=True, shop=True, grpc_port=0, rest_port=0, shop_port=0)
    found = await services.start()
    changes: list[tuple[bool, str]] = []
    back = asyncio.Event()

    def changed(up: bool, detail: str) -> None:
        changes.append((up, detail))
        if up:
            back.set()

    supervisor = asyncio.create_task(services.supervise(changed, standby=standby))
    try:
        medusa = MedusaAdmin(found.medusa_url or "")
        try:
            order = await DemoOrderMaker(medusa).create()
        finally:
            await medusa.close()
        old_pid = services.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        await asyncio.wait_for(back.wait(), 60)
        assert services.pid not in (None, old_pid) and services.restarts == 1
        assert [up for up, _ in changes] == [False, True]
        assert "exited with status -9" in changes[0][1]
        assert await _shop_answers(found.medusa_url or "")
        medusa = MedusaAdmin(found.medusa_url or "")
        try:
            assert (await medusa.get_order(order["id"]))["id"] == order["id"]  # the same data directory
        finally:
            await medusa.close()
    finally:
        await services.stop()
        await asyncio.wait_for(supervisor, 15)
    assert services.pid is None and services._standby is None


async def test_medusa_absent_at_start_then_up_orders_are_seen_and_fulfilled(tmp_path, backends):
    """The shop's port answers nothing at first; once a shop serves there, the console catches up."""
    from shop.server import ShopServer
    from tests.chaos.processes import free_ports

    (shop_port,) = free_ports(1)
    settings = Settings(
        zeebe_address=backends.zeebe_address, zeebe_rest_address=backends.rest_url,
        medusa_backend_url=f"http://127.0.0.1:{shop_port}", data_dir=tmp_path / "console",
        stage_delays=(0.05, 0.05, 0.05), poll_interval_s=0.2, claim_settle_s=0.05, auto_start=True,
    )
    runtime = ConsoleRuntime(settings, wait_for_backends=True)
    events = Recorder()
    runtime.bus.subscribe(events)
    shop = ShopServer(tmp_path / "late-shop", port=shop_port)
    try:
        await runtime.start()
        runtime.start_background()
        assert not runtime.state.backends["medusa"].ok
        await shop.start()
        medusa = MedusaAdmin(shop.url)
        try:
            order = await DemoOrderMaker(medusa).create()
            await events.wait_for(lambda: any(e.ok for e in events.of(BackendStatus, component="medusa")), within=20)
            done = await events.wait_for(
                lambda: runtime.state.orders.get(order["id"]) is not None
                and runtime.state.orders[order["id"]].order.workflow_status == "completed", within=30)
            assert done
            assert (await medusa.get_order(order["id"]))["metadata"]["workflow_status"] == "completed"
        finally:
            await medusa.close()
    finally:
        await runtime.stop()
        await shop.stop()


async def test_health_checks_slow_down_while_both_answer_and_speed_up_when_one_stops(tmp_path, backends):
    """An idle console checks every 2 s while Zeebe and Medusa answer, every second otherwise."""
    from console.backend_monitor import CHECK_INTERVAL_S, UP_INTERVAL_S

    runtime = ConsoleRuntime(Settings(
        zeebe_address=backends.zeebe_address, zeebe_rest_address=backends.rest_url,
        medusa_backend_url=backends.shop_url, data_dir=tmp_path / "console", auto_start=False,
    ))
    await runtime.start()
    try:
        monitor = runtime.monitor
        assert monitor is not None
        await monitor.check_once()
        assert monitor.next_delay() == UP_INTERVAL_S > CHECK_INTERVAL_S
        await backends.shop.stop()
        await monitor.check_once()
        assert monitor.state["medusa"] is False and monitor.next_delay() == CHECK_INTERVAL_S
        await backends.shop.start()
        await monitor.check_once()
        assert monitor.state["medusa"] is True and monitor.next_delay() == UP_INTERVAL_S
    finally:
        await runtime.stop()
