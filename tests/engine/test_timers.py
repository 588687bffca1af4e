"""Timer catch events and interrupting timer boundaries on the injectable clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import grpc
import pytest

from .conftest import Engine, chain, io, process_xml, rpc_error, service


def _catch(definition: str, kind: str = "timeDuration") -> bytes:
    body = ('<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait">'
            f"<bpmn:timerEventDefinition><bpmn:{kind}>{definition}</bpmn:{kind}>"
            "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
            + service("after", "after") + '<bpmn:endEvent id="end"/>'
            + chain("start", "wait", "after", "end"))
    return process_xml("timer", body)


def _boundary(duration: str, outputs: str = "") -> bytes:
    ext = f"<bpmn:extensionElements>{outputs}</bpmn:extensionElements>" if outputs else ""
    body = ('<bpmn:startEvent id="start"/>' + service("work", "work")
            + '<bpmn:endEvent id="end"/>' + chain("start", "work", "end")
            + f'<bpmn:boundaryEvent id="timeout" attachedToRef="work">{ext}'
            f"<bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration>"
            "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
            + service("escalate", "escalate") + '<bpmn:endEvent id="late"/>'
            + chain("timeout", "escalate", "late"))
    return process_xml("guarded", body)


@pytest.mark.parametrize(
    ("definition", "variables", "wait_ms"),
    [
        ("PT10S", {}, 10_000),
        ("=pause", {"pause": "PT1M"}, 60_000),
        ('=duration("PT" + string(seconds) + "S")', {"seconds": 5}, 5_000),
        ("-PT5S", {}, 0),
    ],
)
async def test_duration_timer_fires_on_time_never_early(
    engine: Engine, definition: str, variables: dict, wait_ms: int
) -> None:
    await engine.deploy(("timer.bpmn", _catch(definition.replace('"', "&quot;"))))
    created = await engine.create("timer", variables)
    if wait_ms:
        engine.advance(wait_ms - 1)
        assert await engine.activate("after") == []
    engine.advance(1)
    job = await engine.activate_one("after")
    assert job.processInstanceKey == created.processInstanceKey


async def test_date_timer(engine: Engine) -> None:
    due_ms = engine.clock.now_ms() + 2 * 3_600_000
    text = datetime.fromtimestamp(due_ms / 1000, tz=timezone(timedelta(hours=1))).isoformat()
    await engine.deploy(("timer.bpmn", _catch(text, "timeDate")))  # e.g. ...T00:13:20+01:00
    await engine.create("timer")
    engine.advance(due_ms - engine.clock.now_ms() - 1)
    assert await engine.activate("after") == []
    engine.advance(1)
    assert (await engine.activate_one("after")).elementId == "after"


async def test_bad_timer_expression_is_an_extract_value_incident(engine: Engine) -> None:
    await engine.deploy(("timer.bpmn", _catch("=pause")))
    created = await engine.create("timer", {"pause": 5})
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["errorType"] == "EXTRACT_VALUE_ERROR"
    assert incident["errorMessage"] == (
        "Expected the timeDuration '=pause' to give a duration (e.g. 'PT15S'), but it was "
        "'NUMBER'.")
    await engine.set_variables(created.processInstanceKey, {"pause": "soon"})
    await engine.resolve(incident["incidentKey"])
    [_, again] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert "'soon' is not an ISO-8601 duration" in again["errorMessage"]
    await engine.set_variables(created.processInstanceKey, {"pause": "PT1S"})
    await engine.resolve(again["incidentKey"])
    engine.advance(1_000)
    assert (await engine.activate_one("after")).processInstanceKey == created.processInstanceKey


async def test_interrupting_timer_boundary_terminates_the_task(engine: Engine) -> None:
    await engine.deploy(("guarded.bpmn", _boundary(
        "PT30S", io(("output", '="timed out"', "outcome")))))
    created = await engine.create("guarded")
    job = await engine.activate_one("work")
    engine.advance(29_999)
    assert await engine.activate("escalate") == []
    engine.advance(1)
    escalate = await engine.activate_one("escalate")
    assert json.loads(escalate.variables) == {"outcome": "timed out"}
    # the job was cancelled with its task
    error = await rpc_error(engine.complete(job.key))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    await engine.complete(escalate.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


async def test_timer_boundary_is_dropped_when_the_task_completes(engine: Engine) -> None:
    await engine.deploy(("guarded.bpmn", _boundary("PT30S")))
    created = await engine.create("guarded")
    await engine.complete((await engine.activate_one("work")).key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
    runtime = engine.server.runtime
    assert runtime is not None and not runtime.timers
    engine.advance(60_000)
    assert await engine.activate("escalate") == []


async def test_timer_boundary_interrupts_a_task_with_an_incident(engine: Engine) -> None:
    await engine.deploy(("guarded.bpmn", _boundary("PT30S")))
    created = await engine.create("guarded")
    job = await engine.activate_one("work")
    await engine.fail(job.key, retries=0, message="stuck")
    engine.advance(30_000)
    assert (await engine.activate_one("escalate")).processInstanceKey == \
        created.processInstanceKey
    [incident] = await engine.incidents(processInstanceKey=str(created.processInstanceKey))
    assert incident["state"] == "RESOLVED"
    assert (await engine.instance(created.processInstanceKey))["hasIncident"] is False
