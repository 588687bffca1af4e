"""gRPC servicer of the Zeebe gateway protocol, backed by the in-memory runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import grpc
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto import gateway_pb2_grpc as pb_grpc

from .committer import GroupCommitter
from .errors import INVALID_ARGUMENT, Rejection
from .longpoll import LongPollRegistry, ParkedRequest
from .records import DEFAULT_TENANT, ActivatedJobView
from .runtime import Runtime
from .topology import BROKER_HOST, BROKER_PORT, GATEWAY_VERSION, PARTITION_ID
from .variables import parse_document

log = logging.getLogger(__name__)

DEFAULT_LONG_POLL_MS = 10_000
# Answer a parked request this long before the client's own deadline would cut it off.
DEADLINE_MARGIN_S = 0.2


def _unimplemented(name: str) -> Callable[..., Awaitable[NoReturn]]:
    async def handler(self: Any, request: Any, context: grpc.aio.ServicerContext) -> NoReturn:
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, f"RPC '{name}' is not implemented by this engine")

    handler.__name__ = name
    return handler


def _check_tenant(tenant_id: str) -> None:
    if tenant_id and tenant_id != DEFAULT_TENANT:
        raise Rejection(
            INVALID_ARGUMENT,
            f"Expected to handle request with tenant identifier '{tenant_id}', but "
            "multi-tenancy is disabled",
        )


def _activated_job(view: ActivatedJobView) -> pb.ActivatedJob:
    return pb.ActivatedJob(
        key=view.key, type=view.type, processInstanceKey=view.process_instance_key,
        bpmnProcessId=view.bpmn_process_id,
        processDefinitionVersion=view.process_definition_version,
        processDefinitionKey=view.process_definition_key, elementId=view.element_id,
        elementInstanceKey=view.element_instance_key, customHeaders=view.custom_headers,
        worker=view.worker, retries=view.retries, deadline=view.deadline_ms,
        variables=view.variables, tenantId=view.tenant_id,
    )


class GatewayServicer(pb_grpc.GatewayServicer):
    """Each RPC runs one runtime command, then waits for the commit that holds its effects."""

    def __init__(self, runtime: Runtime, committer: GroupCommitter, longpoll: LongPollRegistry) -> None:
        self._runtime = runtime
        self._committer = committer
        self._longpoll = longpoll

    async def _fail(self, context: grpc.aio.ServicerContext, exc: Exception) -> NoReturn:
        if isinstance(exc, Rejection):
            await self._committer.barrier()
            await context.abort(exc.grpc_status, exc.grpc_message())
        log.exception("engine command failed", exc_info=exc)
        await context.abort(grpc.StatusCode.INTERNAL, f"Unexpected error: {exc}")

    # ------------------------------------------------------------------ cluster

    async def Topology(self, request: pb.TopologyRequest, context: grpc.aio.ServicerContext) -> pb.TopologyResponse:
        partition = pb.Partition(
            partitionId=PARTITION_ID, role=pb.Partition.LEADER, health=pb.Partition.HEALTHY)
        broker = pb.BrokerInfo(
            nodeId=0, host=BROKER_HOST, port=BROKER_PORT, partitions=[partition],
            version=GATEWAY_VERSION)
        return pb.TopologyResponse(
            brokers=[broker], clusterSize=1, partitionsCount=1, replicationFactor=1,
            gatewayVersion=GATEWAY_VERSION)

    # ------------------------------------------------------------------ deployment

    async def DeployResource(self, request: pb.DeployResourceRequest, context: grpc.aio.ServicerContext) -> pb.DeployResourceResponse:
        try:
            _check_tenant(request.tenantId)
            result = self._runtime.deploy(
                ((r.name, bytes(r.content)) for r in request.resources), request.tenantId)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.DeployResourceResponse(
            key=result.key,
            tenantId=result.tenant_id,
            deployments=[
                pb.Deployment(process=pb.ProcessMetadata(
                    bpmnProcessId=d.bpmn_process_id, version=d.version,
                    processDefinitionKey=d.key, resourceName=d.resource_name,
                    tenantId=d.tenant_id))
                for d in result.definitions
            ],
        )

    # ------------------------------------------------------------------ instances

    async def CreateProcessInstance(self, request: pb.CreateProcessInstanceRequest, context: grpc.aio.ServicerContext) -> pb.CreateProcessInstanceResponse:
        try:
            _check_tenant(request.tenantId)
            variables = parse_document(request.variables)
            if len(request.startInstructions):
                raise Rejection(
                    INVALID_ARGUMENT, "start instructions are not supported by this engine",
                    "CREATE")
            definition = self._runtime.find_definition(
                request.bpmnProcessId, request.version, request.processDefinitionKey)
            pi = self._runtime.create_instance(definition, variables)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.CreateProcessInstanceResponse(
            processDefinitionKey=definition.key, bpmnProcessId=definition.bpmn_process_id,
            version=definition.version, processInstanceKey=pi.key, tenantId=definition.tenant_id)

    async def CancelProcessInstance(self, request: pb.CancelProcessInstanceRequest, context: grpc.aio.ServicerContext) -> pb.CancelProcessInstanceResponse:
        try:
            self._runtime.cancel_instance(request.processInstanceKey)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.CancelProcessInstanceResponse()

    # ------------------------------------------------------------------ jobs

    async def ActivateJobs(self, request: pb.ActivateJobsRequest, context: grpc.aio.ServicerContext) -> None:
        problem = None
        if not request.type.strip():
            problem = "Expected to activate jobs with a non-empty type, but it was blank"
        elif not request.worker.strip():
            problem = "Expected to activate jobs with a non-empty worker name, but it was blank"
        elif request.timeout < 1:
            problem = ("Expected to activate jobs with a timeout greater than 0, but it was "
                       f"{request.timeout}")
        elif request.maxJobsToActivate < 1:
            problem = ("Expected to activate jobs with maxJobsToActivate greater than 0, but "
                       f"it was {request.maxJobsToActivate}")
        if problem is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        fetch = list(request.fetchVariable)
        jobs = self._runtime.activate_jobs(
            request.type, request.worker, request.timeout, request.maxJobsToActivate, fetch)
        if not jobs and request.requestTimeout >= 0:
            jobs = await self._long_poll(request, context, fetch)
        if not jobs:
            return
        try:
            await self._committer.barrier()
            await context.write(pb.ActivateJobsResponse(jobs=[_activated_job(v) for v in jobs]))
        except BaseException:
            self._runtime.release_jobs(jobs)
            raise

    async def _long_poll(
        self, request: pb.ActivateJobsRequest, context: grpc.aio.ServicerContext,
        fetch: list[str],
    ) -> list[ActivatedJobView]:
        wait_s = (request.requestTimeout or DEFAULT_LONG_POLL_MS) / 1000
        remaining = context.time_remaining()
        if remaining is not None:
            wait_s = min(wait_s, max(0.0, remaining - DEADLINE_MARGIN_S))
        parked = ParkedRequest(request.type, request.worker, request.timeout,
                               request.maxJobsToActivate, fetch)
        future = parked.future
        self._longpoll.park(parked)
        timer = asyncio.get_running_loop().call_later(
            wait_s, lambda: future.done() or future.set_result([]))
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._runtime.release_jobs(future.result())
            raise
        finally:
            timer.cancel()
            self._longpoll.unpark(parked)

    async def CompleteJob(self, request: pb.CompleteJobRequest, context: grpc.aio.ServicerContext) -> pb.CompleteJobResponse:
        try:
            variables = parse_document(request.variables)
            self._runtime.complete_job(request.jobKey, variables)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.CompleteJobResponse()

    async def FailJob(self, request: pb.FailJobRequest, context: grpc.aio.ServicerContext) -> pb.FailJobResponse:
        try:
            variables = parse_document(request.variables)
            self._runtime.fail_job(request.jobKey, request.retries, request.errorMessage,
                                   request.retryBackOff, variables)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.FailJobResponse()

    async def UpdateJobRetries(self, request: pb.UpdateJobRetriesRequest, context: grpc.aio.ServicerContext) -> pb.UpdateJobRetriesResponse:
        try:
            self._runtime.update_job_retries(request.jobKey, request.retries)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.UpdateJobRetriesResponse()

    async def UpdateJobTimeout(self, request: pb.UpdateJobTimeoutRequest, context: grpc.aio.ServicerContext) -> pb.UpdateJobTimeoutResponse:
        try:
            self._runtime.update_job_timeout(request.jobKey, request.timeout)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.UpdateJobTimeoutResponse()

    # ------------------------------------------------------------------ incidents

    async def ResolveIncident(self, request: pb.ResolveIncidentRequest, context: grpc.aio.ServicerContext) -> pb.ResolveIncidentResponse:
        try:
            self._runtime.resolve_incident(request.incidentKey)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.ResolveIncidentResponse()

    # ------------------------------------------------------------------ not in this engine yet

    CreateProcessInstanceWithResult = _unimplemented("CreateProcessInstanceWithResult")
    DeployProcess = _unimplemented("DeployProcess")
    StreamActivatedJobs = _unimplemented("StreamActivatedJobs")
    ThrowError = _unimplemented("ThrowError")
    SetVariables = _unimplemented("SetVariables")
    PublishMessage = _unimplemented("PublishMessage")
    BroadcastSignal = _unimplemented("BroadcastSignal")
    EvaluateDecision = _unimplemented("EvaluateDecision")
    ModifyProcessInstance = _unimplemented("ModifyProcessInstance")
    MigrateProcessInstance = _unimplemented("MigrateProcessInstance")
    DeleteResource = _unimplemented("DeleteResource")
