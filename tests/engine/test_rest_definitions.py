"""REST v2 for the console's order detail: process-definition XML and variable search."""

from __future__ import annotations

import json

from .conftest import Engine, Task, chain_bpmn

ORDER = chain_bpmn("order", Task("pay", "pay"), Task("ship", "ship"), name="Order")


async def test_definition_and_its_xml_as_deployed(engine: Engine) -> None:
    deployed = await engine.deploy(("order.bpmn", ORDER))
    key = deployed.deployments[0].process.processDefinitionKey
    created = await engine.create("order")
    instance = await engine.instance(created.processInstanceKey)
    assert instance["processDefinitionKey"] == str(key)

    meta = (await engine.rest.get(f"/process-definitions/{key}")).json()
    assert meta["processDefinitionId"] == "order"
    assert meta["version"] == 1
    assert meta["resourceName"] == "order.bpmn"

    response = await engine.rest.get(f"/process-definitions/{key}/xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content == ORDER


async def test_unknown_or_malformed_definition_key_is_a_problem(engine: Engine) -> None:
    missing = await engine.rest.get("/process-definitions/123/xml")
    assert missing.status_code == 404
    assert "Process definition with key '123' not found" in missing.json()["detail"]
    bad = await engine.rest.get("/process-definitions/abc/xml")
    assert bad.status_code == 400
    assert "not a valid key" in bad.json()["detail"]


async def _variables(engine: Engine, **filter_: object) -> dict[str, object]:
    response = await engine.rest.post("/variables/search", json={"filter": filter_})
    assert response.status_code == 200, response.text
    return {item["name"]: json.loads(item["value"]) for item in response.json()["items"]}


async def test_variables_of_an_instance_as_it_runs_and_after_it_ends(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER))
    created = await engine.create("order", {"orderId": "ord_1"})
    other = await engine.create("order", {"orderId": "ord_2"})
    key = created.processInstanceKey
    jobs = {j.processInstanceKey: j for j in await engine.activate("pay")}
    await engine.complete(jobs[key].key, {"paymentVerified": True, "verifiedAt": "2026-01-05T05:15:30Z"})
    assert await _variables(engine, processInstanceKey=str(key)) == {
        "orderId": "ord_1", "paymentVerified": True, "verifiedAt": "2026-01-05T05:15:30Z"}
    assert await _variables(engine, processInstanceKey=str(other.processInstanceKey)) == {"orderId": "ord_2"}

    await engine.complete((await engine.activate_one("ship")).key, {"warehouse": "Mumbai"})
    assert await engine.state(key) == "COMPLETED"
    root = await _variables(engine, scopeKey=str(key))
    assert root["warehouse"] == "Mumbai" and root["paymentVerified"] is True
    assert await _variables(engine, scopeKey=str(key), name="warehouse") == {"warehouse": "Mumbai"}


async def test_variable_search_rejects_unknown_fields(engine: Engine) -> None:
    response = await engine.rest.post("/variables/search", json={"filter": {"colour": "red"}})
    assert response.status_code == 400
    assert "colour" in response.json()["detail"]


async def test_long_values_come_back_truncated_and_say_so(engine: Engine) -> None:
    await engine.deploy(("order.bpmn", ORDER))
    created = await engine.create("order", {"note": "x" * 9000, "short": 1})
    key = str(created.processInstanceKey)
    response = await engine.rest.post("/variables/search", json={"filter": {"processInstanceKey": key}})
    items = {i["name"]: i for i in response.json()["items"]}
    assert items["note"]["isTruncated"] is True and len(items["note"]["value"]) == 8192
    assert items["short"]["isTruncated"] is False and items["short"]["value"] == "1"
    truncated = await engine.rest.post("/variables/search", json={
        "filter": {"processInstanceKey": key, "isTruncated": True}})
    assert [i["name"] for i in truncated.json()["items"]] == ["note"]
