"""Job push: open StreamActivatedJobs calls get jobs the moment they become activatable."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from .records import ActivatedJobView, Job
from .runtime import Runtime


@dataclass(eq=False, slots=True)
class JobStream:
    """One open stream; activated jobs wait in ``queue`` until the call writes them."""

    job_type: str
    worker: str
    timeout_ms: int
    fetch_variables: list[str]
    queue: asyncio.Queue[ActivatedJobView | None] = field(default_factory=asyncio.Queue)

    async def next_batch(self) -> list[ActivatedJobView] | None:
        """Every job waiting right now (at least one); None once the stream is to end."""
        first = await self.queue.get()
        if first is None:
            return None
        batch = [first]
        while not self.queue.empty():
            view = self.queue.get_nowait()
            if view is None:
                self.queue.put_nowait(None)  # end after this batch
                break
            batch.append(view)
        return batch


class JobStreamRegistry:
    """Takes activatable jobs of streamed types away from the backlog and pushes them.

    The runtime offers every job that becomes activatable; a job of a type with open
    streams is activated right after the current command, for one stream chosen at random.
    Jobs already waiting in the backlog stay there for ActivateJobs. A job whose push
    cannot be delivered is released, i.e. becomes activatable (and is offered) again.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._streams: dict[str, list[JobStream]] = {}
        self._offered: list[Job] = []
        self._flush_scheduled = False
        self._changed = asyncio.Event()
        self.pushed = 0  # jobs handed to streams so far (diagnostics)
        runtime.job_offer = self._offer

    def open(self, job_type: str, worker: str, timeout_ms: int,
             fetch_variables: list[str]) -> JobStream:
        stream = JobStream(job_type, worker, timeout_ms, fetch_variables)
        self._streams.setdefault(job_type, []).append(stream)
        self._notify()
        return stream

    def close(self, stream: JobStream) -> None:
        """Forget the stream and release the jobs it could not deliver."""
        streams = self._streams.get(stream.job_type)
        if streams is not None and stream in streams:
            streams.remove(stream)
            if not streams:
                del self._streams[stream.job_type]
        undelivered = []
        while not stream.queue.empty():
            view = stream.queue.get_nowait()
            if view is not None:
                undelivered.append(view)
        self._runtime.release_jobs(undelivered)
        self._notify()

    def close_all(self) -> None:
        """End every stream normally (used on shutdown)."""
        for streams in list(self._streams.values()):
            for stream in streams:
                stream.queue.put_nowait(None)

    def stream_count(self, job_type: str) -> int:
        return len(self._streams.get(job_type, ()))

    async def wait_for_streams(self, job_type: str, count: int) -> None:
        """Return once exactly ``count`` streams for ``job_type`` are open (diagnostics)."""
        while True:
            changed = self._changed
            if self.stream_count(job_type) == count:
                return
            await changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _offer(self, job: Job) -> bool:
        if job.type not in self._streams:
            return False
        self._offered.append(job)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return True

    def _flush(self) -> None:
        self._flush_scheduled = False
        offered, self._offered = self._offered, []
        runtime = self._runtime
        for job in offered:
            streams = self._streams.get(job.type)
            if not streams:
                runtime.requeue(job)
                continue
            stream = random.choice(streams)
            view = runtime.activate_pushed(job, stream.worker, stream.timeout_ms,
                                           stream.fetch_variables)
            if view is not None:
                self.pushed += 1
                stream.queue.put_nowait(view)
