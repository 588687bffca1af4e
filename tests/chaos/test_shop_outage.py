"""The shop answers 500, then is unreachable, for 30 s in the middle of 100 orders (seed retry numbers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from console.events import (
    CallbackAttempt,
    IncidentRaised,
    IncidentResolved,
    JobFailed,
    OperatorAction,
)
from console.settings import Settings
from tests.chaos.faults import DOWN, ERROR, PASS, FaultProxy
from tests.chaos.ledger import Shop, Tally, all_done, check_orders, eventually
from tests.chaos.stack import embedded_stack, headless_console

ORDERS = 100
#: The fault timeline (seconds): healthy, then 500s, then unreachable, then healthy again.
HEALTHY_S, ERROR_S, DOWN_S = 6.0, 15.0, 15.0


def incident_faults(events: list) -> list[str]:
    """Each incident must follow 3 failed job attempts (retries 2, 1, 0) of 3 failed callbacks each
    (waits 1 s, then 2 s), as the seed's numbers say; and every job left without retries raised one."""
    faults = []
    raised = [e for e in events if isinstance(e, IncidentRaised) and e.incident_key is None]
    failed = defaultdict(list)
    for e in events:
        if isinstance(e, JobFailed):
            failed[(e.order_id, e.stage)].append(e.retries_left)
    attempts = defaultdict(list)
    for e in events:
        if isinstance(e, CallbackAttempt):
            attempts[(e.order_id, e.stage)].append(e)
    for incident in raised:
        key = (incident.order_id, incident.stage)
        if failed[key][:3] != [2, 1, 0]:
            faults.append(f"{key}: incident after job failures {failed[key]}, not [2, 1, 0]")
        misses = [a for a in attempts[key] if not a.ok][:9]
        if [a.attempt for a in misses] != [1, 2, 3] * 3:
            faults.append(f"{key}: incident after callback attempts {[a.attempt for a in misses]}")
        if [a.next_delay_s for a in misses[:3]] != [1.0, 2.0, None]:
            faults.append(f"{key}: callback waits {[a.next_delay_s for a in misses[:3]]}, not [1.0, 2.0, None]")
    exhausted = sum(1 for lefts in failed.values() for left in lefts if left == 0)
    if exhausted != len(raised):
        faults.append(f"{exhausted} jobs ran out of retries but {len(raised)} incidents were raised")
    return faults


async def test_shop_500_then_unreachable_for_30s_incidents_then_retry_completes_all(tmp_path):
    async with embedded_stack(tmp_path / "embedded") as stack:
        proxy = FaultProxy(stack.shop_port)
        await proxy.start()
        shop = Shop(stack.shop_url)  # the test's own view bypasses the proxy
        settings = Settings(
            zeebe_address=stack.zeebe_address, zeebe_rest_address=stack.rest_url, medusa_backend_url=proxy.url,
            data_dir=tmp_path / "console", stage_delays=(0.5, 0.5, 0.5), poll_interval_s=0.5,
            claim_settle_s=0.1, auto_start=True,
        )  # the seed's callback and job retry numbers: 3 attempts, 1 s / 2 s, 3 job retries, 5 s back-off
        try:
            async with headless_console(settings) as (runtime, events):
                async def create_orders() -> list[str]:
                    made = []
                    for _ in range(ORDERS):
                        made += await shop.create_orders(1)
                        await asyncio.sleep(0.25)  # pacing: orders keep arriving through the outage
                    return made

                async def outage() -> None:
                    await asyncio.sleep(HEALTHY_S)
                    await proxy.set_mode(ERROR)
                    await asyncio.sleep(ERROR_S)
                    await proxy.set_mode(DOWN)
                    await asyncio.sleep(DOWN_S)
                    await proxy.set_mode(PASS)

                ids, _ = await asyncio.gather(create_orders(), outage())
                wanted = set(ids)

                async def settled() -> bool:
                    done = await shop.finished(wanted)
                    stuck = {o for o in wanted - done if runtime.state.incident_for_order(o) is None}
                    return not stuck

                await eventually(settled, within_s=120, every_s=1.0, what="every order completed or in an incident")
                with_incident = sorted(o for o in wanted if runtime.state.incident_for_order(o) is not None)
                for order_id in with_incident:
                    await runtime.fulfillment.retry(await runtime.fulfillment.fresh(order_id))
                problems: list[str] = []
                try:
                    await eventually(lambda: all_done(shop, stack.rest_url, wanted), within_s=120, every_s=1.0,
                                     what="every order completed after the retries")
                except AssertionError as exc:
                    problems.append(str(exc))
                completed = len(await shop.finished(wanted))
                problems += await check_orders(shop, stack.rest_url, wanted)
                problems += incident_faults(events.events)
                seen = list(events.events)
        finally:
            with contextlib.suppress(Exception):
                await proxy.stop()
            await shop.close()
    raised = [e for e in seen if isinstance(e, IncidentRaised) and e.incident_key is None]
    Tally(
        "shop 500 then unreachable for 30 s", orders=ORDERS, completed=completed,
        callback_retries=sum(1 for e in seen if isinstance(e, CallbackAttempt) and e.attempt > 1),
        incidents_raised=len(raised),
        incidents_resolved=len({e.incident_key for e in seen if isinstance(e, IncidentResolved)}),
        drift_repaired=sum(1 for e in seen if isinstance(e, OperatorAction) and "repair" in e.action and e.outcome == "ok"),
        extra={"orders_retried": len(with_incident), "proxy_500s": proxy.errors_answered},
    ).report()
    assert raised, "an outage longer than the seed's retries must raise incidents"
    assert not problems, "\n".join(problems[:20])

