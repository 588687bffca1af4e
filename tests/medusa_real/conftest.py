"""The real-Medusa tier: a Medusa 2.12 server started by ``.ci/medusa-tier`` on loopback.

Skipped unless ``MEDCAM_MEDUSA_REAL=1``; the harness also sets ``MEDCAM_MEDUSA_URL``,
``MEDCAM_MEDUSA_ADMIN_EMAIL`` and ``MEDCAM_MEDUSA_ADMIN_PASSWORD`` (the admin user it created).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from console.clients.medusa import MedusaAdmin

from .seed import Seeded, seed

ENABLED = os.environ.get("MEDCAM_MEDUSA_REAL") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "medusa_real: needs a real Medusa 2.12 server (run .ci/medusa-tier)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    skip = pytest.mark.skip(reason="real-Medusa tier: run .ci/medusa-tier (MEDCAM_MEDUSA_REAL=1)")
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.medusa_real)
            if not ENABLED:
                item.add_marker(skip)


@dataclass(frozen=True)
class AdminUser:
    """The admin user the harness created (``medusa user -e … -p …``)."""

    email: str
    password: str = field(repr=False)


@pytest.fixture(scope="session")
def admin_user() -> AdminUser:
    try:
        return AdminUser(
            os.environ["MEDCAM_MEDUSA_ADMIN_EMAIL"], os.environ["MEDCAM_MEDUSA_ADMIN_PASSWORD"]
        )
    except KeyError as exc:
        pytest.fail(f"{exc.args[0]} is not set; run the tier with .ci/medusa-tier")


@pytest.fixture(scope="session")
def medusa() -> Seeded:
    """The seeded server: region, product, shipping option, customer, orders, secret key."""
    try:
        url = os.environ["MEDCAM_MEDUSA_URL"]
        email = os.environ["MEDCAM_MEDUSA_ADMIN_EMAIL"]
        password = os.environ["MEDCAM_MEDUSA_ADMIN_PASSWORD"]
    except KeyError as exc:
        pytest.fail(f"{exc.args[0]} is not set; run the tier with .ci/medusa-tier")
    return seed(url, email, password)


@pytest.fixture
async def admin(medusa: Seeded) -> AsyncIterator[MedusaAdmin]:
    """The console's own Admin API client, authenticated with the secret key."""
    client = MedusaAdmin(medusa.base_url, api_key=medusa.secret_key)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def fresh_order(medusa: Seeded, admin: MedusaAdmin) -> dict:
    """A new order (draft order converted to an order) made with the console's client."""
    draft = await admin.create_draft_order(
        {
            "email": "fresh@example.com",
            "region_id": medusa.region_id,
            "items": [{"variant_id": medusa.variant_id, "quantity": 1}],
            "shipping_address": {
                "first_name": "Fresh", "last_name": "Order", "address_1": "Alexanderplatz 1",
                "city": "Berlin", "postal_code": "10178", "country_code": "de",
            },
        }
    )
    return await admin.convert_draft_order(draft["id"])
