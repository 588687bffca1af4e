"""Which elements and flows of a diagram one process instance has passed, is at, or is stuck on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from console.diagram import TASK, Diagram

DONE, ACTIVE, INCIDENT, TAKEN = "done", "active", "incident", "taken"


@dataclass(frozen=True, slots=True)
class PathState:
    """Element ids completed, current and with an open incident; flow ids taken."""

    done: frozenset[str] = frozenset()
    active: frozenset[str] = frozenset()
    incident: frozenset[str] = frozenset()
    taken: frozenset[str] = frozenset()

    def of(self, owner: str | None) -> str:
        """``incident``, ``active``, ``done``, ``taken`` or ``""`` for an element or flow id."""
        if owner is None:
            return ""
        for name, ids in ((INCIDENT, self.incident), (ACTIVE, self.active), (DONE, self.done), (TAKEN, self.taken)):
            if owner in ids:
                return name
        return ""


def path_state(
    diagram: Diagram,
    completed: Iterable[str],
    active: Iterable[str] = (),
    incident: Iterable[str] = (),
    *,
    errored: Iterable[str] = (),
    started: bool = True,
    finished: bool = False,
) -> PathState:
    """Fill in what the engine's jobs do not say: the start event, gateways and events passed
    on the way to a visited element, and the end event of a finished instance.

    A gateway or event counts as passed when the flow leaving it reaches an element that was
    visited (an element reached only through a merging gateway cannot tell which branch came,
    so a boundary event is marked only when its own target task ran). Once the instance has
    finished, a join all of whose branches arrived, a merge one of whose did, and an end
    event whose incoming flows all came are passed too. A task in ``errored`` threw a BPMN
    error: its boundary events fired and its own outgoing flows were not taken.
    """
    threw = set(errored)
    done = set(completed) | threw
    done |= {s.id for s in diagram.shapes.values() if s.attached_to in threw}
    current = set(active) | set(incident)
    if started:
        done |= {s.id for s in diagram.shapes.values() if s.tag == "startEvent" and not diagram.incoming(s.id)}
    changed = True
    while changed:
        changed = False
        for shape in diagram.shapes.values():
            if shape.id in done or shape.id in current or shape.kind == TASK:
                continue
            targets = [diagram.shapes[f.target] for f in diagram.outgoing(shape.id)]
            if shape.tag == "boundaryEvent":
                targets = [t for t in targets if t.kind == TASK]
            if any(t.id in done or t.id in current for t in targets):
                done.add(shape.id)
                changed = True
        if finished:  # forwards too: a join all of whose (a merge any of whose) branches arrived
            for shape in diagram.shapes.values():
                sources = [f.source for f in diagram.incoming(shape.id)]
                if shape.kind == TASK or shape.id in done or not sources:
                    continue
                arrived = [s in done for s in sources]
                if all(arrived) or (shape.tag != "parallelGateway" and shape.kind != "event" and any(arrived)):
                    done.add(shape.id)
                    changed = True
    done -= current
    reached = done | current
    taken = {f.id for f in diagram.flows if f.source in done and f.target in reached and f.source not in threw}
    return PathState(frozenset(done), frozenset(set(active) - set(incident)), frozenset(incident), frozenset(taken))
