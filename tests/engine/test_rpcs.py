"""SetVariables, CreateProcessInstanceWithResult, DeployProcess and BroadcastSignal over gRPC."""

from __future__ import annotations

import json

import grpc
import pytest
from pyzeebe import ZeebeClient
from pyzeebe.errors import ProcessTimeoutError
from pyzeebe.proto import gateway_pb2 as pb

from .conftest import (
    CORPUS_DIR,
    Engine,
    EngineFactory,
    Task,
    chain,
    chain_bpmn,
    io,
    process_xml,
    rpc_error,
    service,
    stop_engine,
)

TWO = chain_bpmn("two", Task("a", "step-a"), Task("b", "step-b"))
LOCAL = process_xml("local", '<bpmn:startEvent id="start"/>' + service(
    "a", "step-a", io(("input", "=1", "attempt"))) + service("b", "step-b")
    + '<bpmn:endEvent id="end"/>' + chain("start", "a", "b", "end"))


# ---------------------------------------------------------------------------- SetVariables


async def test_set_variables_on_the_instance_and_on_an_element(engine: Engine) -> None:
    await engine.deploy(("local.bpmn", LOCAL))
    created = await engine.create("local", {"status": "new"})
    job = await engine.activate_one("step-a")
    response = await engine.set_variables(created.processInstanceKey, {"status": "checked"})
    assert response.key > job.key
    # propagating from the task: 'attempt' exists locally, 'fresh' nowhere -> root
    await engine.set_variables(job.elementInstanceKey, {"attempt": 2, "fresh": True})
    # local: written into the task scope although the root holds 'status'
    await engine.set_variables(job.elementInstanceKey, {"status": "local"}, local=True)
    await engine.fail(job.key, retries=2)
    again = await engine.activate_one("step-a")
    assert json.loads(again.variables) == {
        "status": "local", "attempt": 2, "fresh": True}
    await engine.complete(again.key)
    after = await engine.activate_one("step-b")
    assert json.loads(after.variables) == {"status": "checked", "fresh": True}


async def test_set_variables_misuse(engine: Engine) -> None:
    error = await rpc_error(engine.set_variables(123, {"a": 1}))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == (
        "Command 'UPDATE' rejected with code 'NOT_FOUND': Expected to update variables for "
        "element with key '123', but no such element was found")
    await engine.deploy(("two.bpmn", TWO))
    created = await engine.create("two")
    error = await rpc_error(engine.stub.SetVariables(pb.SetVariablesRequest(
        elementInstanceKey=created.processInstanceKey, variables="[1]")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=created.processInstanceKey))
    error = await rpc_error(engine.set_variables(created.processInstanceKey, {"a": 1}))
    assert error.code() == grpc.StatusCode.NOT_FOUND  # finished instances are gone


# ---------------------------------------------------------------------------- with result


async def test_create_with_result_waits_for_completion(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO))
    call = engine.stub.CreateProcessInstanceWithResult(pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(
            bpmnProcessId="two", version=-1, variables=json.dumps({"orderId": "o-1"})),
        requestTimeout=10_000))
    a = await engine.activate_one("step-a")
    assert not call.done()
    await engine.complete(a.key, {"paid": True})
    await engine.complete((await engine.activate_one("step-b")).key, {"shipped": 1})
    response = await call
    assert response.processInstanceKey == a.processInstanceKey
    assert (response.bpmnProcessId, response.version, response.tenantId) == ("two", 1, "<default>")
    assert json.loads(response.variables) == {"orderId": "o-1", "paid": True, "shipped": 1}


async def test_create_with_result_fetches_only_the_named_variables(
    engine: Engine, zeebe_client: ZeebeClient
) -> None:
    await engine.deploy(("empty.bpmn", chain_bpmn("empty")))
    result = await zeebe_client.run_process_with_result(
        "empty", {"a": 1, "b": 2}, variables_to_fetch=["b", "missing"])
    assert result.variables == {"b": 2}
    assert result.bpmn_process_id == "empty"


async def test_create_with_result_times_out_and_the_instance_keeps_running(
    engine: Engine, zeebe_client: ZeebeClient
) -> None:
    await engine.deploy(("two.bpmn", TWO))
    with pytest.raises(ProcessTimeoutError):
        await zeebe_client.run_process_with_result("two", timeout=200)
    [job] = await engine.activate("step-a")
    assert await engine.state(job.processInstanceKey) == "ACTIVE"
    runtime = engine.server.runtime
    assert runtime is not None and not runtime.result_listeners


async def test_create_with_result_of_a_cancelled_instance_never_succeeds(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO))
    call = engine.stub.CreateProcessInstanceWithResult(pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(bpmnProcessId="two", version=-1),
        requestTimeout=500))
    job = await engine.activate_one("step-a")
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=job.processInstanceKey))
    error = await rpc_error(call)
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"Expected process instance '{job.processInstanceKey}' to complete" in error.details()


async def test_create_with_result_rejections(engine: Engine) -> None:
    error = await rpc_error(engine.stub.CreateProcessInstanceWithResult(
        pb.CreateProcessInstanceWithResultRequest(
            request=pb.CreateProcessInstanceRequest(bpmnProcessId="nope", version=-1))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    await engine.deploy(("two.bpmn", TWO))
    error = await rpc_error(engine.stub.CreateProcessInstanceWithResult(
        pb.CreateProcessInstanceWithResultRequest(request=pb.CreateProcessInstanceRequest(
            bpmnProcessId="two", version=-1, variables="[]"))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await engine.activate("step-a") == []  # nothing was created


@pytest.mark.skipif(CORPUS_DIR is None, reason="../shared/bpmn-corpus not found")
async def test_action_runner_timeout_result(engine: Engine) -> None:
    """The corpus' actionRunner: its timer-boundary outputs append to a list in a context."""
    assert CORPUS_DIR is not None
    name = "zeebe-chaos__actionRunner.bpmn"
    await engine.deploy((name, (CORPUS_DIR / name).read_bytes()))
    call = engine.stub.CreateProcessInstanceWithResult(pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(bpmnProcessId="actionRunner", version=-1,
                                                variables=json.dumps({
            "action": {"name": "kill", "provider": {"path": "chaos-kill", "timeout": 90}},
            "testReport": {"failureMessages": ["earlier"]}})),
        requestTimeout=10_000, fetchVariables=["testReport", "successfulRun", "timeout"]))
    await engine.activate_one("chaos-kill")
    engine.advance(90_000)
    response = await call
    assert json.loads(response.variables) == {
        "testReport": {"failureMessages": [
            "earlier", " Action with name: 'kill' timed out after PT90S."]},
        "successfulRun": False, "timeout": "PT90S"}


# ---------------------------------------------------------------------------- deploy, signal


async def test_deprecated_deploy_process_is_an_alias(engine: Engine) -> None:
    response = await engine.stub.DeployProcess(pb.DeployProcessRequest(
        processes=[pb.ProcessRequestObject(name="two.bpmn", definition=TWO)]))
    [meta] = response.processes
    assert (meta.bpmnProcessId, meta.version, meta.resourceName) == ("two", 1, "two.bpmn")
    assert response.key < meta.processDefinitionKey
    assert (await engine.create("two")).processDefinitionKey == meta.processDefinitionKey
    error = await rpc_error(engine.stub.DeployProcess(pb.DeployProcessRequest(
        processes=[pb.ProcessRequestObject(name="bad.bpmn", definition=b"<nope")])))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_broadcast_signal_gets_a_key(engine: Engine, zeebe_client: ZeebeClient) -> None:
    first = await zeebe_client.broadcast_signal("go", {"x": 1})
    second = await engine.stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="go"))
    assert second.key > first.key > 0
    assert second.tenantId == "<default>"
    error = await rpc_error(engine.stub.BroadcastSignal(pb.BroadcastSignalRequest(
        signalName="go", variables="1")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_keys_used_only_by_signals_survive_a_restart(start_engine: EngineFactory) -> None:
    first = await start_engine()
    key = (await first.stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="s"))).key
    await stop_engine(first)
    second = await start_engine()
    again = (await second.stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="s"))).key
    assert again > key
