"""REST v2 search envelope (filter, page, sort) translated into parameterised SQL."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_TAGS = 10
_KEY_PATTERN = re.compile(r"^-?[0-9]{1,25}$")
_TAG_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_\-:.]{0,99}$")

KEY, STRING, INT, DATE, ENUM, BOOL = "key", "string", "int", "date", "enum", "bool"
VARIABLES, TAGS = "variables", "tags"  # [{name, value}] and a tag set
_OPERATORS = {
    KEY: {"$eq", "$neq", "$exists", "$in", "$notIn"},
    STRING: {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
    ENUM: {"$eq", "$neq", "$exists", "$in", "$notIn", "$like"},
    INT: {"$eq", "$neq", "$exists", "$in", "$notIn", "$gt", "$gte", "$lt", "$lte"},
    DATE: {"$eq", "$neq", "$exists", "$in", "$notIn", "$gt", "$gte", "$lt", "$lte"},
    BOOL: {"$eq", "$neq", "$exists"},
}
_COMPARE = {"$eq": "=", "$neq": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_INTEGER_KINDS = (KEY, INT, DATE, BOOL)

# A piece of SQL and its parameters, in order.
Sql = tuple[str, list[Any]]


class SearchError(ValueError):
    """The request body cannot be turned into a query; the text is the problem detail."""


@dataclass(frozen=True, slots=True)
class Field:
    """A filterable API field and the SQL expression behind it.

    ``within`` makes it a field of related rows: a subquery template whose ``{}`` takes the
    condition on ``sql`` ("the instance has an element instance whose element_id ...").
    Fields of one filter object that share a ``within`` must hold for the same related row.
    For VARIABLES the template also takes the variable name as its first parameter.
    ``needs`` names a common table expression that the caller supplies (SearchQuery.needs).
    """

    sql: str
    kind: str
    values: frozenset[str] | None = None  # allowed enum values
    within: str | None = None
    sortable: bool = True
    needs: str | None = None


@dataclass(frozen=True, slots=True)
class SearchSpec:
    table: str
    fields: dict[str, Field]
    key_column: str
    allow_or: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One search as SQL: filter, order (ending with the key), page and cursor seek."""

    where: str
    params: list[Any]
    order: tuple[tuple[str, str], ...]  # (expression, "ASC" | "DESC")
    signature: str  # the endpoint and sort a cursor of this search is valid for
    offset: int
    limit: int
    seek: Sql | None = None  # rows strictly after (or, backwards, before) a cursor
    backwards: bool = False  # page.before: read in reverse order, then flip the page
    needs: frozenset[str] = frozenset()


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


# ---------------------------------------------------------------------- cursors


def encode_cursor(*values: Any, signature: str = "") -> str:
    """An opaque cursor naming one item by its sort values, its key last."""
    data = json.dumps({"s": signature, "v": list(values)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode()


def _fits(value: object, kind: str) -> bool:
    if value is None:
        return True
    if kind in _INTEGER_KINDS:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _decode_cursor(cursor: object, name: str, signature: str, kinds: Sequence[str]) -> list[Any]:
    if not isinstance(cursor, str) or not cursor:
        raise SearchError(f"page.{name} must be a non-empty cursor string")
    invalid = SearchError(f"page.{name} is not a valid cursor; pass a startCursor or endCursor "
                          "exactly as a search returned it")
    try:
        data = json.loads(base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not (isinstance(data, dict) and set(data) == {"s", "v"} and isinstance(data["s"], str)
            and isinstance(data["v"], list)):
        raise invalid
    if data["s"] != signature:
        raise SearchError(f"page.{name}: the cursor was made for another endpoint or sort order; "
                          "send the same sort as the search that returned it")
    values = data["v"]
    if (len(values) != len(kinds) or values[-1] is None
            or not all(_fits(v, k) for v, k in zip(values, kinds, strict=True))):
        raise invalid
    return values


def _seek(order: Sequence[tuple[str, str]], values: Sequence[Any], forward: bool) -> Sql:
    """Rows strictly after the cursor row (before it when not ``forward``) in ``order``.

    SQLite puts NULL first in ascending and last in descending order; the key makes the
    order total, so every row is either before, at or after the cursor."""
    alternatives: list[str] = []
    params: list[Any] = []
    for i, ((sql, direction), value) in enumerate(zip(order, values, strict=True)):
        ascending = (direction == "ASC") == forward
        if value is None:
            if not ascending:
                continue  # NULL sorts last: nothing is beyond it on this term
            beyond, beyond_params = f"{sql} IS NOT NULL", []
        elif ascending:
            beyond, beyond_params = f"{sql} > ?", [value]
        else:
            beyond, beyond_params = f"({sql} < ? OR {sql} IS NULL)", [value]
        equal = [f"{s} IS ?" for s, _ in order[:i]]
        alternatives.append(" AND ".join([*equal, beyond]))
        params.extend([*values[:i], *beyond_params])
    return " OR ".join(f"({a})" for a in alternatives) or "0", params


# ---------------------------------------------------------------------- filters


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


def _convert(path: str, spec: Field, value: object) -> Any:
    kind = spec.kind
    if kind == KEY:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _KEY_PATTERN.match(value):
            return int(value)
        raise SearchError(f"{path}: expected a key (a string of digits), got {json.dumps(value)}")
    if kind in (STRING, ENUM):
        if not isinstance(value, str):
            raise SearchError(f"{path}: expected a string, got {json.dumps(value)}")
        if kind == ENUM and spec.values is not None and value not in spec.values:
            allowed = ", ".join(sorted(spec.values))
            raise SearchError(f"{path}: unknown value '{value}' (allowed: {allowed})")
        return value
    if kind == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SearchError(f"{path}: expected an integer, got {json.dumps(value)}")
        return value
    if kind == DATE:
        if not isinstance(value, str):
            raise SearchError(f"{path}: expected an ISO-8601 date-time string, got {json.dumps(value)}")
        try:
            return iso_to_ms(value)
        except ValueError:
            raise SearchError(f"{path}: '{value}' is not an ISO-8601 date-time") from None
    if kind == BOOL:
        if not isinstance(value, bool):
            raise SearchError(f"{path}: expected true or false, got {json.dumps(value)}")
        return 1 if value else 0
    raise AssertionError(kind)


def _field_condition(path: str, spec: Field, value: object) -> Sql:
    if not isinstance(value, dict):
        return f"{spec.sql} = ?", [_convert(path, spec, value)]
    if not value:
        raise SearchError(f"{path}: an operator object needs at least one operator")
    allowed = _OPERATORS[spec.kind]
    parts: list[str] = []
    params: list[Any] = []
    for op, operand in value.items():
        if op not in allowed:
            raise SearchError(
                f"{path}: operator '{op}' is not allowed for this field "
                f"(allowed: {', '.join(sorted(allowed))})")
        if op == "$exists":
            if not isinstance(operand, bool):
                raise SearchError(f"{path}.$exists: expected true or false")
            parts.append(f"{spec.sql} IS {'NOT ' if operand else ''}NULL")
        elif op in ("$in", "$notIn"):
            if not isinstance(operand, list):
                raise SearchError(f"{path}.{op}: expected an array")
            if not operand:
                parts.append("0" if op == "$in" else "1")
                continue
            params.extend(_convert(path, spec, item) for item in operand)
            marks = ", ".join("?" for _ in operand)
            neg = "NOT " if op == "$notIn" else ""
            parts.append(f"{spec.sql} {neg}IN ({marks})")
        elif op == "$like":
            if not isinstance(operand, str):
                raise SearchError(f"{path}.$like: expected a string pattern")
            params.append(_glob(operand))
            parts.append(f"{spec.sql} GLOB ?")
        else:
            params.append(_convert(path, spec, operand))
            parts.append(f"{spec.sql} {_COMPARE[op]} ?")
    return " AND ".join(f"({p})" for p in parts), params


def _variable_conditions(path: str, spec: Field, value: object) -> list[Sql]:
    """Each ``{name, value}`` entry: a variable of that name whose JSON text matches."""
    assert spec.within is not None
    if not isinstance(value, list):
        raise SearchError(f"{path}: expected an array of {{name, value}} objects")
    conditions: list[Sql] = []
    for i, entry in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "value"}:
            raise SearchError(f"{where}: expected an object with exactly 'name' and 'value'")
        name, match = entry["name"], entry["value"]
        if not isinstance(name, str) or not name:
            raise SearchError(f"{where}.name: expected a non-empty string")
        if match is None:
            raise SearchError(f"{where}.value: expected the variable's JSON text (a string) "
                              "or a string operator object")
        if match == {"$exists": False}:
            conditions.append((f"NOT ({spec.within.replace('{}', '1')})", [name]))
            continue
        sql, params = _field_condition(f"{where}.value", Field(spec.sql, STRING), match)
        conditions.append((spec.within.replace("{}", sql), [name, *params]))
    return conditions


def _tag_conditions(path: str, spec: Field, value: object) -> list[Sql]:
    """Every listed tag must be in the JSON array held by ``spec.sql`` (NULL: no tags)."""
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise SearchError(f"{path}: expected an array of at most {MAX_TAGS} tags")
    for tag in value:
        if not isinstance(tag, str) or not _TAG_PATTERN.match(tag):
            raise SearchError(f"{path}: {json.dumps(tag)} is not a valid tag (a letter, then up "
                              "to 99 letters, digits, '_', '-', ':' or '.')")
    if len(set(value)) != len(value):
        raise SearchError(f"{path}: tags must be unique")
    return [(f"EXISTS (SELECT 1 FROM json_each({spec.sql}) WHERE value = ?)", [tag])
            for tag in value]


def _filter_conditions(filt: object, spec: SearchSpec, allow_or: bool, needs: set[str],
                       path: str = "filter") -> list[Sql]:
    if not isinstance(filt, dict):
        raise SearchError(f"{path} must be a JSON object")
    conditions: list[Sql] = []
    related: dict[str, list[Sql]] = {}  # within template -> conditions on one related row
    for name, value in filt.items():
        if name == "$or" and allow_or:
            if not isinstance(value, list) or not value:
                raise SearchError(f"{path}.$or must be a non-empty array of filter objects")
            alternatives: list[Sql] = []
            for i, alt in enumerate(value):
                sub = _filter_conditions(alt, spec, False, needs, f"{path}.$or[{i}]")
                alternatives.append(_and(sub))
            conditions.append((" OR ".join(f"({s})" for s, _ in alternatives),
                               [p for _, ps in alternatives for p in ps]))
            continue
        field = spec.fields.get(name)
        if field is None:
            raise SearchError(
                f"{path}: unknown filter field '{name}' (supported: {', '.join(sorted(spec.fields))})")
        if value is None:
            raise SearchError(f"{path}.{name}: null is not a valid filter value")
        if field.needs is not None:
            needs.add(field.needs)
        if field.kind == VARIABLES:
            conditions.extend(_variable_conditions(f"{path}.{name}", field, value))
        elif field.kind == TAGS:
            conditions.extend(_tag_conditions(f"{path}.{name}", field, value))
        elif field.within is None:
            conditions.append(_field_condition(f"{path}.{name}", field, value))
        elif value == {"$exists": False}:
            conditions.append((f"NOT ({field.within.replace('{}', '1')})", []))
        else:
            related.setdefault(field.within, []).append(
                _field_condition(f"{path}.{name}", field, value))
    for template, parts in related.items():
        sql, params = _and(parts)
        conditions.append((template.replace("{}", sql), params))
    return conditions


def _and(conditions: Sequence[Sql]) -> Sql:
    if not conditions:
        return "1", []
    return (" AND ".join(f"({s})" for s, _ in conditions),
            [p for _, ps in conditions for p in ps])


# ---------------------------------------------------------------------- sort and page


def _sort(sort: object, spec: SearchSpec) -> tuple[list[tuple[str, str]], list[str], str]:
    """The ORDER BY terms (key last, so the order is total), their kinds, and a signature."""
    if sort is None:
        sort = []
    if not isinstance(sort, list):
        raise SearchError("sort must be an array of {field, order} objects")
    order: list[tuple[str, str]] = []
    kinds: list[str] = []
    names: list[str] = []
    for i, entry in enumerate(sort):
        if not isinstance(entry, dict) or "field" not in entry:
            raise SearchError(f"sort[{i}] must be an object with a 'field'")
        unknown = set(entry) - {"field", "order"}
        if unknown:
            raise SearchError(f"sort[{i}]: unknown property '{sorted(unknown)[0]}'")
        name = entry["field"]
        field = spec.fields.get(name) if isinstance(name, str) else None
        if field is None or not field.sortable:
            supported = sorted(n for n, f in spec.fields.items() if f.sortable)
            raise SearchError(
                f"sort[{i}].field: unknown sort field {json.dumps(name)} "
                f"(supported: {', '.join(supported)})")
        direction = entry.get("order", "ASC")
        if not isinstance(direction, str) or direction.upper() not in ("ASC", "DESC"):
            raise SearchError(f"sort[{i}].order must be 'ASC' or 'DESC', got {json.dumps(direction)}")
        order.append((field.sql, direction.upper()))
        kinds.append(field.kind)
        names.append(f"{name}:{direction.upper()}")
    order.append((spec.key_column, "ASC"))
    kinds.append(KEY)
    return order, kinds, f"{spec.table}|{','.join(names)}"


def _page(page: object, order: list[tuple[str, str]], kinds: list[str],
          signature: str) -> tuple[int, int, Sql | None, bool]:
    """(offset, limit, seek, backwards) for the page object."""
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
        return start, limit, None, False
    for name, forward in (("after", True), ("before", False)):
        if name in page:
            values = _decode_cursor(page[name], name, signature, kinds)
            return 0, limit, _seek(order, values, forward), not forward
    return 0, limit, None, False


def build_query(body: object, spec: SearchSpec) -> SearchQuery:
    """Validate a search body and produce the SQL pieces for it."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise SearchError("the request body must be a JSON object")
    unknown = set(body) - {"filter", "page", "sort"}
    if unknown:
        raise SearchError(f"unknown property '{sorted(unknown)[0]}' (expected filter, page, sort)")
    needs: set[str] = set()
    filt = body.get("filter")
    conditions = [] if filt is None else _filter_conditions(filt, spec, spec.allow_or, needs)
    where, params = _and(conditions)
    order, kinds, signature = _sort(body.get("sort"), spec)
    offset, limit, seek, backwards = _page(body.get("page"), order, kinds, signature)
    return SearchQuery(where, params, tuple(order), signature, offset, limit, seek, backwards,
                       frozenset(needs))


# ---------------------------------------------------------------------- SQL and results


def _with(query: SearchQuery, ctes: Mapping[str, Sql] | None) -> Sql:
    if not query.needs:
        return "", []
    assert ctes is not None and query.needs <= set(ctes), query.needs
    parts = [ctes[name] for name in sorted(query.needs)]
    return "WITH " + ", ".join(s for s, _ in parts) + " ", [p for _, ps in parts for p in ps]


def select_sql(spec: SearchSpec, query: SearchQuery,
               ctes: Mapping[str, Sql] | None = None) -> Sql:
    """One page of rows; each row also carries its sort values as ``_sort0``, ``_sort1``..."""
    prefix, params = _with(query, ctes)
    columns = ", ".join(f"{sql} AS _sort{i}" for i, (sql, _) in enumerate(query.order))
    flip = {"ASC": "DESC", "DESC": "ASC"}
    order_by = ", ".join(f"{sql} {flip[d] if query.backwards else d}" for sql, d in query.order)
    seek, seek_params = query.seek or ("1", [])
    sql = (f"{prefix}SELECT *, {columns} FROM {spec.table} WHERE ({query.where}) AND ({seek}) "
           f"ORDER BY {order_by} LIMIT ? OFFSET ?")
    return sql, [*params, *query.params, *seek_params, query.limit, query.offset]


def count_sql(spec: SearchSpec, query: SearchQuery,
              ctes: Mapping[str, Sql] | None = None) -> Sql:
    """All matches, whatever the page."""
    prefix, params = _with(query, ctes)
    return (f"{prefix}SELECT COUNT(*) FROM {spec.table} WHERE {query.where}",
            [*params, *query.params])


def page_rows(query: SearchQuery, rows: list[Any]) -> list[Any]:
    """The rows of ``select_sql`` in the requested order."""
    return rows[::-1] if query.backwards else rows


def page_info(total: int, query: SearchQuery, rows: Sequence[Any]) -> dict[str, Any]:
    def cursor(row: Any) -> str:
        return encode_cursor(*(row[f"_sort{i}"] for i in range(len(query.order))),
                             signature=query.signature)

    return {
        "totalItems": total,
        "startCursor": cursor(rows[0]) if rows else None,
        "endCursor": cursor(rows[-1]) if rows else None,
        "hasMoreTotalItems": False,
    }
