"""A real engine and shop on loopback, and a console runtime wired to them (fast timings)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.clients.medusa import MedusaAdmin
from console.events import Event
from console.runtime import ConsoleRuntime
from console.settings import Settings
from engine.server import EngineServer
from shop.server import ShopServer


@dataclass
class Backends:
    engine: EngineServer
    shop: ShopServer

    @property
    def zeebe_address(self) -> str:
        return f"127.0.0.1:{self.engine.grpc_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.engine.rest_port}"

    @property
    def shop_url(self) -> str:
        return f"http://127.0.0.1:{self.shop.port}"


@pytest.fixture
async def backends(tmp_path: Path) -> AsyncIterator[Backends]:
    engine = EngineServer(tmp_path / "engine", grpc_port=0, rest_port=0)
    shop = ShopServer(tmp_path / "shop", port=0)
    await engine.start()
    await shop.start()
    try:
        yield Backends(engine, shop)
    finally:
        await shop.stop()
        await engine.stop()


def fast_settings(tmp_path: Path, backends: Backends, **overrides: object) -> Settings:
    """Settings pointing at the loopback backends with the seed's numbers scaled down."""
    values: dict[str, object] = {
        "zeebe_address": backends.zeebe_address,
        "zeebe_rest_address": backends.rest_url,
        "medusa_backend_url": backends.shop_url,
        "data_dir": tmp_path / "console",
        "stage_delays": (0.05, 0.05, 0.05),
        "callback_backoff_s": 0.02,
        "callback_timeout_s": 2.0,
        "job_retry_backoff_ms": 100,
        "poll_interval_s": 0.1,
        "auto_start": True,
        "claim_settle_s": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


class Recorder:
    """Collects every event and lets a test wait for one that matches."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        loop = asyncio.get_running_loop()
        loop.create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def of(self, kind: type, **fields: object) -> list:
        return [
            e for e in self.events
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in fields.items())
        ]

    async def wait_for(self, predicate: Callable[[], object], within: float = 20.0) -> object:
        async with asyncio.timeout(within):
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result


@contextlib.asynccontextmanager
async def running_console(settings: Settings) -> AsyncIterator[tuple[ConsoleRuntime, Recorder]]:
    """A started runtime with its background jobs, and a recorder of its events."""
    runtime = ConsoleRuntime(settings)
    recorder = Recorder()
    runtime.bus.subscribe(recorder)
    await runtime.start()
    runtime.start_background()
    try:
        yield runtime, recorder
    finally:
        await runtime.stop()


@pytest.fixture
async def console(tmp_path: Path, backends: Backends) -> AsyncIterator[tuple[ConsoleRuntime, Recorder]]:
    """A started runtime (workers, order feed, incident poller, auto-start) on the backends."""
    async with running_console(fast_settings(tmp_path, backends)) as started:
        yield started


class ReadingAdmin(MedusaAdmin):
    """The real client, noting every list call: its arguments and the orders that came back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[dict, list[dict]]] = []
        #: Run before a read by id (to change the shop between the lean listing and it).
        self.before_by_id = None

    async def list_orders(self, *args, **kwargs):
        if kwargs.get("ids") and self.before_by_id is not None:
            self.before_by_id(kwargs["ids"])
        page, count = await super().list_orders(*args, **kwargs)
        self.calls.append((kwargs, page))
        return page, count

    def full_rows(self) -> list[str]:
        """The ids of every order read in full (with totals and items) since the last clear."""
        return [row["id"] for _, page in self.calls for row in page if "summary" in row]

    def page_sizes(self) -> list[int]:
        """How many orders each list call since the last clear brought back."""
        return [len(page) for _, page in self.calls]
