"""Group commit: a command and its follow-ups share one commit; barriers wait no longer than needed."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest
from pyzeebe.proto import gateway_pb2 as pb

from engine.changes import Batch, ChangeSet
from engine.committer import CommitFailed, GroupCommitter

from .conftest import Engine, Task, chain_bpmn

TWO = chain_bpmn("two", Task("first", "first"), Task("second", "second"))


class GatedStore:
    """A store whose writes wait (in the committer's thread) until the test opens the gate."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[Batch] = []
        self.started = threading.Event()
        self.gate = threading.Event()
        self.fail = fail

    def write(self, batch: Batch) -> None:
        self.batches.append(batch)
        self.started.set()
        self.gate.wait(10)
        if self.fail:
            raise OSError("disk full")


def _runtime() -> SimpleNamespace:
    return SimpleNamespace(keys=SimpleNamespace(counter=0), changes=ChangeSet())


async def _in_flight(store: GatedStore) -> None:
    await asyncio.wait_for(asyncio.to_thread(store.started.wait, 10), 15)


async def test_a_barrier_with_nothing_dirty_waits_only_for_the_commit_being_written() -> None:
    runtime, store = _runtime(), GatedStore()
    committer = GroupCommitter(runtime, store)  # type: ignore[arg-type]
    committer.start()
    try:
        runtime.keys.counter = 1
        runtime.changes.touch()
        first = asyncio.ensure_future(committer.barrier())
        await _in_flight(store)
        # Everything changed so far is in the write under way: that write is enough.
        second = asyncio.ensure_future(committer.barrier())
        await asyncio.sleep(0.05)
        assert not first.done() and not second.done()
        store.gate.set()
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        assert len(store.batches) == 1
        # Nothing written, nothing dirty: a barrier returns at once.
        await asyncio.wait_for(committer.barrier(), 1)
        assert len(store.batches) == 1
    finally:
        store.gate.set()
        await committer.stop()


async def test_a_change_made_while_a_commit_is_written_waits_for_the_next_one() -> None:
    runtime, store = _runtime(), GatedStore()
    committer = GroupCommitter(runtime, store)  # type: ignore[arg-type]
    committer.start()
    try:
        runtime.keys.counter = 1
        runtime.changes.touch()
        first = asyncio.ensure_future(committer.barrier())
        await _in_flight(store)
        runtime.keys.counter = 2
        runtime.changes.touch()
        later = asyncio.ensure_future(committer.barrier())
        store.gate.set()
        await asyncio.wait_for(first, 5)
        await asyncio.wait_for(later, 5)
        assert [b.key_counter for b in store.batches] == [1, 2]
    finally:
        store.gate.set()
        await committer.stop()


async def test_a_failed_commit_fails_every_barrier_that_waited_for_it() -> None:
    runtime, store = _runtime(), GatedStore(fail=True)
    committer = GroupCommitter(runtime, store)  # type: ignore[arg-type]
    committer.start()
    try:
        runtime.keys.counter = 1
        runtime.changes.touch()
        first = asyncio.ensure_future(committer.barrier())
        await _in_flight(store)
        second = asyncio.ensure_future(committer.barrier())
        store.gate.set()
        for waiter in (first, second):
            with pytest.raises(CommitFailed, match="disk full"):
                await asyncio.wait_for(waiter, 5)
    finally:
        store.gate.set()
        store.fail = False
        await committer.stop()


async def test_a_job_pushed_to_a_stream_is_activated_in_the_commit_that_created_it(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO))
    committer = engine.server._committer  # noqa: SLF001 - test introspection
    streams = engine.server._streams  # noqa: SLF001
    assert committer is not None and streams is not None
    calls = {
        job_type: engine.stub.StreamActivatedJobs(pb.StreamActivatedJobsRequest(
            type=job_type, worker="pusher", timeout=30_000))
        for job_type in ("first", "second")
    }
    for job_type in calls:
        await asyncio.wait_for(streams.wait_for_streams(job_type, 1), 5)
    before = committer.commits
    created = await engine.create("two")
    first = await asyncio.wait_for(calls["first"].read(), 5)
    assert first.processInstanceKey == created.processInstanceKey
    # CreateProcessInstance and the activation of the job it pushed: one commit.
    assert committer.commits == before + 1
    await engine.complete(first.key)
    second = await asyncio.wait_for(calls["second"].read(), 5)
    assert second.processInstanceKey == created.processInstanceKey
    assert committer.commits == before + 2
    await engine.complete(second.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
    for call in calls.values():
        call.cancel()
