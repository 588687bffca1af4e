"""The incident poller against the real engine: every open incident, past one search page."""

from __future__ import annotations

import grpc
from pyzeebe.proto import gateway_pb2, gateway_pb2_grpc

from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
from console.bus import EventBus
from console.clients.camunda_rest import CamundaRest
from console.clients.zeebe import ZeebeGateway
from console.events import IncidentRaised, IncidentResolved
from console.incident_poller import IncidentPoller

INCIDENTS = 7


async def _raise_incidents(address: str, count: int) -> list[int]:
    """``count`` instances whose first job fails with no retries left; their job keys."""
    async with grpc.aio.insecure_channel(address) as channel:
        zeebe = ZeebeGateway(channel)
        await zeebe.deploy(ORDER_FULFILLMENT)
        for n in range(count):
            await zeebe.create_instance(ORDER_PROCESS_ID, {"orderId": f"order_{n}"})
        stub = gateway_pb2_grpc.GatewayStub(channel)
        jobs: list[int] = []
        while len(jobs) < count:
            request = gateway_pb2.ActivateJobsRequest(
                type="verify-payment", worker="test", timeout=60_000, maxJobsToActivate=count,
                requestTimeout=5_000,
            )
            async for response in stub.ActivateJobs(request):
                jobs.extend(job.key for job in response.jobs)
        for key in jobs:
            await stub.FailJob(gateway_pb2.FailJobRequest(jobKey=key, retries=0, errorMessage="boom"))
        return jobs


async def test_incidents_past_one_page_are_all_seen_and_none_falsely_resolved(backends):
    jobs = await _raise_incidents(backends.zeebe_address, INCIDENTS)
    rest = CamundaRest(backends.rest_url)
    bus = EventBus()
    events: list[object] = []
    bus.subscribe(events.append)
    poller = IncidentPoller(rest, bus, lambda key: None, page_size=3)
    try:
        await poller.poll_once()
        raised = [e for e in events if isinstance(e, IncidentRaised)]
        assert sorted(e.job_key for e in raised) == sorted(jobs), "three pages of incidents, all of them"
        await poller.poll_once()
        assert not [e for e in events if isinstance(e, IncidentResolved)], "nothing resolved: all still open"

        # Resolving one is reported once, for that one.
        async with grpc.aio.insecure_channel(backends.zeebe_address) as channel:
            zeebe = ZeebeGateway(channel)
            await zeebe.update_job_retries(raised[0].job_key, 1)
            await zeebe.resolve_incident(raised[0].incident_key)
        await poller.poll_once()
        resolved = [e for e in events if isinstance(e, IncidentResolved)]
        assert [e.incident_key for e in resolved] == [raised[0].incident_key]
    finally:
        await rest.close()
