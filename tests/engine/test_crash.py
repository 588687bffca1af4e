"""Crash under load: SIGKILL the engine mid-run; every instance completes, none completed twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from pyzeebe import Job, JobController, ZeebeClient, ZeebeWorker, create_insecure_channel
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from console.embedded import EmbeddedServices

from .conftest import Task, chain_bpmn

INSTANCES = 300
TYPES = ("crash-a", "crash-b", "crash-c")
CHAIN = chain_bpmn("crash", *(Task(f"task-{t}", t) for t in TYPES))
#: Short, so jobs activated before the kill come back soon after the restart.
JOB_TIMEOUT_MS = 2_000
#: Kill once about 30 % of all CompleteJob calls were acknowledged.
KILL_AFTER = int(INSTANCES * len(TYPES) * 0.3)
#: Reconnect quickly once the engine is back (gRPC's default back-off starts at 1 s).
FAST_RECONNECT = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
)
#: Codes for which the engine may or may not have applied a CompleteJob.
IN_DOUBT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN,
            grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL}

Pair = tuple[int, str]  # (process instance key, job type)


class CompletedByHandler(Exception):
    """Raised by a handler that already sent CompleteJob itself, so pyzeebe sends nothing."""


@dataclass
class Ledger:
    """What the workers did, from the client's side of the wire."""

    acked: list[tuple[int, int, str]] = field(default_factory=list)  # (job, instance, type)
    in_doubt: set[Pair] = field(default_factory=set)  # CompleteJob failed in transit
    rejected: int = 0  # NOT_FOUND / FAILED_PRECONDITION: someone else had it
    deliveries: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # anything unexpected, asserted empty
    kill_point: asyncio.Event = field(default_factory=asyncio.Event)

    async def complete(self, stub: GatewayStub, job: Job) -> None:
        """CompleteJob; recorded as acknowledged only once the engine said OK."""
        self.deliveries[job.key] += 1
        pair = (job.process_instance_key, job.type)
        try:
            await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables="{}"), timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in IN_DOUBT:
                self.in_doubt.add(pair)
            elif exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                self.rejected += 1
            else:
                self.errors.append(f"CompleteJob {job.key}: {exc.code().name} {exc.details()}")
            return
        self.acked.append((job.key, *pair))
        if len(self.acked) >= KILL_AFTER:
            self.kill_point.set()


def build_worker(channel: grpc.aio.Channel, ledger: Ledger, streaming: bool) -> ZeebeWorker:
    stub = GatewayStub(channel)

    async def swallow(exc: Exception, job: Job, controller: JobController) -> None:
        """CompletedByHandler is the normal path; anything else is noted (no FailJob)."""
        if not isinstance(exc, CompletedByHandler):
            ledger.errors.append(f"handler for job {job.key}: {exc!r}")

    worker = ZeebeWorker(channel, name="crash-test", max_connection_retries=-1,
                         poll_retry_delay=0.05,  # type: ignore[arg-type]  # a float works
                         exception_handler=swallow, stream_enabled=streaming)

    async def handle(job: Job) -> dict[str, Any]:
        await ledger.complete(stub, job)
        raise CompletedByHandler

    handle.__annotations__["job"] = Job  # pyzeebe compares the annotation object
    for job_type in TYPES:
        worker.task(job_type, timeout_ms=JOB_TIMEOUT_MS, max_jobs_to_activate=32,
                    max_running_jobs=128)(handle)
    return worker


async def search(http: httpx.AsyncClient, what: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(f"/v2/{what}/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_all_completed(http: httpx.AsyncClient, timeout_s: float) -> int:
    """Poll the REST search until every instance is COMPLETED or the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = await search(http, "process-instances",
                            {"filter": {"state": "COMPLETED"}, "page": {"limit": 1}})
        done = int(body["page"]["totalItems"])
        if done >= INSTANCES or time.monotonic() > deadline:
            return done
        await asyncio.sleep(0.1)


async def create_instances(address: str) -> set[int]:
    channel = create_insecure_channel(grpc_address=address)
    try:
        client = ZeebeClient(channel)
        limit = asyncio.Semaphore(64)

        async def one() -> int:
            async with limit:
                return (await client.run_process("crash")).process_instance_key

        return set(await asyncio.gather(*(one() for _ in range(INSTANCES))))
    finally:
        await channel.close()


async def stop_worker(worker: ZeebeWorker, task: asyncio.Task[None]) -> None:
    with contextlib.suppress(Exception, TimeoutError):
        await asyncio.wait_for(worker.stop(), 5)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), 5)
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


@pytest.mark.timeout(90)
@pytest.mark.parametrize("streaming", [False, True], ids=["polling", "streaming"])
async def test_sigkill_under_load_loses_nothing_and_completes_nothing_twice(
    tmp_path: Path, streaming: bool
) -> None:
    data_dir = tmp_path / "engine"
    bpmn = tmp_path / "crash.bpmn"
    bpmn.write_bytes(CHAIN)
    first = EmbeddedServices(data_dir, engine=True, shop=False, grpc_port=0, rest_port=0)
    second: EmbeddedServices | None = None
    ledger = Ledger()
    channel: grpc.aio.Channel | None = None
    running: tuple[ZeebeWorker, asyncio.Task[None]] | None = None
    try:
        endpoints = await first.start()
        assert endpoints.zeebe_address and endpoints.zeebe_rest_url
        address, rest_url = endpoints.zeebe_address, endpoints.zeebe_rest_url
        deploy_channel = create_insecure_channel(grpc_address=address)
        await ZeebeClient(deploy_channel).deploy_resource(str(bpmn))
        await deploy_channel.close()
        created = await create_instances(address)
        assert len(created) == INSTANCES

        channel = create_insecure_channel(grpc_address=address, channel_options=FAST_RECONNECT)
        worker = build_worker(channel, ledger, streaming)
        running = (worker, asyncio.get_running_loop().create_task(worker.work()))

        # Kill by progress, not by time: ~30 % of the completions are acknowledged.
        await asyncio.wait_for(ledger.kill_point.wait(), 30)
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        acked_at_kill = len(ledger.acked)
        await first.stop()
        assert acked_at_kill < INSTANCES * len(TYPES), "the run finished before the kill"

        # Same data dir and ports: the workers' channel reconnects by itself.
        grpc_port, rest_port = (int(address.rsplit(":", 1)[1]), int(rest_url.rsplit(":", 1)[1]))
        second = EmbeddedServices(data_dir, engine=True, shop=False,
                                  grpc_port=grpc_port, rest_port=rest_port)
        again = await second.start()
        assert second.reused == [] and again.zeebe_address == address

        async with httpx.AsyncClient(base_url=rest_url, timeout=10) as http:
            done = await wait_all_completed(http, timeout_s=40)
            assert not running[1].done(), "the pyzeebe worker stopped"
            await stop_worker(*running)
            running = None

            assert done == INSTANCES, (
                f"{done}/{INSTANCES} COMPLETED; acked {len(ledger.acked)}, "
                f"in doubt {len(ledger.in_doubt)}")
            listed = await search(http, "process-instances",
                                  {"filter": {"state": "COMPLETED"}, "page": {"limit": 1000}})
            assert {int(i["processInstanceKey"]) for i in listed["items"]} == created
            incidents = await search(http, "incidents", {"page": {"limit": 1}})
            assert incidents["page"]["totalItems"] == 0
            # The engine's own view: exactly one completed job per (instance, task).
            jobs = await search(http, "jobs", {"filter": {"state": "COMPLETED"},
                                               "page": {"limit": 10_000}})
            engine_pairs = Counter((int(j["processInstanceKey"]), j["type"]) for j in jobs["items"])
            assert set(engine_pairs) == {(i, t) for i in created for t in TYPES}
            assert set(engine_pairs.values()) == {1}

        assert ledger.errors == []
        # The workers' view: no acknowledged completion is duplicated; an (instance, task)
        # without an acknowledgement had a CompleteJob lost in the crash (applied, reply lost).
        acked_jobs = Counter(job for job, _, _ in ledger.acked)
        assert [job for job, n in acked_jobs.items() if n > 1] == []
        acked_pairs = Counter((instance, job_type) for _, instance, job_type in ledger.acked)
        assert [pair for pair, n in acked_pairs.items() if n > 1] == []
        missing = {(i, t) for i in created for t in TYPES} - set(acked_pairs)
        redelivered = sum(1 for n in ledger.deliveries.values() if n > 1)
        assert missing <= ledger.in_doubt, (
            f"{len(missing - ledger.in_doubt)} tasks completed without any CompleteJob sent; "
            f"acked at kill {acked_at_kill}, in doubt {len(ledger.in_doubt)}, "
            f"redelivered {redelivered}, rejected {ledger.rejected}")
        assert len(acked_pairs) + len(missing) == INSTANCES * len(TYPES)
        assert len(ledger.acked) > acked_at_kill, "nothing was completed after the restart"
    finally:
        if running is not None:
            await stop_worker(*running)
        if channel is not None:
            await channel.close()
        for services in (first, second):
            if services is not None:
                await services.stop()
