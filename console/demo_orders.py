"""Makes realistic demo orders through the Admin API (draft order, then convert), as Medusa does."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin


class DemoOrderMaker:
    """Picks a customer, a region and 1–3 products from the shop's catalogue."""

    def __init__(self, medusa: MedusaAdmin, seed: int | None = None) -> None:
        self._medusa = medusa
        self._rng = random.Random(seed)
        self._catalogue: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] | None = None
        self._loading = asyncio.Lock()

    async def _load(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        async with self._loading:
            return await self._load_once()

    async def _load_once(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        if self._catalogue is None:
            regions = await self._medusa.list_regions()
            products = [p for p in await self._medusa.list_products() if p.get("variants")]
            customers = await self._medusa.list_customers()
            if not regions or not products or not customers:
                raise BackendError("medusa", "no regions, products or customers to build a demo order from")
            self._catalogue = (regions, products, customers)
        return self._catalogue

    async def create(self) -> dict[str, Any]:
        """Create one demo order; returns the Medusa order."""
        regions, products, customers = await self._load()
        rng = self._rng
        region = rng.choice(regions)
        customer = rng.choice(customers)
        items = []
        for product in rng.sample(products, k=min(len(products), rng.randint(1, 3))):
            variant = rng.choice(product["variants"])
            items.append({"variant_id": variant["id"], "quantity": rng.randint(1, 3)})
        address = (customer.get("addresses") or [{}])[0]
        shipping = {
            "first_name": customer.get("first_name") or "",
            "last_name": customer.get("last_name") or "",
            "address_1": address.get("address_1") or "1 Demo Street",
            "city": address.get("city") or "Mumbai",
            "postal_code": address.get("postal_code") or "400001",
            "country_code": address.get("country_code") or "in",
        }
        body = {
            "region_id": region["id"],
            "email": customer["email"],
            "customer_id": customer.get("id"),
            "items": items,
            "shipping_address": shipping,
        }
        draft = await self._medusa.create_draft_order(body)
        return await self._medusa.convert_draft_order(draft["id"])
