"""Completed orders per minute and per time bucket (the header's rate and sparkline)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

#: One sparkline bar covers this many seconds; the header shows BUCKETS of them.
BUCKET_S = 30
BUCKETS = 20


class Throughput:
    """Counts completions in fixed buckets; keeps only the buckets the header can show."""

    def __init__(self, bucket_s: int = BUCKET_S, buckets: int = BUCKETS) -> None:
        self.bucket_s = bucket_s
        self.buckets = buckets
        self._counts: Counter[int] = Counter()
        self._times: list[float] = []  # completion times of the last minute, for the exact rate
        self.total = 0

    def record(self, at: datetime) -> None:
        stamp = at.timestamp()
        bucket = int(stamp // self.bucket_s)
        self._counts[bucket] += 1
        self._times.append(stamp)
        self.total += 1
        oldest = bucket - self.buckets
        if len(self._counts) > self.buckets + 1:
            for key in [k for k in self._counts if k <= oldest]:
                del self._counts[key]

    def per_minute(self, now: datetime) -> int:
        """Orders completed in the 60 seconds up to ``now``."""
        since = now.timestamp() - 60.0
        self._times = [t for t in self._times if t > since]
        return len(self._times)

    def series(self, now: datetime) -> list[int]:
        """Completions per bucket, oldest first, ending with the bucket holding ``now``."""
        last = int(now.timestamp() // self.bucket_s)
        return [self._counts.get(b, 0) for b in range(last - self.buckets + 1, last + 1)]


_BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """One character per value, scaled to the largest (all blank when nothing happened)."""
    top = max(values, default=0)
    if top <= 0:
        return "▁" * len(values)
    return "".join(_BARS[max(1, round(v / top * (len(_BARS) - 1)))] if v else "▁" for v in values)
