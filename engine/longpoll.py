"""Parked ActivateJobs requests, served FIFO per job type when jobs become activatable."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from .records import ActivatedJobView
from .runtime import Runtime


@dataclass(eq=False, slots=True)
class ParkedRequest:
    job_type: str
    worker: str
    timeout_ms: int
    max_jobs: int
    fetch_variables: list[str]
    future: asyncio.Future[list[ActivatedJobView]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class LongPollRegistry:
    """Wakes parked requests; activation runs after the command that freed the jobs."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._parked: dict[str, deque[ParkedRequest]] = {}
        self._pending_types: set[str] = set()
        self._serve_scheduled = False
        self._changed = asyncio.Event()
        runtime.on_jobs_available = self._jobs_available

    def parked_count(self, job_type: str) -> int:
        """How many requests for ``job_type`` wait right now."""
        return sum(1 for r in self._parked.get(job_type, ()) if not r.future.done())

    async def wait_for_parked(self, job_type: str, count: int) -> None:
        """Return once exactly ``count`` requests for ``job_type`` wait (for diagnostics)."""
        while True:
            changed = self._changed
            if self.parked_count(job_type) == count:
                return
            await changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def park(self, request: ParkedRequest) -> None:
        self._parked.setdefault(request.job_type, deque()).append(request)
        self._notify()

    def unpark(self, request: ParkedRequest) -> None:
        if not request.future.done():
            request.future.cancel()
        queue = self._parked.get(request.job_type)
        if queue is not None:
            try:
                queue.remove(request)
            except ValueError:
                pass
            if not queue:
                del self._parked[request.job_type]
        self._notify()

    def _jobs_available(self, job_type: str) -> None:
        if job_type not in self._parked:
            return
        self._pending_types.add(job_type)
        if not self._serve_scheduled:
            self._serve_scheduled = True
            asyncio.get_running_loop().call_soon(self._serve)

    def _serve(self) -> None:
        self._serve_scheduled = False
        types, self._pending_types = self._pending_types, set()
        for job_type in types:
            queue = self._parked.get(job_type)
            while queue:
                request = queue[0]
                if request.future.done():
                    queue.popleft()
                    continue
                jobs = self._runtime.activate_jobs(
                    job_type, request.worker, request.timeout_ms, request.max_jobs,
                    request.fetch_variables,
                )
                if not jobs:
                    break
                queue.popleft()
                request.future.set_result(jobs)
            if not queue:
                self._parked.pop(job_type, None)

    def close_all(self) -> None:
        """End every parked request with no jobs (used on shutdown)."""
        for queue in self._parked.values():
            for request in queue:
                if not request.future.done():
                    request.future.set_result([])
        self._parked.clear()
