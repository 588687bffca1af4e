"""Reading a request body that must be one JSON object, with a precise reason when it is not."""

from __future__ import annotations

import json

from starlette.requests import Request

MAX_BODY_BYTES = 1_048_576


class BodyError(ValueError):
    """The body is not a usable JSON object; the message says why."""


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type (``object``, ``array``, ``string``…)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def parse_object(raw: bytes, expected: str) -> dict:
    """Decode ``raw`` into a dict; ``expected`` describes the object for error messages."""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyError(f"Request body is too large ({len(raw)} bytes, at most {MAX_BODY_BYTES})")
    if not raw.strip():
        raise BodyError(f"Request body is empty: expected {expected}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("Request body is not valid UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BodyError(
            f"Request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise BodyError(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BodyError(f"Request body must be a JSON object, got {type_name(value)}")
    return value


async def read_object(request: Request, expected: str) -> dict:
    """Read and decode the request body (see :func:`parse_object`)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyError(f"Request body is too large ({declared} bytes, at most {MAX_BODY_BYTES})")
    return parse_object(await request.body(), expected)
