"""Unit checks of the small engine pieces: keys, clock, variables, search helpers, changes."""

from __future__ import annotations

import pytest

from engine.changes import JOBS, ChangeSet
from engine.clock import ManualClock, SystemClock
from engine.errors import Rejection
from engine.keys import KeyGenerator, encode_key, local_of, partition_of
from engine.rest_search import _glob, encode_cursor, iso_to_ms, ms_to_iso
from engine.variables import parse_document, render_document


def test_key_layout() -> None:
    assert encode_key(1, 3) == 2251799813685251
    assert partition_of(2251799813685251) == 1
    assert local_of(2251799813685251) == 3
    keys = KeyGenerator()
    assert [keys.next_key(), keys.next_key()] == [(1 << 51) + 1, (1 << 51) + 2]
    assert KeyGenerator(41).next_key() == (1 << 51) + 42


def test_manual_clock_notifies_listeners() -> None:
    clock = ManualClock(start_ms=1_000)
    calls: list[int] = []
    clock.subscribe(lambda: calls.append(clock.now_ms()))
    clock.advance(500)
    assert calls == [1_500]
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert SystemClock().now_ms() > 1_600_000_000_000


def test_variable_documents() -> None:
    assert parse_document("") == {}
    assert parse_document('{"a": [1]}') == {"a": [1]}
    with pytest.raises(Rejection) as info:
        parse_document("null")
    assert info.value.code == "INVALID_ARGUMENT"
    assert "but was 'NIL'" in info.value.message
    assert render_document({}) == "{}"
    assert render_document({'say "hi"': "1"}) == '{"say \\"hi\\"":1}'


def test_like_patterns_become_case_sensitive_globs() -> None:
    assert _glob("ord*") == "ord*"
    assert _glob("a\\*b") == "a[*]b"
    assert _glob("x[1]?") == "x[[]1]?"


def test_dates_and_cursors() -> None:
    assert ms_to_iso(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert iso_to_ms("2023-11-14T22:13:20.123Z") == 1_700_000_000_123
    assert iso_to_ms("2023-11-14T23:13:20.123+01:00") == 1_700_000_000_123
    assert encode_cursor(3) != encode_cursor(4)


class _Rec:
    def __init__(self, key: int) -> None:
        self.key = key
        self.persisted = False

    def row(self) -> tuple:
        return (self.key,)


def test_rows_created_and_deleted_within_one_batch_are_never_written() -> None:
    changes = ChangeSet()
    woken: list[bool] = []
    changes.on_dirty = lambda: woken.append(True)
    short, long_lived = _Rec(1), _Rec(2)
    changes.upsert(JOBS, 1, short)
    changes.upsert(JOBS, 2, long_lived)
    changes.delete(JOBS, 1, short)
    batch = changes.take(key_counter=7)
    assert batch.upserts == {JOBS: [(2,)]}
    assert batch.deletes == {}
    assert batch.key_counter == 7
    assert woken == [True]
    changes.delete(JOBS, 2, long_lived)
    assert changes.take(key_counter=7).deletes == {JOBS: [(2,)]}
