"""ThrowError: caught by error boundary events (specific code, catch-all) or an incident."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from pyzeebe import Job, JobController, ZeebeWorker, create_insecure_channel
from pyzeebe.proto import gateway_pb2 as pb

from .conftest import Engine, chain, io, process_xml, rpc_error, service

ERRORS = ('<bpmn:error id="Declined" errorCode="PAYMENT_DECLINED"/>'
          '<bpmn:error id="Fraud" errorCode="FRAUD"/><bpmn:error id="NoCode"/>')


def _charge(*boundaries: tuple[str, str | None, str]) -> bytes:
    """start -> charge -> ship -> end; each boundary (id, errorRef, outputs) leads to a task."""
    body = ('<bpmn:startEvent id="start"/>' + service("charge", "charge")
            + service("ship", "ship") + '<bpmn:endEvent id="end"/>'
            + chain("start", "charge", "ship", "end"))
    for boundary_id, error_ref, outputs in boundaries:
        ref = f' errorRef="{error_ref}"' if error_ref else ""
        ext = f"<bpmn:extensionElements>{outputs}</bpmn:extensionElements>" if outputs else ""
        body += (f'<bpmn:boundaryEvent id="{boundary_id}" attachedToRef="charge">{ext}'
                 f"<bpmn:errorEventDefinition{ref}/></bpmn:boundaryEvent>")
        body += service(f"after-{boundary_id}", f"after-{boundary_id}")
        body += f'<bpmn:endEvent id="end-{boundary_id}"/>'
        body += chain(boundary_id, f"after-{boundary_id}", f"end-{boundary_id}")
    return process_xml("pay", body, ERRORS)


async def test_caught_error_takes_the_boundary_path_with_local_variables(engine: Engine) -> None:
    await engine.deploy(("pay.bpmn", _charge(
        ("declined", "Declined", io(("output", "=reason", "declineReason"))))))
    created = await engine.create("pay", {"orderId": "o-1"})
    job = await engine.activate_one("charge")
    await engine.throw(job.key, "PAYMENT_DECLINED", "card declined",
                       {"reason": "insufficient funds", "extra": 1})
    after = await engine.activate_one("after-declined")
    # error variables are local to the catch event; only the output mapping carries one out
    assert json.loads(after.variables) == {"orderId": "o-1",
                                           "declineReason": "insufficient funds"}
    assert await engine.activate("ship") == []
    # the task was terminated and its job removed
    assert (await rpc_error(engine.complete(job.key))).code() == grpc.StatusCode.NOT_FOUND
    assert await engine.incidents(processInstanceKey=str(created.processInstanceKey)) == []
    await engine.complete(after.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


async def test_specific_code_beats_the_catch_all(engine: Engine) -> None:
    await engine.deploy(("pay.bpmn", _charge(("any", None, ""), ("fraud", "Fraud", ""))))
    await engine.create("pay")
    await engine.create("pay")
    first, second = await engine.activate("charge", max_jobs=2)
    await engine.throw(first.key, "FRAUD")
    assert (await engine.activate_one("after-fraud")).processInstanceKey == first.processInstanceKey
    await engine.throw(second.key, "SOMETHING_ELSE")
    caught = await engine.activate_one("after-any")
    assert caught.processInstanceKey == second.processInstanceKey


async def test_error_without_code_is_a_catch_all(engine: Engine) -> None:
    await engine.deploy(("pay.bpmn", _charge(("nocode", "NoCode", ""))))
    await engine.create("pay")
    job = await engine.activate_one("charge")
    await engine.throw(job.key, "WHATEVER")
    assert (await engine.activate_one("after-nocode")).elementId == "after-nocode"


async def test_uncaught_error_is_an_incident_until_resolved(engine: Engine) -> None:
    await engine.deploy(("pay.bpmn", _charge(("declined", "Declined", ""))))
    created = await engine.create("pay")
    job = await engine.activate_one("charge")
    await engine.throw(job.key, "OUT_OF_STOCK", "no stock left", {"ignored": True})
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["errorType"] == "UNHANDLED_ERROR_EVENT"
    assert incident["jobKey"] == str(job.key)
    assert incident["elementId"] == "charge"
    assert incident["errorMessage"] == (
        "Expected to throw an error event with the code 'OUT_OF_STOCK' with message 'no stock "
        "left', but it was not caught. No error events are available in the scope.")
    assert await engine.activate("charge") == []
    for call in (engine.complete(job.key), engine.fail(job.key, retries=1),
                 engine.throw(job.key, "OUT_OF_STOCK")):
        error = await rpc_error(call)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "but it is in state 'ERROR_THROWN'" in error.details()
    # ThrowError leaves the retries alone, so the incident resolves without an update
    await engine.resolve(incident["incidentKey"])
    again = await engine.activate_one("charge")
    assert (again.key, again.retries) == (job.key, 3)
    await engine.complete(again.key)
    assert (await engine.activate_one("ship")).processInstanceKey == created.processInstanceKey


async def test_throw_error_misuse(engine: Engine) -> None:
    error = await rpc_error(engine.throw(404, "X"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == (
        "Command 'THROW_ERROR' rejected with code 'NOT_FOUND': Expected to throw an error for "
        "job with key '404', but no such job was found")
    await engine.deploy(("pay.bpmn", _charge()))
    await engine.create("pay")
    job = await engine.activate_one("charge")
    error = await rpc_error(engine.stub.ThrowError(pb.ThrowErrorRequest(
        jobKey=job.key, errorCode="X", variables="[1]")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    await engine.fail(job.key, retries=2, backoff=60_000)
    error = await rpc_error(engine.throw(job.key, "X"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "but it is in state 'FAILED'" in error.details()


async def test_an_error_on_an_activatable_job_is_accepted(engine: Engine) -> None:
    await engine.deploy(("pay.bpmn", _charge(("declined", "Declined", ""))))
    await engine.create("pay")
    job = await engine.activate_one("charge", lock_ms=1_000)
    engine.advance(1_000)  # the lock expired: ACTIVATABLE again
    await engine.throw(job.key, "PAYMENT_DECLINED")
    assert (await engine.activate_one("after-declined")).elementId == "after-declined"


@pytest.mark.timeout(30)
async def test_pyzeebe_error_status_is_caught(engine: Engine) -> None:
    await engine.deploy(("pay.bpmn", _charge(("declined", "Declined", ""))))
    reached = asyncio.Event()
    channel = create_insecure_channel(grpc_address=engine.address)
    worker = ZeebeWorker(channel, poll_retry_delay=0.05, max_connection_retries=-1)

    async def declined(exc: Exception, job: Job, controller: JobController) -> None:
        await controller.set_error_status(f"declined: {exc}", error_code="PAYMENT_DECLINED")

    @worker.task("charge", exception_handler=declined)
    async def charge() -> dict:
        raise RuntimeError("card refused")

    @worker.task("after-declined")
    async def after() -> dict:
        reached.set()
        return {}

    work = asyncio.create_task(worker.work())
    try:
        created = await engine.create("pay")
        await asyncio.wait_for(reached.wait(), 10)
    finally:
        await worker.stop()
        await asyncio.wait_for(work, 10)
        await channel.close()
    assert await engine.incidents(processInstanceKey=str(created.processInstanceKey)) == []
