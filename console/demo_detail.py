"""Pinned engine answers and store history for the order detail in snapshots and screenshots."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
from console.order_detail import DetailLoader
from console.state import DONE, FAILED, PENDING, RUNNING, ConsoleState
from workers.stages import STAGES

_DEFINITION_KEY = 2251799813685249
_JOB_STATE = {DONE: "COMPLETED", RUNNING: "ACTIVATED", FAILED: "FAILED"}


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class PinnedEngine:
    """Answers the detail's REST questions from the pinned console state, at a fixed time.

    A stage before one that ran counts as completed; each stage took its seed duration.
    """

    def __init__(self, state: ConsoleState, now: datetime) -> None:
        self.state = state
        self.now = now

    def _stages(self, key: int) -> list[tuple[str, datetime, datetime | None]]:
        order_id = self.state.order_for_instance(key)
        view = self.state.orders.get(order_id) if order_id else None
        if view is None:
            return []
        states = [s.state for s in view.stages]
        last = max((i for i, s in enumerate(states) if s != PENDING), default=-1)
        rows: list[tuple[str, datetime, datetime | None]] = []
        at = self.now - timedelta(seconds=30)
        for index, stage in enumerate(STAGES[: last + 1]):
            state = _JOB_STATE.get(states[index], "COMPLETED") if index == last else "COMPLETED"
            took = timedelta(seconds=stage.default_delay_s + 0.1)
            rows.append((state, at, at + took if state == "COMPLETED" else None))
            at += took
        return rows

    async def process_instance(self, key: int) -> dict[str, Any]:
        stages = self._stages(key)
        done = len(stages) == len(STAGES) and stages[-1][0] == "COMPLETED"
        return {"processInstanceKey": str(key), "processDefinitionKey": str(_DEFINITION_KEY),
                "processDefinitionId": ORDER_PROCESS_ID, "state": "COMPLETED" if done else "ACTIVE"}

    async def process_definition_xml(self, key: int) -> bytes:
        return ORDER_FULFILLMENT.read_bytes()

    async def jobs_of(self, process_instance_key: int, limit: int = 100) -> list[dict[str, Any]]:
        jobs = []
        for stage, (state, started, ended) in zip(STAGES, self._stages(process_instance_key), strict=False):
            failed = state == "FAILED"
            jobs.append({
                "elementId": stage.element_id, "type": stage.task_type, "state": state,
                "retries": 0 if failed else 3, "creationTime": _iso(started),
                "endTime": _iso(ended) if ended else None,
                "errorMessage": "status callback failed: HTTP 500" if failed else None,
            })
        return jobs

    async def variables_of(self, process_instance_key: int, limit: int = 200) -> dict[str, str]:
        order_id = self.state.order_for_instance(process_instance_key) or ""
        stages = self._stages(process_instance_key)
        found: dict[str, object] = {"orderId": order_id, "timestamp": _iso(stages[0][1]) if stages else ""}
        for stage, (state, _, ended) in zip(STAGES, stages, strict=False):
            if state == "COMPLETED" and ended is not None:
                found[stage.done_variable] = True
                found[stage.time_variable] = _iso(ended)
                found.update(dict(stage.extra_outputs))
        return {name: json.dumps(value) for name, value in found.items()}


def pinned_timeline(now: datetime) -> Callable[[str], list[dict[str, Any]]]:
    """The local store's history of the pinned incident order: callbacks, Slack, the operator."""
    def rows(order_id: str) -> list[dict[str, Any]]:
        if order_id != "order_01JGDEMO0004":
            return []
        events: list[dict[str, Any]] = [
            {"at": _iso(now - timedelta(seconds=27)), "kind": "CallbackAttempt", "payload": json.dumps({
                "status": "payment_verified", "attempt": 1, "max_attempts": 3, "ok": True, "http_status": 200,
                "latency_ms": 4.1})},
            {"at": _iso(now - timedelta(seconds=27)), "kind": "SlackSent",
             "payload": json.dumps({"title": "💳 Payment Verified - Stage 1/3"})},
        ]
        for attempt, delay in ((1, 1.0), (2, 2.0), (3, None)):
            events.append({"at": _iso(now - timedelta(seconds=12 - attempt * 3)), "kind": "CallbackAttempt",
                           "payload": json.dumps({
                               "status": "inventory_reserved", "attempt": attempt, "max_attempts": 3, "ok": False,
                               "http_status": 500, "error": "HTTP 500: Internal server error",
                               "latency_ms": 3.0 + attempt, "next_delay_s": delay})})
        events.append({"at": _iso(now - timedelta(seconds=2)), "kind": "SlackSent",
                       "payload": json.dumps({"title": "🚨 Workflow Error - Inventory (Stage 2/3)"})})
        events.append({"at": _iso(now - timedelta(seconds=1)), "kind": "OperatorAction", "payload": json.dumps({
            "action": "retry", "order_id": order_id, "outcome": "failed",
            "detail": "the shop still answers 500"})})
        return events
    return rows


def pinned_detail_loader(state: ConsoleState, now: datetime) -> DetailLoader:
    return DetailLoader(PinnedEngine(state, now), pinned_timeline(now))
