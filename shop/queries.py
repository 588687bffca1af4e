"""Query-string parsing for the Admin API lists: paging, sort order, order filters and fields."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from .clock import parse_iso
from .errors import InvalidData

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
ORDER_STATUSES = ("pending", "completed", "draft", "archived", "canceled", "requires_action")
ORDER_SORTS = ("created_at", "updated_at", "display_id")

_SINGLE = {"limit", "offset", "order", "fields"}
_LIST = re.compile(r"^(status|id)(?:\[\d*\])?$")
_RANGE = re.compile(r"^(created_at|updated_at)\[\$(gt|gte|lt|lte)\]$")
_SQL_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class Page:
    """``limit``/``offset`` of a list request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass(frozen=True)
class OrderQuery:
    """A parsed ``GET /admin/orders`` request."""

    page: Page
    sort: str = "created_at"
    descending: bool = True
    statuses: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    # (column, SQL operator, normalised timestamp)
    ranges: tuple[tuple[str, str, str], ...] = ()
    #: The top-level fields a plain ``fields`` list names, ``id`` first; empty: the whole order.
    fields: tuple[str, ...] = ()


def _non_negative(name: str, value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value.strip()):
        raise InvalidData(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _singles(items: Iterable[tuple[str, str]], allowed: set[str]) -> tuple[dict, list]:
    singles: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for key, value in items:
        if key in _SINGLE and key in allowed:
            if key in singles:
                raise InvalidData(f"Query parameter {key!r} was given more than once")
            singles[key] = value
        else:
            rest.append((key, value))
    return singles, rest


def _page(singles: dict[str, str]) -> Page:
    limit = _non_negative("limit", singles.get("limit", str(DEFAULT_LIMIT)))
    if limit > MAX_LIMIT:
        raise InvalidData(f"limit must be at most {MAX_LIMIT}, got {limit}")
    offset = _non_negative("offset", singles.get("offset", "0"))
    return Page(limit=limit, offset=offset)


def _unknown(keys: list[str]) -> InvalidData:
    names = ", ".join(repr(k) for k in keys)
    return InvalidData(f"Invalid request: Unrecognized query parameters: {names}")


def parse_fields(text: str | None) -> tuple[str, ...]:
    """Medusa v2's ``fields`` on a list: the top-level fields asked for, or ``()`` for all.

    As in Medusa, one plain entry (``id,status``) makes the list replace the default fields,
    its other entries losing one leading ``+``/``-``/space (a ``+`` that came unencoded);
    a list of only prefixed entries (``+metadata``, ``-items``, ``*items``, ``items.*``) adds
    to or takes from the defaults, and since the shop's default is the whole order, asks for
    all of it. A nested entry (``shipping_address.city``, ``*items``) selects its top-level
    field whole. ``id`` always comes back. Blank entries are skipped; a blank list is the
    whole order.
    """
    entries = [entry for entry in (text or "").split(",") if entry]
    if all(entry[0] in "+- *" or entry.endswith(".*") for entry in entries):
        return ()
    names = ["id"]
    for entry in entries:
        name = entry[1:] if entry[0] in "+- " else entry
        name = name.removeprefix("*").removesuffix(".*").split(".", 1)[0].strip()
        if not name:
            raise InvalidData(f"fields must name order fields; {entry!r} names none")
        if name not in names:
            names.append(name)
    return tuple(names)


def parse_page(items: Iterable[tuple[str, str]]) -> Page:
    """``limit``, ``offset`` and (ignored) ``fields``; anything else is a 400."""
    singles, rest = _singles(items, {"limit", "offset", "fields"})
    if rest:
        raise _unknown([key for key, _ in rest])
    return _page(singles)


def parse_order_query(items: Iterable[tuple[str, str]]) -> OrderQuery:
    """Paging, ``order``, ``status``/``id`` (repeatable), ``created_at``/``updated_at`` ranges
    and ``fields`` (see :func:`parse_fields`; the route checks the names)."""
    singles, rest = _singles(items, _SINGLE)
    page = _page(singles)
    sort_text = singles.get("order", "-created_at").strip()
    descending = sort_text.startswith("-")
    sort = sort_text.lstrip("-")
    if sort not in ORDER_SORTS:
        allowed = ", ".join(f"{s}, -{s}" for s in ORDER_SORTS)
        raise InvalidData(f"order must be one of {allowed}; got {sort_text!r}")
    statuses: list[str] = []
    ids: list[str] = []
    ranges: list[tuple[str, str, str]] = []
    unknown: list[str] = []
    for key, value in rest:
        if match := _LIST.match(key):
            if match.group(1) == "status":
                if value not in ORDER_STATUSES:
                    raise InvalidData(
                        f"status must be one of {', '.join(ORDER_STATUSES)}; got {value!r}"
                    )
                statuses.append(value)
            else:
                if not value:
                    raise InvalidData("id filter must not be empty")
                ids.append(value)
        elif match := _RANGE.match(key):
            column, op = match.groups()
            try:
                bound = parse_iso(value, round_up=op in ("gte", "lt"))
            except ValueError:
                raise InvalidData(
                    f"{key} must be an ISO-8601 timestamp such as 2026-01-05T05:15:02.500Z; "
                    f"got {value!r}"
                ) from None
            ranges.append((column, _SQL_OPS[op], bound))
        else:
            unknown.append(key)
    if unknown:
        raise _unknown(unknown)
    return OrderQuery(
        page=page, sort=sort, descending=descending, statuses=tuple(statuses), ids=tuple(ids),
        ranges=tuple(ranges), fields=parse_fields(singles.get("fields")),
    )


# -- the same queries as the document shows them --------------------------------------------


class PageQuery(BaseModel):
    """``limit``/``offset``/``fields`` of every list."""

    limit: int = Field(DEFAULT_LIMIT, ge=0, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)
    fields: str = Field(None, description="Accepted and ignored (all fields are returned)")


def _bound(column: str, op: str) -> object:
    return Field(None, alias=f"{column}[${op}]")


class OrderListQuery(PageQuery):
    """``GET /admin/orders``."""

    order: Literal[tuple(p + s for s in ORDER_SORTS for p in ("", "-"))] = Field(  # type: ignore[valid-type]
        "-created_at", description="Sort field, '-' for descending (default -created_at)"
    )
    status: list[Literal[ORDER_STATUSES]] = Field(  # type: ignore[valid-type]
        None, description="Repeatable; status[] and status[n] are accepted too"
    )
    id: list[str] = Field(None, description="Repeatable; id[] and id[n] are accepted too")
    fields: str = Field(None, description=(
        "Comma-separated order fields, as in Medusa v2: plain names (id,status,updated_at) "
        "return only those top-level fields and id; a nested name (shipping_address.city) "
        "returns its top-level field whole; a list of only +/-/* entries (+metadata, *items) "
        "returns the whole order"
    ))
    created_at_gt: datetime = _bound("created_at", "gt")
    created_at_gte: datetime = _bound("created_at", "gte")
    created_at_lt: datetime = _bound("created_at", "lt")
    created_at_lte: datetime = _bound("created_at", "lte")
    updated_at_gt: datetime = _bound("updated_at", "gt")
    updated_at_gte: datetime = _bound("updated_at", "gte")
    updated_at_lt: datetime = _bound("updated_at", "lt")
    updated_at_lte: datetime = _bound("updated_at", "lte")


class DetailQuery(BaseModel):
    """Detail and write routes take ``fields`` (ignored) and nothing else."""

    fields: str = Field(None, description="Accepted and ignored (all fields are returned)")


def query_parameters(model: type[BaseModel]) -> list[dict]:
    """OpenAPI query parameters from ``model``'s fields (the parsers above enforce them)."""
    schema = model.model_json_schema(by_alias=True)
    parameters = []
    for name, field in schema["properties"].items():
        field = {k: v for k, v in field.items() if k not in ("title", "description", "default")}
        parameter: dict = {"name": name, "in": "query", "required": False, "schema": field}
        description = model.model_fields[_field_name(model, name)].description
        if description:
            parameter["description"] = description
        if field.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _field_name(model: type[BaseModel], alias: str) -> str:
    for name, info in model.model_fields.items():
        if (info.alias or name) == alias:
            return name
    return alias
