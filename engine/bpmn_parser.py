"""Reads Zeebe BPMN XML into ProcessModels, collecting every problem it finds."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: N817 - only for the Element type and ParseError
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from . import bpmn_zeebe as zb
from .bpmn_elements import SUPPORTED_NODES, Definitions, NodeReader
from .bpmn_model import ACTIVITIES, ElementKind, FlowNode, ProcessModel, SequenceFlow
from .bpmn_xml import BPMN_NS, Reporter, bpmn_children, split_tag, text_of, zeebe_extensions

# Root-level definitions that carry no execution semantics by themselves.
_IGNORED_ROOT = frozenset({
    "message", "error", "signal", "escalation", "itemDefinition", "category", "dataStore",
    "documentation", "extensionElements", "import", "interface", "resource", "textAnnotation",
    "association",
})
# Children of <process> that never affect execution.
_IGNORED_IN_PROCESS = frozenset({
    "documentation", "extensionElements", "textAnnotation", "association", "group", "category",
    "dataObject", "dataObjectReference", "dataStoreReference", "property", "ioSpecification",
})
# Process-level zeebe extensions that change nothing about execution.
_HARMLESS_PROCESS_EXTENSIONS = frozenset({"versionTag", "userTaskForm"})


@dataclass(frozen=True, slots=True)
class ParsedResource:
    """The processes of one resource, with the resource's raw bytes."""

    name: str
    content: bytes
    processes: list[ProcessModel]


class _ResourceParser:
    def __init__(self, name: str, problems: list[str]) -> None:
        self.rep = Reporter(name, problems)

    def parse(self, content: bytes) -> list[ProcessModel]:
        rep = self.rep
        try:
            root = SafeET.fromstring(content)
        except DefusedXmlException as exc:
            rep.problem(f"XML is not allowed: {exc}")
            return []
        except ET.ParseError as exc:
            rep.problem(f"malformed XML: {exc}")
            return []
        ns, local = split_tag(root.tag)
        if ns != BPMN_NS or local != "definitions":
            rep.problem(
                f"expected a BPMN 2.0 <definitions> root element in namespace '{BPMN_NS}', "
                f"but found '{local or root.tag}'"
            )
            return []
        defs = Definitions(rep)
        for clocal, child in bpmn_children(root):
            if clocal == "message" and child.get("id"):
                defs.messages[child.get("id", "")] = child
            elif clocal == "error" and child.get("id"):
                defs.errors[child.get("id", "")] = child
        processes: list[ProcessModel] = []
        executable_seen = False
        for clocal, child in bpmn_children(root):
            if clocal == "process":
                if child.get("isExecutable", "false").strip().lower() != "true":
                    continue
                executable_seen = True
                model = _ProcessParser(rep, defs).parse(child)
                if model is not None:
                    processes.append(model)
            elif clocal not in _IGNORED_ROOT:
                rep.unsupported(clocal, child.get("id"))
        if not executable_seen:
            rep.problem("must contain at least one executable process (isExecutable=\"true\")")
        return processes


class _ProcessParser:
    def __init__(self, rep: Reporter, defs: Definitions) -> None:
        self.rep = rep
        self.reader = NodeReader(defs)

    def parse(self, proc: ET.Element) -> ProcessModel | None:
        rep = self.rep
        process_id = (proc.get("id") or "").strip()
        if not process_id:
            rep.problem("a process has no id")
            return None
        before = rep.count
        for local, _ in zeebe_extensions(proc):
            if local not in _HARMLESS_PROCESS_EXTENSIONS:
                rep.unsupported("process", process_id, f"with 'zeebe:{local}'")
        nodes: dict[str, FlowNode] = {}
        flows: dict[str, SequenceFlow] = {}
        known_ids: set[str] = set()
        for local, child in bpmn_children(proc):
            if local in _IGNORED_IN_PROCESS:
                continue
            element_id = (child.get("id") or "").strip()
            if not element_id:
                rep.problem(f"element '{local}' in process '{process_id}' has no id")
                continue
            if element_id in known_ids:
                rep.element(local, element_id, "has a duplicate id")
                continue
            known_ids.add(element_id)
            if local == "sequenceFlow":
                flow = self._flow(child, element_id)
                if flow is not None:
                    flows[element_id] = flow
            elif local in SUPPORTED_NODES:
                node = self.reader.read(local, child, element_id)
                if node is not None:
                    nodes[element_id] = node
            else:
                rep.unsupported(local, element_id)
        self._check_flows(flows, nodes, known_ids)
        self._attach_boundaries(nodes, known_ids)
        starts = [n.id for n in nodes.values() if n.kind is ElementKind.START_EVENT]
        if not starts and not any(
                local == "startEvent" for local, _ in bpmn_children(proc)):
            rep.problem(f"process '{process_id}' must have a none start event")
        elif len(starts) > 1:
            rep.problem(
                f"process '{process_id}' has several none start events "
                f"({', '.join(starts)}); only one is allowed"
            )
        if rep.count > before:
            return None
        for flow in flows.values():
            nodes[flow.source_id].outgoing.append(flow)
            nodes[flow.target_id].incoming.append(flow)
        self._check_gateways(nodes)
        if rep.count > before:
            return None
        return ProcessModel(
            bpmn_process_id=process_id,
            name=proc.get("name"),
            nodes=nodes,
            flows=flows,
            none_start_id=starts[0] if starts else None,
        )

    def _flow(self, el: ET.Element, element_id: str) -> SequenceFlow | None:
        rep = self.rep
        source = (el.get("sourceRef") or "").strip()
        target = (el.get("targetRef") or "").strip()
        ok = True
        if not source or not target:
            rep.element("sequenceFlow", element_id, "needs sourceRef and targetRef")
            ok = False
        for local, _ in zeebe_extensions(el):
            rep.unsupported("sequenceFlow", element_id, f"with 'zeebe:{local}'")
            ok = False
        condition = None
        for local, child in bpmn_children(el):
            if local == "conditionExpression":
                condition = zb.required_expression(
                    rep, "sequenceFlow", element_id, "condition", text_of(child))
                ok = ok and condition is not None
            elif local not in ("documentation", "extensionElements"):
                rep.unsupported("sequenceFlow", element_id, f"with '{local}'")
                ok = False
        return SequenceFlow(element_id, source, target, condition) if ok else None

    def _check_flows(self, flows: dict[str, SequenceFlow], nodes: dict[str, FlowNode],
                     known_ids: set[str]) -> None:
        rep = self.rep
        for flow in flows.values():
            for role, ref in (("sourceRef", flow.source_id), ("targetRef", flow.target_id)):
                # Unsupported elements are known ids: they were reported on their own.
                if ref not in known_ids:
                    rep.element("sequenceFlow", flow.id, f"references unknown {role} '{ref}'")
            if flow.source_id in flows or flow.target_id in flows:
                rep.element("sequenceFlow", flow.id, "must connect flow nodes, not sequence flows")
            target = nodes.get(flow.target_id)
            if target is not None and target.attached_to is not None:
                rep.element("sequenceFlow", flow.id,
                            f"must not lead into the boundary event '{target.id}'")
            source = nodes.get(flow.source_id)
            if (flow.condition is not None and source is not None
                    and source.kind is not ElementKind.EXCLUSIVE_GATEWAY):
                rep.element("sequenceFlow", flow.id,
                            "has a condition, but conditions are only supported on flows "
                            "leaving an exclusive gateway")

    def _attach_boundaries(self, nodes: dict[str, FlowNode], known_ids: set[str]) -> None:
        rep = self.rep
        for node in nodes.values():
            if node.attached_to is None:
                continue
            host = nodes.get(node.attached_to)
            if host is None:
                if node.attached_to not in known_ids:
                    rep.element("boundaryEvent", node.id,
                                f"is attached to unknown element '{node.attached_to}'")
                continue  # attached to an unsupported element, which was reported
            if host.kind not in ACTIVITIES:
                rep.element("boundaryEvent", node.id,
                            f"is attached to '{host.id}', which is not a task")
                continue
            if node.kind is ElementKind.ERROR_BOUNDARY:
                clash = next((b for b in host.boundaries
                              if b.kind is ElementKind.ERROR_BOUNDARY
                              and b.error_code == node.error_code), None)
                if clash is not None:
                    what = (f"the error code '{node.error_code}'" if node.error_code
                            else "all errors (no error code)")
                    rep.element("boundaryEvent", node.id,
                                f"catches {what} on '{host.id}', like '{clash.id}' does; "
                                "each error may be caught only once per activity")
                    continue
            host.boundaries.append(node)

    def _check_gateways(self, nodes: dict[str, FlowNode]) -> None:
        rep = self.rep
        for node in nodes.values():
            if node.kind is not ElementKind.EXCLUSIVE_GATEWAY:
                continue
            outgoing_ids = [f.id for f in node.outgoing]
            if node.default_flow is not None and node.default_flow not in outgoing_ids:
                rep.element("exclusiveGateway", node.id,
                            f"has the default flow '{node.default_flow}', which is not one of "
                            "its outgoing sequence flows")
            if len(node.outgoing) > 1:
                for flow in node.outgoing:
                    if flow.id != node.default_flow and flow.condition is None:
                        rep.element("sequenceFlow", flow.id,
                                    f"leaves the exclusive gateway '{node.id}' without a "
                                    "condition and is not its default flow")


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
