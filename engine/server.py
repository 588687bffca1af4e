"""EngineServer: wires store, runtime, scheduler, committer, gRPC gateway and REST app."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from pyzeebe.proto import gateway_pb2_grpc

from serving.asgi import HttpServer

from .clock import Clock, SystemClock
from .committer import GroupCommitter
from .gateway import GatewayServicer
from .jobstreams import JobStreamRegistry
from .longpoll import LongPollRegistry
from .rest import RestApi
from .runtime import Runtime
from .scheduler import Scheduler
from .store import EngineStore

log = logging.getLogger(__name__)

GATEWAY_SERVICE = "gateway_protocol.Gateway"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class EngineServer:
    """The embedded Zeebe-compatible engine: gRPC gateway plus REST v2 on loopback."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", grpc_port: int = 26500,
                 rest_port: int = 8080, clock: Clock | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.grpc_port = grpc_port
        self.rest_port = rest_port
        self.clock: Clock = clock or SystemClock()
        self._store: EngineStore | None = None
        self._scheduler: Scheduler | None = None
        self._committer: GroupCommitter | None = None
        self._longpoll: LongPollRegistry | None = None
        self._streams: JobStreamRegistry | None = None
        self._grpc: grpc.aio.Server | None = None
        self._health: health_aio.HealthServicer | None = None
        self._rest: HttpServer | None = None
        self.runtime: Runtime | None = None

    async def start(self) -> None:
        """Load state, then bind both servers (port 0 lets the OS pick one)."""
        store = self._store = EngineStore(self.data_dir)
        scheduler = self._scheduler = Scheduler(self.clock)
        runtime = self.runtime = Runtime(self.clock, scheduler)
        runtime.restore(await asyncio.to_thread(store.load))
        committer = self._committer = GroupCommitter(runtime, store)
        longpoll = self._longpoll = LongPollRegistry(runtime)
        streams = self._streams = JobStreamRegistry(runtime)
        committer.start()
        scheduler.start()

        server = self._grpc = grpc.aio.server(options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ])
        gateway_pb2_grpc.add_GatewayServicer_to_server(
            GatewayServicer(runtime, committer, longpoll, streams), server)
        health = self._health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        self.grpc_port = server.add_insecure_port(f"{self.host}:{self.grpc_port}")
        await server.start()
        for service in ("", GATEWAY_SERVICE):
            await health.set(service, health_pb2.HealthCheckResponse.SERVING)

        rest = self._rest = HttpServer(
            RestApi(store, committer, runtime).app(), self.host, self.rest_port, "engine REST server")
        await rest.start()
        self.rest_port = rest.port
        log.info("engine serving gRPC on %s:%s and REST on %s:%s",
                 self.host, self.grpc_port, self.host, self.rest_port)

    async def stop(self, grace: float = 1.0) -> None:
        """End long polls, stop serving, write what is pending and close SQLite."""
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
            self._health = None
        if self._longpoll is not None:
            self._longpoll.close_all()
            self._longpoll = None
        if self._streams is not None:
            self._streams.close_all()
            self._streams = None
        if self._grpc is not None:
            await self._grpc.stop(grace)
            self._grpc = None
        if self._rest is not None:
            await self._rest.stop(timeout_s=grace + 5)
            self._rest = None
        if self._scheduler is not None:
            await self._scheduler.stop()
            self._scheduler = None
        if self._committer is not None:
            await self._committer.stop()
            self._committer = None
        if self._store is not None:
            self._store.close()
            self._store = None
