"""StreamActivatedJobs: job push, backlog, release of undeliverable pushes, pyzeebe streaming."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from pyzeebe import ZeebeWorker, create_insecure_channel
from pyzeebe.proto import gateway_pb2 as pb

from engine.jobstreams import JobStreamRegistry

from .conftest import Engine, Task, chain_bpmn

ONE = chain_bpmn("one", Task("work", "work"))


@pytest.fixture
async def one(engine: Engine) -> Engine:
    await engine.deploy(("one.bpmn", ONE))
    return engine


def _registry(engine: Engine) -> JobStreamRegistry:
    registry = engine.server._streams  # noqa: SLF001 - test introspection
    assert registry is not None
    return registry


async def _streams(engine: Engine, count: int, job_type: str = "work") -> None:
    await asyncio.wait_for(_registry(engine).wait_for_streams(job_type, count), 5)


def _open(engine: Engine, worker: str = "pusher", timeout: int = 30_000,
          fetch: tuple[str, ...] = ()) -> grpc.aio.UnaryStreamCall:
    return engine.stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(
        type="work", worker=worker, timeout=timeout, fetchVariable=list(fetch)))


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [({"type": " ", "timeout": 1000}, "non-empty type"),
     ({"type": "work", "timeout": 0}, "timeout greater than 0"),
     ({"type": "work", "timeout": 10, "tenantIds": ["acme"]}, "multi-tenancy is disabled")],
)
async def test_stream_validation(engine: Engine, fields: dict, fragment: str) -> None:
    call = engine.stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(worker="w", **fields))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call.read()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in info.value.details()


async def test_new_jobs_are_pushed_and_skip_the_backlog(one: Engine) -> None:
    old = await one.create("one", {"n": 0})  # in the backlog before any stream exists
    call = _open(one, timeout=7_000, fetch=("n",))
    await _streams(one, 1)
    created = await one.create("one", {"n": 1, "other": True})
    job = await asyncio.wait_for(call.read(), 5)
    assert (job.processInstanceKey, job.worker, job.type) == (
        created.processInstanceKey, "pusher", "work")
    assert job.deadline == one.clock.now_ms() + 7_000
    assert json.loads(job.variables) == {"n": 1}
    assert json.loads(job.customHeaders) == {}
    assert _registry(one).pushed == 1
    # the pushed job is activated; only the backlog job is left for ActivateJobs
    [polled] = await one.activate("work")
    assert polled.processInstanceKey == old.processInstanceKey
    await one.complete(job.key)
    assert await one.state(created.processInstanceKey) == "COMPLETED"
    call.cancel()


async def test_a_cancelled_stream_leaves_jobs_to_the_backlog(one: Engine) -> None:
    call = _open(one)
    reader = asyncio.create_task(call.read())
    await _streams(one, 1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    await _streams(one, 0)
    await one.create("one")
    assert (await one.activate_one("work")).worker == "test-worker"


async def test_an_undelivered_push_returns_the_job_to_activatable(one: Engine) -> None:
    registry = _registry(one)
    stream = registry.open("work", "gone", 30_000, [])  # a stream whose client vanished
    created = await one.create("one")
    view = await asyncio.wait_for(stream.queue.get(), 5)
    assert view.process_instance_key == created.processInstanceKey
    assert await one.activate("work") == []  # activated for the stream
    stream.queue.put_nowait(view)
    registry.close(stream)  # what the call does when its write fails or it is cancelled
    again = await one.activate_one("work", worker="rescuer")
    assert (again.key, again.worker) == (view.key, "rescuer")


async def test_a_timed_out_push_is_pushed_again(one: Engine) -> None:
    call = _open(one, timeout=1_000)
    await _streams(one, 1)
    await one.create("one")
    first = await asyncio.wait_for(call.read(), 5)
    one.advance(1_000)  # the lock expires: activatable again, so pushed again
    second = await asyncio.wait_for(call.read(), 5)
    assert second.key == first.key
    assert second.deadline == one.clock.now_ms() + 1_000
    call.cancel()


async def test_jobs_made_activatable_by_a_failure_are_pushed(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work", worker="first")
    call = _open(one)
    await _streams(one, 1)
    await one.fail(job.key, retries=2)
    pushed = await asyncio.wait_for(call.read(), 5)
    assert (pushed.key, pushed.retries, pushed.worker) == (job.key, 2, "pusher")
    call.cancel()


async def test_engine_stop_ends_open_streams(one: Engine) -> None:
    call = _open(one)
    await _streams(one, 1)
    await one.server.stop(grace=5)
    assert [job async for job in call] == []
    assert await call.code() == grpc.StatusCode.OK


@pytest.mark.timeout(30)
async def test_pyzeebe_streaming_worker(one: Engine) -> None:
    done = asyncio.Event()
    seen: list[int] = []
    channel = create_insecure_channel(grpc_address=one.address)
    worker = ZeebeWorker(channel, poll_retry_delay=0.05, max_connection_retries=-1,
                         stream_enabled=True)

    @worker.task("work")
    async def work(n: int) -> dict:
        seen.append(n)
        if len(seen) == 3:
            done.set()
        return {"done": True}

    running = asyncio.create_task(worker.work())
    try:
        await _streams(one, 1)
        created = [await one.create("one", {"n": n}) for n in range(3)]
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await worker.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await channel.close()
    assert sorted(seen) == [0, 1, 2]
    assert _registry(one).pushed == 3
    for c in created:
        assert await one.state(c.processInstanceKey) == "COMPLETED"
