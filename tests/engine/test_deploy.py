"""DeployResource over gRPC: validation, versioning, duplicates, atomicity, the BPMN corpus."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest
from pyzeebe import ZeebeClient

from engine.keys import partition_of

from .conftest import (
    BPMN_HEADER,
    Engine,
    Task,
    chain,
    chain_bpmn,
    flow,
    io,
    process_xml,
    service,
)

DEPLOY_PREFIX = "Expected to deploy new resources, but encountered the following errors:"
ONE_TASK = chain_bpmn("one-task", Task("work", "work"))


async def test_deploy_returns_keys_and_process_metadata(engine: Engine) -> None:
    response = await engine.deploy(("one.bpmn", ONE_TASK))
    assert partition_of(response.key) == 1
    assert response.key == (1 << 51) + 1  # first key of a fresh engine
    assert response.tenantId == "<default>"
    [deployment] = response.deployments
    assert deployment.WhichOneof("Metadata") == "process"
    meta = deployment.process
    assert (meta.bpmnProcessId, meta.version, meta.resourceName, meta.tenantId) == (
        "one-task", 1, "one.bpmn", "<default>")
    assert meta.processDefinitionKey > response.key
    assert partition_of(meta.processDefinitionKey) == 1


async def test_pyzeebe_client_deploys_a_file(zeebe_client: ZeebeClient, tmp_path: Path) -> None:
    path = tmp_path / "order.bpmn"
    path.write_bytes(ONE_TASK)
    response = await zeebe_client.deploy_resource(str(path))
    [meta] = response.deployments
    assert meta.bpmn_process_id == "one-task"
    assert meta.version == 1


async def test_identical_content_is_a_duplicate_and_changed_content_a_new_version(
    engine: Engine,
) -> None:
    first = (await engine.deploy(("one.bpmn", ONE_TASK))).deployments[0].process
    again = await engine.deploy(("one.bpmn", ONE_TASK))
    duplicate = again.deployments[0].process
    assert (duplicate.processDefinitionKey, duplicate.version) == (
        first.processDefinitionKey, 1)
    assert again.key != first.processDefinitionKey  # a new deployment key every time

    changed = chain_bpmn("one-task", Task("work", "work"), Task("more", "more"))
    second = (await engine.deploy(("one.bpmn", changed))).deployments[0].process
    assert second.version == 2
    assert second.processDefinitionKey > first.processDefinitionKey
    # v1's content again differs from the latest (v2), so it becomes v3
    third = (await engine.deploy(("one.bpmn", ONE_TASK))).deployments[0].process
    assert third.version == 3


async def test_one_resource_with_two_processes_gives_two_entries(engine: Engine) -> None:
    xml = (
        f'{BPMN_HEADER}<bpmn:process id="a" isExecutable="true"><bpmn:startEvent id="s"/>'
        '</bpmn:process><bpmn:process id="b" isExecutable="true"><bpmn:startEvent id="s"/>'
        '</bpmn:process><bpmn:process id="c" isExecutable="false"/></bpmn:definitions>'
    ).encode()
    response = await engine.deploy(("two.bpmn", xml))
    assert sorted(d.process.bpmnProcessId for d in response.deployments) == ["a", "b"]
    assert all(d.process.resourceName == "two.bpmn" for d in response.deployments)


async def _rejection(engine: Engine, *resources: tuple[str, bytes]) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await engine.deploy(*resources)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = info.value.details()
    assert details.startswith(DEPLOY_PREFIX), details
    return details


def _process(body: str, process_id: str = "p") -> bytes:
    return (f'{BPMN_HEADER}<bpmn:process id="{process_id}" isExecutable="true">{body}'
            "</bpmn:process></bpmn:definitions>").encode()


_START = '<bpmn:startEvent id="s"/>'
_ERRORS = ('<bpmn:error id="E1" errorCode="BAD"/><bpmn:error id="E2" errorCode="BAD"/>'
           '<bpmn:error id="Eexpr" errorCode="=code"/>')
_MESSAGE = ('<bpmn:message id="M" name="paid"><bpmn:extensionElements>'
            '<zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements>'
            '</bpmn:message><bpmn:message id="Mnokey" name="x"/>')
_TASK = service("t", "work")


def _case_id(value: object) -> str:
    if isinstance(value, bytes):
        return "xml"
    text = str(value)
    element = re.search(r"element '(\w+)' \(id '([^']+)'\) (\w+)", text)
    if element:
        return "-".join(element.groups())
    return re.sub(r"\W+", "-", text.split(": ", 1)[-1])[:40].strip("-")


def _with_defs(body: str) -> bytes:
    return process_xml("p", _START + body, _ERRORS + _MESSAGE)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"<bpmn:definitions", "'bad.bpmn': malformed XML"),
        (f"{BPMN_HEADER}</bpmn:definitions>".encode(),
         "'bad.bpmn': must contain at least one executable process"),
        (_process('<bpmn:endEvent id="e"/>'), "'bad.bpmn': process 'p' must have a none start event"),
        (_process('<bpmn:startEvent id="s"/><bpmn:serviceTask id="t"/>'
                  '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>'),
         "'bad.bpmn': element 'serviceTask' (id 't') must have a zeebe:taskDefinition"),
        (_process('<bpmn:startEvent id="s"/>'
                  '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="nowhere"/>'),
         "'bad.bpmn': element 'sequenceFlow' (id 'f') references unknown targetRef 'nowhere'"),
        (_process('<bpmn:startEvent id="s"/><bpmn:inclusiveGateway id="Gateway_1"/>'
                  '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Gateway_1"/>'),
         "'bad.bpmn': element 'inclusiveGateway' (id 'Gateway_1') is not supported by this engine"),
        (_process('<bpmn:startEvent id="s"><bpmn:timerEventDefinition/></bpmn:startEvent>'),
         "'bad.bpmn': element 'startEvent' (id 's') with 'timerEventDefinition' is not supported"),
        (_with_defs(service("t", "=kind +")),
         "'bad.bpmn': element 'serviceTask' (id 't') has the job type expression '=kind +', "
         "which is not valid in the FEEL subset this engine supports: expected a value"),
        (_with_defs(service("t", "x", io(("output", "status", "status")))),
         "'bad.bpmn': element 'serviceTask' (id 't') has the output mapping source 'status', a "
         "static value; it must be a FEEL expression starting with '='"),
        (_with_defs(service("t", "x", io(("input", "=a", "$.b")))),
         "element 'serviceTask' (id 't') has the input mapping target '$.b', which is not a "
         "variable name or path"),
        (_with_defs(_TASK + '<bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="e1"/>'
                    '<bpmn:endEvent id="e2"/>' + chain("s", "t", "g")
                    + flow("f1", "g", "e1", "=x > 1") + flow("f2", "g", "e2")),
         "element 'sequenceFlow' (id 'f2') leaves the exclusive gateway 'g' without a "
         "condition and is not its default flow"),
        (_with_defs('<bpmn:exclusiveGateway id="g" default="nope"/><bpmn:endEvent id="e1"/>'
                    + chain("s", "g", "e1")),
         "element 'exclusiveGateway' (id 'g') has the default flow 'nope', which is not one of "
         "its outgoing sequence flows"),
        (_with_defs('<bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="e1"/>'
                    + chain("s", "g") + flow("f1", "g", "e1", "$.approved == true")),
         "element 'sequenceFlow' (id 'f1') has the condition '$.approved == true', a static "
         "value; it must be a FEEL expression starting with '='"),
        (_with_defs('<bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="e1"/>'
                    + chain("s", "g") + flow("f1", "g", "e1", "= approved == true")),
         "element 'sequenceFlow' (id 'f1') has the condition expression '= approved == true', "
         "which is not valid in the FEEL subset this engine supports: expected a value, a name "
         "or '(', but found '=' at position 12"),
        (_with_defs('<bpmn:parallelGateway id="g"/><bpmn:endEvent id="e1"/>'
                    + chain("s", "g") + flow("f1", "g", "e1", "=true")),
         "element 'sequenceFlow' (id 'f1') has a condition, but conditions are only supported "
         "on flows leaving an exclusive gateway"),
        (_with_defs(_TASK + '<bpmn:boundaryEvent id="b" attachedToRef="t">'
                    '<bpmn:errorEventDefinition errorRef="nope"/></bpmn:boundaryEvent>'),
         "element 'boundaryEvent' (id 'b') references unknown error 'nope'"),
        (_with_defs(_TASK + '<bpmn:boundaryEvent id="b" attachedToRef="t">'
                    '<bpmn:errorEventDefinition errorRef="Eexpr"/></bpmn:boundaryEvent>'),
         "element 'boundaryEvent' (id 'b') catches the error 'Eexpr' whose errorCode '=code' is "
         "an expression; a catch event needs a static error code"),
        (_with_defs(_TASK + '<bpmn:boundaryEvent id="b1" attachedToRef="t">'
                    '<bpmn:errorEventDefinition errorRef="E1"/></bpmn:boundaryEvent>'
                    '<bpmn:boundaryEvent id="b2" attachedToRef="t">'
                    '<bpmn:errorEventDefinition errorRef="E2"/></bpmn:boundaryEvent>'),
         "element 'boundaryEvent' (id 'b2') catches the error code 'BAD' on 't', like 'b1' does"),
        (_with_defs(_TASK + '<bpmn:boundaryEvent id="b1" attachedToRef="t">'
                    '<bpmn:errorEventDefinition/></bpmn:boundaryEvent>'
                    '<bpmn:boundaryEvent id="b2" attachedToRef="t">'
                    '<bpmn:errorEventDefinition/></bpmn:boundaryEvent>'),
         "element 'boundaryEvent' (id 'b2') catches all errors (no error code) on 't', like 'b1'"),
        (_with_defs(_TASK + '<bpmn:boundaryEvent id="b" attachedToRef="t" cancelActivity="false">'
                    '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration>'
                    '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'),
         "element 'boundaryEvent' (id 'b') that is non-interrupting (cancelActivity=\"false\") "
         "is not supported by this engine"),
        (_with_defs(_TASK + '<bpmn:boundaryEvent id="b" attachedToRef="t">'
                    '<bpmn:messageEventDefinition messageRef="M"/></bpmn:boundaryEvent>'),
         "element 'boundaryEvent' (id 'b') with 'messageEventDefinition' is not supported"),
        (_with_defs('<bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition '
                    'messageRef="Mnokey"/></bpmn:intermediateCatchEvent>'),
         "element 'message' (id 'Mnokey') must have a zeebe:subscription with a correlationKey"),
        (_with_defs('<bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition '
                    'messageRef="Mzz"/></bpmn:intermediateCatchEvent>'),
         "element 'intermediateCatchEvent' (id 'c') references unknown message 'Mzz'"),
        (_with_defs('<bpmn:receiveTask id="r"/>'),
         "element 'receiveTask' (id 'r') must reference a message (messageRef)"),
        (_with_defs('<bpmn:intermediateCatchEvent id="c"><bpmn:timerEventDefinition>'
                    '<bpmn:timeCycle>R3/PT1M</bpmn:timeCycle></bpmn:timerEventDefinition>'
                    '</bpmn:intermediateCatchEvent>'),
         "element 'intermediateCatchEvent' (id 'c') with a 'timeCycle' timer is not supported"),
        (_with_defs('<bpmn:intermediateCatchEvent id="c"><bpmn:timerEventDefinition>'
                    '<bpmn:timeDuration>ten minutes</bpmn:timeDuration>'
                    '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'),
         "element 'intermediateCatchEvent' (id 'c') has an invalid timeDuration: 'ten minutes' "
         "is not an ISO-8601 duration"),
        (_with_defs('<bpmn:userTask id="u"/>'),
         "element 'userTask' (id 'u') is not supported by this engine"),
        (_with_defs('<bpmn:subProcess id="sub"/>'),
         "element 'subProcess' (id 'sub') is not supported by this engine"),
        (_with_defs('<bpmn:callActivity id="call"/>'),
         "element 'callActivity' (id 'call') is not supported by this engine"),
        (_with_defs('<bpmn:eventBasedGateway id="ebg"/>'),
         "element 'eventBasedGateway' (id 'ebg') is not supported by this engine"),
        (_with_defs('<bpmn:endEvent id="t"><bpmn:terminateEventDefinition/></bpmn:endEvent>'),
         "element 'endEvent' (id 't') with 'terminateEventDefinition' is not supported"),
        (_with_defs('<bpmn:intermediateCatchEvent id="sig"><bpmn:signalEventDefinition/>'
                    '</bpmn:intermediateCatchEvent>'),
         "element 'intermediateCatchEvent' (id 'sig') with 'signalEventDefinition' is not "
         "supported"),
        (_with_defs('<bpmn:serviceTask id="mi"><bpmn:extensionElements><zeebe:taskDefinition '
                    'type="x"/></bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics/>'
                    '</bpmn:serviceTask>'),
         "element 'serviceTask' (id 'mi') with 'multiInstanceLoopCharacteristics' is not "
         "supported"),
        (_with_defs(service("t", "x", "<zeebe:executionListeners/>")),
         "element 'serviceTask' (id 't') with 'zeebe:executionListeners' is not supported"),
        (_with_defs(service("t", "x", "<zeebe:properties/>")),
         "element 'serviceTask' (id 't') with 'zeebe:properties' is not supported"),
        (_with_defs('<bpmn:laneSet id="lanes"/>'),
         "element 'laneSet' (id 'lanes') is not supported by this engine"),
        (f'{BPMN_HEADER}<bpmn:collaboration id="c1"/><bpmn:process id="p" isExecutable="true">'
         '<bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>'.encode(),
         "element 'collaboration' (id 'c1') is not supported by this engine"),
        (_with_defs('<bpmn:businessRuleTask id="dmn"><bpmn:extensionElements>'
                    '<zeebe:calledDecision decisionId="d" resultVariable="r"/>'
                    '</bpmn:extensionElements></bpmn:businessRuleTask>'),
         "element 'businessRuleTask' (id 'dmn') with 'zeebe:calledDecision' is not supported"),
    ],
    ids=_case_id,
)
@pytest.mark.asyncio(loop_scope="module")
async def test_invalid_bpmn_is_rejected_with_a_line_per_problem(
    module_engine: Engine, content: bytes, expected: str
) -> None:
    details = await _rejection(module_engine, ("bad.bpmn", content))
    assert expected in details.splitlines()[1]


async def test_no_resources_and_unknown_resource_types_are_rejected(engine: Engine) -> None:
    assert "no resources given" in await _rejection(engine)
    details = await _rejection(engine, ("form.form", b"{}"))
    assert "'form.form': resource type is not supported" in details


async def test_duplicate_process_id_across_resources_is_rejected(engine: Engine) -> None:
    details = await _rejection(engine, ("a.bpmn", ONE_TASK), ("b.bpmn", ONE_TASK))
    assert "'b.bpmn': duplicate process id 'one-task', it is also defined in 'a.bpmn'" in details


async def test_rejected_deployment_stores_nothing(engine: Engine) -> None:
    good = chain_bpmn("good", Task("t", "t"))
    bad = _process('<bpmn:startEvent id="s"/><bpmn:userTask id="g"/>')
    details = await _rejection(engine, ("good.bpmn", good), ("bad.bpmn", bad))
    assert "'bad.bpmn': element 'userTask' (id 'g')" in details
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await engine.create("good")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    # a later deployment of the good resource alone is version 1, with the next keys
    response = await engine.deploy(("good.bpmn", good))
    assert response.deployments[0].process.version == 1
    assert response.key == (1 << 51) + 1
