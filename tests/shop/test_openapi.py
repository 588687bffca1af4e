"""GET /openapi.json: a valid OpenAPI 3.1 document that describes every route the shop has."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from protocol.signing import sign
from shop.api import openapi_document
from shop.app import create_app
from tests.shop.conftest import MakeShop, create_order, load_catalogue
from tests.shop.contract import Contract

SECRET = "whsec_doc"
KEY = "sk_doc"


@pytest.mark.parametrize(
    "flags",
    [{}, {"api_key": True}, {"signed_callbacks": True}, {"api_key": True, "signed_callbacks": True}],
)
def test_document_is_valid_openapi_31(flags: dict) -> None:
    document = openapi_document(**flags)
    assert document["openapi"] == "3.1.0"
    validate(document)
    json.dumps(document)  # plain JSON, no Python-only values


def test_document_describes_every_route_and_only_those(tmp_path) -> None:
    app = create_app(tmp_path / "shop.sqlite3")
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or ()) - {"HEAD"}
    }
    documented = {(op.method, op.template) for op in Contract(openapi_document()).operations()}
    assert served == documented
    app.state.repository.close()


def test_every_operation_documents_its_answers() -> None:
    for operation in Contract(openapi_document(api_key=True, signed_callbacks=True)).operations():
        responses = operation.spec["responses"]
        assert "200" in responses, operation
        assert operation.spec.get("summary"), operation
        if operation.template != "/health":
            assert "429" in responses, operation
        if operation.template.startswith("/admin"):
            assert {"400", "401", "429", "500"} <= set(responses), operation
        if operation.method == "POST" and not operation.template.endswith("convert-to-order"):
            body = operation.spec["requestBody"]["content"]["application/json"]["schema"]
            assert body["$ref"].startswith("#/components/schemas/")
            assert "413" in responses, operation
        for code, answer in responses.items():
            assert answer["description"], (operation, code)


def test_unconfigured_checks_are_documented_as_optional() -> None:
    open_doc = openapi_document()
    post = open_doc["paths"]["/demo"]["post"]
    assert {} in post["security"] and "401" not in post["responses"]
    assert {} in open_doc["paths"]["/admin/orders"]["get"]["security"]
    guarded = openapi_document(api_key=True, signed_callbacks=True)
    assert {} not in guarded["paths"]["/demo"]["post"]["security"]
    assert guarded["paths"]["/admin/orders"]["get"]["security"] == [
        {"basicAuth": []}, {"bearerAuth": []}
    ]


async def test_served_document_matches_the_configuration(make_shop: MakeShop) -> None:
    plain = await make_shop()
    guarded = await make_shop(api_key=KEY, callback_secret=SECRET)
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{plain.url}/openapi.json")
        assert response.headers["content-type"] == "application/json"
        assert response.json() == openapi_document()
        response = await client.get(f"{guarded.url}/openapi.json")
        assert response.json() == openapi_document(api_key=True, signed_callbacks=True)


async def test_real_answers_follow_the_document(make_shop: MakeShop) -> None:
    """One pass over every operation with good and bad input, each answer checked."""
    shop = await make_shop(api_key=KEY, callback_secret=SECRET)
    contract = Contract(openapi_document(api_key=True, signed_callbacks=True))
    problems: list[str] = []

    async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs) -> httpx.Response:
        response = await client.request(method, path, **kwargs)
        problems.extend(contract.problems(method, path, response))
        return response

    async with httpx.AsyncClient(base_url=shop.url, auth=(KEY, "")) as client:
        catalogue = await load_catalogue(client)
        order = await create_order(client, catalogue, metadata={"workflow_status": "started"})
        region = catalogue.regions["eur"]["id"]
        product = catalogue.products["t-shirt"]["id"]
        customer = catalogue.customers[0]["id"]
        draft = await create_order(client, catalogue, convert=False)
        calls = [
            ("GET", "/health", {}),
            ("GET", "/openapi.json", {}),
            ("GET", "/demo", {}),
            ("GET", "/admin/orders", {"params": {"status": "pending", "order": "-updated_at"}}),
            ("GET", "/admin/orders", {"params": {"limit": "x"}}),
            ("GET", "/admin/orders", {"params": {"fields": "id,status,created_at,updated_at"}}),
            ("GET", "/admin/orders", {"params": {"fields": "total,shipping_address.city"}}),
            ("GET", "/admin/orders", {"params": {"fields": "+metadata,*items"}}),
            ("GET", "/admin/orders", {"params": {"fields": "id,colour"}}),
            ("GET", f"/admin/orders/{order['id']}", {}),
            ("GET", "/admin/orders/order_missing", {}),
            ("POST", f"/admin/orders/{order['id']}", {"json": {"metadata": {"a": 1}}}),
            ("POST", f"/admin/orders/{order['id']}", {"json": {"nope": 1}}),
            ("GET", "/admin/draft-orders", {}),
            ("POST", "/admin/draft-orders", {"json": {"region_id": region}}),
            ("GET", f"/admin/draft-orders/{draft['id']}", {}),
            ("GET", "/admin/draft-orders/order_missing", {}),
            ("POST", f"/admin/draft-orders/{draft['id']}/convert-to-order", {}),
            ("POST", f"/admin/draft-orders/{draft['id']}/convert-to-order", {}),
            ("GET", "/admin/regions", {}),
            ("GET", f"/admin/regions/{region}", {}),
            ("GET", "/admin/regions/reg_missing", {}),
            ("GET", "/admin/products", {"params": {"limit": 2}}),
            ("GET", f"/admin/products/{product}", {}),
            ("GET", "/admin/products/prod_missing", {}),
            ("GET", "/admin/customers", {}),
            ("GET", f"/admin/customers/{customer}", {}),
            ("GET", "/admin/customers/cus_missing", {}),
            ("DELETE", "/admin/orders", {}),
            ("GET", "/nowhere", {}),
        ]
        for method, path, kwargs in calls:
            await call(client, method, path, **kwargs)
        for body in (
            {"orderId": order["id"], "status": "payment_verified", "message": "ok"},
            {"orderId": order["id"], "status": "started"},
            {"orderId": "order_missing", "status": "x"},
            {"orderId": 1},
        ):
            raw = json.dumps(body).encode()
            headers = {**sign(SECRET, int(time.time()), raw), "X-Idempotency-Key": "doc-1"}
            await call(client, "POST", "/demo", content=raw, headers=headers)
        await call(client, "POST", "/demo", content=b"{}")
        await call(client, "POST", "/demo", content=b"x" * 1_100_000)
    async with httpx.AsyncClient(base_url=shop.url) as anonymous:
        await call(anonymous, "GET", "/admin/orders")
    assert problems == []
