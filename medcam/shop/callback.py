"""The seed's status-callback route: ``POST /demo`` updates an order, ``GET /demo`` is health."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .clock import now_iso
from .jsonbody import BodyError, read_object, type_name
from .repository import ShopRepository

log = logging.getLogger(__name__)

EXPECTED = "a JSON object with orderId, status and message"
MAX_ID = 200
MAX_STATUS = 100
MAX_MESSAGE = 4000


def _failure(status_code: int, error: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": error}, status_code=status_code)


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


def callback_routes(repository: ShopRepository) -> list[Route]:
    """The ``/demo`` routes bound to ``repository``."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "service": "medcam-shop", "route": "/demo", "timestamp": now_iso()}
        )

    async def update(request: Request) -> JSONResponse:
        try:
            body = await read_object(request, EXPECTED)
        except BodyError as exc:
            return _failure(400, str(exc))
        problems = validate_callback(body)
        if problems:
            return _failure(400, "; ".join(problems))
        order_id, status = body["orderId"], body["status"]
        try:
            result = repository.apply_callback(order_id, status, body.get("message", ""))
        except Exception:
            log.exception("status callback for order %s (status %s) failed", order_id, status)
            return _failure(500, "Internal server error while updating the order")
        if result is None:
            return _failure(404, f"Order {order_id} not found")
        return JSONResponse(
            {
                "success": True,
                "orderId": order_id,
                "status": status,
                "order": {
                    "id": result.id,
                    "display_id": result.display_id,
                    "status": result.status,
                    "metadata": result.metadata,
                    "updated_at": result.updated_at,
                },
            }
        )

    return [Route("/demo", health, methods=["GET"]), Route("/demo", update, methods=["POST"])]
