"""Reads one order from Medusa's Admin API for the workers: payment status, items, totals."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

#: Medusa 2 detail fields: the defaults (totals, items, addresses) plus what the payment check
#: and the Slack order message need; "+" adds to the defaults (as the console's own reads do).
ORDER_FIELDS = "+display_id,+email,+currency_code,+payment_status,*items,*shipping_address,*customer"

#: Medusa 2 ``payment_status`` values that mean the payment was declined.
DECLINED_PAYMENT_STATUSES = frozenset({"canceled"})


class OrderReadError(Exception):
    """The order could not be read; the message is one line without credentials."""


class OrderReader:
    """``GET /admin/orders/{id}`` with the Admin API credentials (API key or JWT auth)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, auth: httpx.Auth | None = None,
                 timeout_s: float = 5.0) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = auth
        self._timeout_s = timeout_s

    async def get(self, order_id: str) -> dict[str, Any]:
        url = f"{self._base}/admin/orders/{quote(order_id, safe='')}"
        kwargs: dict[str, Any] = {"params": {"fields": ORDER_FIELDS}, "timeout": self._timeout_s}
        if self._auth is not None:
            kwargs["auth"] = self._auth
        try:
            response = await self._http.get(url, **kwargs)
        except httpx.TimeoutException:
            raise OrderReadError(f"reading order {order_id} timed out after {self._timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise OrderReadError(f"reading order {order_id}: {type(exc).__name__}") from None
        if not response.is_success:
            raise OrderReadError(f"reading order {order_id}: HTTP {response.status_code}")
        try:
            order = response.json().get("order")
        except (ValueError, AttributeError):
            order = None
        if not isinstance(order, dict):
            raise OrderReadError(f"reading order {order_id}: the answer holds no order object")
        return order


def payment_declined(order: dict[str, Any]) -> bool:
    """True when Medusa says the order's payment was declined (``payment_status: canceled``)."""
    return order.get("payment_status") in DECLINED_PAYMENT_STATUSES
