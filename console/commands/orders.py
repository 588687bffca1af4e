"""``medcam-console orders``: list orders with their workflow state, as text or JSON."""

from __future__ import annotations

from console.orders import OrderSummary


def matches(order: OrderSummary, text: str | None) -> bool:
    """Every word of ``text`` appears (case-insensitive) in the order's id, number, people or states."""
    if not text:
        return True
    haystack = " ".join(
        str(part) for part in (
            order.id, order.label, order.customer, order.email, order.status,
            order.workflow_status or "new", order.workflow_instance or "",
        )
    ).lower()
    return all(word in haystack for word in text.lower().split())


def order_json(order: OrderSummary) -> dict[str, object]:
    """The order as one JSON object for scripts."""
    return {
        "id": order.id,
        "display_id": order.display_id,
        "status": order.status,
        "workflow_status": order.workflow_status,
        "workflow_instance": str(order.workflow_instance) if order.workflow_instance is not None else None,
        "customer": order.customer,
        "email": order.email,
        "total": order.total,
        "currency": order.currency,
        "items": order.item_count,
        "created_at": order.created_at,
        "workflow_error": order.metadata.get("workflow_error") or None,
    }


COLUMNS = ("ORDER", "ID", "STATUS", "WORKFLOW", "INSTANCE", "CUSTOMER", "TOTAL")


def orders_table(orders: list[OrderSummary]) -> str:
    """A plain aligned table, one order per line (no colours: it may be piped)."""
    rows = [COLUMNS] + [
        (
            order.label, order.id, order.status, order.workflow_status or "-",
            str(order.workflow_instance or "-"), order.customer or "-",
            f"{order.total:.2f} {order.currency}" if order.total is not None else "-",
        )
        for order in orders
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
