"""Per-client-IP rate limiting: a token bucket per address, answered with 429 and Retry-After."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_for_path

#: Paths never limited: the liveness probe must answer even under a flood.
EXEMPT_PATHS = frozenset({"/health"})
_MAX_BUCKETS = 10_000


@dataclass(frozen=True)
class RateLimit:
    """``rate`` requests per second per client address, with bursts up to ``burst``."""

    rate: float = 2000.0
    burst: int = 4000

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate limit must be a positive number of requests/s, got {self.rate}")
        if self.burst < 1:
            raise ValueError(f"rate limit burst must be at least 1, got {self.burst}")


class TokenBuckets:
    """One token bucket per key; ``take`` spends a token or says how long until one exists."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """0.0 if a token was spent for ``key``, else the seconds until the next token."""
        now = self._clock()
        rate, burst = self.limit.rate, self.limit.burst
        tokens, at = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + max(0.0, now - at) * rate)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return 0.0
        self._store(key, tokens, now)
        return (1.0 - tokens) / rate

    def _store(self, key: str, tokens: float, now: float) -> None:
        buckets = self._buckets
        if key not in buckets and len(buckets) >= _MAX_BUCKETS:
            self._forget_full(now)
        buckets[key] = (tokens, now)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they hold no information), or the oldest half."""
        rate, burst = self.limit.rate, self.limit.burst
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * rate >= burst]
        if not full:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            full = by_age[: len(by_age) // 2]
        for key in full:
            del self._buckets[key]


class RateLimitMiddleware:
    """ASGI middleware: 429 with ``Retry-After`` once a client address runs out of tokens.

    The address is the TCP peer's; forwarding headers are not trusted (the shop binds
    loopback and is not meant to sit behind a proxy).
    """

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "unknown")
        if wait == 0.0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        limit = self.buckets.limit
        response = error_for_path(
            scope["path"],
            429,
            "not_allowed",
            f"Too many requests: at most {limit.rate:g} per second (bursts of {limit.burst}) "
            f"per client; retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
