"""The shop's OpenAPI 3.1 document (hand-written, checked against the routes by the tests)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from protocol.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_S

from .bodylimit import MAX_BODY_BYTES
from .callback import MAX_ID, MAX_MESSAGE, MAX_STATUS, REPLAYED_HEADER
from .history import history_openapi
from .idempotency import IDEMPOTENCY_HEADER, MAX_KEY
from .inputs import ADDRESS_FIELDS, MAX_ITEMS, MAX_QUANTITY, MAX_TEXT
from .queries import MAX_LIMIT, ORDER_SORTS, ORDER_STATUSES

OPENAPI_PATH = "/openapi.json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


_STRING = {"type": "string"}
_TIME = {"type": "string", "description": "ISO-8601 UTC with milliseconds, e.g. 2026-01-05T05:15:02.500Z"}
_AMOUNT = {"type": "number", "minimum": 0, "description": "Major units (49.5 EUR)"}
_METADATA = {"type": "object", "additionalProperties": True}


def _object(properties: dict, *, required: list[str] | None = None, extra: bool = False) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": extra,
    }


def _schemas() -> dict:
    address_view = _object(
        {"id": _nullable(_STRING), **{f: _nullable(_STRING) for f in ADDRESS_FIELDS}}
    )
    address_input = _object(
        {f: _nullable({"type": "string", "maxLength": MAX_TEXT}) for f in ADDRESS_FIELDS},
        required=[],
    )
    line_item = _object(
        {
            "id": _STRING, "title": _STRING, "subtitle": _nullable(_STRING),
            "thumbnail": _nullable(_STRING), "variant_id": _nullable(_STRING),
            "product_id": _nullable(_STRING), "product_title": _nullable(_STRING),
            "product_handle": _nullable(_STRING), "variant_title": _nullable(_STRING),
            "variant_sku": _nullable(_STRING), "is_custom_price": {"type": "boolean"},
            "quantity": {"type": "integer", "minimum": 1}, "unit_price": _AMOUNT,
            "subtotal": _AMOUNT, "tax_total": _AMOUNT, "discount_total": _AMOUNT,
            "total": _AMOUNT, "metadata": _METADATA, "created_at": _TIME, "updated_at": _TIME,
        }
    )
    shipping_line = _object(
        {
            "id": _STRING, "name": _STRING, "shipping_option_id": _nullable(_STRING),
            "amount": _AMOUNT, "subtotal": _AMOUNT, "total": _AMOUNT,
        }
    )
    summary = _object(
        {
            name: _AMOUNT
            for name in (
                "current_order_total", "original_order_total", "accounting_total",
                "pending_difference", "paid_total", "refunded_total", "transaction_total",
                "credit_line_total",
            )
        }
    )
    order = _object(
        {
            "id": _STRING, "display_id": {"type": "integer"},
            "status": {"type": "string", "enum": list(ORDER_STATUSES)},
            "is_draft_order": {"type": "boolean"}, "email": _nullable(_STRING),
            "currency_code": _STRING, "region_id": _nullable(_STRING),
            "customer_id": _nullable(_STRING), "sales_channel_id": {"type": "null"},
            "payment_status": _STRING, "fulfillment_status": _STRING,
            "items": {"type": "array", "items": _ref("LineItem")},
            "shipping_address": _nullable(_ref("Address")),
            "billing_address": _nullable(_ref("Address")),
            "shipping_methods": {"type": "array", "items": _ref("ShippingMethod")},
            **{
                name: _AMOUNT
                for name in (
                    "item_subtotal", "item_total", "item_tax_total", "subtotal",
                    "shipping_subtotal", "shipping_total", "shipping_tax_total",
                    "discount_total", "tax_total", "total",
                )
            },
            "summary": _ref("OrderSummary"), "metadata": _METADATA,
            "canceled_at": _nullable(_TIME), "created_at": _TIME, "updated_at": _TIME,
        }
    )
    country = _object(
        {"iso_2": _STRING, "iso_3": _STRING, "name": _STRING, "display_name": _STRING}
    )
    region = _object(
        {
            "id": _STRING, "name": _STRING, "currency_code": _STRING,
            "automatic_taxes": {"type": "boolean"},
            "countries": {"type": "array", "items": _ref("Country")},
            "metadata": _METADATA, "created_at": _TIME, "updated_at": _TIME,
        }
    )
    price = _object({"id": _STRING, "amount": _AMOUNT, "currency_code": _STRING})
    variant = _object(
        {
            "id": _STRING, "title": _STRING, "sku": _nullable(_STRING), "product_id": _STRING,
            "prices": {"type": "array", "items": _ref("Price")},
            "created_at": _TIME, "updated_at": _TIME,
        }
    )
    product = _object(
        {
            "id": _STRING, "title": _STRING, "subtitle": _nullable(_STRING), "handle": _STRING,
            "description": _nullable(_STRING), "status": _STRING,
            "thumbnail": _nullable(_STRING),
            "variants": {"type": "array", "items": _ref("ProductVariant")},
            "metadata": _METADATA, "created_at": _TIME, "updated_at": _TIME,
        }
    )
    customer = _object(
        {
            "id": _STRING, "email": _STRING, "first_name": _nullable(_STRING),
            "last_name": _nullable(_STRING), "phone": _nullable(_STRING),
            "company_name": _nullable(_STRING), "has_account": {"type": "boolean"},
            "default_shipping_address_id": _nullable(_STRING),
            "addresses": {"type": "array", "items": {"type": "object"}},
            "metadata": _METADATA, "created_at": _TIME, "updated_at": _TIME,
        }
    )
    draft_item = _object(
        {
            "variant_id": _nullable({"type": "string", "minLength": 1, "maxLength": MAX_TEXT}),
            "title": _nullable({"type": "string", "minLength": 1, "maxLength": MAX_TEXT}),
            "unit_price": _nullable(_AMOUNT),
            "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
            "metadata": _METADATA,
        },
        required=["quantity"],
    )
    draft_item["description"] = "A catalogue variant (variant_id), or a custom title and unit_price"
    shipping_input = _object(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
            "amount": _AMOUNT,
            "shipping_option_id": _nullable({"type": "string", "maxLength": MAX_TEXT}),
        },
        required=["name", "amount"],
    )
    email = {"type": "string", "format": "email", "maxLength": MAX_TEXT}
    draft_create = _object(
        {
            "region_id": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
            "email": _nullable(email),
            "customer_id": _nullable({"type": "string", "maxLength": MAX_TEXT}),
            "items": {
                "type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                "items": _ref("DraftOrderItemInput"),
            },
            "shipping_address": _nullable(_ref("AddressInput")),
            "billing_address": _nullable(_ref("AddressInput")),
            "shipping_methods": {
                "type": "array", "maxItems": 10, "items": _ref("ShippingMethodInput"),
            },
            "metadata": _METADATA,
            "sales_channel_id": {"description": "Accepted and ignored"},
            "no_notification_order": {"description": "Accepted and ignored"},
        },
        required=["region_id", "items"],
    )
    draft_create["description"] = "email or customer_id is required as well"
    order_update = _object(
        {
            "email": email,
            "shipping_address": _ref("AddressInput"),
            "billing_address": _ref("AddressInput"),
            "metadata": {
                **_METADATA,
                "description": "Merged into the stored metadata; a key set to \"\" is removed",
            },
        },
        required=[],
    )

    def listing(key: str, item: str) -> dict:
        return _object(
            {
                key: {"type": "array", "items": _ref(item)},
                "count": {"type": "integer", "minimum": 0},
                "offset": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 0},
            }
        )

    callback_order = _object(
        {
            "id": _STRING, "display_id": {"type": "integer"}, "status": _STRING,
            "metadata": _METADATA, "updated_at": _TIME,
        }
    )
    return {
        "Error": _object(
            {"type": {"type": "string", "examples": ["invalid_data", "not_found"]},
             "message": _STRING}
        ),
        "CallbackError": _object({"success": {"const": False}, "error": _STRING}),
        "CallbackRequest": {
            **_object(
                {
                    "orderId": {"type": "string", "minLength": 1, "maxLength": MAX_ID},
                    "status": {"type": "string", "minLength": 1, "maxLength": MAX_STATUS},
                    "message": {"type": "string", "maxLength": MAX_MESSAGE},
                },
                required=["orderId", "status"],
                extra=True,
            ),
            "description": "orderId and status must not be blank; other fields are ignored",
        },
        "CallbackResponse": _object(
            {
                "success": {"const": True},
                "orderId": _STRING,
                "status": _STRING,
                "applied": {
                    "type": "boolean",
                    "description": "false: a late earlier stage, or a cancelled order; "
                    "nothing was changed",
                },
                "reason": {"type": "string", "description": "Why the callback was not applied"},
                "order": callback_order,
            },
            required=["success", "orderId", "status", "applied", "order"],
        ),
        "DemoHealth": _object(
            {"status": {"const": "ok"}, "service": _STRING, "route": _STRING,
             "timestamp": _TIME}
        ),
        "Address": address_view,
        "AddressInput": address_input,
        "LineItem": line_item,
        "ShippingMethod": shipping_line,
        "OrderSummary": summary,
        "Order": order,
        "Country": country,
        "Region": region,
        "Price": price,
        "ProductVariant": variant,
        "Product": product,
        "Customer": customer,
        "DraftOrderItemInput": draft_item,
        "ShippingMethodInput": shipping_input,
        "DraftOrderCreate": draft_create,
        "OrderUpdate": order_update,
        "OrderComplete": {
            "type": "object",
            "properties": {"additional_data": {"type": "object"}},
            "additionalProperties": False,
        },
        "OrderList": listing("orders", "Order"),
        "DraftOrderList": listing("draft_orders", "Order"),
        "RegionList": listing("regions", "Region"),
        "ProductList": listing("products", "Product"),
        "CustomerList": listing("customers", "Customer"),
        "OrderEnvelope": _object({"order": _ref("Order")}),
        "DraftOrderEnvelope": _object({"draft_order": _ref("Order")}),
        "RegionEnvelope": _object({"region": _ref("Region")}),
        "ProductEnvelope": _object({"product": _ref("Product")}),
        "CustomerEnvelope": _object({"customer": _ref("Customer")}),
        "EmailPassLogin": _object({"email": _STRING, "password": _STRING}),
        "TokenRefresh": {
            "type": "object",
            "description": "Ignored: the bearer token is the whole request (send nothing)",
        },
        "AuthToken": _object(
            {"token": {"type": "string", "description": "HS256 JWT with exp; send as Bearer"}}
        ),
    }


def _json(schema: str, description: str, headers: dict | None = None) -> dict:
    response: dict = {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema)}},
    }
    if headers:
        response["headers"] = headers
    return response


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def _errors(schema: str, *codes: int) -> dict:
    text = {
        400: "Invalid request (the message says exactly what)",
        401: "Missing or invalid credentials",
        404: "Not found",
        413: f"Request body larger than the limit ({MAX_BODY_BYTES} bytes by default)",
        422: "Idempotency key reused for a different callback",
        429: "Rate limit exceeded",
        500: "Unexpected server error (details are only logged)",
    }
    return {
        str(code): _json(schema, text[code], _RETRY_AFTER if code == 429 else None)
        for code in codes
    }


def _param(name: str, where: str, schema: dict, description: str = "", **extra: object) -> dict:
    param = {"name": name, "in": where, "required": where == "path", "schema": schema, **extra}
    if description:
        param["description"] = description
    return param


_FIELDS = _param("fields", "query", _STRING, "Accepted and ignored (all fields are returned)")
_PAGING = [
    _param("limit", "query", {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT}),
    _param("offset", "query", {"type": "integer", "minimum": 0}),
    _FIELDS,
]
_ORDER_FILTERS = [
    _param(
        "order", "query",
        {"type": "string", "enum": [p + s for s in ORDER_SORTS for p in ("", "-")]},
        "Sort field, '-' for descending (default -created_at)",
    ),
    _param(
        "status", "query",
        {"type": "array", "items": {"type": "string", "enum": list(ORDER_STATUSES)}},
        "Repeatable; status[] and status[n] are accepted too", style="form", explode=True,
    ),
    _param(
        "id", "query", {"type": "array", "items": {"type": "string", "minLength": 1}},
        "Repeatable; id[] and id[n] are accepted too", style="form", explode=True,
    ),
    *(
        _param(f"{column}[${op}]", "query", {"type": "string", "format": "date-time"})
        for column in ("created_at", "updated_at")
        for op in ("gt", "gte", "lt", "lte")
    ),
]


def _admin(
    summary: str,
    ok: str,
    *,
    params: list[dict] | None = None,
    body: str | None = None,
    found: bool = True,
    post: bool = False,
) -> dict:
    """An Admin API operation; ``post`` ones may be answered 413 (body too large)."""
    codes = [400, 401, *([404] if found else []), *([413] if post else []), 429, 500]
    operation: dict = {
        "tags": ["admin"],
        "summary": summary,
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "parameters": params or [],
        "responses": {"200": _json(ok, "OK"), **_errors("Error", *codes)},
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


def _path_id(name: str) -> dict:
    return _param(name, "path", {"type": "string"})


def _paths() -> dict:
    order_id = _path_id("order_id")
    return {
        "/health": {
            "get": {
                "tags": ["service"],
                "summary": "Liveness probe (never rate limited)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The shop is up",
                        "content": {"text/plain": {"schema": {"const": "OK"}}},
                    }
                },
            }
        },
        OPENAPI_PATH: {
            "get": {
                "tags": ["service"],
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors("Error", 429),
                },
            }
        },
        "/demo": {
            "get": {
                "tags": ["callback"],
                "summary": "Health check of the callback route (the seed's GET /demo)",
                "security": [],
                "responses": {
                    "200": _json("DemoHealth", "The route is up"),
                    **_errors("CallbackError", 429),
                },
            },
            "post": {
                "tags": ["callback"],
                "summary": "Workflow status callback from the workers (the seed's POST /demo)",
                "description": (
                    "Merges workflow_status, workflow_message and last_updated into the "
                    "order's metadata; status 'completed' also completes the order. Known "
                    "stages never move backwards and a cancelled order is never changed: "
                    "such a callback is answered 200 with applied=false and a reason. With "
                    f"{IDEMPOTENCY_HEADER}, a repeat is answered with the stored body "
                    f"(and {REPLAYED_HEADER}: true) and applied once; keys are kept 7 days. "
                    "When the shop has a callback secret, the request must be signed: "
                    f"{SIGNATURE_HEADER}: v1=hex(HMAC-SHA256(secret, timestamp + '.' + body)) "
                    f"with {TIMESTAMP_HEADER} (unix seconds, within ±{TOLERANCE_S} s)."
                ),
                "security": [{"callbackSignature": [], "callbackTimestamp": []}],
                "parameters": [
                    _param(
                        IDEMPOTENCY_HEADER, "header",
                        {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
                        "Workers send <orderId>:<status>:<workflow_instance>",
                    ),
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CallbackRequest")}},
                },
                "responses": {
                    "200": _json(
                        "CallbackResponse",
                        "Delivered (applied, or not applied with a reason)",
                        {REPLAYED_HEADER: {
                            "description": "Present (true) when answering a repeated key",
                            "schema": {"const": "true"},
                        }},
                    ),
                    **_errors("CallbackError", 400, 401, 404, 413, 422, 429, 500),
                },
            },
        },
        "/auth/user/emailpass": {
            "post": {
                "tags": ["auth"],
                "summary": "Admin login with email and password (Medusa v2's emailpass)",
                "description": (
                    "Answers a JWT for the admin user, valid 24 h by default (Medusa's "
                    "jwtExpiresIn); /admin accepts it as a Bearer token. Wrong credentials: "
                    "401 'Invalid email or password'."
                ),
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("EmailPassLogin")}},
                },
                "responses": {
                    "200": _json("AuthToken", "Logged in"),
                    **_errors("Error", 400, 401, 413, 429, 500),
                },
            }
        },
        "/auth/token/refresh": {
            "post": {
                "tags": ["auth"],
                "summary": "A new token for a valid, unexpired login token",
                "security": [{"bearerAuth": []}],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("TokenRefresh")}},
                },
                "responses": {
                    "200": _json("AuthToken", "A new token"),
                    **_errors("Error", 401, 413, 429, 500),
                },
            }
        },
        "/admin/orders": {
            "get": _admin(
                "List orders", "OrderList", params=[*_PAGING, *_ORDER_FILTERS], found=False
            ),
        },
        "/admin/orders/{order_id}": {
            "get": _admin("Retrieve an order", "OrderEnvelope", params=[order_id, _FIELDS]),
            "post": _admin(
                "Update an order (email, addresses, metadata merge)", "OrderEnvelope",
                params=[order_id, _FIELDS], body="OrderUpdate", post=True,
            ),
        },
        "/admin/orders/{order_id}/complete": {
            "post": {
                **_admin(
                    "Complete an order (status completed); a canceled order answers 400",
                    "OrderEnvelope", params=[order_id, _FIELDS], post=True,
                ),
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("OrderComplete")}},
                },
            },
        },
        "/admin/draft-orders": {
            "get": _admin("List draft orders", "DraftOrderList", params=_PAGING, found=False),
            "post": _admin(
                "Create a draft order", "DraftOrderEnvelope", params=[_FIELDS],
                body="DraftOrderCreate", found=False, post=True,
            ),
        },
        "/admin/draft-orders/{order_id}": {
            "get": _admin("Retrieve a draft order", "DraftOrderEnvelope", params=[order_id, _FIELDS]),
        },
        "/admin/draft-orders/{order_id}/convert-to-order": {
            "post": _admin(
                "Convert a draft order into a pending order", "OrderEnvelope",
                params=[order_id, _FIELDS], post=True,
            ),
        },
        "/admin/regions": {
            "get": _admin("List regions", "RegionList", params=_PAGING, found=False),
        },
        "/admin/regions/{region_id}": {
            "get": _admin(
                "Retrieve a region", "RegionEnvelope", params=[_path_id("region_id"), _FIELDS]
            ),
        },
        "/admin/products": {
            "get": _admin("List products", "ProductList", params=_PAGING, found=False),
        },
        "/admin/products/{product_id}": {
            "get": _admin(
                "Retrieve a product", "ProductEnvelope", params=[_path_id("product_id"), _FIELDS]
            ),
        },
        "/admin/customers": {
            "get": _admin("List customers", "CustomerList", params=_PAGING, found=False),
        },
        "/admin/customers/{customer_id}": {
            "get": _admin(
                "Retrieve a customer", "CustomerEnvelope",
                params=[_path_id("customer_id"), _FIELDS],
            ),
        },
    }


def openapi_document(
    *, api_key: bool = False, signed_callbacks: bool = False, admin_login: bool = False
) -> dict:
    """The document; the flags say whether this shop enforces the key and the signature,
    and whether it has an admin user (whose login tokens also guard /admin)."""
    history_paths, history_schemas = history_openapi()
    paths = {**_paths(), **history_paths}
    if not (api_key or admin_login):
        for path, item in paths.items():
            if path.startswith("/admin"):
                for operation in item.values():
                    operation["security"].append({})
                    operation["responses"].pop("401")
    if not signed_callbacks:
        paths["/demo"]["post"]["security"].append({})
        paths["/demo"]["post"]["responses"].pop("401")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "medcam-console embedded shop",
            "version": "1.0.0",
            "description": (
                "A Medusa v2-compatible Admin API subset and the seed's /demo status-callback "
                "route. Errors are {type, message} (Medusa) on /admin and {success: false, "
                "error} on /demo. Requests are rate limited per client address (429 with "
                "Retry-After) and bodies are limited in size (413)."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "service", "description": "Probes and this document"},
            {"name": "callback", "description": "The seed's workflow status callback"},
            {"name": "admin", "description": "Medusa v2 Admin API subset"},
            {"name": "auth", "description": "Medusa v2 admin login (email and password)"},
        ],
        "paths": paths,
        "components": {
            "schemas": {**_schemas(), **history_schemas},
            "securitySchemes": {
                "basicAuth": {
                    "type": "http", "scheme": "basic",
                    "description": "The secret API key as user name, empty password",
                },
                "bearerAuth": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "The secret API key, or a token from POST "
                    "/auth/user/emailpass (the only one /auth/token/refresh takes)",
                },
                "callbackSignature": {
                    "type": "apiKey", "in": "header", "name": SIGNATURE_HEADER,
                    "description": "v1=<hex HMAC-SHA256 of timestamp + '.' + raw body>",
                },
                "callbackTimestamp": {
                    "type": "apiKey", "in": "header", "name": TIMESTAMP_HEADER,
                    "description": f"Unix seconds; within ±{TOLERANCE_S} s of the shop's clock",
                },
            },
        },
    }


def openapi_routes(document: dict) -> list[Route]:
    """``GET /openapi.json`` serving ``document`` (serialised once)."""
    content = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    async def serve(request: Request) -> Response:
        return Response(content, media_type="application/json")

    return [Route(OPENAPI_PATH, serve, methods=["GET"])]
