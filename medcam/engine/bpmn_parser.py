"""Reads Zeebe BPMN XML into ProcessModels, collecting every problem it finds."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: N817 - only for the Element type and ParseError
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .bpmn_model import ElementKind, FlowNode, ProcessModel, SequenceFlow, TaskDefinition

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"

DEFAULT_JOB_RETRIES = 3

# Root-level definitions that carry no execution semantics for the supported subset.
_IGNORED_ROOT = {
    "message", "error", "signal", "escalation", "itemDefinition", "category",
    "dataStore", "documentation", "extensionElements", "import", "interface",
    "resource", "textAnnotation", "association",
}
# Children of <process> that never affect execution.
_IGNORED_IN_PROCESS = {
    "documentation", "extensionElements", "textAnnotation", "association", "laneSet",
    "group", "category",
}
# Children of a flow node that only repeat what sequence flows say, or are prose.
_IGNORED_IN_NODE = {"incoming", "outgoing", "documentation", "extensionElements"}
_ZEEBE_TASK_EXTENSIONS = {"taskDefinition", "taskHeaders"}


@dataclass(frozen=True, slots=True)
class ParsedResource:
    """The processes of one resource, with the resource's raw bytes."""

    name: str
    content: bytes
    processes: list[ProcessModel]


def _split(tag: object) -> tuple[str, str]:
    if not isinstance(tag, str):  # comments and processing instructions
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _is_expression(value: str) -> bool:
    return value.lstrip().startswith("=")


class _ResourceParser:
    def __init__(self, name: str, problems: list[str]) -> None:
        self.name = name
        self.problems = problems

    def problem(self, text: str) -> None:
        self.problems.append(f"'{self.name}': {text}")

    def unsupported(self, kind: str, element_id: str | None, detail: str = "") -> None:
        suffix = f" {detail}" if detail else ""
        self.problem(
            f"element '{kind}' (id '{element_id or '?'}'){suffix} is not supported by this engine"
        )

    def parse(self, content: bytes) -> list[ProcessModel]:
        try:
            root = SafeET.fromstring(content)
        except DefusedXmlException as exc:
            self.problem(f"XML is not allowed: {exc}")
            return []
        except ET.ParseError as exc:
            self.problem(f"malformed XML: {exc}")
            return []
        ns, local = _split(root.tag)
        if ns != BPMN_NS or local != "definitions":
            self.problem(
                f"expected a BPMN 2.0 <definitions> root element in namespace '{BPMN_NS}', "
                f"but found '{local or root.tag}'"
            )
            return []
        processes: list[ProcessModel] = []
        executable_seen = False
        for child in root:
            cns, clocal = _split(child.tag)
            if cns != BPMN_NS:
                continue  # bpmndi, vendor extensions
            if clocal == "process":
                if child.get("isExecutable", "false").strip().lower() != "true":
                    continue
                executable_seen = True
                model = self._parse_process(child)
                if model is not None:
                    processes.append(model)
            elif clocal not in _IGNORED_ROOT:
                self.unsupported(clocal, child.get("id"))
        if not executable_seen:
            self.problem("must contain at least one executable process (isExecutable=\"true\")")
        return processes

    def _parse_process(self, proc: ET.Element) -> ProcessModel | None:
        process_id = (proc.get("id") or "").strip()
        if not process_id:
            self.problem("a process has no id")
            return None
        before = len(self.problems)
        nodes: dict[str, FlowNode] = {}
        flows: dict[str, SequenceFlow] = {}
        known_ids: set[str] = set()
        none_starts: list[str] = []
        for child in proc:
            ns, local = _split(child.tag)
            if ns != BPMN_NS or local in _IGNORED_IN_PROCESS:
                continue
            element_id = (child.get("id") or "").strip()
            if not element_id:
                self.problem(f"element '{local}' in process '{process_id}' has no id")
                continue
            if element_id in known_ids:
                self.problem(f"element '{local}' (id '{element_id}') has a duplicate id")
                continue
            known_ids.add(element_id)
            if local == "sequenceFlow":
                flow = self._parse_flow(child, element_id)
                if flow is not None:
                    flows[element_id] = flow
            elif local in ("startEvent", "endEvent"):
                node = self._parse_event(child, local, element_id)
                if node is not None:
                    nodes[element_id] = node
                    if node.kind is ElementKind.START_EVENT:
                        none_starts.append(element_id)
            elif local == "serviceTask":
                node = self._parse_service_task(child, element_id)
                if node is not None:
                    nodes[element_id] = node
            else:
                self.unsupported(local, element_id)
        for flow in flows.values():
            for role, ref in (("sourceRef", flow.source_id), ("targetRef", flow.target_id)):
                # Unsupported elements are known ids: they were reported on their own.
                if ref not in known_ids:
                    self.problem(
                        f"element 'sequenceFlow' (id '{flow.id}') references unknown "
                        f"{role} '{ref}'"
                    )
            if flow.source_id in flows or flow.target_id in flows:
                self.problem(
                    f"element 'sequenceFlow' (id '{flow.id}') must connect flow nodes, "
                    "not sequence flows"
                )
        if not none_starts:
            self.problem(f"process '{process_id}' must have a none start event")
        elif len(none_starts) > 1:
            self.problem(
                f"process '{process_id}' has several none start events "
                f"({', '.join(none_starts)}); only one is allowed"
            )
        if len(self.problems) > before:
            return None
        for flow in flows.values():
            nodes[flow.source_id].outgoing.append(flow)
            nodes[flow.target_id].incoming.append(flow)
        return ProcessModel(
            bpmn_process_id=process_id,
            name=proc.get("name"),
            nodes=nodes,
            flows=flows,
            none_start_id=none_starts[0],
        )

    def _parse_flow(self, el: ET.Element, element_id: str) -> SequenceFlow | None:
        source = (el.get("sourceRef") or "").strip()
        target = (el.get("targetRef") or "").strip()
        ok = True
        if not source or not target:
            self.problem(f"element 'sequenceFlow' (id '{element_id}') needs sourceRef and targetRef")
            ok = False
        for child in el:
            ns, local = _split(child.tag)
            if ns == BPMN_NS and local == "conditionExpression":
                self.unsupported("sequenceFlow", element_id, "with 'conditionExpression'")
                ok = False
            elif ns == BPMN_NS and local not in ("documentation", "extensionElements"):
                self.unsupported("sequenceFlow", element_id, f"with '{local}'")
                ok = False
        return SequenceFlow(element_id, source, target) if ok else None

    def _check_node_children(self, el: ET.Element, kind: str, element_id: str) -> bool:
        ok = True
        for child in el:
            ns, local = _split(child.tag)
            if ns == BPMN_NS and local not in _IGNORED_IN_NODE:
                self.unsupported(kind, element_id, f"with '{local}'")
                ok = False
        return ok

    def _zeebe_extensions(self, el: ET.Element) -> list[ET.Element]:
        found: list[ET.Element] = []
        for child in el:
            ns, local = _split(child.tag)
            if ns == BPMN_NS and local == "extensionElements":
                found.extend(ext for ext in child if _split(ext.tag)[0] == ZEEBE_NS)
        return found

    def _parse_event(self, el: ET.Element, kind: str, element_id: str) -> FlowNode | None:
        ok = self._check_node_children(el, kind, element_id)
        for ext in self._zeebe_extensions(el):
            self.unsupported(kind, element_id, f"with 'zeebe:{_split(ext.tag)[1]}'")
            ok = False
        if not ok:
            return None
        node_kind = ElementKind.START_EVENT if kind == "startEvent" else ElementKind.END_EVENT
        return FlowNode(id=element_id, kind=node_kind, name=el.get("name"))

    def _parse_service_task(self, el: ET.Element, element_id: str) -> FlowNode | None:
        ok = self._check_node_children(el, "serviceTask", element_id)
        task_def: ET.Element | None = None
        headers: dict[str, str] = {}
        for ext in self._zeebe_extensions(el):
            local = _split(ext.tag)[1]
            if local not in _ZEEBE_TASK_EXTENSIONS:
                self.unsupported("serviceTask", element_id, f"with 'zeebe:{local}'")
                ok = False
            elif local == "taskDefinition":
                task_def = ext
            else:
                for header in ext:
                    if _split(header.tag) == (ZEEBE_NS, "header"):
                        headers[header.get("key", "")] = header.get("value", "")
        if task_def is None or not (task_def.get("type") or "").strip():
            self.problem(
                f"element 'serviceTask' (id '{element_id}') must have a zeebe:taskDefinition "
                "with a non-empty type"
            )
            return None
        job_type = (task_def.get("type") or "").strip()
        if _is_expression(job_type):
            self.unsupported(
                "serviceTask", element_id, f"with an expression job type '{job_type}'"
            )
            ok = False
        raw_retries = (task_def.get("retries") or "").strip()
        retries = DEFAULT_JOB_RETRIES
        if raw_retries:
            if _is_expression(raw_retries):
                self.unsupported(
                    "serviceTask", element_id, f"with an expression for retries '{raw_retries}'"
                )
                ok = False
            else:
                try:
                    retries = int(raw_retries)
                except ValueError:
                    self.problem(
                        f"element 'serviceTask' (id '{element_id}') has retries '{raw_retries}', "
                        "which is not an integer"
                    )
                    ok = False
        if not ok:
            return None
        return FlowNode(
            id=element_id,
            kind=ElementKind.SERVICE_TASK,
            name=el.get("name"),
            task=TaskDefinition(
                job_type=job_type,
                retries=retries,
                headers_json=json.dumps(headers, separators=(",", ":")),
            ),
        )


def parse_resource(name: str, content: bytes, problems: list[str]) -> ParsedResource:
    """Parse one deployment resource; problems are appended to ``problems``."""
    parser = _ResourceParser(name, problems)
    return ParsedResource(name=name, content=content, processes=parser.parse(content))


def parse_single_process(name: str, content: bytes, bpmn_process_id: str) -> ProcessModel:
    """Re-read a stored resource and return one of its processes (used when loading state)."""
    problems: list[str] = []
    for model in parse_resource(name, content, problems).processes:
        if model.bpmn_process_id == bpmn_process_id:
            return model
    raise ValueError(f"stored resource '{name}' no longer yields process '{bpmn_process_id}'")
