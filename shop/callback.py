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

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from protocol.progress import StageOrder
from protocol.signing import verify

from .clock import now_iso
from .errors import callback_failure
from .idempotency import fingerprint, read_key
from .jsonbody import BodyError, parse_object, type_name
from .repository import CallbackKey, CallbackResult, KeyReuse, ShopRepository

log = logging.getLogger(__name__)

EXPECTED = "a JSON object with orderId, status and message"
MAX_ID = 200
MAX_STATUS = 100
MAX_MESSAGE = 4000
#: Sent with 401: how a callback must authenticate.
SIGNATURE_CHALLENGE = 'HMAC-SHA256 realm="medcam-shop"'
REPLAYED_HEADER = "Idempotent-Replayed"


def _required_text(body: dict, field: str, maximum: int) -> str | None:
    """An error message for ``field`` (non-empty string up to ``maximum``), or None if fine."""
    if field not in body:
        return f"{field} is required"
    value = body[field]
    if not isinstance(value, str):
        return f"{field} must be a string, got {type_name(value)}"
    if not value.strip():
        return f"{field} must not be empty"
    if len(value) > maximum:
        return f"{field} is too long ({len(value)} characters, at most {maximum})"
    return None


def validate_callback(body: dict) -> list[str]:
    """Every problem with a callback body; empty when it is valid.

    ``orderId`` and ``status`` must be non-empty strings. ``message`` is optional
    (absent means ""), but when present it must be a string, which may be empty.
    Other fields are ignored, as the seed's route ignores them.
    """
    problems = [
        problem
        for problem in (
            _required_text(body, "orderId", MAX_ID),
            _required_text(body, "status", MAX_STATUS),
        )
        if problem
    ]
    if "message" in body:
        message = body["message"]
        if not isinstance(message, str):
            problems.append(f"message must be a string, got {type_name(message)}")
        elif len(message) > MAX_MESSAGE:
            problems.append(
                f"message is too long ({len(message)} characters, at most {MAX_MESSAGE})"
            )
    return problems


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


def callback_routes(
    repository: ShopRepository,
    *,
    secret: str | None = None,
    clock: Callable[[], float] = time.time,
    stages: StageOrder | None = None,
) -> list[Route]:
    """The ``/demo`` routes bound to ``repository``; ``secret`` makes POSTs need a signature."""
    stages = stages or StageOrder()

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "service": "medcam-shop", "route": "/demo", "timestamp": now_iso()}
        )

    async def update(request: Request) -> JSONResponse:
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
            body = parse_object(raw, EXPECTED)
        except BodyError as exc:
            return callback_failure(400, str(exc))
        problems = validate_callback(body)
        try:
            key = read_key(request.headers)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            return callback_failure(400, "; ".join(problems))
        order_id, status = body["orderId"], body["status"]
        message = body.get("message", "")
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

    return [Route("/demo", health, methods=["GET"]), Route("/demo", update, methods=["POST"])]
