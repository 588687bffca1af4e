"""Small pure pieces of the shop: ids, timestamps, money, metadata merge, query parsing."""

from __future__ import annotations

import re

import pytest

from shop.clock import now_iso, parse_iso
from shop.errors import InvalidData
from shop.ids import new_id, stable_id
from shop.money import to_major, to_minor
from shop.queries import parse_fields, parse_order_query, parse_page
from shop.repository import merge_metadata


def test_ids_are_prefixed_ulids_in_increasing_order() -> None:
    ids = [new_id("order") for _ in range(500)]
    assert all(re.fullmatch(r"order_[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 500
    assert stable_id("prod", "mug", 0) == stable_id("prod", "mug", 0)
    assert stable_id("prod", "mug", 0) != stable_id("prod", "cup", 0)


def test_timestamps() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", now_iso())
    assert parse_iso("2026-01-05T10:45:02.5+05:30") == "2026-01-05T05:15:02.500Z"
    assert parse_iso("2026-01-05") == "2026-01-05T00:00:00.000Z"
    assert parse_iso("2026-01-05T00:00:00.000400Z") == "2026-01-05T00:00:00.000Z"
    assert parse_iso("2026-01-05T00:00:00.000400Z", round_up=True) == "2026-01-05T00:00:00.001Z"
    with pytest.raises(ValueError):
        parse_iso("soon")


@pytest.mark.parametrize(("major", "minor"), [(49.5, 4950), (10, 1000), (0.1, 10), (12.99, 1299)])
def test_money_round_trips(major: float, minor: int) -> None:
    assert to_minor(major) == minor
    assert to_major(minor) == major


@pytest.mark.parametrize("bad", [True, "1", None, -0.01, 0.001, float("inf"), 1e12])
def test_money_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        to_minor(bad)


def test_merge_metadata_deletes_empty_strings_only() -> None:
    current = {"a": 1, "b": 2, "c": 3}
    assert merge_metadata(current, {"a": "", "b": None, "d": 0, "e": ""}) == {
        "b": None, "c": 3, "d": 0,
    }
    assert current == {"a": 1, "b": 2, "c": 3}


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (None, ()), ("", ()), (",,", ()), ("+metadata", ()), ("-items,*items,items.*, email", ()),
        ("status", ("id", "status")),
        ("updated_at,id,status,id", ("id", "updated_at", "status")),
        ("id,+metadata,-email,*items,shipping_address.city,summary.*", (
            "id", "metadata", "email", "items", "shipping_address", "summary")),
        ("id,,status", ("id", "status")),
    ],
)
def test_fields_follow_medusas_replace_or_add_rule(text: str | None, fields: tuple) -> None:
    assert parse_fields(text) == fields


def test_order_query_defaults_and_filters() -> None:
    query = parse_order_query([])
    assert (query.page.limit, query.page.offset, query.sort, query.descending) == (
        50, 0, "created_at", True,
    )
    query = parse_order_query([
        ("order", "updated_at"), ("status", "pending"), ("status[0]", "completed"),
        ("updated_at[$gte]", "2026-01-05T05:15:02.5004Z"), ("fields", "id,metadata"),
    ])
    assert (query.sort, query.descending) == ("updated_at", False)
    assert query.statuses == ("pending", "completed")
    assert query.ranges == (("updated_at", ">=", "2026-01-05T05:15:02.501Z"),)
    assert query.fields == ("id", "metadata")
    assert parse_page([("limit", "1000"), ("fields", "*")]).limit == 1000
    with pytest.raises(InvalidData, match="limit must be at most 1000"):
        parse_page([("limit", "1001")])
