"""Real models from the shared corpus run end to end (mappings, gateways, timers, errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import CORPUS_DIR, Engine

CORPUS = CORPUS_DIR or Path("missing-corpus")
pytestmark = pytest.mark.skipif(CORPUS_DIR is None, reason="../shared/bpmn-corpus not found")


async def _deploy(engine: Engine, name: str) -> None:
    await engine.deploy((name, (CORPUS / name).read_bytes()))


async def test_looping_service_task(engine: Engine) -> None:
    """Start output mapping, task output ``loopAmount + 1``, a looping conditional flow."""
    await _deploy(engine, "zeebe-process-test__looping-servicetask.bpmn")
    created = await engine.create("looping-servicetask", {"totalLoops": 3})
    seen = []
    for _ in range(3):
        job = await engine.activate_one("test")
        seen.append(json.loads(job.variables)["loopAmount"])
        await engine.complete(job.key)
    assert seen == [0, 1, 2]
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


async def test_action_runner_timeout_path(engine: Engine) -> None:
    """Expression job type, a timer boundary from a start-event output, append() outputs."""
    await _deploy(engine, "zeebe-chaos__actionRunner.bpmn")
    action = {"name": "kill", "provider": {"path": "chaos-kill", "timeout": 90}}
    created = await engine.create("actionRunner", {
        "action": action, "testReport": {"failureMessages": ["earlier"]}})
    job = await engine.activate_one("chaos-kill")
    assert json.loads(job.variables)["provider"] == action["provider"]
    assert json.loads(job.variables)["timeout"] == "PT90S"
    engine.advance(89_999)
    assert await engine.state(created.processInstanceKey) == "ACTIVE"
    engine.advance(1)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
    runtime = engine.server.runtime
    assert runtime is not None and job.key not in runtime.jobs


async def test_action_runner_success_path_with_a_pause(engine: Engine) -> None:
    """``is defined`` on the gateway, then a timer whose duration is built by FEEL."""
    await _deploy(engine, "zeebe-chaos__actionRunner.bpmn")
    action = {"name": "pause", "provider": {"path": "chaos-ok"}, "pauses": {"after": 30}}
    created = await engine.create("actionRunner", {"action": action})
    job = await engine.activate_one("chaos-ok")
    assert json.loads(job.variables)["timeout"] == "PT1H"  # the default
    await engine.complete(job.key)
    engine.advance(29_999)
    assert await engine.state(created.processInstanceKey) == "ACTIVE"
    engine.advance(1)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


async def test_demo2_message_then_error(engine: Engine) -> None:
    await _deploy(engine, "zeebe-spec__demo2.bpmn")
    created = await engine.create("demo2", {"key": "k-1"})
    await engine.publish("message-1", "k-1", variables={"x": 1})
    b = await engine.activate_one("b")
    await engine.throw(b.key, "error-1")
    c = await engine.activate_one("c")
    assert json.loads(c.variables) == {"key": "k-1", "x": 1}
    await engine.complete(c.key)
    assert await engine.state(created.processInstanceKey) == "COMPLETED"


async def test_customer_scoring_retries_after_a_timeout(engine: Engine) -> None:
    """Send task, receive task with an interrupting timer boundary, a retry loop."""
    await _deploy(engine, "customer-onboarding-extended__customer-scoring.bpmn")
    created = await engine.create("customer-scoring",
                                  {"scoringRequestId": "s-1", "scoringRetryCount": 0})
    send = await engine.activate_one("SendScoringRequest")
    await engine.complete(send.key, {"scoringRetryCount": 1})
    engine.advance(5 * 60_000)  # no result within 5 minutes: send again
    again = await engine.activate_one("SendScoringRequest")
    await engine.complete(again.key)
    await engine.publish("MessageScoringResult", "s-1", variables={"score": 7})
    assert await engine.state(created.processInstanceKey) == "COMPLETED"
