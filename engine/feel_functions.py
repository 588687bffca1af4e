"""Built-in functions of the FEEL subset; bad argument types give null, as FEEL does."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .feel_values import equal, is_number, normalize, to_string
from .iso8601 import IsoDuration, parse_date_time, parse_duration


def _fn_number(s: Any) -> Any:
    if is_number(s):
        return s
    if not isinstance(s, str):
        return None
    try:
        return int(s.strip()) if re.fullmatch(r"\s*-?\d+\s*", s) else _normalize_float(float(s))
    except ValueError:
        return None


def _normalize_float(f: float) -> float | None:
    return None if math.isnan(f) or math.isinf(f) else f


def _fn_duration(s: Any) -> Any:
    if isinstance(s, IsoDuration):
        return s
    if not isinstance(s, str):
        return None
    try:
        return parse_duration(s)
    except ValueError:
        return None


def _fn_date_time(s: Any) -> Any:
    if isinstance(s, datetime):
        return s
    if not isinstance(s, str):
        return None
    try:
        return parse_date_time(s)
    except ValueError:
        return None


def _numbers(args: Sequence[Any]) -> list[Any] | None:
    items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    return items if items and all(is_number(x) for x in items) else None


def _fn_sum(xs: Any) -> Any:
    if not isinstance(xs, list) or not all(is_number(x) for x in xs):
        return None
    return normalize(sum(xs)) if xs else None


def _fn_substring(s: Any, start: Any, length: Any = None) -> Any:
    if not isinstance(s, str) or not is_number(start):
        return None
    begin = int(start) - 1 if start > 0 else len(s) + int(start)
    if length is None:
        return s[max(begin, 0):]
    if not is_number(length):
        return None
    return s[max(begin, 0):max(begin, 0) + int(length)]


def _str_fn(f: Callable[..., Any]) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        return f(*args) if all(isinstance(a, str) for a in args) else None
    return apply


def _num_fn(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda n: normalize(f(n)) if is_number(n) else None


# name -> (min args, max args or None for variadic, implementation)
BUILTINS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "not": (1, 1, lambda b: (not b) if isinstance(b, bool) else None),
    "string": (1, 1, to_string),
    "number": (1, 1, _fn_number),
    "string length": (1, 1, _str_fn(len)),
    "upper case": (1, 1, _str_fn(str.upper)),
    "lower case": (1, 1, _str_fn(str.lower)),
    "contains": (2, 2, _str_fn(lambda s, sub: sub in s)),
    "starts with": (2, 2, _str_fn(str.startswith)),
    "ends with": (2, 2, _str_fn(str.endswith)),
    "substring": (2, 3, _fn_substring),
    "append": (1, None, lambda xs, *items: [*xs, *items] if isinstance(xs, list) else None),
    "count": (1, 1, lambda xs: len(xs) if isinstance(xs, list) else None),
    "list contains": (2, 2, lambda xs, x: any(equal(v, x) for v in xs) if isinstance(xs, list) else None),
    "sum": (1, 1, _fn_sum),
    "min": (1, None, lambda *a: min(ns) if (ns := _numbers(a)) else None),
    "max": (1, None, lambda *a: max(ns) if (ns := _numbers(a)) else None),
    "abs": (1, 1, _num_fn(abs)),
    "floor": (1, 1, _num_fn(math.floor)),
    "ceiling": (1, 1, _num_fn(math.ceil)),
    "get or else": (2, 2, lambda v, default: default if v is None else v),
    "duration": (1, 1, _fn_duration),
    "date and time": (1, 1, _fn_date_time),
}
