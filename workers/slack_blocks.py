"""Block Kit layouts of the Slack messages: order created, stage done, stage gave up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.stages import SLACK_ERROR_TITLE, STAGES, Stage

#: Line items listed in the order message; the rest are counted.
MAX_ITEMS = 10

Blocks = list[dict[str, Any]]


def _text(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _header(title: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}}


def order_link(admin_url: str | None, order_id: str, label: str) -> str:
    """``<admin/orders/id|label>`` when SLACK_ADMIN_URL is set, else the label in code style."""
    if admin_url:
        return f"<{admin_url}/orders/{order_id}|{label}>"
    return f"`{label}`"


def money(amount: object, currency: str) -> str:
    """``1,234.50 INR``; amounts are in major units as Medusa 2 returns them."""
    try:
        value = float(amount)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    return f"{value:,.2f} {currency.upper()}"


def _label(order: Mapping[str, Any]) -> str:
    display = order.get("display_id")
    return f"#{display}" if display is not None else str(order.get("id"))


def _customer(order: Mapping[str, Any]) -> str:
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    address = order.get("shipping_address") if isinstance(order.get("shipping_address"), dict) else {}
    first = customer.get("first_name") or address.get("first_name") or ""
    last = customer.get("last_name") or address.get("last_name") or ""
    name = f"{first} {last}".strip() or "—"
    email = order.get("email") or customer.get("email") or "—"
    return f"{name}\n{email}"


def _address(order: Mapping[str, Any]) -> str:
    address = order.get("shipping_address")
    if not isinstance(address, dict):
        return "—"
    city_line = " ".join(str(address[k]) for k in ("postal_code", "city") if address.get(k))
    lines = [address.get("address_1"), address.get("address_2"), city_line,
             str(address.get("country_code") or "").upper()]
    return "\n".join(str(line) for line in lines if line) or "—"


def _items(order: Mapping[str, Any], currency: str) -> str:
    items = [i for i in order.get("items") or [] if isinstance(i, dict)]
    lines = [
        f"• {item.get('quantity', '?')} × {item.get('title') or item.get('product_title') or 'item'}"
        f" — {money(item.get('unit_price'), currency)}"
        for item in items[:MAX_ITEMS]
    ]
    if len(items) > MAX_ITEMS:
        lines.append(f"…and {len(items) - MAX_ITEMS} more")
    return "\n".join(lines) or "no line items"


def order_created(order: Mapping[str, Any], admin_url: str | None) -> tuple[str, Blocks]:
    """The rich message posted when fulfillment of ``order`` starts (the seed's order-created)."""
    order_id = str(order.get("id"))
    label = _label(order)
    currency = str(order.get("currency_code") or "")
    title = f"🛒 Order {label} created"
    totals = [
        ("Subtotal", order.get("item_subtotal", order.get("subtotal"))),
        ("Shipping", order.get("shipping_total")),
        ("Discounts", order.get("discount_total")),
        ("Tax", order.get("tax_total")),
        ("Total", order.get("total")),
    ]
    blocks: Blocks = [
        _header(title),
        {"type": "section", "fields": [
            _text(f"*Order:*\n{order_link(admin_url, order_id, label)}"),
            _text(f"*Customer:*\n{_customer(order)}"),
            _text(f"*Ship to:*\n{_address(order)}"),
        ]},
        {"type": "section", "text": _text(f"*Items:*\n{_items(order, currency)}")},
        {"type": "section", "fields": [_text(f"*{name}:*\n{money(value, currency)}") for name, value in totals]},
        {"type": "context", "elements": [_text("Fulfillment started")]},
    ]
    text = f"{title}: {_customer(order).replace(chr(10), ', ')}, total {money(order.get('total'), currency)}"
    return text, blocks


def stage_done(stage: Stage, order_id: str, admin_url: str | None, detail: str,
               warehouse: str | None = None) -> tuple[str, Blocks]:
    """A stage's message: the seed's title, a progress indicator, the warehouse for stage 2.

    The payment-declined path's stages are no step of the three: no progress indicator.
    """
    on_path = stage in STAGES
    title = f"{stage.slack_title} - {stage.progress}" if on_path else stage.slack_title
    fields = [_text(f"*Order:*\n{order_link(admin_url, order_id, order_id)}")]
    if on_path:
        fields.append(_text(f"*Progress:*\n{stage.progress_bar}"))
    if warehouse:
        fields.append(_text(f"*Warehouse:*\n{warehouse}"))
    blocks: Blocks = [
        _header(title),
        {"type": "section", "fields": fields},
        {"type": "context", "elements": [_text(detail)]},
    ]
    return f"{title}: order {order_id}. {detail}", blocks


def workflow_error(stage: Stage, order_id: str, admin_url: str | None, error: str) -> tuple[str, Blocks]:
    """A stage gave up: names the stage and the error."""
    title = f"{SLACK_ERROR_TITLE} - {stage.label} ({stage.progress})"
    blocks: Blocks = [
        _header(title),
        {"type": "section", "fields": [
            _text(f"*Order:*\n{order_link(admin_url, order_id, order_id)}"),
            _text(f"*Stage:*\n{stage.label} (`{stage.task_type}`)"),
        ]},
        {"type": "section", "text": _text(f"*Error:*\n```{error[:2800]}```")},
    ]
    return f"{title}: order {order_id}. {error[:500]}", blocks


def notice(title: str, order_id: str, admin_url: str | None, detail: str) -> tuple[str, Blocks]:
    """A plain message: header, the order (linked), one line of detail."""
    blocks: Blocks = [
        _header(title),
        {"type": "section", "fields": [_text(f"*Order:*\n{order_link(admin_url, order_id, order_id)}")]},
        {"type": "context", "elements": [_text(detail)]},
    ]
    return f"{title}: order {order_id}. {detail}", blocks
