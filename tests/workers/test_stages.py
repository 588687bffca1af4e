"""The stage table keeps the seed's contract: task types, statuses, messages, outputs."""

from __future__ import annotations

import pytest

from bpmn import ORDER_FULFILLMENT
from workers.settings import WorkerSettings
from workers.stages import STAGES, STATUS_SEQUENCE, parse_delays, stage_outputs


def test_seed_stage_contract():
    assert [s.task_type for s in STAGES] == ["verify-payment", "reserve-inventory", "send-notification"]
    assert STATUS_SEQUENCE == ("started", "payment_verified", "inventory_reserved", "completed")
    # The stage table's statuses are protocol/'s sequence after "started", in order.
    assert STATUS_SEQUENCE[1:] == tuple(stage.status for stage in STAGES)
    assert [s.message for s in STAGES] == [
        "Payment verified successfully",
        "Inventory reserved at Mumbai warehouse",
        "Customer notified - Order complete!",
    ]
    assert [s.default_delay_s for s in STAGES] == [2.0, 3.0, 1.5]


def test_outputs_match_the_seed():
    at = "2026-01-05T05:15:02.500Z"
    assert stage_outputs(STAGES[0], at) == {"paymentVerified": True, "verifiedAt": at}
    assert stage_outputs(STAGES[1], at) == {"inventoryReserved": True, "warehouse": "Mumbai", "reservedAt": at}
    assert stage_outputs(STAGES[2], at) == {"notificationSent": True, "sentAt": at}


def test_bpmn_names_every_stage_task():
    text = ORDER_FULFILLMENT.read_text()
    assert 'id="order-fulfillment-poc"' in text
    for stage in STAGES:
        assert f'type="{stage.task_type}" retries="3"' in text
        assert f'id="{stage.element_id}"' in text
        assert f'bpmnElement="{stage.element_id}"' in text, "diagram interchange shape missing"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("seed", (2.0, 3.0, 1.5)), ("zero", (0.0, 0.0, 0.0)), ("0.1, 0.2,0", (0.1, 0.2, 0.0))],
)
def test_parse_delays(text, expected):
    assert parse_delays(text) == expected


@pytest.mark.parametrize("text", ["1,2", "a,b,c", "-1,0,0", "1,2,3,4", "nan,0,0"])
def test_parse_delays_rejects_clearly(text):
    with pytest.raises(ValueError, match="expected|not a number|between"):
        parse_delays(text)


def test_job_lock_outlasts_every_callback_attempt():
    settings = WorkerSettings(medusa_url="http://x")
    # 3 s work + 3 × 5 s timeouts + 1 s + 2 s waits = 21 s, plus margin.
    assert settings.job_timeout_ms(STAGES[1]) >= 21_000
