"""Which status callbacks may still change an order: workflow stages only move forward."""

from __future__ import annotations

from collections.abc import Sequence

#: The metadata ``workflow_status`` values, each named once (the seed's §2.2).
STARTED = "started"
PAYMENT_VERIFIED = "payment_verified"
INVENTORY_RESERVED = "inventory_reserved"
COMPLETED = "completed"
#: The same values in the order the seed's §2.2 shows them; stages only move forward along it.
WORKFLOW_SEQUENCE: tuple[str, ...] = (STARTED, PAYMENT_VERIFIED, INVENTORY_RESERVED, COMPLETED)
#: Set by the operator (through the Admin API); no status callback may overwrite it.
CANCELLED = "cancelled"
#: Medusa's own order status for a cancelled order.
ORDER_CANCELED = "canceled"
#: The final status of an order whose payment was declined (the parallel process ends there).
PAYMENT_DECLINED = "payment_declined"


class StageOrder:
    """Ranks known workflow statuses; unknown ones are free-form and never refused."""

    def __init__(self, sequence: Sequence[str] = WORKFLOW_SEQUENCE) -> None:
        self.sequence = tuple(sequence)
        self._rank = {status: rank for rank, status in enumerate(self.sequence)}

    def refusal(self, current: object, order_status: str, incoming: str) -> str | None:
        """Why a callback with ``incoming`` must not be applied now, or None to apply it.

        ``current`` is the order's metadata ``workflow_status`` (any JSON value, or None).
        A cancelled workflow or order keeps its state; a known stage never moves back to an
        earlier one. Repeating the current stage is allowed (it refreshes the message).
        """
        if order_status == ORDER_CANCELED and incoming != CANCELLED:
            return "the order is canceled; status callbacks no longer apply"
        if current == CANCELLED and incoming != CANCELLED:
            return "the order's workflow was cancelled; status callbacks no longer apply"
        if current == PAYMENT_DECLINED and incoming not in (PAYMENT_DECLINED, CANCELLED):
            return "the order's payment was declined; its workflow has ended"
        if incoming == PAYMENT_DECLINED and current == self.sequence[-1]:
            return f"the order is already {current}; a declined payment no longer applies"
        if not isinstance(current, str):
            return None
        now, new = self._rank.get(current), self._rank.get(incoming)
        if now is not None and new is not None and new < now:
            return f"the order is already at {current}; {incoming} is an earlier stage"
        return None
