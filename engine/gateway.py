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
from .jobstreams import JobStreamRegistry
from .longpoll import LongPollRegistry, ParkedRequest
from .records import DEFAULT_TENANT, ActivatedJobView, ProcessDefinition
from .runtime import DeploymentResult, Runtime
from .topology import BROKER_HOST, BROKER_PORT, GATEWAY_VERSION, PARTITION_ID
from .variables import parse_document, render_document

log = logging.getLogger(__name__)

DEFAULT_LONG_POLL_MS = 10_000
DEFAULT_REQUEST_TIMEOUT_MS = 15_000
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


def _check_tenants(tenant_ids: Any) -> None:
    for tenant_id in tenant_ids:
        _check_tenant(tenant_id)


def _process_metadata(d: ProcessDefinition) -> pb.ProcessMetadata:
    return pb.ProcessMetadata(
        bpmnProcessId=d.bpmn_process_id, version=d.version, processDefinitionKey=d.key,
        resourceName=d.resource_name, tenantId=d.tenant_id)


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

    def __init__(self, runtime: Runtime, committer: GroupCommitter, longpoll: LongPollRegistry,
                 streams: JobStreamRegistry) -> None:
        self._runtime = runtime
        self._committer = committer
        self._longpoll = longpoll
        self._streams = streams

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

    async def _deploy(self, resources: list[tuple[str, bytes]], tenant_id: str,
                      context: grpc.aio.ServicerContext) -> DeploymentResult:
        try:
            _check_tenant(tenant_id)
            result = self._runtime.deploy(resources, tenant_id)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return result

    async def DeployResource(self, request: pb.DeployResourceRequest, context: grpc.aio.ServicerContext) -> pb.DeployResourceResponse:
        result = await self._deploy(
            [(r.name, bytes(r.content)) for r in request.resources], request.tenantId, context)
        return pb.DeployResourceResponse(
            key=result.key,
            tenantId=result.tenant_id,
            deployments=[pb.Deployment(process=_process_metadata(d)) for d in result.definitions],
        )

    async def DeployProcess(self, request: pb.DeployProcessRequest, context: grpc.aio.ServicerContext) -> pb.DeployProcessResponse:
        """The deprecated (pre-8.0) deploy call: BPMN only, same rules."""
        result = await self._deploy(
            [(p.name, bytes(p.definition)) for p in request.processes], "", context)
        return pb.DeployProcessResponse(
            key=result.key, processes=[_process_metadata(d) for d in result.definitions])

    # ------------------------------------------------------------------ instances

    def _create(self, request: pb.CreateProcessInstanceRequest,
                on_complete: Callable[[dict[str, str]], None] | None = None,
                ) -> tuple[ProcessDefinition, int]:
        _check_tenant(request.tenantId)
        variables = parse_document(request.variables)
        if len(request.startInstructions):
            raise Rejection(
                INVALID_ARGUMENT, "start instructions are not supported by this engine",
                "CREATE")
        definition = self._runtime.find_definition(
            request.bpmnProcessId, request.version, request.processDefinitionKey)
        pi = self._runtime.create_instance(definition, variables, on_complete)
        return definition, pi.key

    async def CreateProcessInstance(self, request: pb.CreateProcessInstanceRequest, context: grpc.aio.ServicerContext) -> pb.CreateProcessInstanceResponse:
        try:
            definition, key = self._create(request)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.CreateProcessInstanceResponse(
            processDefinitionKey=definition.key, bpmnProcessId=definition.bpmn_process_id,
            version=definition.version, processInstanceKey=key, tenantId=definition.tenant_id)

    async def CreateProcessInstanceWithResult(self, request: pb.CreateProcessInstanceWithResultRequest, context: grpc.aio.ServicerContext) -> pb.CreateProcessInstanceWithResultResponse:
        """Hold the reply until the instance completes; a cancelled one never answers OK."""
        done: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

        def on_complete(variables: dict[str, str]) -> None:
            if not done.done():
                done.set_result(variables)

        try:
            definition, key = self._create(request.request, on_complete)
        except Exception as exc:
            await self._fail(context, exc)
        timeout_ms = request.requestTimeout if request.requestTimeout > 0 else DEFAULT_REQUEST_TIMEOUT_MS
        try:
            variables = await asyncio.wait_for(done, timeout_ms / 1000)
        except TimeoutError:
            self._runtime.result_listeners.pop(key, None)
            await self._committer.barrier()
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"Expected process instance '{key}' to complete within {timeout_ms} ms, but it "
                "did not; it keeps running",
            )
        finally:
            self._runtime.result_listeners.pop(key, None)
        await self._committer.barrier()
        names = list(request.fetchVariables)
        if names:
            variables = {n: variables[n] for n in names if n in variables}
        return pb.CreateProcessInstanceWithResultResponse(
            processDefinitionKey=definition.key, bpmnProcessId=definition.bpmn_process_id,
            version=definition.version, processInstanceKey=key,
            variables=render_document(variables), tenantId=definition.tenant_id)

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

    async def StreamActivatedJobs(self, request: pb.StreamActivatedJobsRequest, context: grpc.aio.ServicerContext) -> None:
        """Push jobs as they become activatable, until the client goes away."""
        problem = None
        if not request.type.strip():
            problem = "Expected to stream activated jobs with a non-empty type, but it was blank"
        elif request.timeout < 1:
            problem = ("Expected to stream activated jobs with a timeout greater than 0, but it "
                       f"was {request.timeout}")
        else:
            try:
                _check_tenants(request.tenantIds)
            except Rejection as exc:
                problem = exc.message
        if problem is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        stream = self._streams.open(request.type, request.worker, request.timeout,
                                    list(request.fetchVariable))
        try:
            while True:
                batch = await stream.next_batch()
                if batch is None:  # the engine is shutting down
                    return
                sent = 0
                try:
                    await self._committer.barrier()  # one commit covers the whole batch
                    for view in batch:
                        await context.write(_activated_job(view))
                        sent += 1
                except BaseException:
                    self._runtime.release_jobs(batch[sent:])
                    raise
        finally:
            self._streams.close(stream)

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

    async def ThrowError(self, request: pb.ThrowErrorRequest, context: grpc.aio.ServicerContext) -> pb.ThrowErrorResponse:
        try:
            variables = parse_document(request.variables)
            self._runtime.throw_error(request.jobKey, request.errorCode, request.errorMessage,
                                      variables)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.ThrowErrorResponse()

    async def BroadcastSignal(self, request: pb.BroadcastSignalRequest, context: grpc.aio.ServicerContext) -> pb.BroadcastSignalResponse:
        """Signal events are not supported: the signal gets a key and reaches nobody."""
        try:
            _check_tenant(request.tenantId)
            parse_document(request.variables)
            key = self._runtime.broadcast_signal()
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.BroadcastSignalResponse(key=key, tenantId=DEFAULT_TENANT)

    async def SetVariables(self, request: pb.SetVariablesRequest, context: grpc.aio.ServicerContext) -> pb.SetVariablesResponse:
        try:
            variables = parse_document(request.variables)
            key = self._runtime.set_variables(request.elementInstanceKey, variables, request.local)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.SetVariablesResponse(key=key)

    # ------------------------------------------------------------------ messages

    async def PublishMessage(self, request: pb.PublishMessageRequest, context: grpc.aio.ServicerContext) -> pb.PublishMessageResponse:
        try:
            _check_tenant(request.tenantId)
            variables = parse_document(request.variables)
            key = self._runtime.publish_message(
                request.name, request.correlationKey, max(0, request.timeToLive),
                request.messageId, variables)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.PublishMessageResponse(key=key, tenantId=DEFAULT_TENANT)

    # ------------------------------------------------------------------ incidents

    async def ResolveIncident(self, request: pb.ResolveIncidentRequest, context: grpc.aio.ServicerContext) -> pb.ResolveIncidentResponse:
        try:
            self._runtime.resolve_incident(request.incidentKey)
        except Exception as exc:
            await self._fail(context, exc)
        await self._committer.barrier()
        return pb.ResolveIncidentResponse()

    # ------------------------------------------------------------------ not in this engine yet

    EvaluateDecision = _unimplemented("EvaluateDecision")
    ModifyProcessInstance = _unimplemented("ModifyProcessInstance")
    MigrateProcessInstance = _unimplemented("MigrateProcessInstance")
    DeleteResource = _unimplemented("DeleteResource")
