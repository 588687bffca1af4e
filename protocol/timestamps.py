"""The timestamps of order metadata and Medusa's records: ISO-8601 UTC, milliseconds, ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def format_iso(moment: datetime) -> str:
    """``2026-01-05T05:15:02.500Z`` for an aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(value: object) -> datetime | None:
    """An aware datetime from an ISO-8601 string with an offset or ``Z``; None otherwise."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
