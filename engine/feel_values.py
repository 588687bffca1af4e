"""FEEL values: type names, equality, ordering, arithmetic and the text form of a value."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .iso8601 import IsoDuration, format_date_time


class FeelEvalError(ValueError):
    """Evaluation failed (e.g. arithmetic on a string); nulls never cause this."""


def type_name(value: Any) -> str:
    """FEEL's name for the type of a value (used in incident messages)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "NUMBER"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, list):
        return "LIST"
    if isinstance(value, dict):
        return "CONTEXT"
    if isinstance(value, IsoDuration):
        return "DURATION"
    if isinstance(value, datetime):
        return "DATE_TIME"
    return type(value).__name__.upper()


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if type(a) is not type(b) and not (isinstance(a, datetime) and isinstance(b, datetime)):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return a == b


def _orderable(a: Any, b: Any) -> bool:
    if is_number(a) and is_number(b):
        return True
    if isinstance(a, str) and isinstance(b, str):
        return True
    if isinstance(a, datetime) and isinstance(b, datetime):
        return True
    return isinstance(a, IsoDuration) and isinstance(b, IsoDuration) and a.months == b.months == 0


def _sort_key(v: Any) -> Any:
    return v.delta if isinstance(v, IsoDuration) else v


def compare(op: str) -> Callable[[Any, Any], Any]:
    if op == "=":
        return equal
    if op == "!=":
        return lambda a, b: not equal(a, b)

    def ordered(a: Any, b: Any) -> Any:
        if not _orderable(a, b):
            return None
        x, y = _sort_key(a), _sort_key(b)
        if op == "<":
            return x < y
        if op == "<=":
            return x <= y
        if op == ">":
            return x > y
        return x >= y

    return ordered


def normalize(n: Any) -> Any:
    """Keep integral results integral so that ``1 + 1`` stays ``2`` in JSON."""
    if isinstance(n, float) and n.is_integer() and abs(n) < 2**53:
        return int(n)
    return n


def _arith_error(op: str, a: Any, b: Any) -> FeelEvalError:
    return FeelEvalError(f"can't apply '{op}' to '{type_name(a)}' and '{type_name(b)}'")


def add(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return a + b
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    raise _arith_error("+", a, b)


def numeric(op: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if not (is_number(a) and is_number(b)):
            raise _arith_error(op, a, b)
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return None
            return normalize(a / b) if isinstance(a, int) and isinstance(b, int) else a / b
        try:
            return normalize(a**b)
        except (OverflowError, ZeroDivisionError):
            return None
    return apply


def member(value: Any, key: str) -> Any:
    """``value.key``; on a list, the key of every item."""
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list):
        return [member(item, key) for item in value]
    return None


def index(value: Any, position: Any) -> Any:
    """``list[position]``: 1-based, negative counts from the end; anything else is null."""
    if not isinstance(value, list) or not is_number(position) or position != int(position):
        return None
    i = int(position)
    if i > 0 and i <= len(value):
        return value[i - 1]
    if i < 0 and -i <= len(value):
        return value[i]
    return None


def to_string(value: Any) -> str | None:
    """FEEL ``string()``: the text form of a value (null stays null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return format_date_time(value)
    if isinstance(value, IsoDuration):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}:{_literal_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _literal_text(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = to_string(value)
    return "null" if text is None else text
