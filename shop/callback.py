"""The seed's status-callback route: ``POST /demo`` updates an order, ``GET /demo`` is health.

With a callback secret, each POST must be signed (``protocol.signing``), else 401.
A callback that would move a known workflow stage backwards, or touch a cancelled order,
is answered 200 with ``"applied": false`` and the reason, and changes nothing: the worker
counts any 2xx as delivered, and a late duplicate is expected under retries, not an error
that should fail the job. ``X-Idempotency-Key`` makes a repeat answer the stored body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from protocol.progress import StageOrder
from protocol.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_S, verify

from .answers import CallbackError, CallbackResponse, DemoHealth
from .bodies import CallbackRequest
from .clock import now_iso
from .errors import callback_failure
from .faults import DemoFaults
from .idempotency import IDEMPOTENCY_HEADER, MAX_KEY, fingerprint, read_key
from .operations import Guards, errors, merge, request_body, shop_router
from .repository import CallbackKey, CallbackResult, KeyReuse, ShopRepository
from .requestbody import BodyError, Wording, parse_object, validate

log = logging.getLogger(__name__)

EXPECTED = "a JSON object with orderId, status and message"
#: The callback route reports every problem, and says how long a value was.
WORDING = Wording(counts_length=True)
#: Sent with 401: how a callback must authenticate.
SIGNATURE_CHALLENGE = 'HMAC-SHA256 realm="medcam-shop"'
REPLAYED_HEADER = "Idempotent-Replayed"
_DESCRIPTION = (
    "Merges workflow_status, workflow_message and last_updated into the order's metadata; "
    "status 'completed' also completes the order. Known stages never move backwards and a "
    "cancelled order is never changed: such a callback is answered 200 with applied=false "
    f"and a reason. With {IDEMPOTENCY_HEADER}, a repeat is answered with the stored body "
    f"(and {REPLAYED_HEADER}: true) and applied once; keys are kept 7 days. When the shop "
    f"has a callback secret, the request must be signed: {SIGNATURE_HEADER}: "
    "v1=hex(HMAC-SHA256(secret, timestamp + '.' + body)) with "
    f"{TIMESTAMP_HEADER} (unix seconds, within ±{TOLERANCE_S} s). Demo fault injection "
    "(/medcam/faults) may answer 500."
)


def callback_body(order_id: str, status: str, result: CallbackResult) -> dict:
    """The 200 answer: ``applied`` says whether the order changed; ``reason`` why not."""
    body: dict = {"success": True, "orderId": order_id, "status": status, "applied": result.applied}
    if result.reason is not None:
        body["reason"] = result.reason
    body["order"] = {
        "id": result.id,
        "display_id": result.display_id,
        "status": result.status,
        "metadata": result.metadata,
        "updated_at": result.updated_at,
    }
    return body


def callback_router(
    repository: ShopRepository,
    faults: DemoFaults,
    guards: Guards,
    *,
    secret: str | None = None,
    clock: Callable[[], float] = time.time,
    stages: StageOrder | None = None,
) -> APIRouter:
    """The ``/demo`` routes bound to ``repository``; ``secret`` makes POSTs need a signature."""
    stages = stages or StageOrder()
    router = shop_router()

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "service": "medcam-shop", "route": "/demo", "timestamp": now_iso()}
        )

    async def update(request: Request) -> JSONResponse:
        injected = faults.callback_failure()
        if injected is not None:
            return callback_failure(500, injected)
        raw = await request.body()
        if secret:
            reason = verify(secret, request.headers, raw, clock())
            if reason is not None:
                return callback_failure(
                    401,
                    f"Invalid callback signature: {reason}",
                    headers={"WWW-Authenticate": SIGNATURE_CHALLENGE},
                )
        try:
            callback, problems = validate(CallbackRequest, parse_object(raw, EXPECTED), WORDING)
        except BodyError as exc:
            return callback_failure(400, str(exc))
        try:
            key = read_key(request.headers)
        except ValueError as exc:
            problems.append(str(exc))
        if callback is None or problems:
            return callback_failure(400, "; ".join(problems))
        order_id, status, message = callback.orderId, callback.status, callback.message
        stamp = None if key is None else CallbackKey(
            key, fingerprint(order_id, status, message), clock()
        )
        try:
            result = repository.apply_callback(
                order_id, status, message, stages=stages, key=stamp
            )
        except KeyReuse as exc:
            return callback_failure(422, str(exc))
        except Exception:
            log.exception("status callback for order %s (status %s) failed", order_id, status)
            return callback_failure(500, "Internal server error while updating the order")
        if result is None:
            return callback_failure(404, f"Order {order_id} not found")
        if not result.applied and not result.replayed:
            log.info("status callback %s for order %s not applied: %s", status, order_id, result.reason)
        headers = {REPLAYED_HEADER: "true"} if result.replayed else None
        return JSONResponse(callback_body(order_id, status, result), headers=headers)

    router.add_api_route(
        "/demo", health, methods=["GET"], summary="Health check of the callback route (the "
        "seed's GET /demo)", tags=["callback"], response_model=DemoHealth,
        response_description="The route is up", responses=errors(CallbackError, 429),
        openapi_extra={"security": []},
    )
    codes = (400, *((401,) if guards.signed_callbacks else ()), 404, 413, 422, 429, 500)
    signature = [{"callbackSignature": [], "callbackTimestamp": []}]
    router.add_api_route(
        "/demo", update, methods=["POST"],
        summary="Workflow status callback from the workers (the seed's POST /demo)",
        description=_DESCRIPTION, tags=["callback"], response_model=CallbackResponse,
        response_description="Delivered (applied, or not applied with a reason)",
        responses={
            200: {"headers": {REPLAYED_HEADER: {
                "description": "Present (true) when answering a repeated key",
                "schema": {"const": "true"},
            }}},
            **errors(CallbackError, *codes),
        },
        openapi_extra=merge(
            {"security": signature if guards.signed_callbacks else [*signature, {}]},
            {"parameters": [{
                "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
                "description": "Workers send <orderId>:<status>:<workflow_instance>",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
            }]},
            request_body(CallbackRequest),
        ),
    )
    return router
