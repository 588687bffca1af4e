"""Zeebe over gRPC: channels (local, TLS, OAuth, Camunda SaaS) and the console's commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from pyzeebe import (
    ZeebeClient,
    create_camunda_cloud_channel,
    create_insecure_channel,
    create_oauth2_client_credentials_channel,
    create_secure_channel,
)
from pyzeebe.errors import PyZeebeError
from pyzeebe.proto import gateway_pb2, gateway_pb2_grpc

from console.clients.errors import BackendError

DEFAULT_TOKEN_URL = "https://login.cloud.camunda.io/oauth/token"

#: gRPC's reconnect back-off grows to 120 s by default; capped at 1 s, a channel finds an
#: engine that comes back (restarted, or started after the console) within a second.
RECONNECT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


@dataclass(frozen=True, slots=True)
class ZeebeTarget:
    """Where the Zeebe gateway is and how to authenticate to it."""

    address: str | None
    client_id: str | None = None
    client_secret: str | None = None
    authorization_server: str | None = None
    audience: str | None = None
    scope: str | None = None
    cluster_id: str | None = None
    region: str | None = None

    @property
    def uses_oauth(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def describe(self) -> str:
        """Where we connect, without credentials."""
        if self.address:
            return self.address
        return f"{self.cluster_id}.{self.region}.zeebe.camunda.io:443"

    def channel_factory(self) -> Callable[[], grpc.aio.Channel]:
        """A function making a new channel; call it inside the running event loop."""

        def make() -> grpc.aio.Channel:
            if self.uses_oauth and not self.address and self.cluster_id:
                return create_camunda_cloud_channel(
                    client_id=self.client_id,
                    client_secret=self.client_secret,
                    cluster_id=self.cluster_id,
                    region=self.region or "bru-2",
                    scope=self.scope,
                    audience=self.audience or "zeebe.camunda.io",
                    channel_options=RECONNECT_OPTIONS,
                )
            address = _strip_scheme(self.address or "")
            if self.uses_oauth:
                return create_oauth2_client_credentials_channel(
                    grpc_address=address,
                    client_id=self.client_id,
                    client_secret=self.client_secret,
                    authorization_server=self.authorization_server or DEFAULT_TOKEN_URL,
                    scope=self.scope,
                    audience=self.audience or "zeebe.camunda.io",
                    channel_options=RECONNECT_OPTIONS,
                )
            if address.endswith(":443") or (self.address or "").startswith("grpcs://"):
                return create_secure_channel(grpc_address=address, channel_options=RECONNECT_OPTIONS)
            return create_insecure_channel(grpc_address=address, channel_options=RECONNECT_OPTIONS)

        return make


def _strip_scheme(address: str) -> str:
    for prefix in ("grpcs://", "grpc://", "https://", "http://"):
        if address.startswith(prefix):
            return address[len(prefix) :]
    return address


class ZeebeGateway:
    """The console's Zeebe commands, each failing with one-line BackendError."""

    def __init__(self, channel: grpc.aio.Channel, request_timeout_s: float = 15.0) -> None:
        self._channel = channel
        self._client = ZeebeClient(channel, max_connection_retries=-1)
        self._stub = gateway_pb2_grpc.GatewayStub(channel)
        self._timeout = request_timeout_s

    async def close(self) -> None:
        await self._channel.close()

    async def topology(self) -> gateway_pb2.TopologyResponse:
        return await self._call("topology", self._stub.Topology(gateway_pb2.TopologyRequest(), timeout=self._timeout))

    async def deploy(self, path: Path) -> tuple[int, int]:
        """Deploy one BPMN file; returns (processDefinitionKey, version) of its first process."""
        response = await self._call("deploy", self._client.deploy_resource(str(path)))
        process = response.deployments[0]
        return int(process.process_definition_key), int(process.version)

    async def create_instance(self, process_id: str, variables: dict[str, Any]) -> int:
        """CreateProcessInstance of the latest version; returns the instance key."""
        response = await self._call(
            "create instance", self._client.run_process(process_id, variables=variables)
        )
        return int(response.process_instance_key)

    async def cancel_instance(self, key: int) -> None:
        await self._call("cancel instance", self._client.cancel_process_instance(key))

    async def update_job_retries(self, job_key: int, retries: int) -> None:
        request = gateway_pb2.UpdateJobRetriesRequest(jobKey=job_key, retries=retries)
        await self._call("update job retries", self._stub.UpdateJobRetries(request, timeout=self._timeout))

    async def resolve_incident(self, incident_key: int) -> None:
        request = gateway_pb2.ResolveIncidentRequest(incidentKey=incident_key)
        await self._call("resolve incident", self._stub.ResolveIncident(request, timeout=self._timeout))

    async def _call(self, what: str, awaitable: Any) -> Any:
        try:
            return await asyncio.wait_for(awaitable, self._timeout + 1)
        except grpc.aio.AioRpcError as exc:
            code = exc.code().name if exc.code() else "UNKNOWN"
            raise BackendError("zeebe", f"{what} failed: {code}: {_details(exc)}", code) from None
        except PyZeebeError as exc:
            # pyzeebe keeps the gRPC error as the cause, or (its gateway errors) as grpc_error.
            cause = getattr(exc, "grpc_error", None) or exc.__cause__
            if isinstance(cause, grpc.aio.AioRpcError):
                code = cause.code().name
                raise BackendError("zeebe", f"{what} failed: {code}: {_details(cause)}", code) from None
            raise BackendError("zeebe", f"{what} failed: {type(exc).__name__}: {exc}") from None
        except TimeoutError:
            raise BackendError("zeebe", f"{what} timed out after {self._timeout:g} s", "DEADLINE_EXCEEDED") from None


def _details(exc: grpc.aio.AioRpcError) -> str:
    return " ".join((exc.details() or "").split())[:300]
