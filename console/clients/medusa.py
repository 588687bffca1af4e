"""The Medusa v2 Admin API subset the console uses: orders, metadata, demo-order building blocks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from console.clients.errors import BackendError, display_url, json_object
from console.clients.medusa_auth import MedusaUserAuth
from console.clients.medusa_errors import CREDENTIAL_NAMES, explain
from workers.http import BoundedAsyncClient

#: What the console reads of an order. Medusa 2.12's defaults leave out email, currency and
#: the shipping name (checked against a real 2.12.3); every entry is prefixed so the defaults
#: stay (an unprefixed entry would replace them), and the list route ignores a bare
#: ``*shipping_address`` while it honours the two named fields.
ORDER_FIELDS = (
    "*items,+metadata,+summary,+email,+currency_code,"
    "+shipping_address.first_name,+shipping_address.last_name"
)

#: The embedded shop's demo fault switch (a real Medusa has no such route).
FAULTS_PATH = "/medcam/faults"


@dataclass(frozen=True, slots=True)
class ShopFaults:
    """The demo faults the embedded shop injects: callbacks answered 500, declined payments."""

    callbacks_down: bool
    callback_fail_rate: float
    decline_rate: float


class MedusaAdmin:
    """Admin API client; every failure is a one-line BackendError (no secret in it).

    Authenticates with the secret ``api_key`` (HTTP Basic, the key as user name, as Medusa
    v2 takes it) or as the admin user ``admin_email``/``admin_password`` (Medusa's emailpass
    login: a JWT, refreshed before it expires, see :class:`MedusaUserAuth`). When both are
    given the API key wins and the email/password are not used; with neither, requests go
    out unauthenticated (the embedded shop without a key). ``clock`` (unix seconds) judges
    the login token's expiry.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        *,
        admin_email: str | None = None,
        admin_password: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if bool(admin_email) != bool(admin_password):
            raise ValueError("admin_email and admin_password must be given together")
        auth: httpx.Auth | None = None
        #: The settings an operator checks on a 401 (None: no credentials configured).
        self.credential: str | None = None
        if api_key:
            # Medusa v2 secret API keys authenticate as HTTP Basic with the key as user name.
            auth, self.credential = httpx.BasicAuth(api_key, ""), "MEDUSA_API_KEY"
        elif admin_email and admin_password:
            auth = MedusaUserAuth(base_url.rstrip("/"), admin_email, admin_password, clock=clock)
            self.credential = CREDENTIAL_NAMES
        #: The credentials as an httpx auth, for other clients of the same Admin API.
        self.auth = auth
        self.base_url = display_url(base_url.rstrip("/"))
        self._http = BoundedAsyncClient(base_url=base_url.rstrip("/"), auth=auth, timeout=timeout_s)

    async def close(self) -> None:
        await self._http.aclose()

    async def health(self) -> bool:
        try:
            response = await self._http.get("/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def list_orders(
        self,
        limit: int = 50,
        offset: int = 0,
        order: str = "-created_at",
        updated_since: str | None = None,
        *,
        created_since: str | None = None,
        statuses: tuple[str, ...] = (),
        ids: tuple[str, ...] = (),
        fields: str = ORDER_FIELDS,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of orders and the total count.

        ``updated_since``/``created_since`` are inclusive lower bounds (``[$gte]``), and
        ``statuses`` and ``ids`` filters (each sent as a repeated parameter): filters both the
        embedded shop and Medusa 2.12 take. ``fields`` is Medusa's field selection: plain
        names (``id,status``) replace the default fields, so only those come back (Medusa
        2.12 adds ``items``, ``version`` and the payment and fulfillment statuses anyway).
        """
        params: dict[str, Any] = {"limit": limit, "offset": offset, "order": order, "fields": fields}
        if updated_since:
            params["updated_at[$gte]"] = updated_since
        if created_since:
            params["created_at[$gte]"] = created_since
        if statuses:
            params["status"] = list(statuses)
        if ids:
            params["id"] = list(ids)
        data = await self._request("GET", "/admin/orders", params=params)
        return list(data.get("orders") or []), int(data.get("count") or 0)

    async def get_order(self, order_id: str) -> dict[str, Any]:
        data = await self._request("GET", f"/admin/orders/{order_id}", params={"fields": ORDER_FIELDS})
        return data["order"]

    async def merge_metadata(self, order_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Merge keys into the order's metadata (a key set to "" is deleted)."""
        data = await self._request("POST", f"/admin/orders/{order_id}", json={"metadata": metadata})
        return data["order"]

    async def complete_order(self, order_id: str) -> dict[str, Any]:
        """Mark the order completed (``POST /admin/orders/{id}/complete``)."""
        data = await self._request("POST", f"/admin/orders/{order_id}/complete", json={})
        return data["order"]

    async def list_regions(self) -> list[dict[str, Any]]:
        return list((await self._request("GET", "/admin/regions", params={"limit": 50})).get("regions") or [])

    async def list_products(self, limit: int = 50) -> list[dict[str, Any]]:
        data = await self._request("GET", "/admin/products", params={"limit": limit})
        return list(data.get("products") or [])

    async def list_customers(self, limit: int = 50) -> list[dict[str, Any]]:
        data = await self._request("GET", "/admin/customers", params={"limit": limit, "fields": "*addresses"})
        return list(data.get("customers") or [])

    async def create_draft_order(self, body: dict[str, Any]) -> dict[str, Any]:
        return (await self._request("POST", "/admin/draft-orders", json=body))["draft_order"]

    async def convert_draft_order(self, draft_id: str) -> dict[str, Any]:
        data = await self._request("POST", f"/admin/draft-orders/{draft_id}/convert-to-order")
        return data["order"]

    async def faults(self) -> ShopFaults:
        """The embedded shop's demo faults; BackendError on a shop without the switch."""
        return await self._faults("GET")

    async def set_faults(
        self,
        *,
        callbacks_down: bool | None = None,
        callback_fail_rate: float | None = None,
        decline_rate: float | None = None,
    ) -> ShopFaults:
        """Switch the embedded shop's demo faults (None leaves one as it is); the faults now."""
        change = {"callbacks_down": callbacks_down, "callback_fail_rate": callback_fail_rate,
                  "decline_rate": decline_rate}
        return await self._faults("PUT", json={k: v for k, v in change.items() if v is not None})

    async def _faults(self, method: str, **kwargs: Any) -> ShopFaults:
        try:
            data = await self._request(method, FAULTS_PATH, **kwargs)
        except BackendError as exc:
            if exc.code in ("HTTP_404", "HTTP_405"):
                raise BackendError(
                    "medusa", f"{self.base_url} has no demo fault switch ({FAULTS_PATH}): "
                    "fault injection exists only on the embedded shop", exc.code,
                ) from None
            raise
        try:
            return ShopFaults(
                callbacks_down=data["callbacks_down"] is True,
                callback_fail_rate=float(data["callback_fail_rate"]),
                decline_rate=float(data["decline_rate"]),
            )
        except (KeyError, TypeError, ValueError):
            raise BackendError("medusa", f"{method} {FAULTS_PATH}: unexpected answer") from None

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendError(
                "medusa", f"{method} {path}: cannot reach {self.base_url} ({type(exc).__name__})", "UNAVAILABLE"
            ) from None
        if response.status_code >= 400:
            raise BackendError(
                "medusa", f"{method} {path}: {explain(response, self.credential)}",
                f"HTTP_{response.status_code}",
            )
        return json_object("medusa", f"{method} {path}", response)
