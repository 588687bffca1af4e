"""Timestamps as Medusa writes them: ISO-8601 UTC with milliseconds and ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from protocol.timestamps import format_iso

__all__ = ["format_iso", "now_iso", "parse_iso"]


def now_iso() -> str:
    """The current time in the stored format."""
    return format_iso(datetime.now(UTC))


def parse_iso(text: str, *, round_up: bool = False) -> str:
    """Normalise an ISO-8601 timestamp to the stored format; ``ValueError`` if it is not one.

    Sub-millisecond digits are dropped, or rounded up to the next millisecond with
    ``round_up`` (so ``$gte``/``$lt`` bounds stay exact against millisecond-precision data).
    """
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if round_up and moment.microsecond % 1000:
        moment += timedelta(microseconds=1000 - moment.microsecond % 1000)
    return format_iso(moment)
