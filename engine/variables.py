"""Variable values: JSON documents in, compact JSON text out, FEEL results to JSON."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from .errors import INVALID_ARGUMENT, Rejection
from .iso8601 import IsoDuration, format_date_time

_JSON_TYPE_NAMES = {list: "ARRAY", str: "STRING", int: "NUMBER", float: "NUMBER", bool: "BOOLEAN"}


def encode_value(value: Any) -> str:
    """Compact JSON text for one variable value."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_document(text: str, property_name: str = "variables") -> dict[str, Any]:
    """Parse a variables document; blank means no variables; anything but an object is refused."""
    if not text or not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise Rejection(
            INVALID_ARGUMENT,
            f"Property '{property_name}' is invalid: Expected document to be valid JSON, "
            f"but it was not: {exc}",
        ) from None
    if not isinstance(doc, dict):
        kind = "NIL" if doc is None else _JSON_TYPE_NAMES.get(type(doc), type(doc).__name__)
        raise Rejection(
            INVALID_ARGUMENT,
            f"Property '{property_name}' is invalid: Expected document to be a root level "
            f"object, but was '{kind}'",
        )
    return doc


def render_document(pairs: dict[str, str]) -> str:
    """Build a JSON object from names and already-encoded JSON values."""
    if not pairs:
        return "{}"
    return "{" + ",".join(f"{json.dumps(n)}:{v}" for n, v in pairs.items()) + "}"


def json_value(value: Any) -> Any:
    """A FEEL result as JSON data: durations and date-times become their ISO-8601 text."""
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, IsoDuration):
        return str(value)
    if isinstance(value, datetime):
        return format_date_time(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def with_path(existing: Any, path: tuple[str, ...], value: Any) -> Any:
    """``existing`` with ``value`` set at ``path`` (a copy); None when a step is not an object."""
    if not path:
        return value
    if existing is None:
        existing = {}
    if not isinstance(existing, dict):
        return None
    head, rest = path[0], path[1:]
    inner = with_path(existing.get(head), rest, value) if rest else value
    if rest and inner is None:
        return None
    updated = dict(existing)
    updated[head] = inner
    return updated
