"""Readers of single flow nodes (events, tasks, gateways) into FlowNodes, reporting problems."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: N817 - only for the Element type
from dataclasses import dataclass, field

from . import bpmn_zeebe as zb
from .bpmn_model import ElementKind, FlowNode, Mapping, MessageDefinition, TimerDefinition
from .bpmn_xml import Reporter, bpmn_children, text_of, zeebe_extensions
from .iso8601 import parse_date_time, parse_duration

# Children of a flow node that carry no execution semantics here.
_PASSIVE = frozenset({
    "incoming", "outgoing", "documentation", "extensionElements", "dataInputAssociation",
    "dataOutputAssociation", "property", "ioSpecification",
})
_JOB_TASKS = frozenset({"serviceTask", "sendTask", "businessRuleTask", "scriptTask"})
EVENT_DEFINITIONS = frozenset({
    "messageEventDefinition", "timerEventDefinition", "errorEventDefinition",
    "signalEventDefinition", "escalationEventDefinition", "terminateEventDefinition",
    "compensateEventDefinition", "conditionalEventDefinition", "linkEventDefinition",
    "cancelEventDefinition",
})
SUPPORTED_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask",
    "exclusiveGateway", "parallelGateway", *_JOB_TASKS,
})


@dataclass(slots=True)
class Definitions:
    """Root-level ``<message>`` and ``<error>`` elements, read when something refers to them."""

    rep: Reporter
    messages: dict[str, ET.Element] = field(default_factory=dict)
    errors: dict[str, ET.Element] = field(default_factory=dict)
    _read: dict[str, MessageDefinition | None] = field(default_factory=dict)

    def message(self, kind: str, element_id: str, ref: str | None) -> MessageDefinition | None:
        ref = (ref or "").strip()
        if not ref:
            self.rep.element(kind, element_id, "must reference a message (messageRef)")
            return None
        el = self.messages.get(ref)
        if el is None:
            self.rep.element(kind, element_id, f"references unknown message '{ref}'")
            return None
        if ref not in self._read:
            self._read[ref] = self._read_message(ref, el)
        return self._read[ref]

    def _read_message(self, ref: str, el: ET.Element) -> MessageDefinition | None:
        rep = self.rep
        raw_name = (el.get("name") or "").strip()
        if not raw_name:
            rep.element("message", ref, "must have a name")
            return None
        name = zb.value(rep, "message", ref, "message name", raw_name)
        correlation = None
        subscription = [ext for local, ext in zeebe_extensions(el) if local == "subscription"]
        if not subscription:
            rep.element("message", ref, "must have a zeebe:subscription with a correlationKey")
        else:
            correlation = zb.required_expression(
                rep, "message", ref, "correlationKey", subscription[0].get("correlationKey"))
        if name is None or correlation is None:
            return None
        return MessageDefinition(ref, name, correlation)

    def error_code(self, kind: str, element_id: str, ref: str | None) -> tuple[bool, str | None]:
        """``(ok, code)``; a missing reference or code means the catch-all (code None)."""
        ref = (ref or "").strip()
        if not ref:
            return True, None
        el = self.errors.get(ref)
        if el is None:
            self.rep.element(kind, element_id, f"references unknown error '{ref}'")
            return False, None
        code = (el.get("errorCode") or "").strip()
        if code.startswith("="):
            self.rep.element(kind, element_id,
                             f"catches the error '{ref}' whose errorCode '{code}' is an "
                             "expression; a catch event needs a static error code")
            return False, None
        return True, code or None


class NodeReader:
    """Turns one BPMN flow-node element into a FlowNode (or None after reporting why not)."""

    def __init__(self, defs: Definitions) -> None:
        self.defs = defs
        self.rep = defs.rep

    def read(self, kind: str, el: ET.Element, element_id: str) -> FlowNode | None:
        if kind in _JOB_TASKS:
            return self._job_task(kind, el, element_id)
        if kind == "receiveTask":
            return self._receive_task(el, element_id)
        if kind in ("exclusiveGateway", "parallelGateway"):
            return self._gateway(kind, el, element_id)
        return self._event(kind, el, element_id)

    # ------------------------------------------------------------------ shared

    def _children(self, kind: str, el: ET.Element, element_id: str) -> tuple[bool, list[tuple[str, ET.Element]]]:
        """Event definitions of ``el``; other unexpected BPMN children are reported."""
        ok = True
        definitions = []
        for local, child in bpmn_children(el):
            if local in EVENT_DEFINITIONS:
                definitions.append((local, child))
            elif local not in _PASSIVE:
                self.rep.unsupported(kind, element_id, f"with '{local}'")
                ok = False
        return ok, definitions

    def _extensions(
        self, kind: str, el: ET.Element, element_id: str, allowed: frozenset[str]
    ) -> tuple[bool, dict[str, ET.Element]]:
        ok = True
        found: dict[str, ET.Element] = {}
        for local, ext in zeebe_extensions(el):
            if local in allowed:
                found[local] = ext
            else:
                self.rep.unsupported(kind, element_id, f"with 'zeebe:{local}'")
                ok = False
        return ok, found

    def _mappings(
        self, kind: str, element_id: str, exts: dict[str, ET.Element], inputs_allowed: bool = True
    ) -> tuple[tuple[Mapping, ...], tuple[Mapping, ...]] | None:
        ext = exts.get("ioMapping")
        if ext is None:
            return (), ()
        return zb.io_mapping(self.rep, kind, element_id, ext, inputs_allowed)

    # ------------------------------------------------------------------ tasks

    def _job_task(self, kind: str, el: ET.Element, element_id: str) -> FlowNode | None:
        ok, definitions = self._children(kind, el, element_id)
        ext_ok, exts = self._extensions(
            kind, el, element_id, frozenset({"taskDefinition", "taskHeaders", "ioMapping"}))
        if not ext_ok:
            return None  # e.g. zeebe:calledDecision or zeebe:script: reported, nothing more to say
        for local, _ in definitions:
            self.rep.unsupported(kind, element_id, f"with '{local}'")
            ok = False
        headers = zb.task_headers(exts["taskHeaders"]) if "taskHeaders" in exts else {}
        if "taskDefinition" not in exts:
            self.rep.element(kind, element_id,
                             "must have a zeebe:taskDefinition with a non-empty type")
            return None
        task = zb.task_definition(self.rep, kind, element_id, exts["taskDefinition"], headers)
        mappings = self._mappings(kind, element_id, exts)
        if not ok or task is None or mappings is None:
            return None
        return FlowNode(id=element_id, kind=ElementKind.SERVICE_TASK, name=el.get("name"),
                        task=task, inputs=mappings[0], outputs=mappings[1])

    def _receive_task(self, el: ET.Element, element_id: str) -> FlowNode | None:
        kind = "receiveTask"
        ok, definitions = self._children(kind, el, element_id)
        ext_ok, exts = self._extensions(kind, el, element_id, frozenset({"ioMapping"}))
        for local, _ in definitions:
            self.rep.unsupported(kind, element_id, f"with '{local}'")
            ok = False
        if (el.get("instantiate") or "").strip().lower() == "true":
            self.rep.unsupported(kind, element_id, "that instantiates the process")
            ok = False
        message = self.defs.message(kind, element_id, el.get("messageRef"))
        mappings = self._mappings(kind, element_id, exts)
        if not (ok and ext_ok) or message is None or mappings is None:
            return None
        return FlowNode(id=element_id, kind=ElementKind.RECEIVE_TASK, name=el.get("name"),
                        message=message, inputs=mappings[0], outputs=mappings[1])

    # ------------------------------------------------------------------ gateways

    def _gateway(self, kind: str, el: ET.Element, element_id: str) -> FlowNode | None:
        ok, definitions = self._children(kind, el, element_id)
        ext_ok, _ = self._extensions(kind, el, element_id, frozenset())
        if definitions or not (ok and ext_ok):
            for local, _ in definitions:
                self.rep.unsupported(kind, element_id, f"with '{local}'")
            return None
        if kind == "exclusiveGateway":
            default = (el.get("default") or "").strip() or None
            return FlowNode(id=element_id, kind=ElementKind.EXCLUSIVE_GATEWAY,
                            name=el.get("name"), default_flow=default)
        return FlowNode(id=element_id, kind=ElementKind.PARALLEL_GATEWAY, name=el.get("name"))

    # ------------------------------------------------------------------ events

    def _event(self, kind: str, el: ET.Element, element_id: str) -> FlowNode | None:
        ok, definitions = self._children(kind, el, element_id)
        ext_ok, exts = self._extensions(kind, el, element_id, frozenset({"ioMapping"}))
        ok = ok and ext_ok
        if len(definitions) > 1:
            self.rep.unsupported(kind, element_id, "with several event definitions")
            return None
        definition = definitions[0] if definitions else None
        if kind in ("startEvent", "endEvent"):
            if definition is not None:
                self.rep.unsupported(kind, element_id, f"with '{definition[0]}'")
                return None
            mappings = self._mappings(kind, element_id, exts, inputs_allowed=kind == "endEvent")
            if not ok or mappings is None:
                return None
            node_kind = ElementKind.START_EVENT if kind == "startEvent" else ElementKind.END_EVENT
            return FlowNode(id=element_id, kind=node_kind, name=el.get("name"),
                            inputs=mappings[0], outputs=mappings[1])
        if definition is None:
            self.rep.element(kind, element_id, "must have an event definition")
            return None
        def_kind, def_el = definition
        if kind == "intermediateCatchEvent":
            return self._catch_event(el, element_id, def_kind, def_el, exts, ok)
        return self._boundary_event(el, element_id, def_kind, def_el, exts, ok)

    def _catch_event(
        self, el: ET.Element, element_id: str, def_kind: str, def_el: ET.Element,
        exts: dict[str, ET.Element], ok: bool,
    ) -> FlowNode | None:
        kind = "intermediateCatchEvent"
        mappings = self._mappings(kind, element_id, exts)
        if def_kind == "messageEventDefinition":
            message = self.defs.message(kind, element_id, def_el.get("messageRef"))
            if not ok or message is None or mappings is None:
                return None
            return FlowNode(id=element_id, kind=ElementKind.MESSAGE_CATCH, name=el.get("name"),
                            message=message, inputs=mappings[0], outputs=mappings[1])
        if def_kind == "timerEventDefinition":
            timer = self._timer(kind, element_id, def_el)
            if not ok or timer is None or mappings is None:
                return None
            return FlowNode(id=element_id, kind=ElementKind.TIMER_CATCH, name=el.get("name"),
                            timer=timer, inputs=mappings[0], outputs=mappings[1])
        self.rep.unsupported(kind, element_id, f"with '{def_kind}'")
        return None

    def _boundary_event(
        self, el: ET.Element, element_id: str, def_kind: str, def_el: ET.Element,
        exts: dict[str, ET.Element], ok: bool,
    ) -> FlowNode | None:
        kind = "boundaryEvent"
        attached = (el.get("attachedToRef") or "").strip()
        if not attached:
            self.rep.element(kind, element_id, "must be attached to an activity (attachedToRef)")
            ok = False
        if def_kind not in ("errorEventDefinition", "timerEventDefinition"):
            self.rep.unsupported(kind, element_id, f"with '{def_kind}'")
            return None
        if (el.get("cancelActivity") or "true").strip().lower() == "false":
            self.rep.unsupported(kind, element_id,
                                 "that is non-interrupting (cancelActivity=\"false\")")
            return None
        mappings = self._mappings(kind, element_id, exts, inputs_allowed=False)
        if def_kind == "errorEventDefinition":
            code_ok, code = self.defs.error_code(kind, element_id, def_el.get("errorRef"))
            if not (ok and code_ok) or mappings is None:
                return None
            return FlowNode(id=element_id, kind=ElementKind.ERROR_BOUNDARY, name=el.get("name"),
                            attached_to=attached, error_code=code, outputs=mappings[1])
        timer = self._timer(kind, element_id, def_el)
        if not ok or timer is None or mappings is None:
            return None
        return FlowNode(id=element_id, kind=ElementKind.TIMER_BOUNDARY, name=el.get("name"),
                        attached_to=attached, timer=timer, outputs=mappings[1])

    def _timer(self, kind: str, element_id: str, def_el: ET.Element) -> TimerDefinition | None:
        parts = [(local, child) for local, child in bpmn_children(def_el)
                 if local in ("timeDuration", "timeDate", "timeCycle")]
        if any(local == "timeCycle" for local, _ in parts):
            self.rep.unsupported(kind, element_id, "with a 'timeCycle' timer")
            return None
        if len(parts) != 1 or not text_of(parts[0][1]):
            self.rep.element(kind, element_id,
                             "must have exactly one non-empty timeDuration or timeDate")
            return None
        timer_kind, child = parts[0]
        raw = text_of(child)
        parsed = zb.value(self.rep, kind, element_id, timer_kind, raw)
        if parsed is None:
            return None
        if parsed.static is not None:
            try:
                if timer_kind == "timeDuration":
                    parse_duration(parsed.static)
                else:
                    parse_date_time(parsed.static)
            except ValueError as exc:
                self.rep.element(kind, element_id, f"has an invalid {timer_kind}: {exc}")
                return None
        return TimerDefinition(timer_kind, parsed)
