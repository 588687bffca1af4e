"""Request bodies: strict JSON decoding, then the body's pydantic model, in messages naming the field.

Size is not checked here: ``BodyLimitMiddleware`` answers oversized bodies with 413 first.
Decoding is stricter than ``json.loads``: NaN/Infinity, lone UTF-16 surrogates (which cannot
be stored) and nesting deeper than :data:`MAX_DEPTH` are refused, each with its own reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

#: Deeper JSON is refused: nesting that deep is never meaningful and strains recursion.
MAX_DEPTH = 100

M = TypeVar("M", bound=BaseModel)
#: The error type of a rule about the whole body (its message names the fields itself).
BODY_RULE = "body_rule"


class BodyError(ValueError):
    """The body is not a usable JSON object, or breaks its model; the message says why."""


@dataclass(frozen=True)
class Wording:
    """How one route words its validation messages (each keeps the words it always had)."""

    #: Unknown fields; ``{where}`` is the object ("request body", "items[0]"), ``{names}`` them.
    unknown: str = "Unrecognized fields in {where}: {names}"
    #: Put before every message.
    prefix: str = ""
    #: Whether "too long" says how long the value was.
    counts_length: bool = False
    #: Whether "must be an object" says what was sent instead.
    names_type: bool = True
    #: Unknown field names sorted (else in the order they were sent).
    sorts_unknown: bool = False


ADMIN = Wording()


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type (``object``, ``array``, ``string``…)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def parse_object(raw: bytes, expected: str) -> dict:
    """Decode ``raw`` into a dict; ``expected`` describes the object for error messages."""
    if not raw.strip():
        raise BodyError(f"Request body is empty: expected {expected}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("Request body is not valid UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BodyError(
            f"Request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise BodyError(f"Request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BodyError(f"Request body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise BodyError(f"Request body is nested too deeply (at most {MAX_DEPTH} levels)")
    if b"\\u" in raw and _has_lone_surrogate(value):
        raise BodyError(
            "Request body is not valid JSON text: it escapes a lone UTF-16 surrogate (\\ud800-\\udfff)"
        )
    if not isinstance(value, dict):
        raise BodyError(f"Request body must be a JSON object, got {type_name(value)}")
    return value


def _depth(value: object) -> int:
    """How many arrays/objects deep ``value`` nests (iteratively: no recursion limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _has_lone_surrogate(value: object) -> bool:
    """Whether any string (key or value) holds a surrogate that JSON decoding left unpaired.

    Only ``\\uXXXX`` escapes can produce one (raw UTF-8 cannot), so callers check for
    an escape first; such strings cannot be stored or encoded as UTF-8.
    """
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def validate(model: type[M], body: dict, wording: Wording = ADMIN) -> tuple[M | None, list[str]]:
    """``body`` as ``model``, or None and every problem, each naming its field."""
    try:
        return model.model_validate(body), []
    except ValidationError as exc:
        return None, describe(exc, body, wording)


def read_model(raw: bytes, model: type[M], expected: str, wording: Wording = ADMIN) -> M:
    """Decode and validate a body; BodyError with the first problem (Medusa reports one)."""
    value, problems = validate(model, parse_object(raw, expected), wording)
    if value is None:
        raise BodyError(problems[0])
    return value


# -- pydantic's errors in the shop's words --------------------------------------------------

_KINDS = {
    "string_type": "a string",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
    "bool_type": "true or false",
    "float_type": "a number",
    "int_type": "an integer",
}


def _where(loc: tuple) -> str:
    """``("items", 0, "quantity")`` → ``items[0].quantity``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _bound(value: object) -> object:
    return f"{value:g}" if isinstance(value, float) else value


def _message(error: dict, wording: Wording) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    field = _where(error["loc"])
    if kind == "missing":
        text = "is required"
    elif kind in _KINDS:
        text = f"must be {_KINDS[kind]}" + (f", got {type_name(value)}" if wording.names_type else "")
    elif kind == "string_too_short":
        text = "must not be empty"
    elif kind == "string_too_long":
        limit = ctx.get("max_length")
        text = (f"is too long ({len(value)} characters, at most {limit})" if wording.counts_length
                else f"is too long (at most {limit} characters)")
    elif kind == "too_short":
        low = ctx.get("min_length")
        text = "must contain at least one item" if low == 1 else f"must contain at least {low} items"
    elif kind == "too_long":
        text = f"has too many entries (at most {ctx.get('max_length')})"
    elif kind in ("greater_than_equal", "greater_than"):
        text = f"must be at least {_bound(ctx.get('ge', ctx.get('gt')))}, got {value!r}"
    elif kind in ("less_than_equal", "less_than"):
        text = f"must be at most {_bound(ctx.get('le', ctx.get('lt')))}, got {value!r}"
    elif kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
    elif kind == BODY_RULE:
        return error["msg"]
    else:
        text = f"is invalid: {error['msg']}"
    return f"{field} {text}" if field else text


def describe(exc: ValidationError, body: dict, wording: Wording = ADMIN) -> list[str]:
    """Every problem, unknown fields first in each object (grouped, in ``body``'s order), then
    the others in field order."""
    errors = exc.errors(include_url=False)
    problems: list[str] = []
    done: set[tuple] = set()
    for error in _unknown_first(errors):
        if error["type"] != "extra_forbidden":
            problems.append(wording.prefix + _message(error, wording))
            continue
        parent = error["loc"][:-1]
        if parent in done:
            continue
        done.add(parent)
        unknown = [
            e["loc"][-1] for e in errors if e["type"] == "extra_forbidden" and e["loc"][:-1] == parent
        ]
        unknown = sorted(unknown) if wording.sorts_unknown else _in_sent_order(body, parent, unknown)
        names = ", ".join(repr(name) for name in unknown)
        where = _where(parent) or "request body"
        problems.append(wording.prefix + wording.unknown.format(where=where, names=names))
    return problems


def _in_sent_order(body: dict, parent: tuple, names: list) -> list:
    sent: object = body
    for part in parent:
        try:
            sent = sent[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return names
    order = {key: at for at, key in enumerate(sent)} if isinstance(sent, dict) else {}
    return sorted(names, key=lambda name: order.get(name, len(order)))


def _unknown_first(errors: list) -> list:
    """pydantic reports unknown fields after an object's others; Medusa (and the shop) before."""
    ordered: list = []
    for error in errors:
        if error["type"] == "extra_forbidden":
            parent = error["loc"][:-1]
            at = next(
                (i for i, seen in enumerate(ordered) if seen["loc"][: len(parent)] == parent),
                len(ordered),
            )
            ordered.insert(at, error)
        else:
            ordered.append(error)
    return ordered
