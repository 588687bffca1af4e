"""Fixtures for engine tests: a real EngineServer on loopback, with gRPC and REST clients."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from pyzeebe import ZeebeClient, create_insecure_channel
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from engine.clock import ManualClock
from engine.server import EngineServer

try:
    import uvloop
except ImportError:  # uvloop is optional: without it every test runs on asyncio's loop
    uvloop = None

#: Modules whose tests also run on uvloop (the embedded child serves on it when installed):
#: unary RPCs, job activation by long poll and by stream, and a full stream of jobs.
UVLOOP_MODULES = frozenset({"test_rpcs", "test_jobs", "test_streams", "test_order_example"})


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """asyncio's loop for every test; uvloop as well for UVLOOP_MODULES, or for all tests
    with ``MEDCAM_TEST_LOOPS=asyncio,uvloop`` (or only uvloop with ``MEDCAM_TEST_LOOPS=uvloop``)."""
    factories: dict[str, Any] = {"asyncio": asyncio.new_event_loop}
    if uvloop is None:
        return factories
    wanted = os.environ.get("MEDCAM_TEST_LOOPS", "")
    module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
    if wanted:
        factories = {}
        for name in wanted.split(","):
            factories[name] = asyncio.new_event_loop if name == "asyncio" else uvloop.new_event_loop
    elif module in UVLOOP_MODULES:
        factories["uvloop"] = uvloop.new_event_loop
    return factories


# The shared reference corpus sits beside the project (../shared); a clone elsewhere may not
# have it, and then the tests that need it are skipped.
_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "bpmn-corpus"
CORPUS_DIR: Path | None = _CORPUS if _CORPUS.is_dir() else None

BPMN_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="defs" targetNamespace="urn:medcam:test">\n'
)


@dataclass(frozen=True)
class Task:
    id: str
    type: str
    retries: int | None = None
    headers: dict[str, str] | None = None


def task_xml(task: Task) -> str:
    retries = f' retries="{task.retries}"' if task.retries is not None else ""
    headers = ""
    if task.headers:
        inner = "".join(
            f'<zeebe:header key="{k}" value="{v}"/>' for k, v in task.headers.items())
        headers = f"<zeebe:taskHeaders>{inner}</zeebe:taskHeaders>"
    return (
        f'<bpmn:serviceTask id="{task.id}" name="{task.id}"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="{task.type}"{retries}/>{headers}'
        f"</bpmn:extensionElements></bpmn:serviceTask>\n"
    )


def chain_bpmn(process_id: str, *tasks: Task, name: str | None = None) -> bytes:
    """start -> task1 -> task2 ... -> end."""
    ids = ["start", *(t.id for t in tasks), "end"]
    body = '<bpmn:startEvent id="start"/>\n' + "".join(task_xml(t) for t in tasks)
    body += '<bpmn:endEvent id="end"/>\n'
    for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False)):
        body += f'<bpmn:sequenceFlow id="flow{i}" sourceRef="{a}" targetRef="{b}"/>\n'
    name_attr = f' name="{name}"' if name else ""
    return (
        f'{BPMN_HEADER}<bpmn:process id="{process_id}"{name_attr} isExecutable="true">\n'
        f"{body}</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def process_xml(process_id: str, body: str, definitions: str = "") -> bytes:
    """A resource with one executable process; ``definitions`` go before it (messages, errors)."""
    return (f'{BPMN_HEADER}{definitions}<bpmn:process id="{process_id}" isExecutable="true">'
            f"{body}</bpmn:process></bpmn:definitions>").encode()


def service(element_id: str, job_type: str, extensions: str = "", retries: str | None = None,
            tag: str = "serviceTask") -> str:
    """A job-based task; ``extensions`` go inside extensionElements (ioMapping, headers)."""
    retries_attr = f' retries="{escape(retries)}"' if retries is not None else ""
    return (f'<bpmn:{tag} id="{element_id}"><bpmn:extensionElements>'
            f'<zeebe:taskDefinition type="{escape(job_type)}"{retries_attr}/>{extensions}'
            f"</bpmn:extensionElements></bpmn:{tag}>")


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}'
            "</bpmn:conditionExpression></bpmn:sequenceFlow>")


def chain(*ids: str) -> str:
    """Sequence flows a -> b -> c ..., named after their ends."""
    return "".join(flow(f"{a}-{b}", a, b) for a, b in zip(ids, ids[1:], strict=False))


def io(*mappings: tuple[str, str | None, str]) -> str:
    """``zeebe:ioMapping`` from (kind, source, target) triples; source None omits it."""
    inner = ""
    for kind, source, target in mappings:
        source_attr = "" if source is None else f' source="{escape(source)}"'
        inner += f'<zeebe:{kind}{source_attr} target="{target}"/>'
    return f"<zeebe:ioMapping>{inner}</zeebe:ioMapping>"


@dataclass
class Engine:
    """A running EngineServer plus its clients."""

    server: EngineServer
    clock: ManualClock
    stub: GatewayStub
    channel: grpc.aio.Channel
    rest: httpx.AsyncClient

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.grpc_port}"

    async def deploy(self, *resources: tuple[str, bytes]) -> pb.DeployResourceResponse:
        return await self.stub.DeployResource(pb.DeployResourceRequest(
            resources=[pb.Resource(name=n, content=c) for n, c in resources]))

    async def create(self, process_id: str, variables: dict[str, Any] | None = None,
                     version: int = -1) -> pb.CreateProcessInstanceResponse:
        return await self.stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
            bpmnProcessId=process_id, version=version,
            variables=json.dumps(variables or {})))

    async def activate(self, job_type: str, max_jobs: int = 10, lock_ms: int = 30_000,
                       request_timeout: int = -1, fetch: Sequence[str] = (),
                       worker: str = "test-worker") -> list[pb.ActivatedJob]:
        jobs: list[pb.ActivatedJob] = []
        call = self.stub.ActivateJobs(pb.ActivateJobsRequest(
            type=job_type, worker=worker, timeout=lock_ms, maxJobsToActivate=max_jobs,
            requestTimeout=request_timeout, fetchVariable=list(fetch)), timeout=30)
        async for response in call:
            jobs.extend(response.jobs)
        return jobs

    async def activate_one(self, job_type: str, **kwargs: Any) -> pb.ActivatedJob:
        jobs = await self.activate(job_type, max_jobs=1, request_timeout=5_000, **kwargs)
        assert len(jobs) == 1, f"expected one '{job_type}' job, got {len(jobs)}"
        return jobs[0]

    async def complete(self, job_key: int, variables: dict[str, Any] | None = None) -> None:
        await self.stub.CompleteJob(pb.CompleteJobRequest(
            jobKey=job_key, variables=json.dumps(variables or {})))

    async def fail(self, job_key: int, retries: int, message: str = "boom",
                   backoff: int = 0) -> None:
        await self.stub.FailJob(pb.FailJobRequest(
            jobKey=job_key, retries=retries, errorMessage=message, retryBackOff=backoff))

    async def throw(self, job_key: int, code: str, message: str = "",
                    variables: dict[str, Any] | None = None) -> None:
        await self.stub.ThrowError(pb.ThrowErrorRequest(
            jobKey=job_key, errorCode=code, errorMessage=message,
            variables=json.dumps(variables or {})))

    async def publish(self, name: str, correlation_key: str, ttl_ms: int = 0,
                      variables: dict[str, Any] | None = None,
                      message_id: str = "") -> pb.PublishMessageResponse:
        return await self.stub.PublishMessage(pb.PublishMessageRequest(
            name=name, correlationKey=correlation_key, timeToLive=ttl_ms,
            messageId=message_id, variables=json.dumps(variables or {})))

    async def set_variables(self, scope_key: int, variables: dict[str, Any],
                            local: bool = False) -> pb.SetVariablesResponse:
        return await self.stub.SetVariables(pb.SetVariablesRequest(
            elementInstanceKey=scope_key, variables=json.dumps(variables), local=local))

    async def resolve(self, incident_key: int | str) -> None:
        await self.stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=int(incident_key)))

    def advance(self, ms: int) -> None:
        """Move the manual clock and fire what is due right now (no waiting on a task)."""
        self.clock.advance(ms)
        scheduler = self.server._scheduler  # noqa: SLF001 - deterministic firing in tests
        assert scheduler is not None
        scheduler.fire_due()

    async def state(self, key: int) -> str:
        return (await self.instance(key))["state"]

    async def instance(self, key: int) -> dict[str, Any]:
        response = await self.rest.get(f"/process-instances/{key}")
        assert response.status_code == 200, response.text
        return response.json()

    async def incidents(self, **filter_: Any) -> list[dict[str, Any]]:
        response = await self.rest.post("/incidents/search", json={"filter": filter_})
        assert response.status_code == 200, response.text
        return response.json()["items"]


EngineFactory = Callable[[], Awaitable[Engine]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "engine-data"


@pytest.fixture
async def start_engine(data_dir: Path, clock: ManualClock) -> AsyncIterator[EngineFactory]:
    """Starts engines on the same data dir (one at a time); all are stopped at teardown."""
    running: list[Engine] = []

    async def start() -> Engine:
        engine = await launch_engine(data_dir, clock)
        running.append(engine)
        return engine

    yield start
    for engine in running:
        await stop_engine(engine)


async def launch_engine(data_dir: Path, clock: ManualClock) -> Engine:
    server = EngineServer(data_dir, grpc_port=0, rest_port=0, clock=clock)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    rest = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.rest_port}/v2", timeout=10)
    return Engine(server, clock, GatewayStub(channel), channel, rest)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def module_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    """One engine for a whole module, for tests that leave no state behind (rejections);
    such tests need ``@pytest.mark.asyncio(loop_scope="module")``."""
    engine = await launch_engine(tmp_path_factory.mktemp("engine-data"), ManualClock())
    yield engine
    await stop_engine(engine)


async def stop_engine(engine: Engine) -> None:
    await engine.rest.aclose()
    await engine.channel.close()
    await engine.server.stop(grace=0.5)


@pytest.fixture
async def engine(start_engine: EngineFactory) -> Engine:
    return await start_engine()


@pytest.fixture
async def zeebe_client(engine: Engine) -> AsyncIterator[ZeebeClient]:
    channel = create_insecure_channel(grpc_address=engine.address)
    yield ZeebeClient(channel)
    await channel.close()


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """The gRPC error a call ends with (fails the test when it succeeds)."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value
