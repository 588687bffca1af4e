"""Idempotency keys of status callbacks: reading the header and fingerprinting the callback."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

IDEMPOTENCY_HEADER = "X-Idempotency-Key"
#: Also accepted: the IETF draft's name for the same header.
ALTERNATE_HEADER = "Idempotency-Key"
MAX_KEY = 255


def read_key(headers: Mapping[str, str]) -> str | None:
    """The callback's idempotency key, None if it sent none; ValueError if it is malformed."""
    key = headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        key = headers.get(ALTERNATE_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= MAX_KEY and key.isascii() and key.isprintable()):
        raise ValueError(f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_KEY} printable ASCII characters")
    return key


def fingerprint(order_id: str, status: str, message: str) -> str:
    """A digest of what a callback asks for: one key may only ever stand for one of them."""
    canonical = json.dumps([order_id, status, message], ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
