"""Callback signing: header format, a pinned vector, and every reason verification refuses."""

from __future__ import annotations

import httpx
import pytest
from starlette.datastructures import Headers

from protocol.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE_S,
    sign,
    signature,
    verify,
)

SECRET = "whsec_test"
NOW = 1_767_590_100
BODY = b'{"orderId":"order_1","status":"completed","message":"done"}'
# printf '%s' "1767590100.$BODY" | openssl dgst -sha256 -hmac whsec_test
PINNED = "d46b276cb119feaa68c25de8536f33734d780a35ee19eaec722116e14b3c13f4"


def test_sign_gives_timestamp_and_v1_signature_headers() -> None:
    assert sign(SECRET, NOW, BODY) == {
        "X-Medcam-Timestamp": "1767590100",
        "X-Medcam-Signature": f"v1={PINNED}",
    }
    assert signature(SECRET, NOW, BODY) == PINNED


def test_fractional_timestamps_are_signed_as_whole_seconds() -> None:
    assert sign(SECRET, NOW + 0.9, BODY) == sign(SECRET, NOW, BODY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "wrap",
    [dict, Headers, httpx.Headers, lambda h: {k.lower(): v for k, v in h.items()},
     lambda h: {k.upper(): v for k, v in h.items()}],
    ids=["dict", "starlette", "httpx", "lower-dict", "upper-dict"],
)
def test_a_fresh_signature_verifies_in_any_header_mapping(wrap) -> None:
    assert verify(SECRET, wrap(sign(SECRET, NOW, BODY)), BODY, NOW) is None


@pytest.mark.parametrize("skew", [-TOLERANCE_S, -1, 0, 1, TOLERANCE_S])
def test_timestamps_inside_the_window_verify(skew: int) -> None:
    assert verify(SECRET, sign(SECRET, NOW + skew, BODY), BODY, NOW) is None


@pytest.mark.parametrize("skew", [-TOLERANCE_S - 1, TOLERANCE_S + 1, -86_400])
def test_timestamps_outside_the_window_are_refused(skew: int) -> None:
    headers = sign(SECRET, NOW + skew, BODY)
    assert verify(SECRET, headers, BODY, NOW) == (
        "X-Medcam-Timestamp is outside the allowed window of ±300 s"
    )


def test_tolerance_is_configurable() -> None:
    headers = sign(SECRET, NOW - 30, BODY)
    assert verify(SECRET, headers, BODY, NOW, tolerance_s=60) is None
    assert verify(SECRET, headers, BODY, NOW, tolerance_s=10) is not None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY + b" "}, "signature does not match"),
        ({"body": BODY.replace(b"completed", b"cancelled")}, "signature does not match"),
        ({"secret": "other"}, "signature does not match"),
        ({"timestamp": str(NOW + 1)}, "signature does not match"),
    ],
    ids=["body-appended", "body-changed", "wrong-secret", "timestamp-swapped"],
)
def test_any_change_breaks_the_signature(change: dict, reason: str) -> None:
    headers = sign(change.get("secret", SECRET), NOW, BODY)
    if "timestamp" in change:
        headers[TIMESTAMP_HEADER] = change["timestamp"]
    assert verify(SECRET, headers, change.get("body", BODY), NOW) == reason


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Medcam-Timestamp header"),
        ({TIMESTAMP_HEADER: str(NOW)}, "missing X-Medcam-Signature header"),
        ({TIMESTAMP_HEADER: "", SIGNATURE_HEADER: "v1=00"}, "X-Medcam-Timestamp must be unix seconds"),
        ({TIMESTAMP_HEADER: "-5", SIGNATURE_HEADER: "v1=00"}, "X-Medcam-Timestamp must be unix seconds"),
        ({TIMESTAMP_HEADER: "1.5e9", SIGNATURE_HEADER: "v1=00"}, "X-Medcam-Timestamp must be unix seconds"),
        ({TIMESTAMP_HEADER: "１２３", SIGNATURE_HEADER: "v1=00"}, "X-Medcam-Timestamp must be unix seconds"),
        ({TIMESTAMP_HEADER: "9" * 40, SIGNATURE_HEADER: "v1=00"}, "X-Medcam-Timestamp must be unix seconds"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: PINNED},
         "X-Medcam-Signature must be v1=<64 hex digits>"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "v0=" + PINNED},
         "X-Medcam-Signature must be v1=<64 hex digits>"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "v1=" + PINNED[:-1]},
         "X-Medcam-Signature must be v1=<64 hex digits>"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "v1=" + "g" * 64},
         "X-Medcam-Signature must be v1=<64 hex digits>"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "v1=" + "é" * 64},
         "X-Medcam-Signature must be v1=<64 hex digits>"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "v1=" + "0" * 64},
         "signature does not match"),
    ],
)
def test_malformed_headers_are_refused_with_a_reason(headers: dict, reason: str) -> None:
    assert verify(SECRET, headers, BODY, NOW) == reason


def test_header_may_carry_several_signatures_for_key_rotation() -> None:
    old = signature("old-secret", NOW, BODY)
    headers = {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"v1={old}, v2=abc, v1={PINNED.upper()}"}
    assert verify(SECRET, headers, BODY, NOW) is None
    assert verify("old-secret", headers, BODY, NOW) is None
    assert verify("third", headers, BODY, NOW) == "signature does not match"


def test_empty_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        sign("", NOW, BODY)
    with pytest.raises(ValueError, match="must not be empty"):
        verify("", sign(SECRET, NOW, BODY), BODY, NOW)


def test_unicode_secret_and_binary_body() -> None:
    body = bytes(range(256))
    assert verify("clé-secrète", sign("clé-secrète", NOW, body), body, NOW) is None
