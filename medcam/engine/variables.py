"""JSON-in-string variable documents: validation and compact encoding."""

from __future__ import annotations

import json
from typing import Any

from .errors import INVALID_ARGUMENT, Rejection

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
