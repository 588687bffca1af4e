"""Zeebe-style key layout: partition id in the top bits, one shared counter below."""

from __future__ import annotations

PARTITION_ID = 1
PARTITION_BITS_SHIFT = 51
LOCAL_MASK = (1 << PARTITION_BITS_SHIFT) - 1


def encode_key(partition_id: int, local: int) -> int:
    """Return the key for ``local`` on ``partition_id``."""
    return (partition_id << PARTITION_BITS_SHIFT) + local


def partition_of(key: int) -> int:
    """Return the partition id a key was generated on."""
    return key >> PARTITION_BITS_SHIFT


def local_of(key: int) -> int:
    """Return the per-partition counter part of a key."""
    return key & LOCAL_MASK


class KeyGenerator:
    """One counter for every entity of the (single) partition."""

    __slots__ = ("_counter", "_base")

    def __init__(self, counter: int = 0, partition_id: int = PARTITION_ID) -> None:
        self._counter = counter
        self._base = partition_id << PARTITION_BITS_SHIFT

    @property
    def counter(self) -> int:
        """The last local counter value handed out (persisted by the store)."""
        return self._counter

    def next_key(self) -> int:
        """Return a fresh key."""
        self._counter += 1
        return self._base + self._counter
