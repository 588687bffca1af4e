"""Medusa-style identifiers: a prefix and a ULID (``order_01JH…``), random or derived from a key."""

from __future__ import annotations

import hashlib
import os
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _ulid(ms: int, randomness: int) -> str:
    return _encode(ms, 10) + _encode(randomness, 16)


def new_id(prefix: str) -> str:
    """A fresh id such as ``order_01JH3Z8Q4Y2V6K7M9N0P1R2S3T``; monotonic within this process."""
    global _last_ms, _last_random
    with _lock:
        ms = int(time.time() * 1000)
        if ms <= _last_ms:
            ms = _last_ms
            randomness = (_last_random + 1) & ((1 << 80) - 1)
        else:
            randomness = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_random = ms, randomness
    return f"{prefix}_{_ulid(ms, randomness)}"


def stable_id(prefix: str, key: str, ms: int) -> str:
    """A reproducible id for built-in data: the time part is ``ms``, the rest hashes ``key``."""
    digest = hashlib.sha256(f"{prefix}:{key}".encode()).digest()
    return f"{prefix}_{_ulid(ms, int.from_bytes(digest[:10], 'big'))}"
