"""REST v2 search envelope (filter, page, sort) translated into parameterised SQL."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
_KEY_PATTERN = re.compile(r"^-?[0-9]{1,25}$")

KEY, STRING, INT, DATE, ENUM, BOOL = "key", "string", "int", "date", "enum", "bool"
_OPERATORS = {
    KEY: {"$eq", "$neq", "$exists", "$in", "$notIn"},
    STRING: {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
    ENUM: {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
    INT: {"$eq", "$neq", "$exists", "$in", "$notIn", "$gt", "$gte", "$lt", "$lte"},
    DATE: {"$eq", "$neq", "$exists", "$in", "$notIn", "$gt", "$gte", "$lt", "$lte"},
    BOOL: {"$eq", "$neq", "$exists"},
}
_COMPARE = {"$eq": "=", "$neq": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


class SearchError(ValueError):
    """The request body cannot be turned into a query; the text is the problem detail."""


@dataclass(frozen=True, slots=True)
class Field:
    """A filterable / sortable API field and the SQL expression behind it."""

    sql: str
    kind: str
    values: frozenset[str] | None = None  # allowed enum values


@dataclass(frozen=True, slots=True)
class SearchSpec:
    table: str
    fields: dict[str, Field]
    key_column: str
    allow_or: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    where: str
    params: list[Any]
    order_by: str
    offset: int
    limit: int


def iso_to_ms(value: str) -> int:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def ms_to_iso(value: int | None) -> str | None:
    if value is None:
        return None
    stamp = datetime.fromtimestamp(value / 1000, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value % 1000:03d}Z"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_cursor(cursor: object, name: str) -> int:
    if not isinstance(cursor, str) or not cursor:
        raise SearchError(f"page.{name} must be a non-empty cursor string")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        offset = data["o"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise SearchError(f"page.{name} is not a valid cursor: '{cursor}'") from None
    if not isinstance(offset, int) or offset < 0:
        raise SearchError(f"page.{name} is not a valid cursor: '{cursor}'")
    return offset


def _glob(pattern: str) -> str:
    """Translate ``$like`` (``*``, ``?``, ``\\`` escapes) into a case-sensitive SQLite GLOB."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            out.append("[[]")
        else:
            out.append(ch)
    if escaped:
        out.append("\\")
    return "".join(out)


def _convert(name: str, spec: Field, value: object) -> Any:
    kind = spec.kind
    if kind == KEY:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _KEY_PATTERN.match(value):
            return int(value)
        raise SearchError(f"filter.{name}: expected a key (a string of digits), got {json.dumps(value)}")
    if kind in (STRING, ENUM):
        if not isinstance(value, str):
            raise SearchError(f"filter.{name}: expected a string, got {json.dumps(value)}")
        if kind == ENUM and spec.values is not None and value not in spec.values:
            allowed = ", ".join(sorted(spec.values))
            raise SearchError(f"filter.{name}: unknown value '{value}' (allowed: {allowed})")
        return value
    if kind == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SearchError(f"filter.{name}: expected an integer, got {json.dumps(value)}")
        return value
    if kind == DATE:
        if not isinstance(value, str):
            raise SearchError(f"filter.{name}: expected an ISO-8601 date-time string, got {json.dumps(value)}")
        try:
            return iso_to_ms(value)
        except ValueError:
            raise SearchError(f"filter.{name}: '{value}' is not an ISO-8601 date-time") from None
    if kind == BOOL:
        if not isinstance(value, bool):
            raise SearchError(f"filter.{name}: expected true or false, got {json.dumps(value)}")
        return 1 if value else 0
    raise AssertionError(kind)


def _field_condition(name: str, spec: Field, value: object, params: list[Any]) -> str:
    if not isinstance(value, dict):
        params.append(_convert(name, spec, value))
        return f"{spec.sql} = ?"
    if not value:
        raise SearchError(f"filter.{name}: an operator object needs at least one operator")
    allowed = _OPERATORS[spec.kind]
    parts: list[str] = []
    for op, operand in value.items():
        if op not in allowed:
            raise SearchError(
                f"filter.{name}: operator '{op}' is not allowed for this field "
                f"(allowed: {', '.join(sorted(allowed))})")
        if op == "$exists":
            if not isinstance(operand, bool):
                raise SearchError(f"filter.{name}.$exists: expected true or false")
            parts.append(f"{spec.sql} IS {'NOT ' if operand else ''}NULL")
        elif op in ("$in", "$notIn"):
            if not isinstance(operand, list):
                raise SearchError(f"filter.{name}.{op}: expected an array")
            if not operand:
                parts.append("0" if op == "$in" else "1")
                continue
            params.extend(_convert(name, spec, item) for item in operand)
            marks = ", ".join("?" for _ in operand)
            neg = "NOT " if op == "$notIn" else ""
            parts.append(f"{spec.sql} {neg}IN ({marks})")
        elif op == "$like":
            if not isinstance(operand, str):
                raise SearchError(f"filter.{name}.$like: expected a string pattern")
            params.append(_glob(operand))
            parts.append(f"{spec.sql} GLOB ?")
        else:
            params.append(_convert(name, spec, operand))
            parts.append(f"{spec.sql} {_COMPARE[op]} ?")
    return " AND ".join(f"({p})" for p in parts)


def _filter_conditions(
    filt: object, spec: SearchSpec, params: list[Any], allow_or: bool, path: str = "filter"
) -> list[str]:
    if not isinstance(filt, dict):
        raise SearchError(f"{path} must be a JSON object")
    conditions: list[str] = []
    for name, value in filt.items():
        if name == "$or" and allow_or:
            if not isinstance(value, list) or not value:
                raise SearchError(f"{path}.$or must be a non-empty array of filter objects")
            alternatives = []
            for i, alt in enumerate(value):
                sub = _filter_conditions(alt, spec, params, False, f"{path}.$or[{i}]")
                alternatives.append(" AND ".join(f"({c})" for c in sub) if sub else "1")
            conditions.append(" OR ".join(f"({a})" for a in alternatives))
            continue
        field = spec.fields.get(name)
        if field is None:
            raise SearchError(
                f"{path}: unknown filter field '{name}' (supported: {', '.join(sorted(spec.fields))})")
        if value is None:
            raise SearchError(f"{path}.{name}: null is not a valid filter value")
        conditions.append(_field_condition(name, field, value, params))
    return conditions


def _order_by(sort: object, spec: SearchSpec) -> str:
    if sort is None:
        sort = []
    if not isinstance(sort, list):
        raise SearchError("sort must be an array of {field, order} objects")
    parts: list[str] = []
    for i, entry in enumerate(sort):
        if not isinstance(entry, dict) or "field" not in entry:
            raise SearchError(f"sort[{i}] must be an object with a 'field'")
        unknown = set(entry) - {"field", "order"}
        if unknown:
            raise SearchError(f"sort[{i}]: unknown property '{sorted(unknown)[0]}'")
        name = entry["field"]
        field = spec.fields.get(name) if isinstance(name, str) else None
        if field is None:
            raise SearchError(
                f"sort[{i}].field: unknown sort field {json.dumps(name)} "
                f"(supported: {', '.join(sorted(spec.fields))})")
        order = entry.get("order", "ASC")
        if not isinstance(order, str) or order.upper() not in ("ASC", "DESC"):
            raise SearchError(f"sort[{i}].order must be 'ASC' or 'DESC', got {json.dumps(order)}")
        parts.append(f"{field.sql} {order.upper()}")
    parts.append(f"{spec.key_column} ASC")
    return ", ".join(parts)


def _page(page: object) -> tuple[int, int]:
    if page is None:
        page = {}
    if not isinstance(page, dict):
        raise SearchError("page must be a JSON object")
    unknown = set(page) - {"limit", "from", "after", "before"}
    if unknown:
        raise SearchError(f"page: unknown property '{sorted(unknown)[0]}'")
    limit = page.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"page.limit must be an integer between 1 and {MAX_LIMIT}, got {json.dumps(limit)}")
    forms = [k for k in ("from", "after", "before") if k in page]
    if len(forms) > 1:
        raise SearchError(f"page: use only one of from, after and before (got {', '.join(forms)})")
    if "from" in page:
        start = page["from"]
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise SearchError(f"page.from must be a non-negative integer, got {json.dumps(start)}")
        return start, limit
    if "after" in page:
        return _decode_cursor(page["after"], "after"), limit
    if "before" in page:
        end = _decode_cursor(page["before"], "before")
        start = max(0, end - limit)
        return start, end - start
    return 0, limit


def build_query(body: object, spec: SearchSpec) -> SearchQuery:
    """Validate a search body and produce the SQL pieces for it."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise SearchError("the request body must be a JSON object")
    unknown = set(body) - {"filter", "page", "sort"}
    if unknown:
        raise SearchError(f"unknown property '{sorted(unknown)[0]}' (expected filter, page, sort)")
    params: list[Any] = []
    filt = body.get("filter")
    conditions = [] if filt is None else _filter_conditions(filt, spec, params, spec.allow_or)
    where = " AND ".join(f"({c})" for c in conditions) if conditions else "1"
    offset, limit = _page(body.get("page"))
    return SearchQuery(where, params, _order_by(body.get("sort"), spec), offset, limit)


def page_info(total: int, offset: int, count: int) -> dict[str, Any]:
    return {
        "totalItems": total,
        "startCursor": encode_cursor(offset) if count else None,
        "endCursor": encode_cursor(offset + count) if count else None,
        "hasMoreTotalItems": False,
    }


def select_sql(spec: SearchSpec, query: SearchQuery) -> tuple[str, Sequence[Any]]:
    sql = (f"SELECT * FROM {spec.table} WHERE {query.where} ORDER BY {query.order_by} "
           "LIMIT ? OFFSET ?")
    return sql, [*query.params, query.limit, query.offset]


def count_sql(spec: SearchSpec, query: SearchQuery) -> tuple[str, Sequence[Any]]:
    return f"SELECT COUNT(*) FROM {spec.table} WHERE {query.where}", list(query.params)
