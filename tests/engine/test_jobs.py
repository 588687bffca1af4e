"""Jobs over gRPC: activation and long polling, complete, fail, retries, incidents, timeouts."""


import asyncio
import json

import grpc
import pytest
from pyzeebe import Job, ZeebeWorker, create_insecure_channel
from pyzeebe.proto import gateway_pb2 as pb

from .conftest import Engine, Task, chain_bpmn

ONE = chain_bpmn("one", Task("work", "work", retries=3, headers={"stage": "1/3"}))
TWO = chain_bpmn("two", Task("a", "step-a"), Task("b", "step-b"))


@pytest.fixture
async def one(engine: Engine) -> Engine:
    await engine.deploy(("one.bpmn", ONE))
    return engine


async def _error(call) -> grpc.aio.AioRpcError:  # noqa: ANN001
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def _activate_error(engine: Engine, **fields) -> grpc.aio.AioRpcError:  # noqa: ANN003
    request = {"type": "work", "worker": "w", "timeout": 1000, "maxJobsToActivate": 1,
               "requestTimeout": -1, **fields}
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in engine.stub.ActivateJobs(pb.ActivateJobsRequest(**request)):
            pass
    return info.value


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"type": " "}, "type"),
        ({"worker": ""}, "worker"),
        ({"timeout": 0}, "timeout"),
        ({"maxJobsToActivate": 0}, "maxJobsToActivate"),
    ],
)
async def test_activate_jobs_validation(engine: Engine, fields: dict, fragment: str) -> None:
    error = await _activate_error(engine, **fields)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in error.details()


async def test_activated_job_carries_everything_a_worker_needs(one: Engine) -> None:
    created = await one.create("one", {"orderId": "o-7"})
    before = one.clock.now_ms()
    job = await one.activate_one("work", lock_ms=5_000, worker="picker")
    assert job.type == "work"
    assert job.processInstanceKey == created.processInstanceKey
    assert job.bpmnProcessId == "one"
    assert job.processDefinitionVersion == 1
    assert job.processDefinitionKey == created.processDefinitionKey
    assert job.elementId == "work"
    assert job.elementInstanceKey not in (0, job.key, created.processInstanceKey)
    assert json.loads(job.customHeaders) == {"stage": "1/3"}
    assert job.worker == "picker"
    assert job.retries == 3
    assert job.deadline == before + 5_000
    assert json.loads(job.variables) == {"orderId": "o-7"}
    assert job.tenantId == "<default>"
    # activated jobs are not handed out again
    assert await one.activate("work") == []


async def test_fetch_variable_filters_and_omits_missing(one: Engine) -> None:
    await one.create("one", {"a": 1, "b": {"x": [1]}, "c": None})
    job = await one.activate_one("work", fetch=["b", "c", "missing"])
    assert json.loads(job.variables) == {"b": {"x": [1]}, "c": None}


async def test_max_jobs_and_immediate_answer_without_long_poll(one: Engine) -> None:
    for _ in range(3):
        await one.create("one")
    assert len(await one.activate("work", max_jobs=2)) == 2
    assert len(await one.activate("work", max_jobs=5)) == 1
    assert await one.activate("work", request_timeout=-1) == []


async def test_long_poll_times_out_with_an_empty_ok_stream(one: Engine) -> None:
    call = one.stub.ActivateJobs(pb.ActivateJobsRequest(
        type="work", worker="w", timeout=1000, maxJobsToActivate=1, requestTimeout=200))
    responses = [r async for r in call]
    assert responses == []
    assert await call.code() == grpc.StatusCode.OK


async def test_long_poll_ends_before_the_client_deadline(one: Engine) -> None:
    # requestTimeout 0 means 10 s, but the client only waits 1 s: answer before that
    call = one.stub.ActivateJobs(pb.ActivateJobsRequest(
        type="work", worker="w", timeout=1000, maxJobsToActivate=1, requestTimeout=0),
        timeout=1.0)
    assert [r async for r in call] == []
    assert await call.code() == grpc.StatusCode.OK


async def test_parked_requests_are_woken_fifo(one: Engine) -> None:
    first = asyncio.create_task(one.activate("work", max_jobs=1, request_timeout=5_000,
                                             worker="first"))
    second = asyncio.create_task(one.activate("work", max_jobs=1, request_timeout=5_000,
                                              worker="second"))
    await asyncio.sleep(0)  # let both park before any job exists
    await _parked(one, "work", 2)
    a = await one.create("one")
    [job_a] = await asyncio.wait_for(first, 5)
    assert job_a.processInstanceKey == a.processInstanceKey
    assert job_a.worker == "first"
    assert not second.done()
    b = await one.create("one")
    [job_b] = await asyncio.wait_for(second, 5)
    assert (job_b.worker, job_b.processInstanceKey) == ("second", b.processInstanceKey)


async def _parked(engine: Engine, job_type: str, count: int) -> None:
    """Wait until ``count`` requests of ``job_type`` are parked in the engine."""
    registry = engine.server._longpoll  # noqa: SLF001 - test introspection
    assert registry is not None
    await asyncio.wait_for(registry.wait_for_parked(job_type, count), 5)


async def test_cancelled_long_poll_returns_undelivered_jobs(one: Engine) -> None:
    call = one.stub.ActivateJobs(pb.ActivateJobsRequest(
        type="work", worker="gone", timeout=60_000, maxJobsToActivate=1, requestTimeout=5_000))
    reader = asyncio.create_task(call.read())
    await _parked(one, "work", 1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    await _parked(one, "work", 0)
    await one.create("one")
    # no parked request took the job, so it is activatable at once
    job = await one.activate_one("work", worker="next")
    assert job.worker == "next"


async def test_release_of_activated_but_undelivered_jobs(one: Engine) -> None:
    runtime = one.server.runtime
    assert runtime is not None
    await one.create("one")
    views = runtime.activate_jobs("work", "w", 60_000, 1)
    assert len(views) == 1
    assert await one.activate("work") == []
    runtime.release_jobs(views)
    assert [j.key for j in await one.activate("work")] == [views[0].key]


async def test_complete_job_merges_variables_and_moves_on(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO))
    created = await engine.create("two", {"orderId": "o-1", "status": "new"})
    a = await engine.activate_one("step-a")
    await engine.complete(a.key, {"status": "paid", "paymentId": 9})
    b = await engine.activate_one("step-b")
    assert json.loads(b.variables) == {"orderId": "o-1", "status": "paid", "paymentId": 9}
    assert b.elementId == "b"
    await engine.complete(b.key)
    assert (await engine.instance(created.processInstanceKey))["state"] == "COMPLETED"


async def test_complete_writes_to_the_scope_that_holds_the_name(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO))
    await engine.create("two", {"status": "new"})
    a = await engine.activate_one("step-a")
    # FailJob variables are local to the task scope
    await engine.stub.FailJob(pb.FailJobRequest(
        jobKey=a.key, retries=2, variables=json.dumps({"status": "local", "attempt": 1})))
    a = await engine.activate_one("step-a")
    assert json.loads(a.variables) == {"status": "local", "attempt": 1}  # local shadows root
    await engine.complete(a.key, {"status": "done", "attempt": 2, "fresh": True})
    b = await engine.activate_one("step-b")
    # the local copies died with the task; the root copy was never written; new names go root
    assert json.loads(b.variables) == {"status": "new", "fresh": True}


async def test_complete_unknown_job_is_not_found(one: Engine) -> None:
    error = await _error(one.complete(123))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == (
        "Command 'COMPLETE' rejected with code 'NOT_FOUND': Expected to complete job with key "
        "'123', but no such job was found")


async def test_completing_twice_is_not_found(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work")
    await one.complete(job.key)
    error = await _error(one.complete(job.key))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_complete_with_invalid_variables(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work")
    error = await _error(one.stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key,
                                                                    variables="[]")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    await one.complete(job.key)  # the job is untouched


async def test_fail_without_backoff_is_activatable_at_once(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work")
    await one.fail(job.key, retries=2)
    again = await one.activate_one("work")
    assert (again.key, again.retries) == (job.key, 2)


async def test_fail_with_backoff_waits_then_comes_back(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work")
    await one.fail(job.key, retries=2, backoff=5_000)
    assert await one.activate("work") == []
    # completing or failing a job inside its back-off is refused
    error = await _error(one.complete(job.key))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        "Command 'COMPLETE' rejected with code 'INVALID_STATE': Expected to complete job with "
        f"key '{job.key}', but it is in state 'FAILED'")
    error = await _error(one.fail(job.key, retries=1))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    waiting = asyncio.create_task(one.activate("work", request_timeout=5_000))
    await _parked(one, "work", 1)
    one.clock.advance(4_999)
    one.clock.advance(1)
    [again] = await asyncio.wait_for(waiting, 5)
    assert (again.key, again.retries) == (job.key, 2)


async def test_deadline_expiry_returns_job_without_losing_retries(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work", lock_ms=10_000)
    waiting = asyncio.create_task(one.activate("work", request_timeout=5_000, worker="second"))
    await _parked(one, "work", 1)
    one.clock.advance(10_000)
    [again] = await asyncio.wait_for(waiting, 5)
    assert (again.key, again.retries, again.worker) == (job.key, 3, "second")
    # the first worker's completion still counts (at-least-once delivery)
    await one.complete(job.key)
    assert await one.activate("work") == []


async def test_update_job_timeout_extends_and_shortens_the_lock(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work", lock_ms=10_000)
    await one.stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=job.key, timeout=60_000))
    one.clock.advance(30_000)  # past the first deadline, inside the new one
    assert await one.activate("work") == []
    await one.stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=job.key, timeout=0))
    one.clock.advance(1)
    again = await one.activate_one("work", worker="second")
    assert (again.key, again.worker) == (job.key, "second")


async def test_update_job_timeout_errors(one: Engine) -> None:
    error = await _error(one.stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=42, timeout=1000)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == (
        "Command 'UPDATE_TIMEOUT' rejected with code 'NOT_FOUND': Expected to update job deadline "
        "with key '42', but no such job was found")
    await one.create("one")
    job = await one.activate_one("work")
    await one.fail(job.key, retries=2, backoff=60_000)
    error = await _error(one.stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=job.key, timeout=1000)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "but it is in state 'FAILED'" in error.details()


async def test_no_retries_incident_resolve_cycle(one: Engine) -> None:
    created = await one.create("one")
    job = await one.activate_one("work")
    await one.fail(job.key, retries=0, message="payment service down")

    [incident] = await one.incidents(state="ACTIVE")
    assert incident["errorType"] == "JOB_NO_RETRIES"
    assert incident["errorMessage"] == "payment service down"
    assert incident["jobKey"] == str(job.key)
    assert incident["elementId"] == "work"
    assert incident["processInstanceKey"] == str(created.processInstanceKey)
    assert (await one.instance(created.processInstanceKey))["hasIncident"] is True
    incident_key = int(incident["incidentKey"])
    assert await one.activate("work") == []

    error = await _error(one.stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident_key)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        f"Command 'RESOLVE' rejected with code 'INVALID_STATE': Expected to resolve incident "
        f"with key '{incident_key}', but job with key '{job.key}' has no retries left. Please "
        "update the job retries and retry resolving the incident")
    error = await _error(one.complete(job.key))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION

    await one.stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=2))
    assert await one.activate("work") == []  # updating retries does not resolve
    await one.stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident_key))

    again = await one.activate_one("work")
    assert (again.key, again.retries) == (job.key, 2)
    [incident] = await one.incidents(incidentKey=str(incident_key))
    assert incident["state"] == "RESOLVED"
    assert (await one.instance(created.processInstanceKey))["hasIncident"] is False
    error = await _error(one.stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident_key)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == (
        "Command 'RESOLVE' rejected with code 'NOT_FOUND': Expected to resolve incident with "
        f"key '{incident_key}', but no such incident was found")


async def test_empty_fail_message_gets_a_default_incident_message(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work")
    await one.fail(job.key, retries=0, message="")
    [incident] = await one.incidents()
    assert incident["errorMessage"] == "No more retries left."


async def test_update_retries_errors(one: Engine) -> None:
    await one.create("one")
    job = await one.activate_one("work")
    error = await _error(one.stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=0)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "with a positive amount of retries, but the amount given was '0'" in error.details()
    error = await _error(one.stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=5, retries=1)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == (
        "Command 'UPDATE_RETRIES' rejected with code 'NOT_FOUND': Expected to update retries for "
        "job with key '5', but no such job was found")
    await one.stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=9))
    await one.fail(job.key, retries=9)  # FailJob sets the remaining retries
    assert (await one.activate_one("work")).retries == 9


async def test_fail_unknown_job_is_not_found(one: Engine) -> None:
    error = await _error(one.fail(77, retries=1))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == (
        "Command 'FAIL' rejected with code 'NOT_FOUND': Expected to fail job with key '77', "
        "but no such job was found")


async def test_a_task_with_two_outgoing_flows_forks(engine: Engine) -> None:
    from .conftest import BPMN_HEADER, task_xml

    xml = (
        f'{BPMN_HEADER}<bpmn:process id="fork" isExecutable="true"><bpmn:startEvent id="s"/>'
        + task_xml(Task("first", "first")) + task_xml(Task("left", "left"))
        + task_xml(Task("right", "right"))
        + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="first"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="first" targetRef="left"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="right"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="left" targetRef="e1"/>'
        '<bpmn:sequenceFlow id="f4" sourceRef="right" targetRef="e2"/>'
        "</bpmn:process></bpmn:definitions>"
    ).encode()
    await engine.deploy(("fork.bpmn", xml))
    created = await engine.create("fork")
    await engine.complete((await engine.activate_one("first")).key)
    left = await engine.activate_one("left")
    right = await engine.activate_one("right")
    await engine.complete(left.key)
    assert (await engine.instance(created.processInstanceKey))["state"] == "ACTIVE"
    await engine.complete(right.key)
    assert (await engine.instance(created.processInstanceKey))["state"] == "COMPLETED"


async def test_pyzeebe_worker_runs_a_process_end_to_end(engine: Engine) -> None:
    await engine.deploy(("two.bpmn", TWO))
    seen: list[tuple[str, dict]] = []
    finished = asyncio.Event()
    channel = create_insecure_channel(grpc_address=engine.address)
    worker = ZeebeWorker(channel, poll_retry_delay=0.05, max_connection_retries=-1)

    @worker.task("step-a")
    async def step_a(job: Job) -> dict:
        seen.append(("a", dict(job.variables)))
        return {"paid": True}

    @worker.task("step-b")
    async def step_b(job: Job) -> dict:
        seen.append(("b", dict(job.variables)))
        finished.set()
        return {}

    work = asyncio.create_task(worker.work())
    try:
        created = await engine.create("two", {"orderId": "o-9"})
        await asyncio.wait_for(finished.wait(), 10)
    finally:
        await worker.stop()
        await asyncio.wait_for(work, 10)
        await channel.close()
    assert seen == [("a", {"orderId": "o-9"}), ("b", {"orderId": "o-9", "paid": True})]
    instance = await engine.instance(created.processInstanceKey)
    assert instance["state"] == "COMPLETED"
