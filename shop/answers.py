"""The shop's answers as pydantic models: the OpenAPI document's response schemas.

The routes build these bodies as plain dicts (``shop.shapes``) and send them without a
validation pass, to keep the hot routes lean; the contract and fuzz tests check every answer
against the schemas generated from these models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from .queries import ORDER_STATUSES

Time = Annotated[str, Field(description="ISO-8601 UTC with milliseconds, e.g. 2026-01-05T05:15:02.500Z")]
Money = Annotated[float, Field(ge=0, description="Major units (49.5 EUR)")]
Metadata = dict[str, Any]
#: The payment status of an order nobody has paid yet, and of one whose payment was declined.
NOT_PAID = "not_paid"
PAYMENT_DECLINED = "canceled"
#: Medusa 2's payment statuses; "canceled" is a declined payment.
PaymentStatus = Literal[
    "not_paid", "awaiting", "authorized", "partially_authorized", "captured",
    "partially_captured", "partially_refunded", "refunded", "canceled", "requires_action",
]


class _Shape(BaseModel):
    """Every field is always present, and nothing else is."""

    model_config = ConfigDict(extra="forbid")


class Error(_Shape):
    """Medusa's error shape."""

    type: Annotated[str, Field(examples=["invalid_data", "not_found"])]
    message: str


class CallbackError(_Shape):
    """The seed's /demo error shape."""

    success: Literal[False]
    error: str


class CallbackOrder(_Shape):
    id: str
    display_id: int
    status: str
    metadata: Metadata
    updated_at: Time


class CallbackResponse(_Shape):
    success: Literal[True]
    orderId: str  # noqa: N815
    status: str
    applied: bool = Field(
        description="false: a late earlier stage, or a cancelled order; nothing was changed"
    )
    reason: str = Field(None, description="Why the callback was not applied")
    order: CallbackOrder


class DemoHealth(_Shape):
    status: Literal["ok"]
    service: str
    route: str
    timestamp: Time


class Address(_Shape):
    id: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    address_1: str | None
    address_2: str | None
    city: str | None
    province: str | None
    postal_code: str | None
    country_code: str | None
    phone: str | None


class LineItem(_Shape):
    id: str
    title: str
    subtitle: str | None
    thumbnail: str | None
    variant_id: str | None
    product_id: str | None
    product_title: str | None
    product_handle: str | None
    variant_title: str | None
    variant_sku: str | None
    is_custom_price: bool
    quantity: Annotated[int, Field(ge=1)]
    unit_price: Money
    subtotal: Money
    tax_total: Money
    discount_total: Money
    total: Money
    metadata: Metadata
    created_at: Time
    updated_at: Time


class ShippingMethod(_Shape):
    id: str
    name: str
    shipping_option_id: str | None
    amount: Money
    subtotal: Money
    total: Money


class OrderSummary(_Shape):
    current_order_total: Money
    original_order_total: Money
    accounting_total: Money
    pending_difference: Money
    paid_total: Money
    refunded_total: Money
    transaction_total: Money
    credit_line_total: Money


class Order(_Shape):
    """An order or a draft order, as Medusa v2's Admin API shows it."""

    id: str
    display_id: int
    status: Literal[ORDER_STATUSES]  # type: ignore[valid-type]
    is_draft_order: bool
    email: str | None
    currency_code: str
    region_id: str | None
    customer_id: str | None
    sales_channel_id: None
    payment_status: PaymentStatus
    fulfillment_status: str
    items: list[LineItem]
    shipping_address: Address | None
    billing_address: Address | None
    shipping_methods: list[ShippingMethod]
    item_subtotal: Money
    item_total: Money
    item_tax_total: Money
    subtotal: Money
    shipping_subtotal: Money
    shipping_total: Money
    shipping_tax_total: Money
    discount_total: Money
    tax_total: Money
    total: Money
    summary: OrderSummary
    metadata: Metadata
    canceled_at: Time | None
    created_at: Time
    updated_at: Time


#: An order in the list when ``fields`` names plain fields: ``id`` and those fields only.
OrderFields = create_model(
    "OrderFields",
    __base__=_Shape,
    __doc__="An order with only the fields asked for (a plain fields list): id and those.",
    **{
        name: (info.annotation, ... if name == "id" else Field(None, description=info.description))
        for name, info in Order.model_fields.items()
    },
)


class Country(_Shape):
    iso_2: str
    iso_3: str
    name: str
    display_name: str


class Region(_Shape):
    id: str
    name: str
    currency_code: str
    automatic_taxes: bool
    countries: list[Country]
    metadata: Metadata
    created_at: Time
    updated_at: Time


class Price(_Shape):
    id: str
    amount: Money
    currency_code: str


class ProductVariant(_Shape):
    id: str
    title: str
    sku: str | None
    product_id: str
    prices: list[Price]
    created_at: Time
    updated_at: Time


class Product(_Shape):
    id: str
    title: str
    subtitle: str | None
    handle: str
    description: str | None
    status: str
    thumbnail: str | None
    variants: list[ProductVariant]
    metadata: Metadata
    created_at: Time
    updated_at: Time


class Customer(_Shape):
    id: str
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    company_name: str | None
    has_account: bool
    default_shipping_address_id: str | None
    addresses: list[dict[str, Any]]
    metadata: Metadata
    created_at: Time
    updated_at: Time


Count = Annotated[int, Field(ge=0)]


class OrderList(_Shape):
    orders: list[Order | OrderFields]  # type: ignore[valid-type]
    count: Count
    offset: Count
    limit: Count


class DraftOrderList(_Shape):
    draft_orders: list[Order]
    count: Count
    offset: Count
    limit: Count


class RegionList(_Shape):
    regions: list[Region]
    count: Count
    offset: Count
    limit: Count


class ProductList(_Shape):
    products: list[Product]
    count: Count
    offset: Count
    limit: Count


class CustomerList(_Shape):
    customers: list[Customer]
    count: Count
    offset: Count
    limit: Count


class OrderEnvelope(_Shape):
    order: Order


class DraftOrderEnvelope(_Shape):
    draft_order: Order


class RegionEnvelope(_Shape):
    region: Region


class ProductEnvelope(_Shape):
    product: Product


class CustomerEnvelope(_Shape):
    customer: Customer


class AuthToken(_Shape):
    token: str = Field(description="HS256 JWT with exp; send as Bearer")


class Faults(_Shape):
    """The demo faults the embedded shop injects now."""

    callbacks_down: bool = Field(description="Every POST /demo is answered 500")
    callback_fail_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        description="Share of POST /demo answered 500"
    )
    decline_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        description='Share of converted draft orders whose payment_status is "canceled"'
    )
