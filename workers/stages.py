"""The stage table: the one place that names each fulfillment stage and its strings."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.progress import (
    CANCELLED,
    COMPLETED,
    INVENTORY_RESERVED,
    PAYMENT_DECLINED,
    PAYMENT_VERIFIED,
    STARTED,
    WORKFLOW_SEQUENCE,
)


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of order fulfillment, as the seed's proof of concept defined it."""

    number: int
    task_type: str
    #: The service task's id in the process (REST incidents name elements); both processes
    #: use the same ids for the seed's three stages.
    element_id: str
    label: str
    #: The callback status this stage reports; None for a stage that sends no callback.
    status: str | None
    message: str
    done_variable: str
    time_variable: str
    default_delay_s: float
    slack_title: str
    extra_outputs: tuple[tuple[str, object], ...] = ()
    #: Which MEDCAM_STAGE_DELAYS entry (1-based) times this stage; 0 means its own number.
    delay_of: int = 0

    @property
    def progress(self) -> str:
        """The seed's "Stage n/3" indicator."""
        return f"Stage {self.number}/{len(STAGES)}"

    @property
    def progress_bar(self) -> str:
        """A Slack-friendly progress indicator, e.g. ``■■□ 2/3``."""
        total = len(STAGES)
        return f"{'■' * self.number}{'□' * (total - self.number)} {self.number}/{total}"

    @property
    def delay_index(self) -> int:
        """0-based index of this stage's entry in the stage delays."""
        return (self.delay_of or self.number) - 1


STAGES: tuple[Stage, ...] = (
    Stage(
        number=1,
        task_type="verify-payment",
        element_id="Task_VerifyPayment",
        label="Payment",
        status=PAYMENT_VERIFIED,
        message="Payment verified successfully",
        done_variable="paymentVerified",
        time_variable="verifiedAt",
        default_delay_s=2.0,
        slack_title="💳 Payment Verified",
    ),
    Stage(
        number=2,
        task_type="reserve-inventory",
        element_id="Task_ReserveInventory",
        label="Inventory",
        status=INVENTORY_RESERVED,
        message="Inventory reserved at Mumbai warehouse",
        done_variable="inventoryReserved",
        time_variable="reservedAt",
        default_delay_s=3.0,
        slack_title="📦 Inventory Reserved",
        extra_outputs=(("warehouse", "Mumbai"),),
    ),
    Stage(
        number=3,
        task_type="send-notification",
        element_id="Task_SendNotification",
        label="Notify",
        status=COMPLETED,
        message="Customer notified - Order complete!",
        done_variable="notificationSent",
        time_variable="sentAt",
        default_delay_s=1.5,
        slack_title="🎉 Order Complete",
    ),
)

#: The payment-declined path of bpmn/order-fulfillment-parallel.bpmn, after the join.
DECLINE_STAGES: tuple[Stage, ...] = (
    Stage(
        number=2,
        task_type="release-inventory",
        element_id="Task_ReleaseInventory",
        label="Release",
        status=None,
        message="Inventory reservation released at Mumbai warehouse",
        done_variable="inventoryReleased",
        time_variable="releasedAt",
        default_delay_s=3.0,
        slack_title="↩️ Inventory Released",
        extra_outputs=(("warehouse", "Mumbai"),),
        delay_of=2,
    ),
    Stage(
        number=3,
        task_type="notify-payment-declined",
        element_id="Task_NotifyPaymentDeclined",
        label="Declined",
        status="payment_declined",
        message="Payment declined - customer notified, reservation released",
        done_variable="customerNotified",
        time_variable="declinedAt",
        default_delay_s=1.5,
        slack_title="🚫 Payment Declined",
        delay_of=3,
    ),
)

STAGE_BY_TYPE: dict[str, Stage] = {stage.task_type: stage for stage in STAGES}
STAGE_BY_ELEMENT: dict[str, Stage] = {stage.element_id: stage for stage in (*STAGES, *DECLINE_STAGES)}
#: Every task type a worker serves, the decline path's included.
TASK_BY_TYPE: dict[str, Stage] = {stage.task_type: stage for stage in (*STAGES, *DECLINE_STAGES)}

def stage_label(task_type: str) -> str:
    """The short label screens show for a task type (the type itself when unknown)."""
    stage = TASK_BY_TYPE.get(task_type)
    return stage.label if stage is not None else task_type

#: Metadata ``workflow_status`` values (protocol/ owns them: the shop checks them too).
STATUS_STARTED = STARTED
STATUS_CANCELLED = CANCELLED
#: The final status of an order whose payment was declined (the parallel process).
STATUS_PAYMENT_DECLINED = PAYMENT_DECLINED
STATUS_SEQUENCE: tuple[str, ...] = WORKFLOW_SEQUENCE

#: The seed's simulated work per stage (MEDCAM_STAGE_DELAYS=seed): 2 s, 3 s, 1.5 s.
SEED_DELAYS_S: tuple[float, ...] = tuple(stage.default_delay_s for stage in STAGES)

#: The title of the Slack message sent when a stage gives up.
SLACK_ERROR_TITLE = "🚨 Workflow Error"


def stage_outputs(stage: Stage, at_iso: str) -> dict[str, object]:
    """The job's output variables for ``stage`` completed at ``at_iso``."""
    outputs: dict[str, object] = {stage.done_variable: True}
    outputs.update(dict(stage.extra_outputs))
    outputs[stage.time_variable] = at_iso
    return outputs


def parse_delays(text: str) -> tuple[float, ...]:
    """Parse ``seed``, ``zero`` or ``A,B,C`` (seconds) into one delay per stage.

    Raises ValueError with a message meant for the operator.
    """
    value = text.strip().lower()
    if value in ("", "seed"):
        return SEED_DELAYS_S
    if value == "zero":
        return tuple(0.0 for _ in STAGES)
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != len(STAGES):
        raise ValueError(
            f"expected 'seed', 'zero' or {len(STAGES)} comma-separated seconds "
            f"(one per stage: {', '.join(s.task_type for s in STAGES)}), got {text!r}"
        )
    delays: list[float] = []
    for part in parts:
        try:
            delay = float(part)
        except ValueError:
            raise ValueError(f"stage delay {part!r} is not a number of seconds") from None
        if not (0.0 <= delay <= 3600.0) or delay != delay:
            raise ValueError(f"stage delay {part!r} must be between 0 and 3600 seconds")
        delays.append(delay)
    return tuple(delays)
