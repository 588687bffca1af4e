"""The FEEL subset and ISO-8601 timer values: parsing, evaluation, null-friendliness, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.feel import FeelEvalError, FeelSyntaxError, evaluate, parse, type_name
from engine.iso8601 import IsoDuration, parse_date_time, parse_duration
from engine.variables import json_value, with_path

ORDER = {"order": {"total": 120, "status": "new", "lines": [{"sku": "a"}, {"sku": "b"}]},
         "n": 3, "name": "Ada", "flag": True, "nothing": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42), ("-1.5", -1.5), ('"hi"', "hi"), ('"say \\"hi\\""', 'say "hi"'),
        ("true", True), ("false", False), ("null", None),
        ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("2 ** 3 ** 2", 64),
        ("7 / 2", 3.5), ("6 / 3", 2), ("1 / 0", None), ("-n + 1", -2), ("- -n", 3),
        ('"a" + "b" + name', "abAda"),
        ("order.total", 120), ("order.missing.deeper", None), ("unknown", None),
        ("unknown.path", None), ("order.lines[1].sku", "a"), ("order.lines[-1].sku", "b"),
        ("order.lines[3]", None), ("order.lines.sku", ["a", "b"]),
        ("order.total > 100", True), ("order.total >= 120", True), ("order.total < 120", False),
        ("order.total <= 119", False), ("order.status = \"new\"", True), ("n != 3", False),
        ('name < "Bob"', True), ("unknown > 5", None), ('n > "2"', None),
        ("nothing = null", True), ("unknown = null", True), ("n = null", False),
        ('n = "3"', False), ("flag = true", True),
        ("flag and n > 2", True), ("flag and unknown", None), ("false and unknown", False),
        ("unknown or true", True), ("false or false", False), ("unknown or false", None),
        ("not(flag)", False), ("not(unknown)", None),
        ('if n > 2 then "big" else "small"', "big"), ('if unknown then 1 else 2', 2),
        ("[1, n, \"x\"]", [1, 3, "x"]), ('{a: n, "b c": [true]}', {"a": 3, "b c": [True]}),
        ("is defined(order.status)", True), ("is defined(order.nope)", False),
        ("is defined(nothing)", True), ("is defined(unknown)", False),
        ("string(n) + \"!\"", "3!"), ("string(1.5)", "1.5"), ("string(flag)", "true"),
        ("string(nothing)", None), ('number("12")', 12), ('number("1.25")', 1.25),
        ('number("x")', None), ("count(order.lines)", 2), ("sum([1, 2, 3])", 6),
        ('append(["a"], "b", "c")', ["a", "b", "c"]), ('contains(name, "d")', True),
        ('upper case(name)', "ADA"), ("string length(name)", 3), ("min(4, 2, 9)", 2),
        ('substring("hello", 2, 3)', "ell"), ("abs(-2)", 2), ("floor(2.7)", 2),
        ("get or else(unknown, 5)", 5), ("list contains([1, 2], 2)", True),
        ("`my var` + 1", None),
    ],
)
def test_evaluation(text: str, expected: Any) -> None:
    assert evaluate(text, ORDER) == expected


def test_temporal_values() -> None:
    assert evaluate('duration("PT1M30S")', {}) == IsoDuration(0, timedelta(seconds=90), "PT1M30S")
    assert evaluate('duration("PT" + string(n) + "S")', {"n": 5}).delta == timedelta(seconds=5)
    assert evaluate('duration("soon")', {}) is None
    later = 'date and time("2024-01-01T10:00:00Z") > date and time("2024-01-01T10:00:00+01:00")'
    assert evaluate(later, {}) is True
    assert evaluate('duration("PT1H") > duration("PT59M")', {}) is True


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the expression is empty"),
        ("1 +", "expected a value, a name or '(', but found end of expression at position 4"),
        ("a == b", "found '=' at position 4"),
        ("$.approved", "unexpected character '$' at position 1"),
        ("total >", "expected a value"),
        ("frobnicate(1)", "unknown function 'frobnicate'"),
        ("string(1, 2)", "function 'string' takes 1 argument(s), but got 2"),
        ("if a then b", "expected 'else'"),
        ("x in [1, 2]", "unexpected 'in' at position 3"),
        ("(1", "expected ')'"),
        ('"open', "unexpected character '\"'"),
        ("a.", "expected a name after '.'"),
    ],
)
def test_parse_errors_say_what_and_where(text: str, fragment: str) -> None:
    with pytest.raises(FeelSyntaxError) as info:
        parse(text)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment", "with_null"),
    [
        ("name - 1", "can't apply '-' to 'STRING' and 'NUMBER'", "unknown - 1"),
        ('n + "x"', "can't apply '+' to 'NUMBER' and 'STRING'", 'unknown + "x"'),
        ("-name", "can't negate 'STRING'", "-unknown"),
        ("flag * 2", "can't apply '*' to 'BOOLEAN' and 'NUMBER'", "nothing * 2"),
    ],
)
def test_type_errors_fail_evaluation_but_nulls_do_not(
    text: str, fragment: str, with_null: str
) -> None:
    with pytest.raises(FeelEvalError) as info:
        evaluate(text, ORDER)
    assert fragment in str(info.value)
    assert evaluate(with_null, ORDER) is None


def test_expression_is_parsed_once_and_reusable() -> None:
    expr = parse("  total * 2  ")
    assert expr.source == "total * 2"
    assert [expr.evaluate(_ctx({"total": t})) for t in (1, 2.5, None)] == [2, 5.0, None]


def _ctx(values: dict[str, Any]) -> Any:
    from engine.feel import DictContext
    return DictContext(values)


def test_type_names() -> None:
    assert [type_name(v) for v in (None, True, 1, 1.5, "s", [], {})] == [
        "NULL", "BOOLEAN", "NUMBER", "NUMBER", "STRING", "LIST", "CONTEXT"]


def test_durations_and_dates() -> None:
    assert parse_duration("PT15S").due_ms(1_000) == 16_000
    assert parse_duration("P1DT2H").delta == timedelta(days=1, hours=2)
    assert parse_duration("P2W").delta == timedelta(weeks=2)
    assert parse_duration("-PT5M").due_ms(600_000) == 300_000
    assert parse_duration("PT0.5S").due_ms(0) == 500
    jan31 = int(datetime(2024, 1, 31, tzinfo=UTC).timestamp() * 1000)
    feb29 = int(datetime(2024, 2, 29, tzinfo=UTC).timestamp() * 1000)
    assert parse_duration("P1M").due_ms(jan31) == feb29
    for bad in ("P", "PT", "15S", "P1H", "PT1D", "soon"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert parse_date_time("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_date_time("2024-05-01T12:00:00@Europe/Berlin") == datetime(
        2024, 5, 1, 10, tzinfo=UTC)
    assert parse_date_time("2024-05-01T10:00:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    for bad in ("tomorrow", "2024-05-01T10:00:00@Mars/Base", "2024-05-01T10:00:00Z@UTC"):
        with pytest.raises(ValueError):
            parse_date_time(bad)


def test_json_values_and_paths() -> None:
    assert json_value({"d": parse_duration("PT1H"), "l": [parse_date_time("2024-01-01T00:00Z")]}) == {
        "d": "PT1H", "l": ["2024-01-01T00:00:00Z"]}
    assert with_path({"a": 1, "b": {"c": 2}}, ("b", "d"), 3) == {"a": 1, "b": {"c": 2, "d": 3}}
    assert with_path(None, ("x", "y"), 1) == {"x": {"y": 1}}
    assert with_path({"b": "text"}, ("b", "c"), 1) is None
