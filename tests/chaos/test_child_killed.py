"""The embedded engine and shop child is SIGKILLed while the console runs: it is started again."""

from __future__ import annotations

import os
import signal
import time

from console.app import MedcamApp
from console.events import BackendStatus
from console.runtime import ConsoleRuntime
from console.settings import Settings
from tests.chaos.ledger import Shop, Tally, all_done, check_orders, store_counts
from tests.chaos.stack import Recorder, header, until

ORDERS = 40
SIZE = (120, 36)


async def test_embedded_child_killed_is_restarted_on_the_same_data_and_every_order_completes(tmp_path):
    data_dir = tmp_path / "console"
    settings = Settings(
        data_dir=data_dir, engine_grpc_port=0, engine_rest_port=0, shop_port=0,
        stage_delays=(0.5, 0.5, 0.5), poll_interval_s=0.5, claim_settle_s=0.1, auto_start=True,
    )
    runtime = ConsoleRuntime(settings, wait_for_backends=True)
    events = Recorder()
    runtime.bus.subscribe(events)
    shop: Shop | None = None
    headers: list[tuple[float, str]] = []
    try:
        await runtime.start()
        assert runtime.embedded is not None and runtime.endpoints is not None
        shop = Shop(runtime.endpoints.medusa_url or "")
        rest_url = runtime.endpoints.zeebe_rest_url or ""
        app = MedcamApp(runtime, demo_orders=ORDERS)
        async with app.run_test(size=SIZE) as pilot:
            def seen(check) -> bool:  # noqa: ANN001 - the header is sampled on every look
                text = header(app)
                headers.append((time.monotonic(), text))
                return bool(check(text))

            await until(pilot, lambda: seen(up_text), within_s=30, what="header shows Zeebe and Medusa up")
            await until(pilot, lambda: sum(v.order.workflow_status == "completed" for v in runtime.state.orders.values()) >= 5
                        and len(runtime.state.orders) >= ORDERS, within_s=90, what="orders under way")
            wanted = set(runtime.state.orders)
            old_pid = runtime.embedded.pid
            assert old_pid is not None
            os.kill(old_pid, signal.SIGKILL)
            killed, killed_at = time.monotonic(), time.time()
            # The header's state goes down with the child, however fast the standby takes over.
            await until(pilot, lambda: _went(events.events, "zeebe", False), within_s=10, what="Zeebe reported down")
            down_after_s = time.monotonic() - killed
            await until(pilot, lambda: runtime.embedded.restarts == 1, within_s=30, what="child started again")
            restart_s = time.monotonic() - killed
            assert runtime.embedded.pid not in (None, old_pid)
            await until(pilot, lambda: seen(up_text), within_s=30, what="header shows Zeebe and Medusa up again")
            green_s = time.monotonic() - killed

            deadline = time.monotonic() + 150
            while not await all_done(shop, rest_url, wanted) and time.monotonic() < deadline:
                await pilot.pause(0.5)
                seen(lambda t: True)
            completed = len(await shop.finished(wanted))
            problems = await check_orders(shop, rest_url, wanted)
            final = header(app)
            seen_events = list(events.events)
    finally:
        await runtime.stop()
        if shop is not None:
            await shop.close()
    counts = store_counts([data_dir / "console.sqlite3"])
    Tally.from_store(
        "embedded child SIGKILL while the console runs", orders=len(wanted), completed=completed, counts=counts,
        extra={"header_down_after_s": round(down_after_s, 2), "child_restarted_after_s": round(restart_s, 2),
               "header_green_after_s": round(green_s, 2), "header_samples": len(headers)},
    ).report()
    # The header's Zeebe and Medusa went down with the child and came back up, in that order.
    after_kill = [(e.component, e.ok) for e in seen_events if isinstance(e, BackendStatus)
                  and e.component in ("zeebe", "medusa") and e.at.timestamp() >= killed_at]
    assert ("zeebe", False) in after_kill and ("medusa", False) in after_kill
    assert after_kill.index(("zeebe", False)) < len(after_kill) - 1 - after_kill[::-1].index(("zeebe", True))
    assert up_text(final)
    assert not problems, "\n".join(problems[:20])


def _went(events: list, component: str, ok: bool) -> bool:
    """The last state published for ``component`` is ``ok``."""
    states = [e.ok for e in events if isinstance(e, BackendStatus) and e.component == component]
    return bool(states) and states[-1] is ok


def up_text(text: str) -> bool:
    """Both embedded components drawn up (a component that is down reads "<name> down")."""
    return "Zeebe embedded" in text and "Medusa embedded" in text
