"""The Medusa v2 Admin API subset: orders, draft orders, regions, products, customers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import answers
from .bodies import DraftOrderCreate, OrderComplete, OrderUpdate
from .errors import InvalidData, NotFound, medusa_endpoint
from .faults import DemoFaults
from .operations import Guards, admin_operation, path_ids, request_body, shop_router
from .queries import (
    DetailQuery,
    OrderListQuery,
    Page,
    PageQuery,
    parse_order_query,
    parse_page,
    query_parameters,
)
from .repository import OrderRecord, ShopRepository
from .requestbody import ADMIN, BodyError, Wording, read_model
from .shapes import (
    ORDER_FIELD_NAMES,
    customer_view,
    order_fields_view,
    order_needs_items,
    order_view,
    product_view,
    region_view,
)

Handler = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)


async def _body(request: Request, model: type[M], expected: str, wording: Wording = ADMIN) -> M:
    try:
        return read_model(await request.body(), model, expected, wording)
    except BodyError as exc:
        raise InvalidData(str(exc)) from None


#: Complete-order's words, as before: its own prefix and no "in request body".
_COMPLETE = Wording(
    unknown="Unrecognized fields: {names}", prefix="Invalid request: ", names_type=False,
    sorts_unknown=True,
)


def _only_fields(request: Request) -> None:
    """Detail and write routes accept ``fields`` (ignored) and nothing else."""
    unknown = [key for key in request.query_params if key != "fields"]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise InvalidData(f"Invalid request: Unrecognized query parameters: {names}")


def _page_body(key: str, views: list[dict], count: int, page: Page) -> JSONResponse:
    return JSONResponse({key: views, "count": count, "offset": page.offset, "limit": page.limit})


def _order(record: OrderRecord) -> dict:
    return order_view(record.row, record.items)


def _known_fields(fields: tuple[str, ...]) -> tuple[str, ...]:
    """``fields`` if each is a top-level order field, else a 400 naming the others."""
    unknown = [name for name in fields if name not in ORDER_FIELD_NAMES]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        verb = "is not an order field" if len(unknown) == 1 else "are not order fields"
        raise InvalidData(f"Invalid fields: {names} {verb} (an order has {', '.join(ORDER_FIELD_NAMES)})")
    return fields


def admin_router(repository: ShopRepository, faults: DemoFaults, guards: Guards) -> APIRouter:
    """The ``/admin`` routes bound to ``repository``; ``faults`` may decline converted orders."""
    router = shop_router()
    paging = query_parameters(PageQuery)
    detail = query_parameters(DetailQuery)

    def route(path: str, method: str, **options: object):
        def register(handler: Handler) -> Handler:
            endpoint = medusa_endpoint(handler)
            router.add_api_route(path, endpoint, methods=[method], **options)  # type: ignore[arg-type]
            return endpoint
        return register

    order_id = path_ids("order_id")

    @route("/admin/orders", "GET", **admin_operation(
        guards, "List orders", answers.OrderList, found=False,
        parameters=query_parameters(OrderListQuery)))
    async def list_orders(request: Request) -> Response:
        query = parse_order_query(request.query_params.multi_items())
        fields = _known_fields(query.fields)
        records, count = repository.list_orders(query, items=order_needs_items(fields))
        views = [order_fields_view(r.row, r.items, fields) for r in records]
        return _page_body("orders", views, count, query.page)

    @route("/admin/orders/{order_id}", "GET", **admin_operation(
        guards, "Retrieve an order", answers.OrderEnvelope, parameters=order_id + detail))
    async def get_order(request: Request) -> Response:
        _only_fields(request)
        order_id = request.path_params["order_id"]
        record = repository.get_order(order_id, draft=False)
        if record is None:
            raise NotFound(f"Order with id: {order_id} was not found")
        return JSONResponse({"order": _order(record)})

    @route("/admin/orders/{order_id}", "POST", **admin_operation(
        guards, "Update an order (email, addresses, metadata merge)", answers.OrderEnvelope,
        parameters=order_id + detail, body=OrderUpdate, post=True))
    async def update_order(request: Request) -> Response:
        _only_fields(request)
        update = await _body(request, OrderUpdate, 'a JSON object such as {"metadata": {}}')
        record = repository.update_order(request.path_params["order_id"], update)
        return JSONResponse({"order": _order(record)})

    @route("/admin/orders/{order_id}/complete", "POST", **admin_operation(
        guards, "Complete an order (status completed); a canceled order answers 400",
        answers.OrderEnvelope, parameters=order_id + detail, post=True,
        extra=_optional(OrderComplete)))
    async def complete_order(request: Request) -> Response:
        _only_fields(request)
        if await request.body():
            await _body(request, OrderComplete, "a JSON object such as {}", _COMPLETE)
        record = repository.complete_order(request.path_params["order_id"])
        return JSONResponse({"order": _order(record)})

    @route("/admin/draft-orders", "GET", **admin_operation(
        guards, "List draft orders", answers.DraftOrderList, parameters=paging, found=False))
    async def list_draft_orders(request: Request) -> Response:
        page = parse_page(request.query_params.multi_items())
        records, count = repository.list_draft_orders(page)
        return _page_body("draft_orders", [_order(r) for r in records], count, page)

    @route("/admin/draft-orders", "POST", **admin_operation(
        guards, "Create a draft order", answers.DraftOrderEnvelope, parameters=detail,
        body=DraftOrderCreate, found=False, post=True))
    async def create_draft_order(request: Request) -> Response:
        _only_fields(request)
        data = await _body(request, DraftOrderCreate, "a JSON object with region_id, email and items")
        return JSONResponse({"draft_order": _order(repository.create_draft_order(data))})

    @route("/admin/draft-orders/{order_id}", "GET", **admin_operation(
        guards, "Retrieve a draft order", answers.DraftOrderEnvelope, parameters=order_id + detail))
    async def get_draft_order(request: Request) -> Response:
        _only_fields(request)
        order_id = request.path_params["order_id"]
        record = repository.get_order(order_id, draft=True)
        if record is None:
            raise NotFound(f"Draft order with id: {order_id} was not found")
        return JSONResponse({"draft_order": _order(record)})

    @route("/admin/draft-orders/{order_id}/convert-to-order", "POST", **admin_operation(
        guards, "Convert a draft order into a pending order (its payment may be declined "
        "by the demo decline rate)", answers.OrderEnvelope, parameters=order_id + detail,
        post=True))
    async def convert_draft_order(request: Request) -> Response:
        _only_fields(request)
        payment = answers.PAYMENT_DECLINED if faults.declines() else answers.NOT_PAID
        record = repository.convert_draft_order(request.path_params["order_id"], payment)
        return JSONResponse({"order": _order(record)})

    @route("/admin/regions", "GET", **admin_operation(
        guards, "List regions", answers.RegionList, parameters=paging, found=False))
    async def list_regions(request: Request) -> Response:
        page = parse_page(request.query_params.multi_items())
        rows, count = repository.list_regions(page)
        return _page_body("regions", [region_view(r) for r in rows], count, page)

    @route("/admin/regions/{region_id}", "GET", **admin_operation(
        guards, "Retrieve a region", answers.RegionEnvelope,
        parameters=path_ids("region_id") + detail))
    async def get_region(request: Request) -> Response:
        _only_fields(request)
        region_id = request.path_params["region_id"]
        row = repository.get_region(region_id)
        if row is None:
            raise NotFound(f"Region with id: {region_id} was not found")
        return JSONResponse({"region": region_view(row)})

    @route("/admin/products", "GET", **admin_operation(
        guards, "List products", answers.ProductList, parameters=paging, found=False))
    async def list_products(request: Request) -> Response:
        page = parse_page(request.query_params.multi_items())
        rows, count = repository.list_products(page)
        return _page_body("products", [product_view(*r) for r in rows], count, page)

    @route("/admin/products/{product_id}", "GET", **admin_operation(
        guards, "Retrieve a product", answers.ProductEnvelope,
        parameters=path_ids("product_id") + detail))
    async def get_product(request: Request) -> Response:
        _only_fields(request)
        product_id = request.path_params["product_id"]
        rows, _ = repository.list_products(Page(), product_id=product_id)
        if not rows:
            raise NotFound(f"Product with id: {product_id} was not found")
        return JSONResponse({"product": product_view(*rows[0])})

    @route("/admin/customers", "GET", **admin_operation(
        guards, "List customers", answers.CustomerList, parameters=paging, found=False))
    async def list_customers(request: Request) -> Response:
        page = parse_page(request.query_params.multi_items())
        rows, count = repository.list_customers(page)
        return _page_body("customers", [customer_view(r) for r in rows], count, page)

    @route("/admin/customers/{customer_id}", "GET", **admin_operation(
        guards, "Retrieve a customer", answers.CustomerEnvelope,
        parameters=path_ids("customer_id") + detail))
    async def get_customer(request: Request) -> Response:
        _only_fields(request)
        customer_id = request.path_params["customer_id"]
        row = repository.get_customer(customer_id)
        if row is None:
            raise NotFound(f"Customer with id: {customer_id} was not found")
        return JSONResponse({"customer": customer_view(row)})

    return router


def _optional(model: type[BaseModel]) -> dict:
    """``openapi_extra`` for a body that may be left out."""
    return request_body(model, required=False)
