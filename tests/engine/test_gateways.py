"""Exclusive gateways (conditions, default flow, CONDITION_ERROR) and parallel fork/join."""

from __future__ import annotations

import json

import grpc
import pytest
from pyzeebe.proto import gateway_pb2 as pb

from .conftest import Engine, chain, flow, process_xml, rpc_error, service

START = '<bpmn:startEvent id="start"/>'


def _split(default: str | None, *conditions: tuple[str, str | None]) -> bytes:
    """start -> xor -> one task per (job type, condition); the default names a job type."""
    default_attr = f' default="to-{default}"' if default else ""
    body = START + f'<bpmn:exclusiveGateway id="xor"{default_attr}/>' + chain("start", "xor")
    for job_type, condition in conditions:
        body += service(job_type, job_type) + f'<bpmn:endEvent id="end-{job_type}"/>'
        body += flow(f"to-{job_type}", "xor", job_type, condition)
        body += chain(job_type, f"end-{job_type}")
    return process_xml("split", body)


ROUTES = _split("standard", ("big", "=total > 100"), ("also-big", "=total > 50"),
                ("standard", None))


@pytest.mark.parametrize(
    ("total", "taken"),
    [(500, "big"), (70, "also-big"), (10, "standard"), (100, "also-big")],
)
async def test_first_true_condition_in_document_order_else_default(
    engine: Engine, total: int, taken: str
) -> None:
    await engine.deploy(("split.bpmn", ROUTES))
    await engine.create("split", {"total": total})
    job = await engine.activate_one(taken)
    assert job.elementId == taken
    for other in {"big", "also-big", "standard"} - {taken}:
        assert await engine.activate(other) == []


async def test_no_true_condition_and_no_default_is_a_condition_error(engine: Engine) -> None:
    await engine.deploy(("split.bpmn", _split(None, ("yes", "=approved = true"),
                                              ("no", "=approved = false"))))
    created = await engine.create("split", {"approved": "maybe"})
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["errorType"] == "CONDITION_ERROR"
    assert incident["elementId"] == "xor"
    assert incident["errorMessage"] == (
        "Expected at least one condition to evaluate to true, or to have a default flow")
    await engine.set_variables(created.processInstanceKey, {"approved": False})
    await engine.resolve(incident["incidentKey"])
    assert (await engine.activate_one("no")).elementId == "no"
    [resolved] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert resolved["state"] == "RESOLVED"


@pytest.mark.parametrize(
    ("variables", "found"),
    [({}, "NULL"), ({"total": "high"}, "NULL"), ({"total": [1]}, "NULL")],
)
async def test_non_boolean_condition_is_a_condition_error(
    engine: Engine, variables: dict, found: str
) -> None:
    await engine.deploy(("split.bpmn", ROUTES))
    created = await engine.create("split", variables)
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["errorType"] == "CONDITION_ERROR"
    assert incident["errorMessage"] == (
        f"Expected result of the expression 'total > 100' to be 'BOOLEAN', but was '{found}'.")
    # a resolve that fails again raises a new incident
    await engine.resolve(incident["incidentKey"])
    incidents = await engine.incidents(processInstanceKey=str(created.processInstanceKey),
                                       state="ACTIVE")
    assert [i["incidentKey"] for i in incidents] != [incident["incidentKey"]]
    assert len(incidents) == 1


async def test_exclusive_gateway_joins_by_passing_each_token_through(engine: Engine) -> None:
    body = (START + '<bpmn:parallelGateway id="fork"/>' + service("a", "a") + service("b", "b")
            + '<bpmn:exclusiveGateway id="merge"/>' + service("after", "after")
            + '<bpmn:endEvent id="end"/>'
            + chain("start", "fork", "a", "merge", "after", "end")
            + flow("fork-b", "fork", "b") + flow("b-merge", "b", "merge"))
    await engine.deploy(("merge.bpmn", process_xml("merge", body)))
    created = await engine.create("merge")
    await engine.complete((await engine.activate_one("a")).key)
    first = await engine.activate_one("after")
    await engine.complete((await engine.activate_one("b")).key)
    second = await engine.activate_one("after")
    assert first.key != second.key  # no synchronisation: two tokens passed
    await engine.complete(first.key)
    assert await engine.state(created.processInstanceKey) == "ACTIVE"
    await engine.complete(second.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


def _fork_join(branches: dict[str, list[str]]) -> bytes:
    """start -> fork -> tasks; each branch's tasks merge (xor) into one flow into the join."""
    body = START + '<bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>'
    body += service("after", "after") + '<bpmn:endEvent id="end"/>' + chain("start", "fork")
    for branch, tasks in branches.items():
        body += f'<bpmn:exclusiveGateway id="m-{branch}"/>'
        body += flow(f"into-join-{branch}", f"m-{branch}", "join")
        for task in tasks:
            body += service(task, task) + flow(f"fork-{task}", "fork", task)
            body += flow(f"{task}-m", task, f"m-{branch}")
    body += chain("join", "after", "end")
    return process_xml("forkjoin", body)


async def test_parallel_join_waits_for_every_incoming_flow(engine: Engine) -> None:
    await engine.deploy(("fj.bpmn", _fork_join({"x": ["a"], "y": ["b"]})))
    created = await engine.create("forkjoin", {"n": 1})
    a = await engine.activate_one("a")
    b = await engine.activate_one("b")
    await engine.complete(a.key, {"fromA": 1})
    assert await engine.activate("after") == []
    await engine.complete(b.key, {"fromB": 2})
    after = await engine.activate_one("after")
    assert json.loads(after.variables) == {"n": 1, "fromA": 1, "fromB": 2}
    await engine.complete(after.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


async def test_parallel_join_keeps_extra_arrivals_for_a_later_firing(engine: Engine) -> None:
    await engine.deploy(("fj.bpmn", _fork_join({"x": ["a1", "a2"], "y": ["b1", "b2"]})))
    created = await engine.create("forkjoin")
    jobs = {t: await engine.activate_one(t) for t in ("a1", "a2", "b1", "b2")}
    await engine.complete(jobs["a1"].key)
    await engine.complete(jobs["a2"].key)  # a second arrival on the same flow is kept
    assert await engine.activate("after") == []
    await engine.complete(jobs["b1"].key)
    first = await engine.activate_one("after")
    await engine.complete(first.key)
    # one arrival from branch x still waits in the join: the instance is not done
    assert await engine.state(created.processInstanceKey) == "ACTIVE"
    await engine.complete(jobs["b2"].key)
    second = await engine.activate_one("after")
    await engine.complete(second.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


async def test_a_join_that_never_fires_keeps_the_instance_until_cancelled(engine: Engine) -> None:
    await engine.deploy(("fj.bpmn", _fork_join({"x": ["a"], "y": ["b"]})))
    created = await engine.create("forkjoin")
    await engine.complete((await engine.activate_one("a")).key)
    b = await engine.activate_one("b")
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=created.processInstanceKey))
    assert await engine.state(created.processInstanceKey) == "TERMINATED"
    assert engine.server.runtime is not None and not engine.server.runtime.joins
    assert (await rpc_error(engine.complete(b.key))).code() == grpc.StatusCode.NOT_FOUND


async def test_a_loop_without_a_wait_state_stops_with_an_incident(engine: Engine) -> None:
    body = (START + '<bpmn:exclusiveGateway id="spin" default="out"/><bpmn:endEvent id="end"/>'
            + chain("start", "spin") + flow("again", "spin", "spin", "=stop != true")
            + flow("out", "spin", "end"))
    await engine.deploy(("spin.bpmn", process_xml("spin", body)))
    created = await engine.create("spin")
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["errorType"] == "UNKNOWN"
    assert incident["elementId"] == "spin"
    assert "took more than 10000 steps" in incident["errorMessage"]
    await engine.set_variables(created.processInstanceKey, {"stop": True})
    await engine.resolve(incident["incidentKey"])
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
