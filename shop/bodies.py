"""The shop's request bodies as pydantic models: their validation and their OpenAPI schemas.

Field types carry the constraints the document shows; the few rules JSON Schema cannot say
(a blank string, an email, money with two decimals) are validators whose messages
:mod:`shop.requestbody` puts after the field's name.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
    with_config,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from .money import MAX_MAJOR, to_minor
from .requestbody import BODY_RULE, type_name

MAX_TEXT = 500
MAX_QUANTITY = 100_000
MAX_ITEMS = 500
MAX_SHIPPING_METHODS = 10
MAX_ID = 200
MAX_STATUS = 100
MAX_MESSAGE = 4000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"[a-z]{2}")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _email(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if not _EMAIL.match(text):
        raise ValueError(f"must be an email address, got {text!r}")
    return text


def _country(value: str) -> str:
    code = value.strip().lower()
    if not _COUNTRY.fullmatch(code):
        raise ValueError(f"must be a two-letter ISO code, got {value!r}")
    return code


def _quantity(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a positive integer, got {type_name(value)}")
    if not 1 <= value <= MAX_QUANTITY:
        raise ValueError(f"must be between 1 and {MAX_QUANTITY}, got {value}")
    return value


def _minor_units(value: object) -> int:
    try:
        return to_minor(value)
    except ValueError as exc:
        raise ValueError(f"{exc}, got {value!r}") from None


Text = Annotated[str, Field(max_length=MAX_TEXT)]
NonBlank = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_not_blank)]
Email = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TEXT, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY), BeforeValidator(_quantity)]
#: Major units in requests and answers (49.5 EUR); validated into integer minor units.
Amount = Annotated[
    int,
    PlainValidator(
        _minor_units,
        json_schema_input_type=Annotated[
            float, Field(ge=0, le=float(MAX_MAJOR), description="Major units (49.5 EUR)")
        ],
    ),
]
Metadata = dict[str, Any]
CountryCode = Annotated[
    str, Field(max_length=MAX_TEXT, description="Two-letter ISO code"), AfterValidator(_country)
]


class _Strict(BaseModel):
    """Unknown fields are refused, as Medusa's validators refuse them."""

    model_config = ConfigDict(extra="forbid")


@with_config(ConfigDict(extra="forbid"))
class AddressInput(TypedDict, total=False):
    """An address or a change to one: only the fields given are stored or merged."""

    first_name: Text | None
    last_name: Text | None
    company: Text | None
    address_1: Text | None
    address_2: Text | None
    city: Text | None
    province: Text | None
    postal_code: Text | None
    country_code: CountryCode | None
    phone: Text | None


#: Medusa's address fields, in its order (the stored and shown address has each of them).
ADDRESS_FIELDS: tuple[str, ...] = tuple(AddressInput.__annotations__)


class DraftOrderItemInput(_Strict):
    """A catalogue variant (variant_id), or a custom title and unit_price."""

    variant_id: Text | None = None
    title: NonBlank | None = None
    unit_price: Amount | None = None
    quantity: Quantity
    metadata: Metadata = Field(default=None)  # absent: none; null is refused

    @model_validator(mode="after")
    def _variant_or_custom(self) -> DraftOrderItemInput:
        if self.variant_id is None and (self.title is None or self.unit_price is None):
            raise ValueError("needs either variant_id, or title and unit_price for a custom item")
        return self


class ShippingMethodInput(_Strict):
    """A shipping line with a flat amount."""

    name: NonBlank
    amount: Amount
    shipping_option_id: Text | None = None


class DraftOrderCreate(_Strict):
    """``POST /admin/draft-orders``: email or customer_id is required as well."""

    region_id: NonBlank
    email: Email | None = None
    customer_id: Text | None = Field(None, validate_default=True)
    items: Annotated[list[DraftOrderItemInput], Field(min_length=1, max_length=MAX_ITEMS)]
    shipping_address: AddressInput | None = None
    billing_address: AddressInput | None = None
    shipping_methods: Annotated[
        list[ShippingMethodInput], Field(max_length=MAX_SHIPPING_METHODS)
    ] = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)
    sales_channel_id: Any = Field(None, description="Accepted and ignored")
    no_notification_order: Any = Field(None, description="Accepted and ignored")

    @field_validator("customer_id")
    @classmethod
    def _someone_to_bill(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Checked here, in field order (before the items), as Medusa reports it.
        if value is None and info.data.get("email") is None:
            raise PydanticCustomError(BODY_RULE, "email or customer_id is required")
        return value


class OrderUpdate(_Strict):
    """``POST /admin/orders/{id}``: each field given is changed; null is refused."""

    email: Email = Field(default=None)
    shipping_address: AddressInput = Field(default=None)
    billing_address: AddressInput = Field(default=None)
    metadata: Metadata = Field(
        default=None,
        description='Merged into the stored metadata; a key set to "" is removed',
    )


class OrderComplete(_Strict):
    """``POST /admin/orders/{id}/complete``: the body may be left out."""

    additional_data: dict[str, Any] = Field(default=None)


class CallbackRequest(BaseModel):
    """The seed's status callback: orderId and status must not be blank; other fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    orderId: Annotated[str, Field(min_length=1, max_length=MAX_ID), AfterValidator(_not_blank)]  # noqa: N815
    status: Annotated[str, Field(min_length=1, max_length=MAX_STATUS), AfterValidator(_not_blank)]
    message: Annotated[str, Field(max_length=MAX_MESSAGE)] = ""


class EmailPassLogin(_Strict):
    """Medusa's emailpass login."""

    email: str
    password: str


class TokenRefresh(BaseModel):
    """Ignored: the bearer token is the whole request (send nothing)."""


class FaultsUpdate(_Strict):
    """``PUT /medcam/faults``: the faults to change; fields left out keep their value."""

    model_config = ConfigDict(extra="forbid", strict=True)

    callbacks_down: bool = Field(default=None, description="Every POST /demo is answered 500")
    callback_fail_rate: float = Field(
        default=None, ge=0, le=1, description="Share of POST /demo answered 500"
    )
    decline_rate: float = Field(
        default=None, ge=0, le=1,
        description='Share of converted draft orders whose payment_status is "canceled"',
    )
