"""Order claims: which console is creating an order's process instance, written in its metadata.

Medusa's Admin API has no compare-and-set, so two consoles that see the same new order
both write a claim to the order's ``workflow_claim`` metadata key. The last write wins; each
console waits ``settle_s``, reads the order back and goes on only if its own claim is still
there. A claim holds the console id, a nonce and the time it was made, so a claim left by a
console that died before recording its instance can be recognised as stale and recovered.

What this cannot close: a claim write delayed by more than ``settle_s`` (and past the rival's
instance being recorded) can still make a second instance. The settle time is configurable
(``MEDCAM_CLAIM_SETTLE_S``) for Medusa servers slower than that.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime

from protocol.timestamps import parse_timestamp

#: The metadata key that carries the claim; "" (deleted) once the instance is recorded.
CLAIM_KEY = "workflow_claim"


def default_console_id() -> str:
    """``host:pid``: unique among consoles running now, readable in the order's metadata."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim, as written to and parsed from ``workflow_claim``: ``owner#nonce@time``."""

    owner: str
    nonce: str
    at: datetime

    @classmethod
    def make(cls, owner: str, at: datetime) -> Claim:
        return cls(owner=owner, nonce=secrets.token_hex(4), at=at)

    @classmethod
    def parse(cls, value: object) -> Claim | None:
        """The claim in a metadata value, or None when there is none or it is unreadable."""
        if not isinstance(value, str) or "#" not in value or "@" not in value:
            return None
        head, _, stamp = value.rpartition("@")
        owner, _, nonce = head.rpartition("#")
        at = parse_timestamp(stamp)
        if not owner or not nonce or at is None:
            return None
        return cls(owner=owner, nonce=nonce, at=at)

    def token(self) -> str:
        stamp = self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return f"{self.owner}#{self.nonce}@{stamp}"

    def stale_at(self, ttl_s: float) -> float:
        """Unix time after which a claim with no recorded instance may be taken over."""
        return self.at.timestamp() + ttl_s

    def is_stale(self, now: datetime, ttl_s: float) -> bool:
        return now.timestamp() >= self.stale_at(ttl_s)


def claim_of(metadata: dict) -> Claim | None:
    """The claim in an order's metadata, if any."""
    return Claim.parse(metadata.get(CLAIM_KEY))
