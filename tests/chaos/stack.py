"""In-process pieces of the chaos tier: the embedded child on loopback and a headless console runtime."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from console.embedded import EmbeddedServices
from console.runtime import ConsoleRuntime
from console.settings import Settings


@dataclass(frozen=True)
class Stack:
    """Where the embedded child serves."""

    services: EmbeddedServices
    zeebe_address: str
    rest_url: str
    shop_url: str

    @property
    def shop_port(self) -> int:
        return int(self.shop_url.rsplit(":", 1)[1])


@contextlib.asynccontextmanager
async def embedded_stack(data_dir: Path, *, engine: bool = True, shop: bool = True, grpc_port: int = 0,
                         rest_port: int = 0, shop_port: int = 0) -> AsyncIterator[Stack]:
    """The real embedded engine and/or shop child process (as ``medcam-console engine`` runs it)."""
    services = EmbeddedServices(data_dir, engine=engine, shop=shop, grpc_port=grpc_port, rest_port=rest_port,
                                shop_port=shop_port)
    found = await services.start()
    try:
        yield Stack(services, found.zeebe_address or "", found.zeebe_rest_url or "", found.medusa_url or "")
    finally:
        await services.stop()


class Recorder:
    """Keeps every event of a console's bus."""

    def __init__(self) -> None:
        self.events: list = []

    def __call__(self, event: object) -> None:
        self.events.append(event)


@contextlib.asynccontextmanager
async def headless_console(settings: Settings, **options: object) -> AsyncIterator[tuple[ConsoleRuntime, Recorder]]:
    """A started console runtime with its background jobs (workers, feed, pollers, monitor)."""
    runtime = ConsoleRuntime(settings, **options)  # type: ignore[arg-type]
    recorder = Recorder()
    runtime.bus.subscribe(recorder)
    try:
        await runtime.start()
        runtime.start_background()
        yield runtime, recorder
    finally:
        await runtime.stop()


def header(app) -> str:  # noqa: ANN001 - MedcamApp
    """The header's status line as drawn (plain text)."""
    from console.widgets.status_bar import StatusBar

    content = app.screen.query_one(StatusBar).content
    return getattr(content, "plain", str(content))


async def until(pilot, check, *, within_s: float, what: str):  # noqa: ANN001 - Textual Pilot
    """Let the app run (refresh ticks, workers) until ``check()`` is truthy; fails after ``within_s``."""
    import time

    deadline = time.monotonic() + within_s
    while not (value := check()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not reached within {within_s:g} s")
        await pilot.pause(0.05)
    return value
