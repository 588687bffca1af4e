"""Input/output mappings and expression task definitions; their incidents and resolution."""

from __future__ import annotations

import json

import grpc
from pyzeebe.proto import gateway_pb2 as pb

from .conftest import Engine, chain, io, process_xml, rpc_error, service

END = '<bpmn:endEvent id="end"/>'
START = '<bpmn:startEvent id="start"/>'


def _one_task(extensions: str, job_type: str = "work", retries: str | None = None,
              after: str = "") -> bytes:
    """start -> task (with extensions) [-> after-task] -> end."""
    body = START + service("task", job_type, extensions, retries)
    if after:
        body += service("after", after) + chain("start", "task", "after", "end")
    else:
        body += chain("start", "task", "end")
    return process_xml("p", body + END)


async def _incident(engine: Engine, pi_key: int, state: str = "ACTIVE") -> dict:
    [incident] = await engine.incidents(processInstanceKey=str(pi_key), state=state)
    return incident


async def test_inputs_are_local_to_the_task(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task(io(
        ("input", "=order.id", "orderId"),
        ("input", "fixed text", "label"),
        ("input", None, "nothing"),
        ("input", "=orderId + \"-x\"", "derived"),
        ("input", "=order.total * 2", "totals.doubled"),
        ("input", "=1", "totals.one"),
    ), after="after")))
    created = await engine.create("p", {"order": {"id": "o-1", "total": 21}})
    job = await engine.activate_one("work")
    assert json.loads(job.variables) == {
        "order": {"id": "o-1", "total": 21}, "orderId": "o-1", "label": "fixed text",
        "nothing": None, "derived": "o-1-x", "totals": {"doubled": 42, "one": 1}}
    await engine.complete(job.key)
    after = await engine.activate_one("after")
    # the locals died with the task
    assert json.loads(after.variables) == {"order": {"id": "o-1", "total": 21}}
    await engine.complete(after.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


async def test_outputs_propagate_only_their_targets(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task(io(
        ("output", "=result.code", "code"),
        ("output", "=\"paid\"", "order.status"),
        ("output", "=result.amount + 1", "order.amount"),
    ), after="after")))
    await engine.create("p", {"order": {"id": "o-1", "status": "new"}, "code": 0})
    job = await engine.activate_one("work")
    await engine.complete(job.key, {"result": {"code": 7, "amount": 9}, "noise": True})
    after = await engine.activate_one("after")
    # result and noise stayed local to the task; order.status updated only that leaf
    assert json.loads(after.variables) == {
        "order": {"id": "o-1", "status": "paid", "amount": 10}, "code": 7}


async def test_without_outputs_the_job_result_propagates(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task(io(("input", "=1", "attempt")), after="after")))
    await engine.create("p", {"status": "new"})
    job = await engine.activate_one("work")
    await engine.complete(job.key, {"status": "done", "attempt": 2})
    after = await engine.activate_one("after")
    # 'attempt' updated the task's local copy, which was dropped; 'status' went to the root
    assert json.loads(after.variables) == {"status": "done"}


async def test_failing_input_mapping_is_an_incident_that_retries_on_resolve(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task(io(("input", "=amount * 2", "doubled")))))
    created = await engine.create("p", {"amount": "twelve"})
    incident = await _incident(engine, created.processInstanceKey)
    assert incident["errorType"] == "IO_MAPPING_ERROR"
    assert incident["elementId"] == "task"
    assert incident["jobKey"] is None
    assert incident["errorMessage"] == (
        "Failed to evaluate expression 'amount * 2': can't apply '*' to 'STRING' and 'NUMBER'")
    assert await engine.activate("work") == []  # no job while the task is not activated
    instance = await engine.instance(created.processInstanceKey)
    assert (instance["state"], instance["hasIncident"]) == ("ACTIVE", True)

    # resolving without a fix fails again: a new incident with a new key
    await engine.resolve(incident["incidentKey"])
    second = await _incident(engine, created.processInstanceKey)
    assert second["incidentKey"] != incident["incidentKey"]
    assert (await _incident(engine, created.processInstanceKey, "RESOLVED"))["incidentKey"] == \
        incident["incidentKey"]

    await engine.set_variables(created.processInstanceKey, {"amount": 12})
    await engine.resolve(second["incidentKey"])
    job = await engine.activate_one("work")
    assert json.loads(job.variables)["doubled"] == 24
    assert (await engine.instance(created.processInstanceKey))["hasIncident"] is False


async def test_failing_output_mapping_keeps_the_task_completing(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task(io(("output", "=42", "order.status")), after="after")))
    created = await engine.create("p", {"order": "not an object"})
    job = await engine.activate_one("work")
    await engine.complete(job.key, {"ignored": 1})
    incident = await _incident(engine, created.processInstanceKey)
    assert incident["errorType"] == "IO_MAPPING_ERROR"
    assert incident["errorMessage"] == (
        "Expected to set the output mapping target 'order.status', but 'order' (or a value on "
        "the way) is 'STRING', not a context")
    # the job is gone: completing again is NOT_FOUND
    assert (await rpc_error(engine.complete(job.key))).code() == grpc.StatusCode.NOT_FOUND
    await engine.set_variables(created.processInstanceKey, {"order": {"id": 1}})
    await engine.resolve(incident["incidentKey"])
    after = await engine.activate_one("after")
    assert json.loads(after.variables) == {"order": {"id": 1, "status": 42}}


async def test_expression_job_type_and_retries(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task("", job_type='="work-" + region', retries="=tries + 1")))
    await engine.create("p", {"region": "eu", "tries": 4})
    job = await engine.activate_one("work-eu")
    assert job.retries == 5


async def test_job_type_of_the_wrong_type_is_an_extract_value_incident(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task("", job_type="=region")))
    created = await engine.create("p", {"region": 7})
    incident = await _incident(engine, created.processInstanceKey)
    assert incident["errorType"] == "EXTRACT_VALUE_ERROR"
    assert incident["errorMessage"] == (
        "Expected result of the expression 'region' to be 'STRING', but was 'NUMBER'.")
    await engine.set_variables(created.processInstanceKey, {"region": "late"})
    await engine.resolve(incident["incidentKey"])
    assert (await engine.activate_one("late")).elementId == "task"


async def test_bad_retries_expression_is_an_extract_value_incident(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task("", retries="=tries")))
    created = await engine.create("p", {"tries": "three"})
    incident = await _incident(engine, created.processInstanceKey)
    assert incident["errorType"] == "EXTRACT_VALUE_ERROR"
    assert "'tries' to be an integer 'NUMBER', but was 'STRING'" in incident["errorMessage"]


async def test_cancel_resolves_a_mapping_incident(engine: Engine) -> None:
    await engine.deploy(("p.bpmn", _one_task(io(("input", "=-name", "x")))))
    created = await engine.create("p", {"name": "n"})
    incident = await _incident(engine, created.processInstanceKey)
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=created.processInstanceKey))
    assert (await _incident(engine, created.processInstanceKey, "RESOLVED"))["incidentKey"] == \
        incident["incidentKey"]
    assert await engine.state(created.processInstanceKey) == "TERMINATED"
