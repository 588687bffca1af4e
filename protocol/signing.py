"""HMAC-SHA256 request signing for status callbacks: the workers sign, the shop verifies."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Medcam-Timestamp"
SIGNATURE_HEADER = "X-Medcam-Signature"
SCHEME = "v1"
#: How far (seconds) a signed timestamp may be from the verifier's clock, either way.
TOLERANCE_S = 300
_MAX_TIMESTAMP_DIGITS = 12
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _key(secret: str) -> bytes:
    if not secret:
        raise ValueError("the signing secret must not be empty")
    return secret.encode("utf-8")


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers that sign ``body`` at ``timestamp`` (unix seconds)."""
    stamp = str(int(timestamp))
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: f"{SCHEME}={signature(secret, stamp, body)}",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """``name`` from a case-insensitive mapping (Starlette, httpx) or a plain dict."""
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _candidates(header: str) -> list[str]:
    """The ``v1`` signatures in a header such as ``v1=ab12…`` or ``v1=…,v1=…`` (key rotation)."""
    found = []
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and len(value) == 64 and _HEX_DIGITS.issuperset(value):
            found.append(value.lower())
    return found


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_s: float = TOLERANCE_S,
) -> str | None:
    """None when ``headers`` sign ``body`` under ``secret`` within the replay window, else why not.

    ``now`` is the verifier's unix time in seconds. Signatures are compared in constant time.
    """
    stamp = _header(headers, TIMESTAMP_HEADER)
    if stamp is None:
        return f"missing {TIMESTAMP_HEADER} header"
    stamp = stamp.strip()
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= _MAX_TIMESTAMP_DIGITS):
        return f"{TIMESTAMP_HEADER} must be unix seconds"
    if abs(now - int(stamp)) > tolerance_s:
        return f"{TIMESTAMP_HEADER} is outside the allowed window of ±{tolerance_s:g} s"
    given = _header(headers, SIGNATURE_HEADER)
    if given is None:
        return f"missing {SIGNATURE_HEADER} header"
    candidates = _candidates(given)
    if not candidates:
        return f"{SIGNATURE_HEADER} must be {SCHEME}=<64 hex digits>"
    expected = signature(secret, stamp, body).encode("ascii")
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.encode("ascii"))
    return None if matched else "signature does not match"
