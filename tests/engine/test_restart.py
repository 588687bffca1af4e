"""Durability: state survives a restart and a kill -9 of the engine process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import grpc
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from .conftest import (
    Engine,
    EngineFactory,
    Task,
    chain,
    chain_bpmn,
    flow,
    io,
    process_xml,
    rpc_error,
    service,
    stop_engine,
)

TWO = chain_bpmn("two", Task("a", "step-a"), Task("b", "step-b"))


async def test_restart_continues_a_running_instance(start_engine: EngineFactory) -> None:
    first = await start_engine()
    await first.deploy(("two.bpmn", TWO))
    created = await first.create("two", {"orderId": "o-1"})
    a = await first.activate_one("step-a")
    await first.complete(a.key, {"paid": True})
    await stop_engine(first)

    second = await start_engine()
    b = await second.activate_one("step-b")
    assert b.processInstanceKey == created.processInstanceKey
    assert json.loads(b.variables) == {"orderId": "o-1", "paid": True}
    await second.complete(b.key)
    assert (await second.instance(created.processInstanceKey))["state"] == "COMPLETED"
    # keys keep counting after a restart, and the definition is still deployed
    again = await second.create("two")
    assert again.processInstanceKey > b.key
    duplicate = (await second.deploy(("two.bpmn", TWO))).deployments[0].process
    assert (duplicate.version, duplicate.processDefinitionKey) == (1, created.processDefinitionKey)


async def test_activated_and_failed_jobs_keep_their_times(start_engine: EngineFactory) -> None:
    first = await start_engine()
    await first.deploy(("two.bpmn", TWO))
    await first.create("two")
    await first.create("two")
    locked = await first.activate_one("step-a", lock_ms=10_000)
    backing_off = await first.activate_one("step-a")
    await first.fail(backing_off.key, retries=1, backoff=3_000)
    await stop_engine(first)

    second = await start_engine()
    assert await second.activate("step-a") == []
    second.clock.advance(3_000)
    [job] = await second.activate("step-a", request_timeout=5_000)
    assert (job.key, job.retries) == (backing_off.key, 1)
    second.clock.advance(7_000)
    [job] = await second.activate("step-a", request_timeout=5_000)
    assert job.key == locked.key


async def test_incidents_survive_a_restart(start_engine: EngineFactory) -> None:
    first = await start_engine()
    await first.deploy(("two.bpmn", TWO))
    created = await first.create("two")
    job = await first.activate_one("step-a")
    await first.fail(job.key, retries=0, message="down")
    await stop_engine(first)

    second = await start_engine()
    [incident] = await second.incidents(state="ACTIVE")
    assert (await second.instance(created.processInstanceKey))["hasIncident"] is True
    await second.stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=1))
    await second.stub.ResolveIncident(
        pb.ResolveIncidentRequest(incidentKey=int(incident["incidentKey"])))
    assert (await second.activate_one("step-a")).key == job.key


PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
CHILD = """
import asyncio, sys
from pathlib import Path
from engine.server import EngineServer

async def main():
    server = EngineServer(Path(sys.argv[1]), grpc_port=0, rest_port=0)
    await server.start()
    print(server.grpc_port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_everything_acknowledged_survives_kill_9(
    data_dir: Path, start_engine: EngineFactory
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(data_dir), stdout=asyncio.subprocess.PIPE,
        cwd=PROJECT_ROOT)
    try:
        assert child.stdout is not None
        port = int((await asyncio.wait_for(child.stdout.readline(), 20)).strip())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = GatewayStub(channel)
            await stub.DeployResource(pb.DeployResourceRequest(
                resources=[pb.Resource(name="two.bpmn", content=TWO)]))
            created = await asyncio.gather(*(
                stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
                    bpmnProcessId="two", version=-1, variables=json.dumps({"n": i})))
                for i in range(200)))
            jobs = []
            async for response in stub.ActivateJobs(pb.ActivateJobsRequest(
                    type="step-a", worker="w", timeout=600_000, maxJobsToActivate=50,
                    requestTimeout=-1)):
                jobs.extend(response.jobs)
            await asyncio.gather(*(stub.CompleteJob(pb.CompleteJobRequest(jobKey=j.key))
                                   for j in jobs))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()

    engine: Engine = await start_engine()
    body = (await engine.rest.post("/process-instances/search",
                                   json={"page": {"limit": 1000}})).json()
    assert body["page"]["totalItems"] == 200
    assert {int(i["processInstanceKey"]) for i in body["items"]} == {
        c.processInstanceKey for c in created}
    assert len(await engine.activate("step-b", max_jobs=100)) == len(jobs) == 50
    assert len(await engine.activate("step-a", max_jobs=200)) == 150


WAITS = process_xml("waits", (
    '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="route"/>'
    '<bpmn:intermediateCatchEvent id="timer"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:intermediateCatchEvent>"
    '<bpmn:intermediateCatchEvent id="msg"><bpmn:messageEventDefinition messageRef="M"/>'
    "</bpmn:intermediateCatchEvent>"
    '<bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>'
    + service("a", "a") + service("b", "b")
    + service("mapped", "mapped", io(("input", "=-text", "negated")))
    + service("done", "done") + '<bpmn:endEvent id="end"/>'
    + chain("start", "route")
    + flow("to-timer", "route", "timer", '=kind = "timer"')
    + flow("to-msg", "route", "msg", '=kind = "msg"')
    + flow("to-fork", "route", "fork", '=kind = "fork"')
    + flow("to-mapped", "route", "mapped", '=kind = "mapped"')
    + chain("timer", "done") + chain("msg", "done") + chain("mapped", "done")
    + chain("fork", "a", "join", "done") + flow("fork-b", "fork", "b") + flow("b-join", "b", "join")
    + chain("done", "end")
), '<bpmn:message id="M" name="go"><bpmn:extensionElements>'
   '<zeebe:subscription correlationKey="=id"/></bpmn:extensionElements></bpmn:message>')


async def test_timers_subscriptions_messages_joins_and_incidents_survive_a_restart(
    start_engine: EngineFactory,
) -> None:
    first = await start_engine()
    await first.deploy(("waits.bpmn", WAITS))
    timer = await first.create("waits", {"kind": "timer"})
    msg = await first.create("waits", {"kind": "msg", "id": "m-1"})
    late_msg = await first.create("waits", {"kind": "msg", "id": "m-2"})
    fork = await first.create("waits", {"kind": "fork"})
    mapped = await first.create("waits", {"kind": "mapped", "text": "t"})
    await first.complete((await first.activate_one("a")).key)
    await first.publish("go", "m-2", ttl_ms=60_000)  # correlates to late_msg at once
    await first.publish("go", "m-3", ttl_ms=60_000, message_id="id-3")  # stays buffered
    [incident] = await first.incidents(processInstanceKey=str(mapped.processInstanceKey))
    await first.complete((await first.activate_one("done")).key)  # late_msg finishes
    await stop_engine(first)

    second = await start_engine()
    assert await second.state(late_msg.processInstanceKey) == "COMPLETED"
    error = await rpc_error(second.publish("go", "m-3", ttl_ms=1, message_id="id-3"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS  # the buffered message came back
    second.advance(59_999)
    assert await second.activate("done") == []
    second.advance(1)
    assert (await second.activate_one("done")).processInstanceKey == timer.processInstanceKey
    await second.publish("go", "m-1")
    assert (await second.activate_one("done")).processInstanceKey == msg.processInstanceKey
    await second.complete((await second.activate_one("b")).key)  # the join had 'a' already
    assert (await second.activate_one("done")).processInstanceKey == fork.processInstanceKey
    await second.set_variables(mapped.processInstanceKey, {"text": 5})
    await second.resolve(incident["incidentKey"])
    job = await second.activate_one("mapped")
    assert json.loads(job.variables)["negated"] == -5


def _first_schema_file(data_dir: Path) -> None:
    """An engine file as the first engine version left it: jobs without the later columns."""
    data_dir.mkdir(parents=True)
    with sqlite3.connect(data_dir / "engine.sqlite3") as conn:
        conn.execute(
            "CREATE TABLE jobs (key INTEGER PRIMARY KEY, type TEXT NOT NULL, "
            "process_instance_key INTEGER NOT NULL, element_instance_key INTEGER NOT NULL, "
            "process_definition_key INTEGER NOT NULL, element_id TEXT NOT NULL, "
            "state TEXT NOT NULL, retries INTEGER NOT NULL, worker TEXT NOT NULL, "
            "deadline_ms INTEGER NOT NULL, backoff_until_ms INTEGER NOT NULL, "
            "error_message TEXT NOT NULL, custom_headers TEXT NOT NULL, incident_key INTEGER)")


async def test_a_data_file_of_the_first_schema_gets_the_new_job_columns(
    data_dir: Path, start_engine: EngineFactory
) -> None:
    _first_schema_file(data_dir)
    engine = await start_engine()
    await engine.deploy(("two.bpmn", TWO))
    await engine.create("two")
    await engine.complete((await engine.activate_one("step-a")).key)
    response = await engine.rest.post("/jobs/search", json={"filter": {"state": "COMPLETED"}})
    [item] = response.json()["items"]
    assert (item["type"], item["processDefinitionId"]) == ("step-a", "two")
