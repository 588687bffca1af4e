"""The Medusa v2 Admin API subset: orders, draft orders, regions, products, customers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import InvalidData, NotFound, ShopError, medusa_error
from .inputs import parse_draft_order, parse_order_update
from .jsonbody import BodyError, read_object
from .queries import Page, parse_order_query, parse_page
from .repository import OrderRecord, ShopRepository
from .shapes import customer_view, order_view, product_view, region_view

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def medusa_endpoint(handler: Handler) -> Handler:
    """Answer expected failures in Medusa's error shape and unexpected ones with a bare 500."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ShopError as exc:
            return exc.response()
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return medusa_error(500, "unknown_error", "An unknown error occurred.")

    return endpoint


async def _body(request: Request, expected: str) -> dict:
    try:
        return await read_object(request, expected)
    except BodyError as exc:
        raise InvalidData(str(exc)) from None


async def _optional_body(request: Request) -> dict:
    """The JSON object body, or {} when the request has none (Medusa treats both alike)."""
    if not await request.body():
        return {}
    return await _body(request, "a JSON object such as {}")


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


def admin_routes(repository: ShopRepository) -> list[Route]:
    """The ``/admin`` routes bound to ``repository``."""

    @medusa_endpoint
    async def list_orders(request: Request) -> Response:
        query = parse_order_query(request.query_params.multi_items())
        records, count = repository.list_orders(query)
        return _page_body("orders", [_order(r) for r in records], count, query.page)

    @medusa_endpoint
    async def get_order(request: Request) -> Response:
        _only_fields(request)
        order_id = request.path_params["order_id"]
        record = repository.get_order(order_id, draft=False)
        if record is None:
            raise NotFound(f"Order with id: {order_id} was not found")
        return JSONResponse({"order": _order(record)})

    @medusa_endpoint
    async def update_order(request: Request) -> Response:
        _only_fields(request)
        update = parse_order_update(await _body(request, "a JSON object such as {\"metadata\": {}}"))
        record = repository.update_order(request.path_params["order_id"], update)
        return JSONResponse({"order": _order(record)})

    @medusa_endpoint
    async def complete_order(request: Request) -> Response:
        _only_fields(request)
        body = await _optional_body(request)
        unknown = sorted(set(body) - {"additional_data"})
        if unknown:
            raise InvalidData(f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}")
        if "additional_data" in body and not isinstance(body["additional_data"], dict):
            raise InvalidData("Invalid request: additional_data must be an object")
        record = repository.complete_order(request.path_params["order_id"])
        return JSONResponse({"order": _order(record)})

    @medusa_endpoint
    async def list_draft_orders(request: Request) -> Response:
        page = parse_page(request.query_params.multi_items())
        records, count = repository.list_draft_orders(page)
        return _page_body("draft_orders", [_order(r) for r in records], count, page)

    @medusa_endpoint
    async def create_draft_order(request: Request) -> Response:
        _only_fields(request)
        data = parse_draft_order(
            await _body(request, "a JSON object with region_id, email and items")
        )
        return JSONResponse({"draft_order": _order(repository.create_draft_order(data))})

    @medusa_endpoint
    async def get_draft_order(request: Request) -> Response:
        _only_fields(request)
        order_id = request.path_params["order_id"]
        record = repository.get_order(order_id, draft=True)
        if record is None:
            raise NotFound(f"Draft order with id: {order_id} was not found")
        return JSONResponse({"draft_order": _order(record)})

    @medusa_endpoint
    async def convert_draft_order(request: Request) -> Response:
        _only_fields(request)
        record = repository.convert_draft_order(request.path_params["order_id"])
        return JSONResponse({"order": _order(record)})

    @medusa_endpoint
    async def list_regions(request: Request) -> Response:
        page = parse_page(request.query_params.multi_items())
        rows, count = repository.list_regions(page)
        return _page_body("regions", [region_view(r) for r in rows], count, page)

    @medusa_endpoint
    async def get_region(request: Request) -> Response:
        _only_fields(request)
        region_id = request.path_params["region_id"]
        row = repository.get_region(region_id)
        if row is None:
            raise NotFound(f"Region with id: {region_id} was not found")
        return JSONResponse({"region": region_view(row)})

    @medusa_endpoint
    async def list_products(request: Request) -> Response:
        page = parse_page(request.query_params.multi_items())
        rows, count = repository.list_products(page)
        return _page_body("products", [product_view(*r) for r in rows], count, page)

    @medusa_endpoint
    async def get_product(request: Request) -> Response:
        _only_fields(request)
        product_id = request.path_params["product_id"]
        rows, _ = repository.list_products(Page(), product_id=product_id)
        if not rows:
            raise NotFound(f"Product with id: {product_id} was not found")
        return JSONResponse({"product": product_view(*rows[0])})

    @medusa_endpoint
    async def list_customers(request: Request) -> Response:
        page = parse_page(request.query_params.multi_items())
        rows, count = repository.list_customers(page)
        return _page_body("customers", [customer_view(r) for r in rows], count, page)

    @medusa_endpoint
    async def get_customer(request: Request) -> Response:
        _only_fields(request)
        customer_id = request.path_params["customer_id"]
        row = repository.get_customer(customer_id)
        if row is None:
            raise NotFound(f"Customer with id: {customer_id} was not found")
        return JSONResponse({"customer": customer_view(row)})

    return [
        Route("/admin/orders", list_orders, methods=["GET"]),
        Route("/admin/orders/{order_id}", get_order, methods=["GET"]),
        Route("/admin/orders/{order_id}", update_order, methods=["POST"]),
        Route("/admin/orders/{order_id}/complete", complete_order, methods=["POST"]),
        Route("/admin/draft-orders", list_draft_orders, methods=["GET"]),
        Route("/admin/draft-orders", create_draft_order, methods=["POST"]),
        Route("/admin/draft-orders/{order_id}", get_draft_order, methods=["GET"]),
        Route(
            "/admin/draft-orders/{order_id}/convert-to-order",
            convert_draft_order,
            methods=["POST"],
        ),
        Route("/admin/regions", list_regions, methods=["GET"]),
        Route("/admin/regions/{region_id}", get_region, methods=["GET"]),
        Route("/admin/products", list_products, methods=["GET"]),
        Route("/admin/products/{product_id}", get_product, methods=["GET"]),
        Route("/admin/customers", list_customers, methods=["GET"]),
        Route("/admin/customers/{customer_id}", get_customer, methods=["GET"]),
    ]
