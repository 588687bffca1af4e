"""The BPMN diagram drawn from its DI into characters, and the path an instance took through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpmn import ORDER_FULFILLMENT
from console.diagram import DiagramError, draw, parse_diagram
from console.process_path import path_state

FORK_JOIN = Path(__file__).with_name("data") / "fork-join.bpmn"


def _owned(canvas) -> set[str]:
    return {owner for row in canvas.owners for owner in row if owner}


def test_the_shipped_model_is_read_from_its_di() -> None:
    diagram = parse_diagram(ORDER_FULFILLMENT.read_bytes())
    assert diagram.process_id == "order-fulfillment-poc"
    assert list(diagram.shapes) == ["StartEvent_OrderPlaced", "Task_VerifyPayment", "Task_ReserveInventory",
                                    "Task_SendNotification", "EndEvent_OrderComplete"]
    assert diagram.element_for_job_type("reserve-inventory") == "Task_ReserveInventory"
    assert [f.id for f in diagram.flows] == ["Flow_ToVerifyPayment", "Flow_ToReserveInventory",
                                             "Flow_ToSendNotification", "Flow_ToOrderComplete"]
    assert diagram.shapes["Task_VerifyPayment"].x == 240 and diagram.shapes["Task_VerifyPayment"].h == 80


@pytest.mark.parametrize("width", [40, 76, 156])
def test_the_shipped_model_fits_the_width_left_to_right(width: int) -> None:
    diagram = parse_diagram(ORDER_FULFILLMENT.read_bytes())
    canvas = draw(diagram, width)
    text = "\n".join(canvas.lines())
    assert max(len(line) for line in canvas.lines()) <= width
    assert _owned(canvas) == set(diagram.shapes) | {f.id for f in diagram.flows}
    assert text.count("▶") == len(diagram.flows)
    middle = next(line for line in canvas.lines() if "○" in line)
    # Elements appear in the order of their x coordinates, joined by lines.
    assert middle.index("○") < middle.index("▶") < middle.rindex("●")
    assert "Veri" in text and "Rese" in text  # names shortened with … where boxes are small


def test_wider_means_bigger_boxes() -> None:
    diagram = parse_diagram(ORDER_FULFILLMENT.read_bytes())
    narrow, wide = draw(diagram, 76), draw(diagram, 156)
    box = lambda canvas: max(len([o for o in row if o == "Task_VerifyPayment"]) for row in canvas.owners)  # noqa: E731
    assert box(wide) > box(narrow)
    assert "Verify Payment" in "\n".join(wide.lines())


@pytest.mark.parametrize("width", [40, 60, 100])
def test_a_fork_and_join_with_bends_is_drawn_with_every_flow(width: int) -> None:
    diagram = parse_diagram(FORK_JOIN.read_bytes())
    canvas = draw(diagram, width)
    lines = canvas.lines()
    assert _owned(canvas) == set(diagram.shapes) | {f.id for f in diagram.flows}
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    assert text.count("+") == 2  # two parallel gateways
    assert text.count("▶") + text.count("▼") + text.count("▲") == len(diagram.flows)
    pack_row = next(i for i, line in enumerate(lines) if "Pack" in line)
    bill_row = next(i for i, line in enumerate(lines) if "Bill" in line)
    assert pack_row < bill_row  # the DI puts Pack above Bill
    assert any(c in text for c in "╭╰╮╯")  # the bends are drawn as corners


def test_a_diagram_can_be_limited_in_height() -> None:
    diagram = parse_diagram(FORK_JOIN.read_bytes())
    assert draw(diagram, 100, max_height=12).height < draw(diagram, 100).height


@pytest.mark.parametrize(("xml", "message"), [
    (b"not xml", "does not parse"),
    (b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>', "no process"),
    (b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">'
     b'<startEvent id="s"/></process></definitions>', "has no diagram"),
])
def test_bad_xml_is_one_clear_error(xml: bytes, message: str) -> None:
    with pytest.raises(DiagramError, match=message):
        parse_diagram(xml)


def test_path_through_a_fork_while_one_branch_runs() -> None:
    diagram = parse_diagram(FORK_JOIN.read_bytes())
    path = path_state(diagram, completed={"Pack"}, active={"Bill"})
    assert path.done == {"Start", "Fork", "Pack"}
    assert path.active == {"Bill"}
    assert path.taken == {"F1", "F2", "F3"}
    assert path.of("Join") == "" and path.of("F4") == ""


def test_path_of_a_finished_instance_reaches_the_end() -> None:
    diagram = parse_diagram(FORK_JOIN.read_bytes())
    path = path_state(diagram, completed={"Pack", "Bill"}, finished=True)
    assert path.done == set(diagram.shapes)
    assert path.taken == {f.id for f in diagram.flows}


def test_an_incident_is_marked_and_not_counted_as_done() -> None:
    diagram = parse_diagram(ORDER_FULFILLMENT.read_bytes())
    path = path_state(diagram, completed={"Task_VerifyPayment"}, incident={"Task_ReserveInventory"})
    assert path.of("Task_ReserveInventory") == "incident"
    assert path.of("Task_VerifyPayment") == "done"
    assert path.of("Flow_ToReserveInventory") == "taken"
    assert path.of("Task_SendNotification") == ""


def test_nothing_is_marked_before_the_instance_starts() -> None:
    diagram = parse_diagram(ORDER_FULFILLMENT.read_bytes())
    path = path_state(diagram, completed=(), started=False)
    assert not (path.done or path.active or path.incident or path.taken)


SHIPPED = sorted(ORDER_FULFILLMENT.parent.glob("*.bpmn"))


@pytest.mark.parametrize("model", SHIPPED, ids=[p.name for p in SHIPPED])
@pytest.mark.parametrize("width", [76, 156])
def test_every_shipped_model_is_drawn_whole(model: Path, width: int) -> None:
    """Each model in bpmn/ (the sequential one, and the parallel one where it ships)."""
    diagram = parse_diagram(model.read_bytes())
    canvas = draw(diagram, width)
    assert _owned(canvas) == set(diagram.shapes) | {f.id for f in diagram.flows}
    assert max(len(line) for line in canvas.lines()) <= width
    for shape in diagram.shapes.values():
        if shape.job_type:
            assert diagram.element_for_job_type(shape.job_type) == shape.id


def test_a_flow_is_labelled_with_its_name_where_it_fits() -> None:
    diagram = parse_diagram(FORK_JOIN.read_bytes())
    canvas = draw(diagram, 100)
    row = next(i for i, line in enumerate(canvas.lines()) if "both" in line)
    col = canvas.lines()[row].index("both")
    assert canvas.owners[row][col] == "F6"
    assert "both" not in "\n".join(draw(diagram, 40).lines())  # no room at 40 columns: left out


BOUNDARY = Path(__file__).with_name("data") / "boundary-error.bpmn"


def test_a_thrown_error_takes_the_boundary_path_not_the_normal_one() -> None:
    diagram = parse_diagram(BOUNDARY.read_bytes())
    assert diagram.shapes["Refused"].attached_to == "Charge"
    path = path_state(diagram, completed=(), errored={"Charge"}, finished=True)
    assert path.done == {"Start", "Charge", "Refused", "Stopped"}
    assert path.taken == {"A", "D"}
    normal = path_state(diagram, completed={"Charge", "Ship"}, finished=True)
    assert normal.done == {"Start", "Charge", "Ship", "Shipped"}
    assert normal.taken == {"A", "B", "C"}
    canvas = draw(diagram, 60)
    assert _owned(canvas) == set(diagram.shapes) | {f.id for f in diagram.flows}
