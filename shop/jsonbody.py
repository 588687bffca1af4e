"""Reading a request body that must be one JSON object, with a precise reason when it is not.

Size is not checked here: ``BodyLimitMiddleware`` answers oversized bodies with 413 first.
"""

from __future__ import annotations

import json

from starlette.requests import Request

#: Deeper JSON is refused: nesting that deep is never meaningful and strains recursion.
MAX_DEPTH = 100


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
    except RecursionError:
        raise BodyError(f"Request body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise BodyError(f"Request body is nested too deeply (at most {MAX_DEPTH} levels)")
    if b"\\u" in raw and _has_lone_surrogate(value):
        raise BodyError(
            "Request body is not valid JSON text: it escapes a lone UTF-16 surrogate (\\ud800-\\udfff)"
        )
    if not isinstance(value, dict):
        raise BodyError(f"Request body must be a JSON object, got {type_name(value)}")
    return value


def _depth(value: object) -> int:
    """How many arrays/objects deep ``value`` nests (iteratively: no recursion limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _has_lone_surrogate(value: object) -> bool:
    """Whether any string (key or value) holds a surrogate that JSON decoding left unpaired.

    Only ``\\uXXXX`` escapes can produce one (raw UTF-8 cannot), so callers check for
    an escape first; such strings cannot be stored or encoded as UTF-8.
    """
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


async def read_object(request: Request, expected: str) -> dict:
    """Read and decode the request body (see :func:`parse_object`)."""
    return parse_object(await request.body(), expected)
