"""BPMN XML plumbing shared by the readers: namespaces, tag splitting, problem reporting."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: N817 - only for the Element type

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"


def split_tag(tag: object) -> tuple[str, str]:
    """``{ns}local`` → ``(ns, local)``; comments and processing instructions give ``("", "")``."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def bpmn_children(el: ET.Element) -> list[tuple[str, ET.Element]]:
    """The BPMN-namespace children of ``el`` with their local names."""
    out = []
    for child in el:
        ns, local = split_tag(child.tag)
        if ns == BPMN_NS:
            out.append((local, child))
    return out


def zeebe_extensions(el: ET.Element) -> list[tuple[str, ET.Element]]:
    """The ``zeebe:`` elements inside ``el``'s ``<extensionElements>``, with local names."""
    found = []
    for child in el:
        if split_tag(child.tag) == (BPMN_NS, "extensionElements"):
            for ext in child:
                ns, local = split_tag(ext.tag)
                if ns == ZEEBE_NS:
                    found.append((local, ext))
    return found


def is_expression(value: str) -> bool:
    return value.lstrip().startswith("=")


def text_of(el: ET.Element) -> str:
    return (el.text or "").strip()


class Reporter:
    """Collects problems of one resource, each line prefixed with the resource name."""

    def __init__(self, resource: str, problems: list[str]) -> None:
        self.resource = resource
        self.problems = problems

    @property
    def count(self) -> int:
        return len(self.problems)

    def problem(self, text: str) -> None:
        # one line per problem, even when an expression spans several lines
        flat = text.replace("\r", "\\r").replace("\n", "\\n")
        self.problems.append(f"'{self.resource}': {flat}")

    def element(self, kind: str, element_id: str | None, text: str) -> None:
        """A problem with one element: ``element 'kind' (id 'x') <text>``."""
        self.problem(f"element '{kind}' (id '{element_id or '?'}') {text}")

    def unsupported(self, kind: str, element_id: str | None, detail: str = "") -> None:
        text = "is not supported by this engine"
        self.element(kind, element_id, f"{detail} {text}" if detail else text)
