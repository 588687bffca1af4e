"""REST v2 search: keyset cursors, process-instance filters, every filter and sort field."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
import pytest_asyncio
from pyzeebe.proto import gateway_pb2 as pb

from engine.rest import INCIDENT_SPEC, JOB_SPEC, PROCESS_INSTANCE_SPEC, java_string_hash
from engine.rest_search import KEY, SearchSpec, encode_cursor

from .conftest import Engine, EngineFactory, Task, chain_bpmn, stop_engine
from .test_rest import _problem, _search

ORDER = chain_bpmn("order", Task("pay", "pay"), name="Order")
TWO = chain_bpmn("two", Task("a", "step-a"), Task("b", "step-b"))
PI_SEARCH = "/process-instances/search"
NAMES = ("waiting", "declined", "retrying", "done", "cancelled", "at_b", "at_a")
EVERYONE = list(NAMES)
DECLINED_HASH = java_string_hash("card declined")
def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _var(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "value": value}


async def _keys(engine: Engine, body: dict[str, Any], path: str = PI_SEARCH) -> list[int]:
    return [int(i["processInstanceKey"]) for i in (await _search(engine, path, body))["items"]]


@pytest.fixture
async def shop(engine: Engine) -> dict[str, int]:
    return await _open_shop(engine)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_shop(module_engine: Engine) -> dict[str, int]:
    """The shop on the module's engine, for tests that only read (``loop_scope="module"``)."""
    return await _open_shop(module_engine)


async def _open_shop(engine: Engine) -> dict[str, int]:
    """Instances in every situation. The finished ones get no variables, so the expectations
    hold whether or not finished instances keep theirs.

    waiting: pay job activated, a local variable on its task; declined: incident "card
    declined"; retrying: failed with retries left; done: completed; cancelled: had an
    incident, then terminated; at_b / at_a: the two-step process at its second / first task.
    The last three start at the same moment (ties for the sorts)."""
    await engine.deploy(("order.bpmn", ORDER), ("two.bpmn", TWO))
    variables = {
        "waiting": {"orderId": "ord_1", "amount": 10},
        "declined": {"orderId": "ord_2", "amount": 20, "customer": {"name": "Ann"}},
        "retrying": {"orderId": "ord_3", "amount": 30},
        "done": {}, "cancelled": {},
    }
    keys = {}
    for name, values in variables.items():
        keys[name] = (await engine.create("order", values)).processInstanceKey
        if name != "cancelled":
            engine.clock.advance(1_000)
    keys["at_b"] = (await engine.create("two", {"orderId": "ord_5"})).processInstanceKey
    keys["at_a"] = (await engine.create("two")).processInstanceKey
    await engine.complete((await engine.activate_one("step-a")).key)
    jobs = {j.processInstanceKey: j for j in await engine.activate("pay", max_jobs=10)}
    await engine.set_variables(jobs[keys["waiting"]].elementInstanceKey, {"note": "local"},
                               local=True)
    await engine.fail(jobs[keys["declined"]].key, retries=0, message="card declined")
    await engine.fail(jobs[keys["retrying"]].key, retries=2, message="gateway timeout")
    await engine.complete(jobs[keys["done"]].key)
    await engine.fail(jobs[keys["cancelled"]].key, retries=0, message="card declined")
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=keys["cancelled"]))
    return keys


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"variables": [_var("orderId", '"ord_1"')]}, ["waiting"]),
        ({"variables": [_var("orderId", {"$eq": '"ord_2"'})]}, ["declined"]),
        ({"variables": [_var("orderId", {"$like": '"ord_*'})]},
         ["waiting", "declined", "retrying", "at_b"]),
        ({"variables": [_var("orderId", {"$in": ['"ord_1"', '"ord_3"']})]},
         ["waiting", "retrying"]),
        ({"variables": [_var("amount", "20")]}, ["declined"]),
        ({"variables": [_var("customer", '{"name":"Ann"}')]}, ["declined"]),
        ({"variables": [_var("orderId", {"$like": '"ord_*'}), _var("amount", {"$neq": "10"})]},
         ["declined", "retrying"]),
        ({"variables": [_var("orderId", {"$exists": False})]}, ["done", "cancelled", "at_a"]),
        ({"variables": [_var("note", '"local"')]}, []),  # not a root-scope variable
        ({"variables": []}, EVERYONE),
        ({"processDefinitionId": "order", "variables": [_var("orderId", '"ord_5"')]}, []),
        ({"errorMessage": "card declined"}, ["declined"]),  # cancelled's incident is resolved
        ({"errorMessage": {"$like": "*DECLINED"}}, []),
        ({"errorMessage": {"$like": "card*"}}, ["declined"]),
        ({"errorMessage": "gateway timeout"}, []),  # a failure with retries left is no incident
        ({"errorMessage": {"$exists": False}}, ["waiting", "retrying", "done", "cancelled",
                                                "at_b", "at_a"]),
        ({"incidentErrorHashCode": DECLINED_HASH}, ["declined"]),
        ({"incidentErrorHashCode": {"$neq": DECLINED_HASH}}, []),
        ({"hasRetriesLeft": True}, ["retrying"]),
        ({"hasRetriesLeft": False}, ["waiting", "declined", "done", "cancelled", "at_b", "at_a"]),
        ({"elementId": "b"}, ["at_b"]),
        ({"elementId": {"$in": ["a", "b"]}}, ["at_b", "at_a"]),
        ({"elementId": "pay", "hasElementInstanceIncident": True}, ["declined"]),
        ({"elementId": "pay", "hasElementInstanceIncident": False}, ["waiting", "retrying"]),
        ({"hasElementInstanceIncident": True}, ["declined"]),
        ({"elementId": {"$like": "?"}, "elementInstanceState": "ACTIVE"}, ["at_b", "at_a"]),
        ({"elementInstanceState": {"$in": ["COMPLETED", "TERMINATED"]}}, []),
        ({"$or": [{"variables": [_var("orderId", '"ord_1"')]},
                  {"errorMessage": {"$like": "*declined"}}]}, ["waiting", "declined"]),
        ({"processDefinitionId": "order",
          "$or": [{"elementId": "pay", "hasElementInstanceIncident": True},
                  {"hasRetriesLeft": True}, {"state": "COMPLETED"}]},
         ["declined", "retrying", "done"]),
        ({"tags": []}, EVERYONE),
        ({"tags": ["vip"]}, []),
        ({"businessId": "b-1"}, []),
        ({"businessId": {"$exists": False}}, EVERYONE),
        ({"batchOperationId": "2251799813685249"}, []),
        ({"processDefinitionVersionTag": "v1"}, []),
        ({"parentProcessInstanceKey": {"$exists": True}}, []),
        ({"parentElementInstanceKey": {"$exists": False}}, EVERYONE),
        ({"processDefinitionName": "Order", "state": {"$neq": "ACTIVE"}}, ["done", "cancelled"]),
        ({"endDate": {"$exists": True}}, ["done", "cancelled"]),
        ({"tenantId": "<default>", "processDefinitionVersion": 1, "hasIncident": True},
         ["declined"]),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_process_instance_filters(
    module_engine: Engine, shared_shop: dict[str, int], filter_: dict[str, Any],
    expected: list[str],
) -> None:
    body = await _search(module_engine, PI_SEARCH, {"filter": filter_})
    names = {v: k for k, v in shared_shop.items()}
    assert [names[int(i["processInstanceKey"])] for i in body["items"]] == expected
    assert body["page"]["totalItems"] == len(expected)


async def test_filters_by_key_and_definition(engine: Engine, shop: dict[str, int]) -> None:
    [item] = (await _search(engine, PI_SEARCH, {"filter": {
        "processInstanceKey": str(shop["at_b"])}}))["items"]
    assert (item["tags"], item["businessId"]) == ([], None)
    by_definition = await _keys(engine, {"filter": {
        "processDefinitionKey": item["processDefinitionKey"]}})
    assert by_definition == [shop["at_b"], shop["at_a"]]
    later = await _keys(engine, {"filter": {"startDate": {"$gt": "2023-11-14T22:13:22Z"}}})
    assert later == [shop["done"], shop["cancelled"], shop["at_b"], shop["at_a"]]


def test_incident_error_hash_codes_are_javas_string_hash_codes() -> None:
    assert java_string_hash("") == 0
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("Aa") == java_string_hash("BB") == 2112
    assert java_string_hash("polygenelubricants") == -(2**31)  # wraps like a Java int
    assert java_string_hash("\U0001F600") == 31 * 0xD83D + 0xDE00  # UTF-16 surrogates


async def test_an_order_is_found_by_its_variable_while_it_runs(engine: Engine) -> None:
    """The console's query for the instance of one order."""
    await engine.deploy(("order.bpmn", ORDER))
    created = await engine.create("order", {"orderId": "ord_42", "note": "ord_42"})
    await engine.create("order", {"orderId": "ord_43"})
    query = {"filter": {"processDefinitionId": "order",
                        "variables": [_var("orderId", json.dumps("ord_42"))]}}
    assert await _keys(engine, query) == [created.processInstanceKey]


async def test_finished_orders_are_found_by_their_variables(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER))
    done = await engine.create("order", {"orderId": "ord_1"})
    cancelled = await engine.create("order", {"orderId": "ord_2"})
    await engine.complete((await engine.activate_one("pay")).key)
    await engine.stub.CancelProcessInstance(
        pb.CancelProcessInstanceRequest(processInstanceKey=cancelled.processInstanceKey))
    for key, order_id in ((done.processInstanceKey, "ord_1"),
                          (cancelled.processInstanceKey, "ord_2")):
        assert await _keys(engine, {"filter": {
            "processDefinitionId": "order", "variables": [_var("orderId", json.dumps(order_id))]
        }}) == [key]


async def test_variables_are_searchable_after_a_restart(start_engine: EngineFactory) -> None:
    first = await start_engine()
    await first.deploy(("order.bpmn", ORDER))
    running = await first.create("order", {"orderId": "ord_1"})
    await stop_engine(first)
    second = await start_engine()
    query = {"filter": {"processDefinitionId": "order", "variables": [_var("orderId", '"ord_1"')]}}
    assert await _keys(second, query) == [running.processInstanceKey]


async def test_finished_orders_are_found_by_their_variables_after_a_restart(
    start_engine: EngineFactory,
) -> None:
    first = await start_engine()
    await first.deploy(("order.bpmn", ORDER))
    done = await first.create("order", {"orderId": "ord_1"})
    await first.complete((await first.activate_one("pay")).key)
    await stop_engine(first)
    second = await start_engine()
    found = await _search(second, PI_SEARCH, {"filter": {
        "processDefinitionId": "order", "variables": [_var("orderId", '"ord_1"')]}})
    assert [(i["processInstanceKey"], i["state"]) for i in found["items"]] == [
        (str(done.processInstanceKey), "COMPLETED")]
    assert found["items"][0]["endDate"] is not None


# ---------------------------------------------------------------------- cursors


async def _page(engine: Engine, body: dict[str, Any], path: str = PI_SEARCH) -> dict[str, Any]:
    return await _search(engine, path, body)


def _ids(page: dict[str, Any]) -> list[int]:
    return [int(i["processInstanceKey"]) for i in page["items"]]


async def _start(engine: Engine, count: int) -> list[int]:
    keys = []
    for _ in range(count):
        keys.append((await engine.create("order")).processInstanceKey)
        engine.clock.advance(1_000)
    return keys


async def test_cursor_pages_do_not_shift_when_items_are_inserted(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER))
    old = await _start(engine, 5)
    sort = [{"field": "startDate", "order": "DESC"}]  # newer instances come first
    first = await _page(engine, {"sort": sort, "page": {"limit": 2}})
    assert _ids(first) == [old[4], old[3]]
    new = await _start(engine, 2)  # inserted before the first page

    second = await _page(engine, {"sort": sort, "page": {"limit": 2,
                                                         "after": first["page"]["endCursor"]}})
    assert _ids(second) == [old[2], old[1]]
    assert second["page"]["totalItems"] == 7
    third = await _page(engine, {"sort": sort, "page": {"limit": 2,
                                                        "after": second["page"]["endCursor"]}})
    assert _ids(third) == [old[0]]
    last = await _page(engine, {"sort": sort, "page": {"after": third["page"]["endCursor"]}})
    assert (last["items"], last["page"]["startCursor"], last["page"]["endCursor"]) == (
        [], None, None)

    back = await _page(engine, {"sort": sort, "page": {"limit": 2,
                                                       "before": second["page"]["startCursor"]}})
    assert _ids(back) == [old[4], old[3]]
    newest = await _page(engine, {"sort": sort, "page": {"limit": 5,
                                                         "before": back["page"]["startCursor"]}})
    assert _ids(newest) == [new[1], new[0]]
    assert newest["page"]["totalItems"] == 7


async def test_cursor_survives_its_item_leaving_the_results(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER))
    keys = await _start(engine, 5)
    active = {"filter": {"state": "ACTIVE"}}
    first = await _page(engine, {**active, "page": {"limit": 2}})
    assert _ids(first) == keys[:2]
    jobs = {j.processInstanceKey: j for j in await engine.activate("pay", max_jobs=5)}
    await engine.complete(jobs[keys[1]].key)  # the boundary item is no longer ACTIVE

    second = await _page(engine, {**active, "page": {"limit": 2,
                                                     "after": first["page"]["endCursor"]}})
    assert _ids(second) == keys[2:4]
    assert second["page"]["totalItems"] == 4
    back = await _page(engine, {**active, "page": {"limit": 2,
                                                   "before": second["page"]["startCursor"]}})
    assert _ids(back) == keys[:1]


async def test_offsets_and_limits(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER))
    created = await asyncio.gather(*(engine.create("order") for _ in range(101)))
    keys = sorted(c.processInstanceKey for c in created)
    default = await _page(engine, {})
    assert (_ids(default), default["page"]["totalItems"]) == (keys[:100], 101)
    assert default["page"]["hasMoreTotalItems"] is False
    assert _ids(await _page(engine, {"page": {"limit": 10_000}})) == keys
    middle = await _page(engine, {"page": {"from": 50, "limit": 3}})
    assert _ids(middle) == keys[50:53]
    after = await _page(engine, {"page": {"limit": 3, "after": middle["page"]["endCursor"]}})
    assert _ids(after) == keys[53:56]
    before = await _page(engine, {"page": {"limit": 3, "before": middle["page"]["startCursor"]}})
    assert _ids(before) == keys[47:50]
    problem = await _problem(engine, PI_SEARCH, {"page": {"limit": 10_001}})
    assert "between 1 and 10000" in problem["detail"]


async def test_cursors_belong_to_one_endpoint_and_sort(engine: Engine, shop: dict[str, int]) -> None:
    by_date = await _page(engine, {"sort": [{"field": "startDate"}], "page": {"limit": 2}})
    cursor = by_date["page"]["endCursor"]
    for body in ({"page": {"after": cursor}},
                 {"sort": [{"field": "startDate", "order": "DESC"}], "page": {"before": cursor}},
                 {"sort": [{"field": "endDate"}], "page": {"after": cursor}}):
        problem = await _problem(engine, PI_SEARCH, body)
        assert "made for another endpoint or sort order" in problem["detail"]
    same = await _page(engine, {"sort": [{"field": "startDate", "order": "ASC"}],
                                "page": {"after": cursor}})
    assert len(same["items"]) == len(NAMES) - 2
    jobs = await _page(engine, {"page": {"limit": 1}}, "/jobs/search")
    problem = await _problem(engine, PI_SEARCH, {"page": {"after": jobs["page"]["endCursor"]}})
    assert "made for another endpoint or sort order" in problem["detail"]


@pytest.mark.parametrize(
    ("page", "fragment"),
    [
        ({"after": "!!"}, "page.after is not a valid cursor"),
        ({"before": "not base64"}, "page.before is not a valid cursor"),
        ({"after": _b64("not json")}, "page.after is not a valid cursor"),
        ({"after": _b64('{"o": 2}')}, "page.after is not a valid cursor"),  # positions are gone
        ({"after": _b64("[1, 2]")}, "page.after is not a valid cursor"),
        ({"after": encode_cursor("x", signature="process_instances|")}, "not a valid cursor"),
        ({"after": encode_cursor(1, 2, signature="process_instances|")}, "not a valid cursor"),
        ({"after": encode_cursor(None, signature="process_instances|")}, "not a valid cursor"),
        ({"after": encode_cursor(1.5, signature="process_instances|")}, "not a valid cursor"),
        ({"after": "é"}, "page.after is not a valid cursor"),
        ({"after": 5}, "page.after must be a non-empty cursor string"),
        ({"before": ""}, "page.before must be a non-empty cursor string"),
        ({"after": encode_cursor(1, signature="process_instances|"),
          "before": encode_cursor(1, signature="process_instances|")},
         "use only one of from, after and before (got after, before)"),
        ({"from": 0, "after": encode_cursor(1, signature="process_instances|")},
         "use only one of from, after and before (got from, after)"),
        ({"from": -1}, "page.from must be a non-negative integer"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_bad_pages_are_rejected(
    module_engine: Engine, page: dict[str, Any], fragment: str
) -> None:
    problem = await _problem(module_engine, PI_SEARCH, {"page": page})
    assert problem["title"] == "INVALID_ARGUMENT"
    assert fragment in problem["detail"]


async def test_a_valid_hand_made_cursor_works(engine: Engine, shop: dict[str, int]) -> None:
    cursor = encode_cursor(shop["retrying"], signature="process_instances|")
    assert await _keys(engine, {"page": {"limit": 2, "after": cursor}}) == [
        shop["done"], shop["cancelled"]]


# ---------------------------------------------------------------------- filter errors


@pytest.mark.parametrize(
    ("filter_", "fragment"),
    [
        ({"variables": {"name": "a", "value": "1"}},
         "filter.variables: expected an array of {name, value} objects"),
        ({"variables": [{"name": "a"}]},
         "filter.variables[0]: expected an object with exactly 'name' and 'value'"),
        ({"variables": [{"name": "a", "value": "1", "scope": "x"}]}, "exactly 'name' and 'value'"),
        ({"variables": [{"name": "", "value": "1"}]},
         "filter.variables[0].name: expected a non-empty string"),
        ({"variables": [_var("a", 1)]}, "filter.variables[0].value: expected a string, got 1"),
        ({"variables": [_var("a", None)]}, "filter.variables[0].value: expected the variable's"),
        ({"variables": [_var("a", {"$gt": "1"})]}, "operator '$gt' is not allowed"),
        ({"tags": "vip"}, "filter.tags: expected an array of at most 10 tags"),
        ({"tags": [f"t{i}" for i in range(11)]}, "at most 10 tags"),
        ({"tags": ["1st"]}, 'filter.tags: "1st" is not a valid tag'),
        ({"tags": ["a", "a"]}, "filter.tags: tags must be unique"),
        ({"hasRetriesLeft": "yes"}, "filter.hasRetriesLeft: expected true or false"),
        ({"hasElementInstanceIncident": 1}, "filter.hasElementInstanceIncident: expected true"),
        ({"elementInstanceState": "DONE"}, "filter.elementInstanceState: unknown value 'DONE'"),
        ({"incidentErrorHashCode": "12"}, "filter.incidentErrorHashCode: expected an integer"),
        ({"errorMessage": {"$gt": "a"}}, "filter.errorMessage: operator '$gt' is not allowed"),
        ({"elementId": None}, "filter.elementId: null is not a valid filter value"),
        ({"batchOperationId": 7}, "filter.batchOperationId: expected a string"),
        ({"businessId": ["b"]}, "filter.businessId: expected a string"),
        ({"$or": [{"errorMessage": 5}]}, "filter.$or[0].errorMessage: expected a string"),
        ({"$or": [{"$or": [{"state": "ACTIVE"}]}]}, "filter.$or[0]: unknown filter field '$or'"),
        ({"$or": []}, "filter.$or must be a non-empty array"),
        ({"orderId": "ord_1"}, "filter: unknown filter field 'orderId'"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_bad_process_instance_filters_name_the_field(
    module_engine: Engine, filter_: dict[str, Any], fragment: str
) -> None:
    problem = await _problem(module_engine, PI_SEARCH, {"filter": filter_})
    assert fragment in problem["detail"]


@pytest.mark.parametrize("field", ["variables", "errorMessage", "elementId", "tags", "hasRetriesLeft"])
@pytest.mark.asyncio(loop_scope="module")
async def test_filter_only_fields_cannot_sort(module_engine: Engine, field: str) -> None:
    problem = await _problem(module_engine, PI_SEARCH, {"sort": [{"field": field}]})
    assert f'unknown sort field "{field}"' in problem["detail"]
    assert "businessId" in problem["detail"]


# ---------------------------------------------------------------------- every field, every sort

# The field lists of ZEEBE.md §4.4-4.6, written out rather than taken from the code.
INCIDENT_FIELDS = ("incidentKey", "processDefinitionKey", "processDefinitionId",
                   "processInstanceKey", "elementId", "elementInstanceKey", "jobKey", "errorType",
                   "errorMessage", "state", "creationTime", "tenantId")
PROCESS_INSTANCE_SORT_FIELDS = (
    "processInstanceKey", "processDefinitionId", "processDefinitionName",
    "processDefinitionVersion", "processDefinitionVersionTag", "processDefinitionKey",
    "parentProcessInstanceKey", "parentElementInstanceKey", "startDate", "endDate", "state",
    "hasIncident", "tenantId", "businessId")
PROCESS_INSTANCE_FILTERS = (*PROCESS_INSTANCE_SORT_FIELDS, "errorMessage", "hasRetriesLeft",
                            "elementId", "elementInstanceState", "hasElementInstanceIncident",
                            "incidentErrorHashCode", "batchOperationId")
JOB_FIELDS = ("jobKey", "type", "worker", "state", "kind", "listenerEventType",
              "processDefinitionId", "processDefinitionKey", "processInstanceKey", "elementId",
              "elementInstanceKey", "retries", "hasFailedWithRetriesLeft", "errorCode",
              "errorMessage", "deadline", "endTime", "tenantId", "isDenied", "deniedReason",
              "creationTime", "lastUpdateTime", "priority")
ENDPOINTS = [
    ("/incidents/search", "incidentKey", INCIDENT_SPEC, INCIDENT_FIELDS, INCIDENT_FIELDS),
    (PI_SEARCH, "processInstanceKey", PROCESS_INSTANCE_SPEC, PROCESS_INSTANCE_FILTERS,
     PROCESS_INSTANCE_SORT_FIELDS),
    ("/jobs/search", "jobKey", JOB_SPEC, JOB_FIELDS, JOB_FIELDS),
]


def _expected_order(items: list[dict[str, Any]], field: str, direction: str, key: str,
                    key_fields: set[str]) -> list[str]:
    """SQLite's order: NULL first ascending, last descending; ties by key, ascending."""
    def value(item: dict[str, Any]) -> Any:
        v = item[field]
        return int(v) if v is not None and field in key_fields else v

    by_key = sorted(items, key=lambda i: int(i[key]))
    missing = [i for i in by_key if value(i) is None]
    ordered = sorted((i for i in by_key if value(i) is not None), key=value,
                     reverse=direction == "DESC")  # stable: ties stay in key order
    result = missing + ordered if direction == "ASC" else ordered + missing
    return [i[key] for i in result]


async def _walk(engine: Engine, path: str, key: str, sort: list[dict[str, str]],
                last_cursor: str) -> tuple[list[str], list[str]]:
    """Every item, following endCursors forwards and startCursors backwards, 3 at a time."""
    forward: list[str] = []
    page: dict[str, Any] = {"limit": 3}
    while True:
        body = await _search(engine, path, {"sort": sort, "page": page})
        if not body["items"]:
            break
        forward += [i[key] for i in body["items"]]
        page = {"limit": 3, "after": body["page"]["endCursor"]}
    backward: list[str] = []
    page = {"limit": 3, "before": last_cursor}
    while True:
        body = await _search(engine, path, {"sort": sort, "page": page})
        if not body["items"]:
            break
        backward = [i[key] for i in body["items"]] + backward
        page = {"limit": 3, "before": body["page"]["startCursor"]}
    return forward, backward


@pytest.mark.parametrize(("path", "key", "spec", "filters", "sorts"), ENDPOINTS,
                         ids=[e[0] for e in ENDPOINTS])
async def test_every_listed_field_filters_and_sorts_with_stable_pages(
    engine: Engine, shop: dict[str, int], path: str, key: str, spec: SearchSpec,
    filters: tuple[str, ...], sorts: tuple[str, ...],
) -> None:
    for field in filters:
        body = {"filter": {field: {"$exists": True}}}
        response = await engine.rest.post(path, json=body)
        assert response.status_code == 200, (field, response.text)
    items = (await _search(engine, path, {}))["items"]
    assert len(items) >= 2
    key_fields = {name for name, f in spec.fields.items() if f.kind == KEY}
    for field in sorts:
        for direction in ("ASC", "DESC"):
            sort = [{"field": field, "order": direction}]
            full = await _search(engine, path, {"sort": sort})
            got = [i[key] for i in full["items"]]
            assert got == _expected_order(items, field, direction, key, key_fields), sort
            forward, backward = await _walk(engine, path, key, sort, full["page"]["endCursor"])
            assert forward == got, sort
            assert backward + [got[-1]] == got, sort


async def test_sorts_combine_and_break_ties_by_key(engine: Engine, shop: dict[str, int]) -> None:
    sort = [{"field": "processDefinitionId", "order": "DESC"}, {"field": "startDate",
                                                                "order": "DESC"}]
    keys = await _keys(engine, {"sort": sort})
    assert keys == [shop[n] for n in ("at_b", "at_a", "cancelled", "done", "retrying",
                                      "declined", "waiting")]
    first = await _page(engine, {"sort": sort, "page": {"limit": 1}})
    second = await _page(engine, {"sort": sort, "page": {"limit": 1,
                                                         "after": first["page"]["endCursor"]}})
    assert _ids(first) + _ids(second) == keys[:2]


async def test_job_fields_the_engine_cannot_know(engine: Engine, shop: dict[str, int]) -> None:
    everything = (await _search(engine, "/jobs/search", {}))["items"]
    assert {(j["priority"], j["isDenied"], j["deniedReason"]) for j in everything} == {
        (0, None, None)}
    for filter_, count in (({"priority": 0}, 0), ({"priority": {"$exists": False}}, 8),
                           ({"isDenied": False}, 0), ({"deniedReason": {"$exists": False}}, 8),
                           ({"kind": "BPMN_ELEMENT"}, 8), ({"kind": "TASK_LISTENER"}, 0),
                           ({"listenerEventType": "UNSPECIFIED"}, 8)):
        body = await _search(engine, "/jobs/search", {"filter": filter_})
        assert body["page"]["totalItems"] == count, filter_
