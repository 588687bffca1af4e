"""Readers of Zeebe extension elements: task definitions, headers, I/O mappings, expressions."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: N817 - only for the Element type

from .bpmn_model import Mapping, TaskDefinition, Value
from .bpmn_xml import ZEEBE_NS, Reporter, is_expression, split_tag
from .feel import Expression, FeelSyntaxError, parse

DEFAULT_JOB_RETRIES = 3
_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def expression(rep: Reporter, kind: str, element_id: str, what: str, raw: str) -> Expression | None:
    """Parse ``raw`` (which starts with ``=``); report a clear problem when it is not valid."""
    text = raw.lstrip()[1:]
    try:
        return parse(text)
    except FeelSyntaxError as exc:
        rep.element(kind, element_id,
                    f"has the {what} expression '{raw.strip()}', which is not valid in the FEEL "
                    f"subset this engine supports: {exc}")
        return None


def value(rep: Reporter, kind: str, element_id: str, what: str, raw: str) -> Value | None:
    """A static value, or an expression when ``raw`` starts with ``=``."""
    if is_expression(raw):
        expr = expression(rep, kind, element_id, what, raw)
        return None if expr is None else Value(expression=expr)
    return Value(static=raw.strip())


def required_expression(
    rep: Reporter, kind: str, element_id: str, what: str, raw: str | None
) -> Expression | None:
    """Attributes that must be expressions (conditions, correlation keys, output sources)."""
    if raw is None or not raw.strip():
        rep.element(kind, element_id, f"must have a {what}")
        return None
    if not is_expression(raw):
        rep.element(
            kind, element_id,
            f"has the {what} '{raw.strip()}', a static value; it must be a FEEL expression "
            "starting with '='",
        )
        return None
    return expression(rep, kind, element_id, what, raw)


def task_definition(
    rep: Reporter, kind: str, element_id: str, ext: ET.Element, headers: dict[str, str]
) -> TaskDefinition | None:
    raw_type = (ext.get("type") or "").strip()
    if not raw_type or raw_type == "=":
        rep.element(kind, element_id, "must have a zeebe:taskDefinition with a non-empty type")
        return None
    ok = True
    type_expr = None
    if is_expression(raw_type):
        type_expr = expression(rep, kind, element_id, "job type", raw_type)
        ok = type_expr is not None
    raw_retries = (ext.get("retries") or "").strip()
    retries = DEFAULT_JOB_RETRIES
    retries_expr = None
    if raw_retries:
        if is_expression(raw_retries):
            retries_expr = expression(rep, kind, element_id, "job retries", raw_retries)
            ok = ok and retries_expr is not None
        else:
            try:
                retries = int(raw_retries)
            except ValueError:
                rep.element(kind, element_id,
                            f"has retries '{raw_retries}', which is not an integer")
                ok = False
    if not ok:
        return None
    return TaskDefinition(
        job_type=raw_type, retries=retries,
        headers_json=json.dumps(headers, separators=(",", ":"), ensure_ascii=False),
        type_expression=type_expr, retries_expression=retries_expr,
    )


def task_headers(ext: ET.Element) -> dict[str, str]:
    headers: dict[str, str] = {}
    for header in ext:
        if split_tag(header.tag) == (ZEEBE_NS, "header"):
            headers[header.get("key", "")] = header.get("value", "")
    return headers


def _target(rep: Reporter, kind: str, element_id: str, what: str, raw: str | None) -> tuple[str, ...] | None:
    target = (raw or "").strip()
    if not _TARGET.match(target):
        rep.element(kind, element_id,
                    f"has the {what} target '{target}', which is not a variable name or path "
                    "(e.g. 'order' or 'order.status')")
        return None
    return tuple(target.split("."))


def io_mapping(
    rep: Reporter, kind: str, element_id: str, ext: ET.Element, inputs_allowed: bool
) -> tuple[tuple[Mapping, ...], tuple[Mapping, ...]] | None:
    """``zeebe:ioMapping``: inputs may be static values; output sources must be expressions."""
    before = rep.count
    inputs: list[Mapping] = []
    outputs: list[Mapping] = []
    for child in ext:
        ns, local = split_tag(child.tag)
        if ns != ZEEBE_NS:
            continue
        raw_source = child.get("source")
        if local == "input":
            if not inputs_allowed:
                rep.element(kind, element_id, "must not have input mappings")
                continue
            target = _target(rep, kind, element_id, "input mapping", child.get("target"))
            source = None
            if raw_source is not None and raw_source.strip():
                source = value(rep, kind, element_id, "input mapping source", raw_source)
                if source is None:
                    continue
            if target is not None:
                inputs.append(Mapping(source, target))
        elif local == "output":
            target = _target(rep, kind, element_id, "output mapping", child.get("target"))
            source_expr = required_expression(
                rep, kind, element_id, "output mapping source", raw_source)
            if target is not None and source_expr is not None:
                outputs.append(Mapping(Value(expression=source_expr), target))
        else:
            rep.unsupported(kind, element_id, f"with 'zeebe:{local}' in its zeebe:ioMapping")
    if rep.count > before:
        return None
    return tuple(inputs), tuple(outputs)
