"""A BPMN process read from its diagram interchange (DI) and drawn into a character grid."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"

TASK, EVENT, GATEWAY = "task", "event", "gateway"
_TASK_TAGS = frozenset({
    "task", "serviceTask", "userTask", "scriptTask", "sendTask", "receiveTask", "manualTask",
    "businessRuleTask", "callActivity", "subProcess", "adHocSubProcess", "transaction",
})
_GATEWAY_MARK = {"parallelGateway": "+", "exclusiveGateway": "×", "inclusiveGateway": "○",
                 "eventBasedGateway": "◇", "complexGateway": "*"}
_EVENT_MARK = {"startEvent": "○", "endEvent": "●", "boundaryEvent": "◎",
               "intermediateCatchEvent": "◎", "intermediateThrowEvent": "◉"}

# Line directions of a cell, combined into box-drawing characters.
UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
_LINE = {
    UP: "│", DOWN: "│", UP | DOWN: "│", LEFT: "─", RIGHT: "─", LEFT | RIGHT: "─",
    DOWN | RIGHT: "╭", DOWN | LEFT: "╮", UP | RIGHT: "╰", UP | LEFT: "╯",
    UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤", DOWN | LEFT | RIGHT: "┬",
    UP | LEFT | RIGHT: "┴", UP | DOWN | LEFT | RIGHT: "┼",
}
_BOX = {**_LINE, DOWN | RIGHT: "┌", DOWN | LEFT: "┐", UP | RIGHT: "└", UP | LEFT: "┘"}
_ARROW = {(0, 1): "▶", (0, -1): "◀", (1, 0): "▼", (-1, 0): "▲"}


class DiagramError(ValueError):
    """The XML is not BPMN with a diagram; ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class Shape:
    """One flow node with its DI bounds (BPMN units, y grows downwards)."""

    id: str
    kind: str  # task, event or gateway
    tag: str  # the BPMN element name, e.g. serviceTask, parallelGateway
    name: str
    x: float
    y: float
    w: float
    h: float
    job_type: str = ""  # zeebe:taskDefinition type, for service-like tasks
    attached_to: str = ""  # a boundary event's task

    @property
    def mark(self) -> str:
        return _GATEWAY_MARK.get(self.tag) or _EVENT_MARK.get(self.tag, "")


@dataclass(frozen=True, slots=True)
class Flow:
    """One sequence flow with its DI waypoints."""

    id: str
    source: str
    target: str
    name: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Diagram:
    process_id: str
    name: str
    shapes: dict[str, Shape]
    flows: tuple[Flow, ...]

    def incoming(self, element_id: str) -> list[Flow]:
        return [f for f in self.flows if f.target == element_id]

    def outgoing(self, element_id: str) -> list[Flow]:
        return [f for f in self.flows if f.source == element_id]

    def element_for_job_type(self, job_type: str) -> str | None:
        return next((s.id for s in self.shapes.values() if s.job_type == job_type), None)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kind(tag: str) -> str | None:
    if tag in _TASK_TAGS:
        return TASK
    if tag.endswith("Gateway"):
        return GATEWAY
    if tag.endswith("Event"):
        return EVENT
    return None


def parse_diagram(xml: bytes | str, process_id: str | None = None) -> Diagram:
    """The process ``process_id`` (default: the first executable one) with its DI."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise DiagramError(f"the BPMN XML does not parse: {exc}") from None
    processes = root.findall(f"{{{MODEL}}}process")
    if process_id is not None:
        processes = [p for p in processes if p.get("id") == process_id]
    if not processes:
        raise DiagramError(f"no process {process_id!r} in the BPMN XML" if process_id else "no process in the BPMN XML")
    process = next((p for p in processes if p.get("isExecutable") == "true"), processes[0])

    nodes: dict[str, tuple[str, str, str, str]] = {}  # id -> (tag, name, job type, attached to)
    flows: dict[str, tuple[str, str, str]] = {}  # id -> (source, target, name)
    for element in process.iter():
        tag, element_id = _local(element.tag), element.get("id")
        if element_id is None:
            continue
        if tag == "sequenceFlow":
            flows[element_id] = (element.get("sourceRef", ""), element.get("targetRef", ""), element.get("name", ""))
        elif _kind(tag) is not None:
            task = element.find(f"{{{MODEL}}}extensionElements/{{{ZEEBE}}}taskDefinition")
            nodes[element_id] = (tag, element.get("name", ""), task.get("type", "") if task is not None else "",
                                 element.get("attachedToRef", ""))

    shapes: dict[str, Shape] = {}
    points: dict[str, tuple[tuple[float, float], ...]] = {}
    for shape in root.iter(f"{{{BPMNDI}}}BPMNShape"):
        ref = shape.get("bpmnElement", "")
        bounds = shape.find(f"{{{DC}}}Bounds")
        if ref in nodes and bounds is not None:
            tag, name, job_type, attached_to = nodes[ref]
            x, y, w, h = (_number(bounds, a) for a in ("x", "y", "width", "height"))
            shapes[ref] = Shape(ref, _kind(tag) or TASK, tag, name, x, y, w, h, job_type, attached_to)
    for edge in root.iter(f"{{{BPMNDI}}}BPMNEdge"):
        ref = edge.get("bpmnElement", "")
        if ref in flows:
            points[ref] = tuple((_number(p, "x"), _number(p, "y")) for p in edge.findall(f"{{{DI}}}waypoint"))
    if not shapes:
        raise DiagramError(f"process {process.get('id')!r} has no diagram (no BPMNShape bounds)")
    drawn = tuple(
        Flow(fid, src, dst, name, points[fid])
        for fid, (src, dst, name) in flows.items()
        if src in shapes and dst in shapes and len(points.get(fid, ())) >= 2
    )
    return Diagram(process.get("id", ""), process.get("name", ""), shapes, drawn)


def _number(element: ET.Element, attribute: str) -> float:
    try:
        return float(element.get(attribute, ""))
    except ValueError:
        raise DiagramError(f"DI attribute {attribute!r} is not a number") from None


@dataclass(slots=True)
class Canvas:
    """Characters and, per cell, the id of the element or flow drawn there."""

    chars: list[list[str]]
    owners: list[list[str | None]]

    @property
    def width(self) -> int:
        return len(self.chars[0]) if self.chars else 0

    @property
    def height(self) -> int:
        return len(self.chars)

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.chars]


@dataclass(frozen=True, slots=True)
class _Box:
    top: int
    left: int
    bottom: int
    right: int

    def contains(self, row: int, col: int) -> bool:
        return self.top <= row <= self.bottom and self.left <= col <= self.right


class _Scale:
    """BPMN units to cells: x to the available width, y by the tasks' height."""

    def __init__(self, diagram: Diagram, width: int, max_height: int | None) -> None:
        xs = [s.x for s in diagram.shapes.values()] + [p[0] for f in diagram.flows for p in f.points]
        x2 = [s.x + s.w for s in diagram.shapes.values()] + xs
        ys = [s.y for s in diagram.shapes.values()] + [p[1] for f in diagram.flows for p in f.points]
        y2 = [s.y + s.h for s in diagram.shapes.values()] + ys
        tasks = [s for s in diagram.shapes.values() if s.kind == TASK] or list(diagram.shapes.values())
        task_w = min(s.w for s in tasks) or 100.0
        task_h = min(s.h for s in tasks) or 80.0
        self.x0, self.y0 = min(xs), min(ys)
        span_x, span_y = max(max(x2) - self.x0, 1.0), max(max(y2) - self.y0, 1.0)
        # Widest: a task of 24 columns; the margin keeps event labels and arrows inside.
        self.sx = min((width - 3) / span_x, 24.0 / task_w)
        self.sy = 4.0 / task_h  # a task is five rows: three lines of its name
        if max_height is not None and span_y * self.sy + 3 > max_height:
            self.sy = max((max_height - 3) / span_y, 0.0)
        self.task_w = task_w

    def col(self, x: float) -> int:
        return round((x - self.x0) * self.sx) + 1

    def row(self, y: float) -> int:
        return round((y - self.y0) * self.sy) + 1

    def box(self, shape: Shape) -> _Box:
        cx, cy = self.col(shape.x + shape.w / 2), self.row(shape.y + shape.h / 2)
        half_w = max(1, round(shape.w * self.sx / 2))
        half_h = max(1, round(shape.h * self.sy / 2))
        if shape.kind == TASK:
            half_w = max(half_w, 3)
            half_h = min(half_h, 2)
        else:
            half_h = 1
            half_w = max(half_w, 2)
        return _Box(cy - half_h, cx - half_w, cy + half_h, cx + half_w)


def draw(diagram: Diagram, width: int, max_height: int | None = None) -> Canvas:
    """Draw the diagram into at most ``width`` columns: flows as lines, nodes as boxes."""
    scale = _Scale(diagram, max(width, 20), max_height)
    boxes = {sid: scale.box(s) for sid, s in diagram.shapes.items()}
    height = max(b.bottom for b in boxes.values()) + 3
    cols = max(width, 20)
    bits = [[0] * cols for _ in range(height)]
    leaving: dict[tuple[int, int], int] = {}  # where a flow leaves its source box, outwards
    canvas = Canvas([[" "] * cols for _ in range(height)], [[None] * cols for _ in range(height)])
    arrows: list[tuple[int, int, str, str]] = []
    routes: dict[str, list[tuple[int, int]]] = {}
    for flow in diagram.flows:
        cells = routes[flow.id] = _route(flow, scale, boxes[flow.source], boxes[flow.target])
        for (r1, c1), (r2, c2) in zip(cells, cells[1:], strict=False):
            _line(bits, canvas, flow.id, r1, c1, r2, c2)
        _mark_exit(leaving, cells, boxes[flow.source])
        arrow = _arrow_cell(cells, boxes[flow.target])
        if arrow is not None:
            arrows.append((*arrow, flow.id))
    for row in range(height):
        for col in range(cols):
            if bits[row][col]:
                canvas.chars[row][col] = _LINE[bits[row][col]]
    for row, col, char, owner in arrows:
        _put(canvas, row, col, char, owner)
    # Boundary events last: they sit on the border of their task.
    for shape in sorted(diagram.shapes.values(), key=lambda s: s.tag == "boundaryEvent"):
        _shape(canvas, leaving, shape, boxes[shape.id])
    for shape in diagram.shapes.values():
        if shape.kind != TASK and shape.name:
            _label_below(canvas, shape, boxes[shape.id])
    for flow in diagram.flows:
        if flow.name:
            _label_flow(canvas, flow, routes[flow.id])
    for end in (-1, 0):  # no blank rows above or below
        while canvas.height > 1 and not "".join(canvas.chars[end]).strip():
            canvas.chars.pop(end)
            canvas.owners.pop(end)
    return canvas


def _route(flow: Flow, scale: _Scale, source: _Box, target: _Box) -> list[tuple[int, int]]:
    """The flow's waypoints as cells, bends made orthogonal, ends reaching both boxes."""
    cells = [(scale.row(y), scale.col(x)) for x, y in flow.points]
    route = [cells[0]]
    for row, col in cells[1:]:
        last_row, last_col = route[-1]
        if row != last_row and col != last_col:
            route.append((last_row, col))  # horizontal first, then vertical
        if (row, col) != route[-1]:
            route.append((row, col))
    route[0] = _reach(route[0], route[1] if len(route) > 1 else route[0], source)
    route[-1] = _reach(route[-1], route[-2] if len(route) > 1 else route[-1], target)
    return route


def _reach(end: tuple[int, int], towards: tuple[int, int], box: _Box) -> tuple[int, int]:
    """Move a line's end away from ``towards`` until it touches ``box`` (rounding gaps)."""
    row, col = end
    step_r = (row > towards[0]) - (row < towards[0])
    step_c = (col > towards[1]) - (col < towards[1])
    for _ in range(3):
        if box.contains(row, col) or (step_r == 0 and step_c == 0):
            break
        row, col = row + step_r, col + step_c
    return (row, col) if box.contains(row, col) else end


def _line(bits: list[list[int]], canvas: Canvas, owner: str, r1: int, c1: int, r2: int, c2: int) -> None:
    step_r, step_c = (r2 > r1) - (r2 < r1), (c2 > c1) - (c2 < c1)
    row, col = r1, c1
    while (row, col) != (r2, c2):
        nxt = (row + step_r, col + step_c)
        forward = DOWN if step_r > 0 else UP if step_r < 0 else RIGHT if step_c > 0 else LEFT
        back = {DOWN: UP, UP: DOWN, RIGHT: LEFT, LEFT: RIGHT}[forward]
        _bit(bits, canvas, row, col, forward, owner)
        _bit(bits, canvas, *nxt, back, owner)
        row, col = nxt


def _bit(bits: list[list[int]], canvas: Canvas, row: int, col: int, direction: int, owner: str) -> None:
    if 0 <= row < len(bits) and 0 <= col < len(bits[0]):
        bits[row][col] |= direction
        canvas.owners[row][col] = owner


def _arrow_cell(route: list[tuple[int, int]], target: _Box) -> tuple[int, int, str] | None:
    """The last cell of the line outside the target box, with the arrow head pointing in."""
    (r1, c1), (r2, c2) = route[-2] if len(route) > 1 else route[-1], route[-1]
    step = ((r2 > r1) - (r2 < r1), (c2 > c1) - (c2 < c1))
    if step == (0, 0):
        return None
    row, col = r2, c2
    while target.contains(row, col) and (row, col) != (r1, c1):
        row, col = row - step[0], col - step[1]
    return None if target.contains(row, col) else (row, col, _ARROW[step])


def _put(canvas: Canvas, row: int, col: int, char: str, owner: str | None) -> None:
    if 0 <= row < canvas.height and 0 <= col < canvas.width:
        canvas.chars[row][col] = char
        canvas.owners[row][col] = owner


def _shape(canvas: Canvas, leaving: dict[tuple[int, int], int], shape: Shape, box: _Box) -> None:
    top, left, bottom, right = box.top, box.left, box.bottom, box.right
    for row in range(top, bottom + 1):
        for col in range(left, right + 1):
            side = (UP if row == top else 0) | (DOWN if row == bottom else 0)
            side |= (LEFT if col == left else 0) | (RIGHT if col == right else 0)
            _put(canvas, row, col, _border(shape, side, _outward(leaving, row, col, side)), shape.id)
    inner_w, inner_h = right - left - 1, bottom - top - 1
    if shape.kind == TASK:
        lines = [_fit(line, inner_w) for line in textwrap.wrap(shape.name, inner_w, break_long_words=False)]
        lines = lines or [""]
        if len(lines) > inner_h:
            lines = lines[:inner_h]
            lines[-1] = _fit(lines[-1] + " …", inner_w) if len(lines[-1]) < inner_w else _fit(lines[-1] + "…", inner_w)
        first = top + 1 + (inner_h - len(lines)) // 2
        for offset, text in enumerate(lines):
            start = left + 1 + (inner_w - len(text)) // 2
            for i, char in enumerate(text):
                _put(canvas, first + offset, start + i, char, shape.id)
    else:
        _put(canvas, (top + bottom) // 2, (left + right) // 2, shape.mark or "·", shape.id)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _mark_exit(leaving: dict[tuple[int, int], int], route: list[tuple[int, int]], box: _Box) -> None:
    """Note the last cell of the first segment still inside the source box, and the way out."""
    if len(route) < 2:
        return
    (r1, c1), (r2, c2) = route[0], route[1]
    step_r, step_c = (r2 > r1) - (r2 < r1), (c2 > c1) - (c2 < c1)
    row, col = r1, c1
    while box.contains(row + step_r, col + step_c) and (row, col) != (r2, c2):
        row, col = row + step_r, col + step_c
    if box.contains(row, col) and (step_r or step_c):
        way = DOWN if step_r > 0 else UP if step_r < 0 else RIGHT if step_c > 0 else LEFT
        leaving[(row, col)] = leaving.get((row, col), 0) | way


def _outward(leaving: dict[tuple[int, int], int], row: int, col: int, side: int) -> int:
    """Flows leaving a box border cell outwards (drawn as ├ ┤ ┬ ┴ on a task's border)."""
    return leaving.get((row, col), 0) & side


def _border(shape: Shape, side: int, outward: int) -> str:
    if side == 0:
        return " "
    corner = side in (UP | LEFT, UP | RIGHT, DOWN | LEFT, DOWN | RIGHT)
    if shape.kind == GATEWAY and corner:
        return "╱" if side in (UP | LEFT, DOWN | RIGHT) else "╲"
    if shape.kind == EVENT and corner:
        return {UP | LEFT: "╭", UP | RIGHT: "╮", DOWN | LEFT: "╰", DOWN | RIGHT: "╯"}[side]
    # A border cell is a line along the side, plus any flow leaving it outwards.
    along = (LEFT | RIGHT) if side in (UP, DOWN) else (UP | DOWN)
    if corner:
        along = {UP | LEFT: DOWN | RIGHT, UP | RIGHT: DOWN | LEFT,
                 DOWN | LEFT: UP | RIGHT, DOWN | RIGHT: UP | LEFT}[side]
        return _BOX[along]
    return _BOX[along | (outward if shape.kind == TASK else 0)]


def _label_flow(canvas: Canvas, flow: Flow, route: list[tuple[int, int]]) -> None:
    """A flow's name (a gateway's condition, say) over its first horizontal stretch long enough."""
    for (r1, c1), (r2, c2) in zip(route, route[1:], strict=False):
        left, right = min(c1, c2), max(c1, c2)
        if r1 != r2 or right - left - 1 < len(flow.name):
            continue
        start = left + 1 + (right - left - 1 - len(flow.name)) // 2
        for row in (r1 - 1, r1 + 1):  # above the line, else below it
            if not 0 <= row < canvas.height:
                continue
            cells = range(start - 1, start + len(flow.name) + 1)
            if all(canvas.chars[row][c] == " " for c in cells if 0 <= c < canvas.width):
                for i, char in enumerate(flow.name):
                    _put(canvas, row, start + i, char, flow.id)
                return


def _label_below(canvas: Canvas, shape: Shape, box: _Box) -> None:
    """An event's or gateway's name under it, where nothing else is drawn."""
    row = box.bottom + 1
    if row >= canvas.height:
        return
    text = _fit(shape.name, max(box.right - box.left + 1 + 8, 16))
    center = (box.left + box.right) // 2
    start = max(0, min(center - len(text) // 2, canvas.width - len(text)))
    if start > 0 and canvas.chars[row][start - 1] != " ":
        return
    free = 0  # blank cells from start, keeping one blank before whatever comes next
    while start + free < canvas.width and canvas.chars[row][start + free] == " " and free <= len(text):
        free += 1
    room = free if start + free >= canvas.width else free - 1
    if room < min(len(text), 8):
        return
    text = _fit(text, room)
    for i, char in enumerate(text):
        _put(canvas, row, start + i, char, shape.id)
