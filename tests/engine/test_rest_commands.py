"""REST v2 commands and job search: incident resolution, cancellation, PATCH jobs, searches."""

from __future__ import annotations

from typing import Any

import pytest
from pyzeebe.proto import gateway_pb2 as pb

from engine.rest_search import ms_to_iso

from .conftest import Engine, Task, chain, chain_bpmn, flow, process_xml, service
from .test_rest import _problem

ONE = chain_bpmn("one", Task("work", "work", retries=3, headers={"stage": "1/3"}))
ERRORS = process_xml("err", '<bpmn:startEvent id="s"/>' + service("t", "throwing")
                     + '<bpmn:endEvent id="e"/>' + '<bpmn:endEvent id="e2"/>' + chain("s", "t", "e")
                     + '<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:errorEventDefinition '
                       'errorRef="E"/></bpmn:boundaryEvent>' + chain("b", "e2"),
                     '<bpmn:error id="E" errorCode="CAUGHT"/>')


async def _post(engine: Engine, path: str, body: Any = None) -> int:
    response = await engine.rest.post(path, json=body) if body is not None else \
        await engine.rest.post(path)
    assert response.status_code in (204, 400, 404, 409), response.text
    if response.status_code == 204:
        assert response.content == b""
    return response.status_code


async def _patch(engine: Engine, job_key: int | str, body: Any) -> int:
    response = await engine.rest.patch(f"/jobs/{job_key}", json=body)
    return response.status_code


async def _jobs(engine: Engine, **filter_: Any) -> list[dict[str, Any]]:
    response = await engine.rest.post("/jobs/search", json={
        "filter": filter_, "sort": [{"field": "jobKey", "order": "ASC"}]})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_console_retry_flow(engine: Engine) -> None:
    """PATCH the retries, then resolve: the order the console must follow."""
    await engine.deploy(("one.bpmn", ONE))
    created = await engine.create("one")
    job = await engine.activate_one("work")
    await engine.fail(job.key, retries=0, message="callback failed")
    [incident] = await engine.incidents(state="ACTIVE")
    path = f"/incidents/{incident['incidentKey']}/resolution"

    problem = await _problem(engine, path, None, status=409)
    assert problem["title"] == "INVALID_STATE"
    assert problem["detail"].endswith(
        "has no retries left. Please update the job retries and retry resolving the incident")

    assert await _patch(engine, job.key, {"changeset": {"retries": 2}}) == 204
    assert await _post(engine, path, {"operationReference": 7}) == 204
    assert (await engine.activate_one("work")).retries == 2
    assert (await engine.instance(created.processInstanceKey))["hasIncident"] is False
    problem = await _problem(engine, path, None, status=404)
    assert problem["title"] == "NOT_FOUND"
    assert "no such incident was found" in problem["detail"]


async def test_resolving_a_non_job_incident_over_rest_retries_the_step(engine: Engine) -> None:
    body = ('<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/>' + service("t", "t")
            + '<bpmn:endEvent id="e"/>' + chain("s", "g") + flow("g-t", "g", "t", "=go")
            + chain("t", "e"))
    await engine.deploy(("g.bpmn", process_xml("g", body)))
    created = await engine.create("g", {"go": "yes"})
    [incident] = await engine.incidents(state="ACTIVE")
    assert incident["errorType"] == "CONDITION_ERROR"
    await engine.set_variables(created.processInstanceKey, {"go": True})
    assert await _post(engine, f"/incidents/{incident['incidentKey']}/resolution") == 204
    assert (await engine.activate_one("t")).processInstanceKey == created.processInstanceKey


async def test_cancellation(engine: Engine) -> None:
    await engine.deploy(("one.bpmn", ONE))
    created = await engine.create("one")
    path = f"/process-instances/{created.processInstanceKey}/cancellation"
    assert await _post(engine, path, {}) == 204
    assert await engine.state(created.processInstanceKey) == "TERMINATED"
    assert await engine.activate("work") == []
    problem = await _problem(engine, path, None, status=404)
    assert problem["detail"] == (
        f"Expected to cancel a process instance with key '{created.processInstanceKey}', but "
        "no such process was found")
    await _problem(engine, "/process-instances/12/cancellation", None, status=404)
    problem = await _problem(engine, "/process-instances/x1/cancellation", None, status=400)
    assert "is not a valid key" in problem["detail"]
    problem = await _problem(engine, path, [1], status=400)
    assert problem["detail"] == "the request body must be a JSON object"
    problem = await _problem(engine, path, {"operationReference": "x"}, status=400)
    assert "operationReference must be an integer" in problem["detail"]


async def test_incidents_of_one_instance(engine: Engine) -> None:
    await engine.deploy(("one.bpmn", ONE))
    keys = []
    for n in range(3):
        created = await engine.create("one", {"n": n})
        keys.append(created.processInstanceKey)
    for job in await engine.activate("work", max_jobs=3):
        await engine.fail(job.key, retries=0, message=f"down {job.processInstanceKey}")
    path = f"/process-instances/{keys[1]}/incidents/search"
    response = await engine.rest.post(path, json={})
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["processInstanceKey"] == str(keys[1])
    assert response.json()["page"]["totalItems"] == 1
    response = await engine.rest.post(path, json={"filter": {"state": "RESOLVED"}})
    assert response.json()["items"] == []
    # the path wins over a contradicting filter
    response = await engine.rest.post(
        path, json={"filter": {"processInstanceKey": str(keys[0])}})
    assert response.json()["items"] == []
    response = await engine.rest.post(path)  # no body at all
    assert len(response.json()["items"]) == 1
    problem = await _problem(engine, "/process-instances/99/incidents/search", {}, status=404)
    assert problem["detail"] == "Process instance with key '99' not found"
    problem = await _problem(engine, path, {"filter": {"nope": 1}}, status=400)
    assert "unknown filter field 'nope'" in problem["detail"]


async def test_patch_job_retries_and_timeout(engine: Engine) -> None:
    await engine.deploy(("one.bpmn", ONE))
    await engine.create("one")
    job = await engine.activate_one("work", lock_ms=10_000)
    now = engine.clock.now_ms()
    assert await _patch(engine, job.key, {"changeset": {"retries": 5, "timeout": 60_000}}) == 204
    [item] = await _jobs(engine, jobKey=str(job.key))
    assert item["retries"] == 5
    assert item["state"] == "RETRIES_UPDATED"
    assert item["deadline"] == ms_to_iso(now + 60_000)
    engine.advance(30_000)  # past the old deadline, inside the new one
    assert await engine.activate("work") == []


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"changeset": {"retries": 0}}, 400, "with a positive amount of retries"),
        ({"changeset": {}}, 400, "at least one of retries and timeout"),
        ({"changeset": {"retries": "3"}}, 400, "changeset.retries must be an integer"),
        ({"changeset": {"priority": 1}}, 400, "unknown property 'priority' in changeset"),
        ({"retries": 3}, 400, "unknown property 'retries'"),
        ([], 400, "must be a JSON object"),
        ({"changeset": {"timeout": 1000}}, 409, "but it is in state 'ACTIVATABLE'"),
    ],
)
async def test_patch_job_misuse(engine: Engine, body: Any, status: int, fragment: str) -> None:
    await engine.deploy(("one.bpmn", ONE))
    await engine.create("one")
    [job] = await _jobs(engine)
    response = await engine.rest.patch(f"/jobs/{job['jobKey']}", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.json()["detail"]


async def test_patch_unknown_job_is_not_found(engine: Engine) -> None:
    response = await engine.rest.patch("/jobs/77", json={"changeset": {"retries": 1}})
    assert response.status_code == 404
    assert response.json()["detail"] == "Expected to update job with key '77', but no such job was found"
    response = await engine.rest.patch("/jobs/seven", json={"changeset": {"retries": 1}})
    assert response.status_code == 400
    response = await engine.rest.patch("/jobs/77")
    assert response.status_code == 400
    assert response.json()["detail"] == "the request body is required"


async def test_job_search_reports_the_last_lifecycle_event(engine: Engine) -> None:
    await engine.deploy(("one.bpmn", ONE), ("err.bpmn", ERRORS))
    for _ in range(5):
        await engine.create("one")
    caught = await engine.create("err")
    uncaught = await engine.create("err")
    jobs = await engine.activate("work", max_jobs=5, lock_ms=1_000)
    completed, failed, backoff, timed_out, cancelled = jobs
    await engine.complete(completed.key)
    await engine.fail(failed.key, retries=0, message="down")
    await engine.fail(backoff.key, retries=2, message="retry later", backoff=60_000)
    throwing = {j.processInstanceKey: j for j in await engine.activate("throwing", max_jobs=2)}
    await engine.throw(throwing[caught.processInstanceKey].key, "CAUGHT", "handled")
    await engine.throw(throwing[uncaught.processInstanceKey].key, "OTHER", "not handled")
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=cancelled.processInstanceKey))
    engine.advance(1_000)  # the remaining activated job times out
    by_key = {int(j["jobKey"]): j for j in await _jobs(engine)}
    assert len(by_key) == 7
    assert by_key[completed.key]["state"] == "COMPLETED"
    assert by_key[completed.key]["endTime"] is not None
    assert by_key[failed.key]["state"] == "FAILED"
    assert (by_key[failed.key]["retries"], by_key[failed.key]["errorMessage"]) == (0, "down")
    assert by_key[failed.key]["hasFailedWithRetriesLeft"] is False
    assert by_key[backoff.key]["hasFailedWithRetriesLeft"] is True
    assert by_key[timed_out.key]["state"] == "TIMED_OUT"
    assert by_key[timed_out.key]["deadline"] is None
    assert by_key[cancelled.key]["state"] == "CANCELED"
    caught_job = by_key[throwing[caught.processInstanceKey].key]
    assert (caught_job["state"], caught_job["errorCode"], caught_job["endTime"] is None) == (
        "ERROR_THROWN", "CAUGHT", False)
    uncaught_job = by_key[throwing[uncaught.processInstanceKey].key]
    assert (uncaught_job["state"], uncaught_job["errorCode"], uncaught_job["endTime"]) == (
        "ERROR_THROWN", "OTHER", None)
    item = by_key[completed.key]
    assert item["customHeaders"] == {"stage": "1/3"}
    assert (item["type"], item["kind"], item["listenerEventType"]) == (
        "work", "BPMN_ELEMENT", "UNSPECIFIED")
    assert (item["processDefinitionId"], item["elementId"], item["tenantId"]) == (
        "one", "work", "<default>")
    assert item["worker"] == "test-worker"
    assert item["creationTime"] is not None and item["lastUpdateTime"] is not None

    assert [j["jobKey"] for j in await _jobs(engine, state="ERROR_THROWN", errorCode="OTHER")] == [
        str(uncaught_job["jobKey"])]
    assert len(await _jobs(engine, type="throwing")) == 2
    assert len(await _jobs(engine, hasFailedWithRetriesLeft=True)) == 1
    assert len(await _jobs(engine, endTime={"$exists": False})) == 4
    assert len(await _jobs(engine, kind="BPMN_ELEMENT")) == 7
    problem = await _problem(engine, "/jobs/search", {"filter": {"state": "ASLEEP"}}, status=400)
    assert "unknown value 'ASLEEP'" in problem["detail"]
