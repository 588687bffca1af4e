"""Every model of the shared BPMN corpus deploys, or is refused naming what is not supported.

The corpus (../shared/bpmn-corpus beside the project) holds real Camunda 8 models; its
MANIFEST marks 20 of them as inside the engine's subset. Three of those 20 date from before
Zeebe 0.23 and write conditions, correlation keys or mappings without the ``=`` of a FEEL
expression (``$.approved == true``, ``orderId``, ``$.foo``). Current Zeebe refuses to deploy
such models ("Expected expression but found static value", camunda/zeebe issue #4421), and so
does this engine, with a line that names the file, the element and the static value.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from .conftest import CORPUS_DIR, Engine

CORPUS = CORPUS_DIR or Path("missing-corpus")
pytestmark = pytest.mark.skipif(CORPUS_DIR is None, reason="../shared/bpmn-corpus not found")
DEPLOY_PREFIX = "Expected to deploy new resources, but encountered the following errors:"

# In the subset: file -> the executable process ids it deploys.
DEPLOYS = {
    "camunda-8-benchmark__typical_process.bpmn": ["benchmark"],
    "camunda-8-js-sdk__conditional-pathway.bpmn": ["condition-test"],
    "camunda-8-js-sdk__MigrateProcess-Version-1.bpmn": ["migrant-work"],
    "customer-onboarding-extended__customer-scoring.bpmn": ["customer-scoring"],
    "flowing-retail__order-kafka.bpmn": ["order-kafka"],
    "flowing-retail__order-zeebe.bpmn": ["order-zeebe"],
    "quarkus-zeebe__parameters.bpmn": ["ParametersProcessTest"],
    "spring-zeebe__demoProcess.bpmn": ["demoProcess"],
    "zeebe-chaos__actionRunner.bpmn": ["actionRunner"],
    "zeebe-client-csharp__ten_tasks.bpmn": ["benchmark"],
    "zeebe-process-test__looping-servicetask.bpmn": ["looping-servicetask"],
    "zeebe-process-test__multiple-tasks.bpmn": ["multiple-tasks"],
    "zeebe-rust__order-process.bpmn": ["order-process"],
    "zeebe-simple-monitor__payment.bpmn": ["payment"],
    "zeebe-simple-monitor__ship-parcel.bpmn": ["ship-parcel"],
    "zeebe-spec__demo2.bpmn": ["demo2"],
    "zeebe-spec__exclusive-gateway.bpmn": ["exclusive-gateway"],
}
# In the subset by elements, but written in pre-FEEL syntax: refused like current Zeebe does.
PRE_FEEL = {
    "zeebe-camunda-dmn__dmn-example.bpmn":
        "element 'sequenceFlow' (id 'SequenceFlow_0wzzm4b') has the condition "
        "'$.approved == true', a static value; it must be a FEEL expression starting with '='",
    "zeebe-client-go__demo-process.bpmn":
        "element 'serviceTask' (id 'taskA') has the output mapping source '$.foo', a static "
        "value; it must be a FEEL expression starting with '='",
    "zeebest__order-process.bpmn":
        "element 'message' (id 'Message_13y8j3c') has the correlationKey 'orderId', a static "
        "value; it must be a FEEL expression starting with '='",
}
# Outside the subset: one of the problem lines each must contain.
UNSUPPORTED = {
    "Camunda-8-Project-Example__process-five.bpmn": "element 'userTask' (id 'Activity_0nou6bj')",
    "camunda-8-benchmark__msg_process.bpmn": "element 'subProcess' (id 'orderItem')",
    "camunda-8-get-started-spring__process-payments.bpmn":
        "element 'scriptTask' (id 'Activity_0cjdmaj') with 'zeebe:script'",
    "camunda-8-js-sdk__Signal.bpmn": "element 'startEvent' (id 'StartEvent_1') with "
                                     "'signalEventDefinition'",
    "camunda-8-js-sdk__zeebe-user-task.bpmn": "element 'userTask' (id 'Activity_1d6heog')",
    "camunda-modeler__service-task-listener.bpmn":
        "element 'serviceTask' (id 'ServiceTask_1') with 'zeebe:executionListeners'",
    "camunda-platform-tutorials__AI_Email_Support_Agent.bpmn":
        "element 'adHocSubProcess' (id 'Activity_04glkkx')",
    "camunda-process-test-coverage__eventBasedGateway.bpmn":
        "element 'eventBasedGateway' (id 'EventBasedGateway')",
    "customer-onboarding-extended__customer-onboarding-extended.bpmn":
        "element 'callActivity' (id 'Activity_06r19b0')",
    "customer-onboarding__customer-onboarding.bpmn":
        "element 'startEvent' (id 'StartEventCustomerOnboardingSimple') with 'zeebe:properties'",
    "flowing-retail__payment.bpmn":
        "element 'startEvent' (id 'StartEvent_1') with 'messageEventDefinition'",
    "pyzeebe__test.bpmn": "element 'startEvent' (id 'Event_0hg01mt') with 'messageEventDefinition'",
    "quarkus-zeebe__diagram_1.bpmn":
        "element 'boundaryEvent' (id 'Event_0wzmbzu') with 'messageEventDefinition'",
    "ticket-booking-camunda-8__ticket-booking.bpmn":
        "element 'collaboration' (id 'Collaboration_0t1vxrh')",
    "zeebe-chaos__chaosExperiment.bpmn": "element 'subProcess' (id 'Activity_11tzpu9')",
    "zeebe-cherry-runtime__LoadTest.bpmn": "element 'inclusiveGateway' (id 'Gateway_LoadDecision')",
    "zeebe-cluster-testbench__qa-github-trigger.bpmn":
        "element 'boundaryEvent' (id 'Event_1p9ayal') that is non-interrupting",
    "zeebe-play__solos-transport-process.bpmn":
        "element 'businessRuleTask' (id 'Activity_1yxzu88') with "
        "'multiInstanceLoopCharacteristics'",
    "zeebe-process-test__pr-created.bpmn": "element 'callActivity' (id 'triggerTests')",
    "zeebe-process-test__test_timer_events.bpmn":
        "element 'endEvent' (id 'EndEvent_FastFlow') with 'terminateEventDefinition'",
}


def test_every_corpus_file_has_an_expectation() -> None:
    files = {p.name for p in CORPUS.glob("*.bpmn")}
    assert files == set(DEPLOYS) | set(PRE_FEEL) | set(UNSUPPORTED)
    assert (len(DEPLOYS), len(PRE_FEEL), len(UNSUPPORTED)) == (17, 3, 20)


@pytest.mark.parametrize("name", sorted(DEPLOYS))
@pytest.mark.asyncio(loop_scope="module")
async def test_in_subset_file_deploys(module_engine: Engine, name: str) -> None:
    response = await module_engine.deploy((name, (CORPUS / name).read_bytes()))
    assert sorted(d.process.bpmnProcessId for d in response.deployments) == DEPLOYS[name]
    assert all(d.process.resourceName == name for d in response.deployments)


@pytest.mark.parametrize("name", sorted({**PRE_FEEL, **UNSUPPORTED}))
@pytest.mark.asyncio(loop_scope="module")
async def test_other_file_is_rejected_naming_file_and_element(
    module_engine: Engine, name: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await module_engine.deploy((name, (CORPUS / name).read_bytes()))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    header, *problems = info.value.details().splitlines()
    assert header == DEPLOY_PREFIX
    assert problems
    assert all(line.startswith(f"'{name}': element '") for line in problems), problems
    expected = PRE_FEEL.get(name) or UNSUPPORTED[name]
    assert any(expected in line for line in problems), problems
    if name in UNSUPPORTED:
        assert any(line.endswith("is not supported by this engine") for line in problems)
