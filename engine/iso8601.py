"""ISO-8601 durations and date-times as timer definitions use them, in epoch milliseconds."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)


@dataclass(frozen=True, slots=True)
class IsoDuration:
    """A duration with a calendar part (months) and an exact part."""

    months: int
    delta: timedelta
    text: str

    def due_ms(self, now_ms: int) -> int:
        """When a timer started at ``now_ms`` with this duration is due."""
        if not self.months:
            return now_ms + int(self.delta.total_seconds() * 1000)
        start = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
        return int((add_months(start, self.months) + self.delta).timestamp() * 1000)

    def __str__(self) -> str:
        return self.text


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar arithmetic: the same day ``months`` later, clamped to the month's end."""
    years, month0 = divmod(moment.month - 1 + months, 12)
    year = moment.year + years
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def parse_duration(text: str) -> IsoDuration:
    """Parse ``PT15S``, ``P1DT2H``, ``P2W``, ``-PT5M`` …; ValueError when it is none."""
    raw = text.strip()
    match = _DURATION.match(raw)
    if match is None or raw.rstrip("-").endswith(("P", "T")):
        raise ValueError(f"'{text}' is not an ISO-8601 duration (e.g. 'PT15S', 'P1DT2H')")
    parts = {k: v for k, v in match.groupdict().items() if v is not None and k != "sign"}
    if not parts:
        raise ValueError(f"'{text}' is not an ISO-8601 duration (e.g. 'PT15S', 'P1DT2H')")
    sign = -1 if match.group("sign") else 1
    months = sign * (int(parts.get("y", 0)) * 12 + int(parts.get("mo", 0)))
    delta = timedelta(
        weeks=int(parts.get("w", 0)), days=int(parts.get("d", 0)), hours=int(parts.get("h", 0)),
        minutes=int(parts.get("mi", 0)), seconds=float(parts.get("s", "0").replace(",", ".")),
    )
    return IsoDuration(months, sign * delta, raw)


def parse_date_time(text: str) -> datetime:
    """Parse ``2025-01-31T10:00:00Z``, ``…+01:00`` or ``…@Europe/Berlin``; naive means UTC."""
    raw = text.strip()
    local, _, zone = raw.partition("@")
    try:
        moment = datetime.fromisoformat(local)
    except ValueError:
        raise ValueError(
            f"'{text}' is not an ISO-8601 date-time (e.g. '2025-01-31T10:00:00Z')") from None
    if zone:
        if moment.tzinfo is not None:
            raise ValueError(f"'{text}' has both an offset and a zone id")
        try:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{text}' names an unknown time zone '{zone}'") from None
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def date_time_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def format_date_time(moment: datetime) -> str:
    """ISO text of a date-time, as FEEL prints it."""
    return moment.isoformat().replace("+00:00", "Z")
