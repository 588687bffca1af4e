"""Amounts: stored as integer minor units, shown in major units as Medusa v2 does (49.5)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MAX_MAJOR = Decimal(1_000_000_000)


def to_major(minor: int) -> int | float:
    """``4950`` → ``49.5``; whole amounts stay integers (``1000`` → ``10``)."""
    if minor % 100 == 0:
        return minor // 100
    return minor / 100


def to_minor(value: object) -> int:
    """A non-negative major-unit number with at most two decimals → minor units.

    Raises ``ValueError`` with a short reason otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - str() of a number always parses
        raise ValueError("must be a number") from exc
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount < 0:
        raise ValueError("must not be negative")
    if amount > MAX_MAJOR:
        raise ValueError(f"must be at most {MAX_MAJOR}")
    minor = amount * 100
    if minor != minor.to_integral_value():
        raise ValueError("must have at most two decimal places")
    return int(minor)
