"""The console's side of the demo faults: settings reach the embedded shop, the client switches them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin, ShopFaults
from console.demo_orders import DemoOrderMaker
from console.embedded import EmbeddedServices
from console.settings import SettingsError, load_settings

KEY = "sk_faults_console"


async def test_settings_reach_the_embedded_shop_and_the_client_switches_them(
    tmp_path: Path,
) -> None:
    services = EmbeddedServices(
        tmp_path, engine=False, shop=True, shop_port=0, api_key=KEY,
        callback_fail_rate=1.0, decline_rate=1.0, demo_seed=5,
    )
    found = await services.start()
    assert found.medusa_url is not None
    medusa = MedusaAdmin(found.medusa_url, api_key=KEY)
    try:
        assert await medusa.faults() == ShopFaults(False, 1.0, 1.0)
        order = await DemoOrderMaker(medusa, seed=1).create()
        assert order["payment_status"] == "canceled"
        async with httpx.AsyncClient(base_url=found.medusa_url) as http:
            callback = {"orderId": order["id"], "status": "payment_verified", "message": "m"}
            assert (await http.post("/demo", json=callback)).status_code == 500

            now = await medusa.set_faults(callbacks_down=True, callback_fail_rate=0.0)
            assert now == ShopFaults(True, 0.0, 1.0)
            assert (await http.post("/demo", json=callback)).status_code == 500
            now = await medusa.set_faults(callbacks_down=False, decline_rate=0.0)
            assert now == ShopFaults(False, 0.0, 0.0)
            assert (await http.post("/demo", json=callback)).status_code == 200
        assert (await DemoOrderMaker(medusa, seed=1).create())["payment_status"] == "not_paid"
    finally:
        await medusa.close()
        await services.stop()


async def test_an_embedded_shop_starts_without_faults_whatever_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDCAM_DEMO_CALLBACK_FAIL_RATE", "1")
    services = EmbeddedServices(tmp_path, engine=False, shop=True, shop_port=0)
    found = await services.start()
    assert found.medusa_url is not None
    medusa = MedusaAdmin(found.medusa_url)
    try:
        assert await medusa.faults() == ShopFaults(False, 0.0, 0.0)
    finally:
        await medusa.close()
        await services.stop()


async def test_a_shop_without_the_switch_is_a_clear_backend_error(asgi_server) -> None:
    async with asgi_server(Starlette()) as url:
        medusa = MedusaAdmin(url)
        try:
            for call in (medusa.faults(), medusa.set_faults(callbacks_down=True)):
                with pytest.raises(BackendError, match="exists only on the embedded shop") as caught:
                    await call
                assert caught.value.code == "HTTP_404"
        finally:
            await medusa.close()


def test_fault_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCAM_DEMO_CALLBACK_FAIL_RATE", "0.25")
    monkeypatch.setenv("MEDCAM_DEMO_DECLINE_RATE", "0.1")
    monkeypatch.setenv("MEDCAM_DEMO_SEED", "42")
    settings = load_settings()
    assert (settings.demo_callback_fail_rate, settings.demo_decline_rate, settings.demo_seed) == (
        0.25, 0.1, 42,
    )
    monkeypatch.setenv("MEDCAM_DEMO_DECLINE_RATE", "1.5")
    with pytest.raises(SettingsError, match="MEDCAM_DEMO_DECLINE_RATE='1.5'"):
        load_settings()
