"""REST v2 subset: topology, incident and process-instance search and lookup, problems."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pyzeebe.proto import gateway_pb2 as pb

from .conftest import Engine, Task, chain_bpmn

ORDER = chain_bpmn("order", Task("pay", "pay"), name="Order")
OTHER = chain_bpmn("other-flow", Task("x", "x"))


async def _search(engine: Engine, path: str, body: Any) -> dict[str, Any]:
    response = await engine.rest.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def _problem(engine: Engine, path: str, body: Any = None, status: int = 400,
                   method: str = "POST") -> dict[str, Any]:
    if method == "GET":
        response = await engine.rest.get(path)
    elif isinstance(body, bytes):
        response = await engine.rest.post(path, content=body)
    else:
        response = await engine.rest.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert set(problem) == {"type", "title", "status", "detail", "instance"}
    assert problem["status"] == status
    assert problem["instance"] == f"/v2{path}"
    return problem


@pytest.fixture
async def populated(engine: Engine) -> dict[str, int]:
    """Three order instances (one completed, one with an incident, one cancelled), two others."""
    await engine.deploy(("order.bpmn", ORDER), ("other.bpmn", OTHER))
    keys = {}
    for name in ("done", "broken", "cancelled"):
        keys[name] = (await engine.create("order")).processInstanceKey
        engine.clock.advance(1_000)
    for i in range(2):
        keys[f"other{i}"] = (await engine.create("other-flow")).processInstanceKey
        engine.clock.advance(1_000)
    jobs = {j.processInstanceKey: j for j in await engine.activate("pay", max_jobs=10)}
    await engine.complete(jobs[keys["done"]].key)
    await engine.fail(jobs[keys["broken"]].key, retries=0, message="card declined")
    await engine.fail(jobs[keys["cancelled"]].key, retries=0, message="out of stock")
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=keys["cancelled"]))
    return keys


async def test_topology(engine: Engine) -> None:
    response = await engine.rest.get("/topology")
    assert response.status_code == 200
    body = response.json()
    assert body["gatewayVersion"] == "8.6.6"
    assert body["brokers"][0]["partitions"] == [
        {"partitionId": 1, "role": "leader", "health": "healthy"}]


async def test_process_instance_items_and_states(engine: Engine, populated: dict[str, int]) -> None:
    body = await _search(engine, "/process-instances/search",
                         {"filter": {"processDefinitionId": "order"}})
    items = {int(i["processInstanceKey"]): i for i in body["items"]}
    assert body["page"]["totalItems"] == 3
    done = items[populated["done"]]
    assert done["state"] == "COMPLETED"
    assert done["processDefinitionName"] == "Order"
    assert done["processDefinitionVersion"] == 1
    assert done["tenantId"] == "<default>"
    assert done["hasIncident"] is False
    assert done["startDate"] == "2023-11-14T22:13:20.000Z"
    assert done["endDate"] is not None
    assert items[populated["broken"]]["state"] == "ACTIVE"
    assert items[populated["broken"]]["hasIncident"] is True
    assert items[populated["broken"]]["endDate"] is None
    assert items[populated["cancelled"]]["state"] == "TERMINATED"
    assert isinstance(done["processDefinitionKey"], str)


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"state": "ACTIVE"}, ["broken", "other0", "other1"]),
        ({"state": {"$neq": "ACTIVE"}}, ["done", "cancelled"]),
        ({"state": {"$in": ["COMPLETED", "TERMINATED"]}}, ["done", "cancelled"]),
        ({"hasIncident": True}, ["broken"]),
        ({"processDefinitionId": {"$like": "oth*"}}, ["other0", "other1"]),
        ({"processDefinitionId": {"$like": "ORD*"}}, []),
        ({"processDefinitionId": {"$like": "o?der"}}, ["done", "broken", "cancelled"]),
        ({"processDefinitionId": {"$notIn": ["order"]}}, ["other0", "other1"]),
        ({"endDate": {"$exists": False}}, ["broken", "other0", "other1"]),
        ({"startDate": {"$gte": "2023-11-14T22:13:22.000Z", "$lt": "2023-11-14T22:13:24Z"}},
         ["cancelled", "other0"]),
        ({"processDefinitionVersion": {"$gt": 0}},
         ["done", "broken", "cancelled", "other0", "other1"]),
        ({"$or": [{"state": "COMPLETED"}, {"hasIncident": True}]}, ["done", "broken"]),
        ({"processDefinitionId": "order", "$or": [{"state": "ACTIVE"}, {"state": "TERMINATED"}]},
         ["broken", "cancelled"]),
    ],
)
async def test_process_instance_filters(
    engine: Engine, populated: dict[str, int], filter_: dict, expected: list[str]
) -> None:
    body = await _search(engine, "/process-instances/search", {"filter": filter_})
    names = {v: k for k, v in populated.items()}
    assert [names[int(i["processInstanceKey"])] for i in body["items"]] == expected
    assert body["page"]["totalItems"] == len(expected)


async def test_key_filters_take_strings(engine: Engine, populated: dict[str, int]) -> None:
    key = str(populated["broken"])
    body = await _search(engine, "/process-instances/search",
                         {"filter": {"processInstanceKey": {"$in": [key, "1"]}}})
    assert [i["processInstanceKey"] for i in body["items"]] == [key]


async def test_sort_and_pagination_with_cursors(engine: Engine, populated: dict[str, int]) -> None:
    sort = [{"field": "startDate", "order": "DESC"}]
    everything = await _search(engine, "/process-instances/search", {"sort": sort})
    order = [i["processInstanceKey"] for i in everything["items"]]
    assert order == [str(populated[n]) for n in ("other1", "other0", "cancelled", "broken", "done")]

    first = await _search(engine, "/process-instances/search",
                          {"sort": sort, "page": {"limit": 2}})
    assert [i["processInstanceKey"] for i in first["items"]] == order[:2]
    assert first["page"]["totalItems"] == 5
    cursor = first["page"]["endCursor"]
    base64.urlsafe_b64decode(cursor)  # opaque, but base64
    second = await _search(engine, "/process-instances/search",
                           {"sort": sort, "page": {"limit": 2, "after": cursor}})
    assert [i["processInstanceKey"] for i in second["items"]] == order[2:4]
    back = await _search(engine, "/process-instances/search",
                         {"sort": sort, "page": {"limit": 2,
                                                 "before": second["page"]["startCursor"]}})
    assert [i["processInstanceKey"] for i in back["items"]] == order[:2]
    offset = await _search(engine, "/process-instances/search",
                           {"sort": sort, "page": {"from": 4, "limit": 10}})
    assert [i["processInstanceKey"] for i in offset["items"]] == order[4:]
    empty = await _search(engine, "/process-instances/search",
                          {"sort": sort, "page": {"from": 10}})
    assert empty["items"] == []
    assert empty["page"]["endCursor"] is None


async def test_incident_search_and_get(engine: Engine, populated: dict[str, int]) -> None:
    active = await _search(engine, "/incidents/search", {
        "filter": {"state": "ACTIVE", "errorType": {"$in": ["JOB_NO_RETRIES"]}},
        "sort": [{"field": "creationTime", "order": "DESC"}], "page": {"limit": 50}})
    [incident] = active["items"]
    assert incident["processInstanceKey"] == str(populated["broken"])
    assert incident["errorMessage"] == "card declined"
    assert incident["processDefinitionId"] == "order"
    resolved = await _search(engine, "/incidents/search", {"filter": {"state": "RESOLVED"}})
    assert [i["processInstanceKey"] for i in resolved["items"]] == [str(populated["cancelled"])]
    like = await _search(engine, "/incidents/search",
                         {"filter": {"errorMessage": {"$like": "*\\*"}}})
    assert like["items"] == []

    response = await engine.rest.get(f"/incidents/{incident['incidentKey']}")
    assert response.status_code == 200
    assert response.json() == incident


async def test_get_process_instance(engine: Engine, populated: dict[str, int]) -> None:
    response = await engine.rest.get(f"/process-instances/{populated['done']}")
    assert response.status_code == 200
    assert response.json()["state"] == "COMPLETED"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{nope", "not valid JSON"),
        ([], "must be a JSON object"),
        ({"filter": {"colour": "red"}}, "unknown filter field 'colour'"),
        ({"filter": {"state": "SLEEPING"}}, "unknown value 'SLEEPING'"),
        ({"filter": {"state": {"$gt": "ACTIVE"}}}, "operator '$gt' is not allowed"),
        ({"filter": {"processInstanceKey": "abc"}}, "expected a key"),
        ({"filter": {"startDate": {"$gt": "yesterday"}}}, "not an ISO-8601 date-time"),
        ({"filter": {"hasIncident": "yes"}}, "expected true or false"),
        ({"sort": [{"field": "colour"}]}, "unknown sort field"),
        ({"sort": [{"field": "state", "order": "UP"}]}, "must be 'ASC' or 'DESC'"),
        ({"page": {"limit": 0}}, "page.limit must be an integer between 1 and 10000"),
        ({"page": {"from": 1, "after": "x"}}, "use only one of from, after and before"),
        ({"page": {"after": "!!"}}, "page.after is not a valid cursor"),
        ({"query": {}}, "unknown property 'query'"),
    ],
)
async def test_invalid_search_bodies_are_precise_problems(
    engine: Engine, body: Any, fragment: str
) -> None:
    problem = await _problem(engine, "/process-instances/search", body)
    assert problem["title"] == "INVALID_ARGUMENT"
    assert fragment in problem["detail"]


async def test_unknown_and_malformed_keys(engine: Engine) -> None:
    problem = await _problem(engine, "/incidents/2251799813685999", status=404, method="GET")
    assert problem["title"] == "NOT_FOUND"
    assert "2251799813685999" in problem["detail"]
    problem = await _problem(engine, "/process-instances/42", status=404, method="GET")
    assert problem["title"] == "NOT_FOUND"
    problem = await _problem(engine, "/process-instances/abc", status=400, method="GET")
    assert "not a valid key" in problem["detail"]
    await _problem(engine, "/no-such-endpoint", status=404, method="GET")
