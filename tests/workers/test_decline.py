"""The payment-declined path's contract: final status, stage table, task concurrency parsing."""

from __future__ import annotations

import pytest

from protocol.progress import StageOrder
from workers.medusa_order import payment_declined
from workers.settings import DEFAULT_TASK_CONCURRENCY, WorkerSettings, parse_task_concurrency
from workers.stages import DECLINE_STAGES, STAGES, STATUS_SEQUENCE, TASK_BY_TYPE


@pytest.mark.parametrize(
    ("current", "incoming", "refused"),
    [
        ("inventory_reserved", "payment_declined", False),
        ("started", "payment_declined", False),
        ("payment_declined", "payment_declined", False),  # a repeat refreshes the message
        ("payment_declined", "completed", True),
        ("payment_declined", "inventory_reserved", True),
        ("payment_declined", "payment_verified", True),
        ("completed", "payment_declined", True),
        ("cancelled", "payment_declined", True),
    ],
)
def test_payment_declined_is_a_final_state(current: str, incoming: str, refused: bool) -> None:
    assert (StageOrder().refusal(current, "pending", incoming) is not None) is refused


def test_only_a_canceled_payment_counts_as_declined() -> None:
    assert payment_declined({"payment_status": "canceled"})
    for status in ("not_paid", "captured", "authorized", None):
        assert not payment_declined({"payment_status": status})


def test_decline_stages_take_their_delays_from_the_seed_stages() -> None:
    settings = WorkerSettings(medusa_url="http://x", delays_s=(2.0, 3.0, 1.5), process="parallel")
    release, notify = DECLINE_STAGES
    assert settings.delay_for(release) == 3.0 and settings.delay_for(notify) == 1.5
    assert release.status is None and notify.status == "payment_declined"
    assert settings.task_types == (*(s.task_type for s in STAGES), "release-inventory", "notify-payment-declined")
    assert WorkerSettings(medusa_url="http://x").task_types == tuple(s.task_type for s in STAGES)
    assert set(TASK_BY_TYPE) == set(settings.task_types)
    assert "payment_declined" not in STATUS_SEQUENCE  # not a step of the seed's sequence
    assert [s.progress_bar for s in STAGES] == ["■□□ 1/3", "■■□ 2/3", "■■■ 3/3"]


def test_task_concurrency_parses_a_default_and_per_task_limits() -> None:
    assert parse_task_concurrency("") == (DEFAULT_TASK_CONCURRENCY, ())
    assert parse_task_concurrency("500") == (500, ())
    assert parse_task_concurrency("800, send-notification=20,verify-payment=100") == (
        800, (("send-notification", 20), ("verify-payment", 100)))
    settings = WorkerSettings(medusa_url="http://x", default_task_concurrency=800,
                              task_concurrency=(("send-notification", 20),))
    assert settings.concurrency_of("send-notification") == 20 and settings.concurrency_of("verify-payment") == 800
    assert DEFAULT_TASK_CONCURRENCY >= 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [("ship-it=3", "is not a task type"), ("verify-payment=many", "whole number"), ("0", "between 1 and 100000")],
)
def test_bad_task_concurrency_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_task_concurrency(text)


@pytest.mark.parametrize("mode", ["demo", "admin"])
async def test_the_shop_keeps_payment_declined_as_a_final_state(tmp_path, mode: str) -> None:
    """Through the real shop (its /demo route, or the Admin API merge): nothing moves a
    declined order on, and a declined payment never undoes a completed order."""
    import httpx

    from shop.server import ShopServer
    from tests.shop.conftest import create_order, load_catalogue
    from workers.callback import CallbackPolicy, StatusCallback

    shop = ShopServer(tmp_path / "shop", port=0)
    await shop.start()
    try:
        async with httpx.AsyncClient(base_url=shop.url, timeout=10) as admin:
            catalogue = await load_catalogue(admin)
            declined, completed = [await create_order(admin, catalogue) for _ in range(2)]
            callback = StatusCallback(admin, shop.url, lambda e: None, CallbackPolicy(timeout_s=5), mode=mode)
            for status in ("inventory_reserved", "payment_declined", "completed", "inventory_reserved"):
                await callback.send(declined["id"], "stage", status, f"message for {status}", 7)
            for status in ("completed", "payment_declined"):
                await callback.send(completed["id"], "stage", status, f"message for {status}", 8)
            declined = (await admin.get(f"/admin/orders/{declined['id']}")).json()["order"]
            completed = (await admin.get(f"/admin/orders/{completed['id']}")).json()["order"]
    finally:
        await shop.stop()
    assert declined["metadata"]["workflow_status"] == "payment_declined"
    assert declined["metadata"]["workflow_message"] == "message for payment_declined"
    assert declined["status"] == "pending"
    assert completed["metadata"]["workflow_status"] == "completed" and completed["status"] == "completed"
