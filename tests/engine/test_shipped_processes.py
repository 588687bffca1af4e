"""Both shipped processes deploy and run on the embedded engine (bpmn/*.bpmn)."""

from __future__ import annotations

import json

import pytest

from bpmn import (
    ORDER_FULFILLMENT,
    PARALLEL_FULFILLMENT,
    PARALLEL_PROCESS_ID,
    PAYMENT_DECLINED,
    PROCESSES,
)

from .conftest import Engine


async def _deploy_all(engine: Engine) -> None:
    response = await engine.deploy(*((path.name, path.read_bytes()) for path, _ in PROCESSES.values()))
    assert sorted(p.bpmnProcessId for d in response.deployments for p in [d.process]) == sorted(
        pid for _, pid in PROCESSES.values()
    )


async def test_seed_process_runs_its_three_stages_in_order(engine: Engine) -> None:
    await _deploy_all(engine)
    created = await engine.create("order-fulfillment-poc", {"orderId": "order_1"})
    for job_type in ("verify-payment", "reserve-inventory", "send-notification"):
        job = await engine.activate_one(job_type)
        assert json.loads(job.variables)["orderId"] == "order_1"
        await engine.complete(job.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
    assert ORDER_FULFILLMENT.name != PARALLEL_FULFILLMENT.name


async def test_parallel_process_verifies_and_reserves_at_once(engine: Engine) -> None:
    await _deploy_all(engine)
    created = await engine.create(PARALLEL_PROCESS_ID, {"orderId": "order_2"})
    # Both jobs exist before either completes: the fork started them side by side.
    verify = await engine.activate_one("verify-payment")
    reserve = await engine.activate_one("reserve-inventory")
    assert await engine.activate("send-notification") == []
    await engine.complete(reserve.key, {"inventoryReserved": True})
    assert await engine.activate("send-notification") == []  # the join waits
    await engine.complete(verify.key, {"paymentVerified": True})
    notify = await engine.activate_one("send-notification")
    await engine.complete(notify.key, {"notificationSent": True})
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
    assert await engine.activate("release-inventory") == []


@pytest.mark.parametrize("reserve_first", [True, False])
async def test_declined_payment_releases_the_reservation_then_notifies(engine: Engine, reserve_first: bool) -> None:
    await _deploy_all(engine)
    created = await engine.create(PARALLEL_PROCESS_ID, {"orderId": "order_3"})
    verify = await engine.activate_one("verify-payment")
    reserve = await engine.activate_one("reserve-inventory")
    if reserve_first:
        await engine.complete(reserve.key, {"inventoryReserved": True})
    await engine.throw(verify.key, PAYMENT_DECLINED, "payment canceled", {"paymentDeclined": True})
    if not reserve_first:
        # The release waits until the reservation is done: nothing to release yet.
        assert await engine.activate("release-inventory") == []
        await engine.complete(reserve.key, {"inventoryReserved": True})
    release = await engine.activate_one("release-inventory")
    await engine.complete(release.key, {"inventoryReleased": True})
    notify = await engine.activate_one("notify-payment-declined")
    await engine.complete(notify.key, {"customerNotified": True})
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
    assert await engine.activate("send-notification") == []
    assert await engine.incidents() == []
