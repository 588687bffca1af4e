"""Topology, process-instance creation and cancellation, unimplemented RPCs, health."""

from __future__ import annotations

import json

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pyzeebe import ZeebeClient
from pyzeebe.errors import ProcessDefinitionNotFoundError, ProcessInstanceNotFoundError
from pyzeebe.proto import gateway_pb2 as pb

from engine.keys import local_of, partition_of

from .conftest import Engine, Task, chain, chain_bpmn, io, process_xml, service

TWO_TASKS = chain_bpmn("two", Task("a", "step-a", retries=1), Task("b", "step-b"))


async def test_topology_reports_one_leader_partition(engine: Engine) -> None:
    response = await engine.stub.Topology(pb.TopologyRequest())
    assert (response.clusterSize, response.partitionsCount, response.replicationFactor) == (1, 1, 1)
    assert response.gatewayVersion == "8.6.6"
    [broker] = response.brokers
    [partition] = broker.partitions
    assert partition.partitionId == 1
    assert partition.role == pb.Partition.LEADER
    assert partition.health == pb.Partition.HEALTHY


async def test_health_service_reports_serving(engine: Engine) -> None:
    stub = health_pb2_grpc.HealthStub(engine.channel)
    for name in ("", "gateway_protocol.Gateway"):
        response = await stub.Check(health_pb2.HealthCheckRequest(service=name))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_unimplemented_rpcs_answer_unimplemented(engine: Engine) -> None:
    for call in (engine.stub.EvaluateDecision(pb.EvaluateDecisionRequest(decisionId="d")),
                 engine.stub.DeleteResource(pb.DeleteResourceRequest(resourceKey=1)),
                 engine.stub.ModifyProcessInstance(pb.ModifyProcessInstanceRequest())):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert "is not implemented by this engine" in info.value.details()


async def test_create_instance_keys_and_variables(engine: Engine) -> None:
    deployed = (await engine.deploy(("two.bpmn", TWO_TASKS))).deployments[0].process
    created = await engine.create("two", {"orderId": "o-1", "total": 12.5})
    assert created.bpmnProcessId == "two"
    assert created.version == 1
    assert created.processDefinitionKey == deployed.processDefinitionKey
    assert created.tenantId == "<default>"
    assert partition_of(created.processInstanceKey) == 1
    assert local_of(created.processInstanceKey) > local_of(deployed.processDefinitionKey)
    job = await engine.activate_one("step-a")
    assert job.processInstanceKey == created.processInstanceKey
    assert json.loads(job.variables) == {"orderId": "o-1", "total": 12.5}
    instance = await engine.instance(created.processInstanceKey)
    assert instance["state"] == "ACTIVE"
    assert instance["processInstanceKey"] == str(created.processInstanceKey)


async def test_create_by_key_by_version_and_latest(engine: Engine) -> None:
    v1 = (await engine.deploy(("two.bpmn", TWO_TASKS))).deployments[0].process
    v2 = (await engine.deploy(("two.bpmn", chain_bpmn("two", Task("x", "x"))))).deployments[0].process
    assert (await engine.create("two")).version == 2
    assert (await engine.create("two", version=1)).processDefinitionKey == v1.processDefinitionKey
    by_key = await engine.stub.CreateProcessInstance(
        pb.CreateProcessInstanceRequest(processDefinitionKey=v2.processDefinitionKey))
    assert (by_key.bpmnProcessId, by_key.version) == ("two", 2)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (pb.CreateProcessInstanceRequest(bpmnProcessId="nope", version=-1),
         "Command 'CREATE' rejected with code 'NOT_FOUND': Expected to find process definition "
         "with process ID 'nope', but none found"),
        (pb.CreateProcessInstanceRequest(bpmnProcessId="two", version=7),
         "Command 'CREATE' rejected with code 'NOT_FOUND': Expected to find process definition "
         "with process ID 'two' and version '7', but none found"),
        (pb.CreateProcessInstanceRequest(processDefinitionKey=123),
         "Command 'CREATE' rejected with code 'NOT_FOUND': Expected to find process definition "
         "with key '123', but none found"),
    ],
    ids=["unknown-id", "unknown-version", "unknown-key"],
)
async def test_create_unknown_definition_is_not_found(
    engine: Engine, request_: pb.CreateProcessInstanceRequest, message: str
) -> None:
    await engine.deploy(("two.bpmn", TWO_TASKS))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await engine.stub.CreateProcessInstance(request_)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == message


async def test_pyzeebe_maps_unknown_process_to_its_error(zeebe_client: ZeebeClient) -> None:
    with pytest.raises(ProcessDefinitionNotFoundError):
        await zeebe_client.run_process("missing")


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ("[1, 2]", "Expected document to be a root level object, but was 'ARRAY'"),
        ('"text"', "but was 'STRING'"),
        ("{not json", "Expected document to be valid JSON"),
    ],
)
async def test_create_with_non_object_variables_is_invalid(
    engine: Engine, variables: str, fragment: str
) -> None:
    await engine.deploy(("two.bpmn", TWO_TASKS))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await engine.stub.CreateProcessInstance(
            pb.CreateProcessInstanceRequest(bpmnProcessId="two", version=-1, variables=variables))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith("Property 'variables' is invalid: ")
    assert fragment in info.value.details()


async def test_blank_variables_mean_none(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO_TASKS))
    await engine.stub.CreateProcessInstance(
        pb.CreateProcessInstanceRequest(bpmnProcessId="two", version=-1, variables="  "))
    job = await engine.activate_one("step-a")
    assert job.variables == "{}"
    assert json.loads(job.customHeaders) == {}


async def test_instance_of_process_without_tasks_completes_at_once(engine: Engine) -> None:
    await engine.deploy(("empty.bpmn", chain_bpmn("empty")))
    created = await engine.create("empty")
    instance = await engine.instance(created.processInstanceKey)
    assert instance["state"] == "COMPLETED"
    assert instance["endDate"] is not None


async def test_cancel_removes_jobs_resolves_incidents_and_is_final(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO_TASKS))
    created = await engine.create("two")
    job = await engine.activate_one("step-a")
    await engine.fail(job.key, retries=0, message="no stock")
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["state"] == "ACTIVE"

    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=created.processInstanceKey))

    instance = await engine.instance(created.processInstanceKey)
    assert instance["state"] == "TERMINATED"
    assert instance["hasIncident"] is False
    assert instance["endDate"] is not None
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["state"] == "RESOLVED"
    # the failed job is gone: retries can no longer be updated
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await engine.stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=2))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await engine.stub.CancelProcessInstance(
            pb.CancelProcessInstanceRequest(processInstanceKey=created.processInstanceKey))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == (
        "Command 'CANCEL' rejected with code 'NOT_FOUND': Expected to cancel a process instance "
        f"with key '{created.processInstanceKey}', but no such process was found")


async def test_cancel_deletes_activatable_jobs(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO_TASKS))
    created = await engine.create("two")
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=created.processInstanceKey))
    assert await engine.activate("step-a") == []


async def test_pyzeebe_cancel_unknown_instance(zeebe_client: ZeebeClient) -> None:
    with pytest.raises(ProcessInstanceNotFoundError):
        await zeebe_client.cancel_process_instance(42)


@pytest.mark.parametrize("tag", ["sendTask", "businessRuleTask", "scriptTask", "serviceTask"])
async def test_job_based_task_kinds_behave_like_service_tasks(engine: Engine, tag: str) -> None:
    body = ('<bpmn:startEvent id="s"/>' + service("t", "kind-job", io(("input", "=1", "one")),
                                                     tag=tag)
            + '<bpmn:endEvent id="e"/>' + chain("s", "t", "e"))
    await engine.deploy(("kind.bpmn", process_xml("kind", body)))
    created = await engine.create("kind")
    job = await engine.activate_one("kind-job")
    assert (job.elementId, json.loads(job.variables)) == ("t", {"one": 1})
    await engine.complete(job.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
