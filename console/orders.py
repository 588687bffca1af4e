"""The console's view of a Medusa order, read from Admin API JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """What the console shows and decides on for one order."""

    id: str
    display_id: int | None
    status: str
    email: str
    customer: str
    total: float | None
    currency: str
    item_count: int
    created_at: str
    updated_at: str
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def workflow_instance(self) -> int | None:
        value = self.metadata.get("workflow_instance")
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    @property
    def workflow_status(self) -> str | None:
        value = self.metadata.get("workflow_status")
        return str(value) if value else None

    @property
    def label(self) -> str:
        return f"#{self.display_id}" if self.display_id is not None else self.id

    @classmethod
    def from_medusa(cls, data: dict[str, Any]) -> OrderSummary:
        """Build from a Medusa v2 order object (list or detail shape)."""
        address = data.get("shipping_address") or {}
        customer = data.get("customer") or {}
        first = address.get("first_name") or customer.get("first_name") or ""
        last = address.get("last_name") or customer.get("last_name") or ""
        name = f"{first} {last}".strip() or str(data.get("email") or "")
        items = data.get("items") or []
        return cls(
            id=str(data["id"]),
            display_id=data.get("display_id"),
            status=str(data.get("status") or "pending"),
            email=str(data.get("email") or ""),
            customer=name,
            total=order_total(data),
            currency=str(data.get("currency_code") or "").upper(),
            item_count=sum(int(i.get("quantity") or 0) for i in items if isinstance(i, dict)),
            created_at=str(data.get("created_at") or ""),
            updated_at=str(data.get("updated_at") or ""),
            metadata=dict(data.get("metadata") or {}),
        )


def order_total(data: dict[str, Any]) -> float | None:
    """The order's current total.

    Medusa 2.12's order list can carry a wrong ``total`` while ``summary.current_order_total``
    is right, so the summary wins when present.
    """
    summary = data.get("summary") or {}
    for value in (summary.get("current_order_total"), data.get("total")):
        if value is None:
            continue
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None
