"""medcam-console against a real Medusa 2.12: the client, the seed's /demo route, a full run."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import jwt
import pytest

from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin
from console.demo_orders import DemoOrderMaker
from console.orders import OrderSummary
from console.runtime import ConsoleRuntime
from console.settings import Settings

from .conftest import AdminUser
from .seed import Seeded

# The seeded product costs 12.50 EUR; the store order adds 4.50 shipping.
UNIT = 12.5
SHIPPING = 4.5


async def test_health(admin: MedusaAdmin) -> None:
    assert await admin.health()


async def test_list_orders_has_both_seeded_orders(medusa: Seeded, admin: MedusaAdmin) -> None:
    assert medusa.cart_order_id, f"store cart order was not created: {medusa.cart_error}"
    orders, count = await admin.list_orders(limit=50)
    ids = [o["id"] for o in orders]
    assert medusa.draft_converted_order_id in ids
    assert medusa.cart_order_id in ids
    assert count >= 2
    created = [o["created_at"] for o in orders]
    assert created == sorted(created, reverse=True), "order=-created_at is honoured"

    by_id = {o["id"]: OrderSummary.from_medusa(o) for o in orders}
    draft = by_id[medusa.draft_converted_order_id]
    cart = by_id[medusa.cart_order_id]
    assert draft.status == "pending" and cart.status == "pending"
    assert draft.item_count == 2 and cart.item_count == 1
    assert draft.total == pytest.approx(2 * UNIT)
    assert cart.total == pytest.approx(UNIT + SHIPPING)
    assert isinstance(draft.display_id, int)


# On 2.12.3 the admin order list's default fields have no email / currency_code and a bare
# "*shipping_address" is dropped from the list response: the client names what it needs.
async def test_list_orders_carries_email_and_currency(medusa: Seeded, admin: MedusaAdmin) -> None:
    orders, _ = await admin.list_orders(limit=50)
    cart = next(OrderSummary.from_medusa(o) for o in orders if o["id"] == medusa.cart_order_id)
    assert cart.email == "grace@example.com"
    assert cart.currency == "EUR"


async def test_list_orders_carries_the_shipping_name(medusa: Seeded, admin: MedusaAdmin) -> None:
    orders, _ = await admin.list_orders(limit=50)
    by_id = {o["id"]: OrderSummary.from_medusa(o) for o in orders}
    assert by_id[medusa.draft_converted_order_id].customer == "Ada Lovelace"
    assert by_id[medusa.cart_order_id].customer == "Grace Hopper"


async def test_get_order_detail_carries_the_shipping_name(medusa: Seeded, admin: MedusaAdmin) -> None:
    """The detail route's defaults (2.12.3) include *shipping_address, *items and summary."""
    summary = OrderSummary.from_medusa(await admin.get_order(medusa.cart_order_id))
    assert summary.customer == "Grace Hopper"
    assert summary.total == pytest.approx(UNIT + SHIPPING)
    assert summary.item_count == 1


async def test_get_order_detail_carries_email_and_currency(medusa: Seeded, admin: MedusaAdmin) -> None:
    summary = OrderSummary.from_medusa(await admin.get_order(medusa.cart_order_id))
    assert summary.email == "grace@example.com"
    assert summary.currency == "EUR"


async def test_get_order(medusa: Seeded, admin: MedusaAdmin) -> None:
    order = await admin.get_order(medusa.draft_converted_order_id)
    summary = OrderSummary.from_medusa(order)
    assert summary.id == medusa.draft_converted_order_id
    assert summary.total == pytest.approx(2 * UNIT)
    assert summary.metadata.get("source") == "medcam-tests"


async def test_get_unknown_order_is_a_404_backend_error(admin: MedusaAdmin) -> None:
    with pytest.raises(BackendError) as caught:
        await admin.get_order("order_does_not_exist")
    assert "HTTP 404" in str(caught.value)


async def test_merge_metadata_and_delete_a_key(admin: MedusaAdmin, fresh_order: dict) -> None:
    order_id = fresh_order["id"]
    merged = await admin.merge_metadata(order_id, {"a": "1", "b": "2"})
    assert merged["metadata"]["a"] == "1" and merged["metadata"]["b"] == "2"
    merged = await admin.merge_metadata(order_id, {"a": "", "c": "3"})
    assert "a" not in merged["metadata"], "a key set to '' is deleted"
    assert merged["metadata"]["b"] == "2" and merged["metadata"]["c"] == "3"
    again = await admin.get_order(order_id)
    assert again["metadata"] == merged["metadata"]


async def test_secret_key_is_required(medusa: Seeded) -> None:
    client = MedusaAdmin(medusa.base_url, api_key="sk_wrong")
    try:
        with pytest.raises(BackendError) as caught:
            await client.list_orders(limit=1)
        assert "HTTP 401" in str(caught.value)
        assert "sk_wrong" not in str(caught.value)
    finally:
        await client.close()


async def test_demo_order_maker_makes_a_real_order(admin: MedusaAdmin) -> None:
    order = await DemoOrderMaker(admin, seed=1).create()
    assert order["id"].startswith("order_")
    assert order["status"] == "pending"


async def test_demo_route_seed_contract(medusa: Seeded, admin: MedusaAdmin, fresh_order: dict) -> None:
    order_id = fresh_order["id"]
    async with httpx.AsyncClient(base_url=medusa.base_url, timeout=30) as http:
        health = await http.get("/demo")
        assert health.status_code == 200
        for body in ({}, {"orderId": order_id}, {"status": "payment_verified"}, {"orderId": 1, "status": "x"}):
            assert (await http.post("/demo", json=body)).status_code == 400, body
        unknown = await http.post("/demo", json={"orderId": "order_nope", "status": "payment_verified"})
        assert unknown.status_code == 404

        ok = await http.post(
            "/demo", json={"orderId": order_id, "status": "payment_verified", "message": "Payment verified successfully"}
        )
        assert ok.status_code == 200, ok.text
        order = await admin.get_order(order_id)
        assert order["metadata"]["workflow_status"] == "payment_verified"
        assert order["metadata"]["workflow_message"] == "Payment verified successfully"
        assert order["metadata"]["last_updated"]
        assert order["status"] == "pending"

        done = await http.post("/demo", json={"orderId": order_id, "status": "completed", "message": "done"})
        assert done.status_code == 200, done.text
    order = await admin.get_order(order_id)
    assert order["status"] == "completed"
    assert order["metadata"]["workflow_status"] == "completed"


#: Slow stages, and none at all: with zero delays the first callback races the console's
#: workflow_instance write (Medusa merges metadata read-modify-write), which the console's
#: per-order gate and the reconciler must make harmless.
STAGE_DELAYS = [pytest.param((1.0, 0.05, 0.05), id="slow"), pytest.param((0.0, 0.0, 0.0), id="zero")]


@pytest.mark.parametrize("delays", STAGE_DELAYS)
async def test_full_fulfillment_run_on_the_embedded_engine(
    medusa: Seeded, admin: MedusaAdmin, fresh_order: dict, tmp_path: Path, delays: tuple[float, ...]
) -> None:
    settings = Settings(
        medusa_backend_url=medusa.base_url,
        medusa_api_key=medusa.secret_key,
        data_dir=tmp_path / "console",
        stage_delays=delays,
        engine_grpc_port=0,
        engine_rest_port=0,
        shop_port=0,
        auto_start=False,
        poll_interval_s=0.2,
    )
    runtime = ConsoleRuntime(settings)
    await runtime.start()
    try:
        runtime.start_background()
        assert runtime.fulfillment is not None
        order = await admin.get_order(fresh_order["id"])
        key = await runtime.fulfillment.start(OrderSummary.from_medusa(order))
        assert key > 0

        async def completed() -> dict:
            while True:
                current = await admin.get_order(fresh_order["id"])
                meta = current.get("metadata") or {}
                if meta.get("workflow_status") == "completed" and current.get("status") == "completed":
                    return current
                await asyncio.sleep(0.1)

        async with asyncio.timeout(60):
            final = await completed()
    finally:
        await runtime.stop()

    meta = final["metadata"]
    assert meta["workflow_instance"] == str(key)
    assert meta["workflow_started_at"]
    assert meta["workflow_message"]
    assert meta["last_updated"]
    assert final["status"] == "completed"


def _console_settings(medusa: Seeded, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "medusa_backend_url": medusa.base_url,
        "medusa_api_key": medusa.secret_key,
        "data_dir": data_dir,
        "stage_delays": (1.0, 0.05, 0.05),
        "engine_grpc_port": 0,
        "engine_rest_port": 0,
        "shop_port": 0,
        "auto_start": False,
        "poll_interval_s": 0.2,
    }
    values.update(overrides)
    return Settings(**values)


async def _until_completed(admin: MedusaAdmin, order_id: str, *, recorded: bool = False) -> dict:
    """The order once completed (and, with ``recorded``, carrying its ``workflow_instance``)."""
    async with asyncio.timeout(60):
        while True:
            current = await admin.get_order(order_id)
            meta = current.get("metadata") or {}
            if (meta.get("workflow_status") == "completed" and current.get("status") == "completed"
                    and (meta.get("workflow_instance") or not recorded)):
                return current
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("delays", STAGE_DELAYS)
async def test_admin_callback_mode_completes_a_stock_medusa_order(
    medusa: Seeded, admin: MedusaAdmin, fresh_order: dict, tmp_path: Path, delays: tuple[float, ...]
) -> None:
    """MEDCAM_CALLBACK_MODE=admin: no custom route, only the stock Admin API (metadata merge
    and POST /admin/orders/{id}/complete)."""
    runtime = ConsoleRuntime(_console_settings(medusa, tmp_path / "console", callback_mode="admin",
                                               stage_delays=delays))
    await runtime.start()
    try:
        runtime.start_background()
        assert runtime.fulfillment is not None
        order = OrderSummary.from_medusa(await admin.get_order(fresh_order["id"]))
        key = await runtime.fulfillment.start(order)
        final = await _until_completed(admin, fresh_order["id"])
    finally:
        await runtime.stop()
    meta = final["metadata"]
    assert meta["workflow_instance"] == str(key)
    assert meta["workflow_message"] == "Customer notified - Order complete!"
    assert final["status"] == "completed", "completed through the real complete-order route"
    assert "workflow_claim" not in meta


async def test_two_consoles_starting_the_same_orders_make_one_instance_each(
    medusa: Seeded, admin: MedusaAdmin, tmp_path: Path
) -> None:
    """Both consoles start the same orders at the same moment against the real Medusa's
    metadata API; the claims leave exactly one instance per order."""
    orders = []
    for _ in range(3):
        draft = await admin.create_draft_order({
            "email": "claims@example.com", "region_id": medusa.region_id,
            "items": [{"variant_id": medusa.variant_id, "quantity": 1}],
        })
        orders.append(OrderSummary.from_medusa(await admin.convert_draft_order(draft["id"])))
    first = ConsoleRuntime(_console_settings(
        medusa, tmp_path / "a", console_id="console-a", claim_settle_s=0.5,
    ))
    await first.start()
    try:
        assert first.endpoints is not None
        second = ConsoleRuntime(_console_settings(
            medusa, tmp_path / "b", console_id="console-b", claim_settle_s=0.5,
            zeebe_address=first.endpoints.zeebe_address,
            zeebe_rest_address=first.endpoints.zeebe_rest_url,
        ))
        await second.start()
        try:
            first.start_background()
            second.start_background()
            assert first.fulfillment is not None and second.fulfillment is not None
            outcomes = await asyncio.gather(
                *(runtime.fulfillment.start(order) for order in orders for runtime in (first, second)),
                return_exceptions=True,
            )
            keys = [o for o in outcomes if isinstance(o, int)]
            lost = [o for o in outcomes if isinstance(o, Exception)]
            assert len(keys) == len(orders), f"one start per order wins: {outcomes}"
            assert all("claimed by" in str(e) or "meanwhile" in str(e) for e in lost), lost
            # Two consoles' writes to one order cannot take turns (Medusa merges metadata
            # read-modify-write): a write may drop workflow_instance, which the reconcilers
            # of both consoles write back as drift.
            finals = [await _until_completed(admin, order.id, recorded=True) for order in orders]
            assert sorted(int(f["metadata"]["workflow_instance"]) for f in finals) == sorted(keys)
            assert first.rest is not None
            for order in orders:
                found = await first.rest.instances_with_variable("order-fulfillment-poc", "orderId", order.id)
                assert len(found) == 1, f"{order.id} has {len(found)} instances"
        finally:
            await second.stop()
    finally:
        await first.stop()


# ---------------------------------------------------------------- email/password login
class _ShiftedClock:
    """The client's clock, moved ahead on demand (the server's stays real)."""

    def __init__(self) -> None:
        self.ahead_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead_s


async def test_emailpass_login_lists_orders(medusa: Seeded, admin_user: AdminUser) -> None:
    client = MedusaAdmin(medusa.base_url, admin_email=admin_user.email, admin_password=admin_user.password)
    try:
        orders, count = await client.list_orders(limit=50)
        ids = [o["id"] for o in orders]
        assert medusa.draft_converted_order_id in ids
        assert count >= 1
        order = await client.get_order(medusa.draft_converted_order_id)
        assert order["metadata"].get("source") == "medcam-tests"
    finally:
        await client.close()


async def test_emailpass_bad_password_is_one_line_without_the_password(
    medusa: Seeded, admin_user: AdminUser
) -> None:
    client = MedusaAdmin(medusa.base_url, admin_email=admin_user.email, admin_password="pw-wrong-one")
    try:
        with pytest.raises(BackendError) as caught:
            await client.list_orders(limit=1)
    finally:
        await client.close()
    message = str(caught.value)
    assert caught.value.code == "HTTP_401"
    assert "MEDUSA_ADMIN_EMAIL/MEDUSA_ADMIN_PASSWORD" in message and "Invalid email or password" in message
    assert "pw-wrong-one" not in message and "\n" not in message


async def test_emailpass_token_is_refreshed_through_the_real_route(
    medusa: Seeded, admin_user: AdminUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="console.clients.medusa_auth")
    async with httpx.AsyncClient(base_url=medusa.base_url, timeout=30) as http:
        login = await http.post(
            "/auth/user/emailpass", json={"email": admin_user.email, "password": admin_user.password}
        )
        claims = jwt.decode(login.json()["token"], options={"verify_signature": False})
    lifetime = claims["exp"] - claims["iat"]
    clock = _ShiftedClock()
    client = MedusaAdmin(
        medusa.base_url, admin_email=admin_user.email, admin_password=admin_user.password, clock=clock
    )
    try:
        await client.list_orders(limit=1)
        clock.ahead_s = lifetime - 60  # a minute left, by the client's clock: refresh first
        await client.list_orders(limit=1)
    finally:
        await client.close()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["Medusa admin token obtained by login", "Medusa admin token refreshed"]


async def test_emailpass_and_refresh_answer_as_the_embedded_shop_does(
    medusa: Seeded, admin_user: AdminUser
) -> None:
    """The shapes the embedded shop copies (tests/shop/test_auth.py), seen on the real thing."""
    async with httpx.AsyncClient(base_url=medusa.base_url, timeout=30) as http:
        ok = await http.post(
            "/auth/user/emailpass", json={"email": admin_user.email, "password": admin_user.password}
        )
        assert ok.status_code == 200 and set(ok.json()) == {"token"}
        token = ok.json()["token"]
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        assert {"exp", "iat", "actor_id", "actor_type"} <= set(jwt.decode(token, options={"verify_signature": False}))

        wrong = await http.post("/auth/user/emailpass", json={"email": admin_user.email, "password": "nope"})
        assert wrong.status_code == 401
        assert wrong.json() == {"type": "unauthorized", "message": "Invalid email or password"}

        refreshed = await http.post("/auth/token/refresh", headers={"Authorization": f"Bearer {token}"})
        assert refreshed.status_code == 200 and set(refreshed.json()) == {"token"}
        fresh = refreshed.json()["token"]
        listed = await http.get("/admin/orders", params={"limit": 1}, headers={"Authorization": f"Bearer {fresh}"})
        assert listed.status_code == 200

        refused = await http.post("/auth/token/refresh", headers={"Authorization": "Bearer not-a-jwt"})
        assert refused.status_code == 401
        assert (await http.get("/admin/orders", headers={"Authorization": "Bearer not-a-jwt"})).status_code == 401

