"""PublishMessage and message catches: correlation, buffering, uniqueness, key extraction."""

from __future__ import annotations

import json

import grpc
import pytest
from pyzeebe import ZeebeClient
from pyzeebe.proto import gateway_pb2 as pb

from .conftest import Engine, chain, io, process_xml, rpc_error, service

MESSAGE = ('<bpmn:message id="Paid" name="payment-received"><bpmn:extensionElements>'
           '<zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements>'
           "</bpmn:message>")


def _waiting(process_id: str = "wait", receive_task: bool = False, outputs: str = "") -> bytes:
    """start -> wait for 'payment-received' by orderId -> task 'after' -> end."""
    ext = f"<bpmn:extensionElements>{outputs}</bpmn:extensionElements>" if outputs else ""
    if receive_task:
        catch = f'<bpmn:receiveTask id="paid" messageRef="Paid">{ext}</bpmn:receiveTask>'
    else:
        catch = (f'<bpmn:intermediateCatchEvent id="paid">{ext}'
                 '<bpmn:messageEventDefinition messageRef="Paid"/></bpmn:intermediateCatchEvent>')
    body = ('<bpmn:startEvent id="start"/>' + catch + service("after", f"after-{process_id}")
            + '<bpmn:endEvent id="end"/>' + chain("start", "paid", "after", "end"))
    return process_xml(process_id, body, MESSAGE)


@pytest.mark.parametrize("receive_task", [False, True], ids=["catch-event", "receive-task"])
async def test_message_correlates_and_its_variables_propagate(
    engine: Engine, receive_task: bool
) -> None:
    await engine.deploy(("wait.bpmn", _waiting(receive_task=receive_task)))
    created = await engine.create("wait", {"orderId": "o-1"})
    other = await engine.create("wait", {"orderId": "o-2"})
    response = await engine.publish("payment-received", "o-1", variables={"paid": 12.5})
    assert response.key > 0
    assert response.tenantId == "<default>"
    job = await engine.activate_one("after-wait")
    assert job.processInstanceKey == created.processInstanceKey
    assert json.loads(job.variables) == {"orderId": "o-1", "paid": 12.5}
    assert await engine.state(other.processInstanceKey) == "ACTIVE"
    assert await engine.activate("after-wait") == []


async def test_message_outputs_keep_the_rest_local(engine: Engine) -> None:
    await engine.deploy(("wait.bpmn", _waiting(outputs=io(("output", "=amount", "paidAmount")))))
    await engine.create("wait", {"orderId": "o-1"})
    await engine.publish("payment-received", "o-1", variables={"amount": 3, "noise": 1})
    job = await engine.activate_one("after-wait")
    assert json.loads(job.variables) == {"orderId": "o-1", "paidAmount": 3}


async def test_unmatched_message_without_ttl_is_dropped(engine: Engine) -> None:
    await engine.deploy(("wait.bpmn", _waiting()))
    await engine.publish("payment-received", "o-1", ttl_ms=0)
    await engine.create("wait", {"orderId": "o-1"})
    assert await engine.activate("after-wait") == []


async def test_buffered_messages_are_taken_oldest_first_until_they_expire(engine: Engine) -> None:
    await engine.deploy(("wait.bpmn", _waiting()))
    await engine.publish("payment-received", "o-1", ttl_ms=10_000, variables={"n": 1})
    engine.advance(1_000)
    await engine.publish("payment-received", "o-1", ttl_ms=10_000, variables={"n": 2})
    first = await engine.create("wait", {"orderId": "o-1"})
    job = await engine.activate_one("after-wait")
    assert (job.processInstanceKey, json.loads(job.variables)["n"]) == (
        first.processInstanceKey, 1)
    # the first message went to this process id; the second is still buffered
    second = await engine.create("wait", {"orderId": "o-1"})
    job = await engine.activate_one("after-wait")
    assert (job.processInstanceKey, json.loads(job.variables)["n"]) == (
        second.processInstanceKey, 2)
    await engine.publish("payment-received", "o-1", ttl_ms=5_000, variables={"n": 3})
    engine.advance(4_999)
    await engine.create("wait", {"orderId": "o-1"})
    assert json.loads((await engine.activate_one("after-wait")).variables)["n"] == 3
    await engine.publish("payment-received", "o-1", ttl_ms=5_000, variables={"n": 4})
    engine.advance(5_000)  # expired exactly now
    await engine.create("wait", {"orderId": "o-1"})
    assert await engine.activate("after-wait") == []


async def test_a_message_correlates_once_per_process_id(engine: Engine) -> None:
    await engine.deploy(("wait.bpmn", _waiting()), ("other.bpmn", _waiting("other")))
    one = await engine.create("wait", {"orderId": "o-1"})
    two = await engine.create("wait", {"orderId": "o-1"})
    elsewhere = await engine.create("other", {"orderId": "o-1"})
    await engine.publish("payment-received", "o-1", ttl_ms=60_000)
    assert (await engine.activate_one("after-wait")).processInstanceKey == one.processInstanceKey
    assert (await engine.activate_one("after-other")).processInstanceKey == \
        elsewhere.processInstanceKey
    assert await engine.activate("after-wait") == []
    # still buffered, but it went to both process ids already: later instances skip it
    await engine.create("wait", {"orderId": "o-1"})
    await engine.create("other", {"orderId": "o-1"})
    assert await engine.activate("after-wait") == []
    assert await engine.activate("after-other") == []
    assert await engine.state(two.processInstanceKey) == "ACTIVE"


async def test_message_id_is_unique_while_buffered(engine: Engine, zeebe_client: ZeebeClient) -> None:
    await engine.publish("payment-received", "o-1", ttl_ms=1_000, message_id="m-1")
    error = await rpc_error(engine.publish("payment-received", "o-1", ttl_ms=1_000,
                                           message_id="m-1"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error.details() == (
        "Command 'PUBLISH' rejected with code 'ALREADY_EXISTS': Expected to publish a new "
        "message with id 'm-1', but a message with that id was already published")
    # other correlation keys, empty ids and expired messages do not clash
    await engine.publish("payment-received", "o-2", ttl_ms=1_000, message_id="m-1")
    await engine.publish("payment-received", "o-1", ttl_ms=1_000)
    await engine.publish("payment-received", "o-1", ttl_ms=1_000)
    engine.advance(1_000)
    response = await zeebe_client.publish_message(
        "payment-received", "o-1", time_to_live_in_milliseconds=1_000, message_id="m-1")
    assert response.key > 0


async def test_publish_with_invalid_variables_is_invalid_argument(engine: Engine) -> None:
    error = await rpc_error(engine.stub.PublishMessage(pb.PublishMessageRequest(
        name="m", correlationKey="k", variables="[]")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_correlation_key_is_read_once_at_activation(engine: Engine) -> None:
    await engine.deploy(("wait.bpmn", _waiting()))
    created = await engine.create("wait", {"orderId": 42})  # numbers become their text
    await engine.set_variables(created.processInstanceKey, {"orderId": "changed"})
    await engine.publish("payment-received", "changed")
    assert await engine.activate("after-wait") == []
    await engine.publish("payment-received", "42")
    assert (await engine.activate_one("after-wait")).processInstanceKey == \
        created.processInstanceKey


async def test_bad_correlation_key_is_an_extract_value_incident(engine: Engine) -> None:
    await engine.deploy(("wait.bpmn", _waiting()))
    created = await engine.create("wait", {"orderId": {"not": "a key"}})
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["errorType"] == "EXTRACT_VALUE_ERROR"
    assert incident["elementId"] == "paid"
    assert incident["errorMessage"] == (
        "Failed to extract the correlation key for 'orderId': The value must be either a "
        "string or a number, but was 'CONTEXT'.")
    await engine.publish("payment-received", "o-9", ttl_ms=60_000)
    await engine.set_variables(created.processInstanceKey, {"orderId": "o-9"})
    await engine.resolve(incident["incidentKey"])
    # the retried activation opens the subscription and takes the buffered message
    assert (await engine.activate_one("after-wait")).processInstanceKey == \
        created.processInstanceKey


async def test_cancel_closes_the_subscription(engine: Engine) -> None:
    await engine.deploy(("wait.bpmn", _waiting()))
    created = await engine.create("wait", {"orderId": "o-1"})
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=created.processInstanceKey))
    runtime = engine.server.runtime
    assert runtime is not None and not runtime.subscriptions
    await engine.publish("payment-received", "o-1")
    assert await engine.state(created.processInstanceKey) == "TERMINATED"
