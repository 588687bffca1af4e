"""Fixtures for engine tests: a real EngineServer on loopback, with gRPC and REST clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from pyzeebe import ZeebeClient, create_insecure_channel
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from medcam.engine.clock import ManualClock
from medcam.engine.server import EngineServer

BPMN_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
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
        server = EngineServer(data_dir, grpc_port=0, rest_port=0, clock=clock)
        await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        rest = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.rest_port}/v2", timeout=10)
        engine = Engine(server, clock, GatewayStub(channel), channel, rest)
        running.append(engine)
        return engine

    yield start
    for engine in running:
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
