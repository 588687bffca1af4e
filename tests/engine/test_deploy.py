"""DeployResource over gRPC: validation, versioning, duplicates, atomicity, the BPMN corpus."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from pyzeebe import ZeebeClient

from medcam.engine.keys import partition_of

from .conftest import BPMN_HEADER, Engine, Task, chain_bpmn

# The shared reference material sits beside the project (../shared); a clone elsewhere may
# not have it, and then the corpus tests are skipped rather than failed.
CORPUS = next(
    (c for c in (Path(__file__).resolve().parents[3] / "shared" / "bpmn-corpus",
                 Path("/work/shared/bpmn-corpus")) if c.is_dir()),
    None,
)
needs_corpus = pytest.mark.skipif(CORPUS is None, reason="shared/bpmn-corpus not found")
DEPLOY_PREFIX = "Expected to deploy new resources, but encountered the following errors:"
# Corpus files that use only none start/end events, service tasks with static task
# definitions and headers, and sequence flows: what this engine version executes.
CORPUS_DEPLOYABLE = [
    "camunda-8-js-sdk__MigrateProcess-Version-1.bpmn",
    "quarkus-zeebe__parameters.bpmn",
    "zeebe-rust__order-process.bpmn",
]
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
        (_process('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="Gateway_1"/>'
                  '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Gateway_1"/>'),
         "'bad.bpmn': element 'exclusiveGateway' (id 'Gateway_1') is not supported by this engine"),
        (_process('<bpmn:startEvent id="s"><bpmn:timerEventDefinition/></bpmn:startEvent>'),
         "'bad.bpmn': element 'startEvent' (id 's') with 'timerEventDefinition' is not supported"),
        (_process('<bpmn:startEvent id="s"/><bpmn:serviceTask id="t"><bpmn:extensionElements>'
                  '<zeebe:taskDefinition type="=kind"/></bpmn:extensionElements>'
                  "</bpmn:serviceTask>"),
         "'bad.bpmn': element 'serviceTask' (id 't') with an expression job type '=kind'"),
        (_process('<bpmn:startEvent id="s"/><bpmn:serviceTask id="t"><bpmn:extensionElements>'
                  '<zeebe:taskDefinition type="x"/><zeebe:ioMapping/></bpmn:extensionElements>'
                  "</bpmn:serviceTask>"),
         "'bad.bpmn': element 'serviceTask' (id 't') with 'zeebe:ioMapping' is not supported"),
    ],
    ids=["malformed", "no-executable", "no-start", "no-task-definition", "unknown-ref",
         "gateway", "timer-start", "expression-type", "io-mapping"],
)
async def test_invalid_bpmn_is_rejected_with_a_line_per_problem(
    engine: Engine, content: bytes, expected: str
) -> None:
    details = await _rejection(engine, ("bad.bpmn", content))
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
    bad = _process('<bpmn:startEvent id="s"/><bpmn:parallelGateway id="g"/>')
    details = await _rejection(engine, ("good.bpmn", good), ("bad.bpmn", bad))
    assert "'bad.bpmn': element 'parallelGateway' (id 'g')" in details
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await engine.create("good")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    # a later deployment of the good resource alone is version 1, with the next keys
    response = await engine.deploy(("good.bpmn", good))
    assert response.deployments[0].process.version == 1
    assert response.key == (1 << 51) + 1


@needs_corpus
async def test_deployable_corpus_files_deploy(engine: Engine) -> None:
    assert CORPUS is not None
    resources = [(name, (CORPUS / name).read_bytes()) for name in CORPUS_DEPLOYABLE]
    response = await engine.deploy(*resources)
    assert sorted(d.process.resourceName for d in response.deployments) == sorted(
        CORPUS_DEPLOYABLE)
    assert all(d.process.version == 1 for d in response.deployments)


@needs_corpus
async def test_corpus_file_with_a_gateway_is_rejected_naming_file_and_element(
    engine: Engine,
) -> None:
    assert CORPUS is not None
    name = "zeebe-spec__exclusive-gateway.bpmn"
    details = await _rejection(engine, (name, (CORPUS / name).read_bytes()))
    assert (f"'{name}': element 'exclusiveGateway' (id 'Gateway_0piucw5') is not supported "
            "by this engine") in details


@needs_corpus
async def test_every_other_corpus_file_is_rejected_with_named_problems(engine: Engine) -> None:
    assert CORPUS is not None
    others = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.bpmn"))  # noqa: ASYNC240
              if p.name not in CORPUS_DEPLOYABLE]
    assert len(others) == 37
    for name, content in others:
        details = await _rejection(engine, (name, content))
        problems = details.splitlines()[1:]
        assert problems, name
        assert all(line.startswith(f"'{name}': ") for line in problems), details
