"""Group commit: persists everything changed since the last commit in one SQLite transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .runtime import Runtime
from .store import EngineStore

log = logging.getLogger(__name__)


class CommitFailed(RuntimeError):
    """The store could not persist a batch; the replies that waited on it must fail."""


class GroupCommitter:
    """Runs commits back to back off the event loop; replies wait on ``barrier()``.

    Whatever the runtime changed while one commit was being written goes into the next
    one, so under load each transaction carries many commands.
    """

    def __init__(self, runtime: Runtime, store: EngineStore) -> None:
        self._runtime = runtime
        self._store = store
        self._waiters: list[asyncio.Future[None]] = []
        #: Barriers whose changes are all in the commit being written now.
        self._in_flight_waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._in_flight = False
        self._task: asyncio.Task[None] | None = None
        self.commits = 0
        self._written_counter = runtime.keys.counter
        runtime.changes.on_dirty = self._wake.set

    async def barrier(self) -> None:
        """Return once every change made so far is durable.

        With nothing dirty, every change so far went into the commit being written (if
        any), so that commit is enough; only dirty changes need the next one.
        """
        if self._runtime.changes.dirty:
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            self._wake.set()
        elif self._in_flight:
            fut = asyncio.get_running_loop().create_future()
            self._in_flight_waiters.append(fut)
        else:
            return
        await fut

    async def _commit_once(self) -> None:
        waiters, self._waiters = self._waiters, []
        error: BaseException | None = None
        changes = self._runtime.changes
        if changes.dirty:
            batch = changes.take(self._runtime.keys.counter)
            if not batch.is_empty() or batch.key_counter != self._written_counter:
                self._in_flight = True
                try:
                    await asyncio.to_thread(self._store.write, batch)
                    self.commits += 1
                    self._written_counter = batch.key_counter
                except Exception as exc:  # disk full, I/O error: fail the replies, keep going
                    log.exception("engine group commit failed")
                    error = exc
                finally:
                    self._in_flight = False
        # Nothing is being written now: barriers that waited for the write just done go too.
        waiters += self._in_flight_waiters
        self._in_flight_waiters = []
        for fut in waiters:
            if fut.done():
                continue
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(CommitFailed(f"could not persist engine state: {error}"))

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # A command's follow-ups run in callbacks it scheduled (a pushed job's activation,
            # a parked long poll being served): let them land in this commit too, instead
            # of each needing a commit of its own right after.
            await asyncio.sleep(0)
            self._wake.clear()
            await self._commit_once()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="engine-commit")

    async def stop(self) -> None:
        """Write what is still pending, then stop."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self.barrier()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._commit_once()
