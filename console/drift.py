"""Drift: where Medusa's copy of an order's workflow disagrees with the engine's truth."""

from __future__ import annotations

from dataclasses import dataclass, replace

from console.orders import OrderSummary
from protocol.progress import CANCELLED, ORDER_CANCELED, WORKFLOW_SEQUENCE
from workers.stages import STAGES

#: Instance states after which nothing changes any more (REST v2 names and ours).
ENDED = frozenset({"COMPLETED", "TERMINATED", "CANCELED", "CANCELLED"})
#: Kinds of drift, as the order's mark shows them.
BEHIND, BACKWARDS, INSTANCE, UNFINISHED = "behind", "backwards", "instance", "unfinished"


@dataclass(frozen=True, slots=True)
class EngineTruth:
    """Where the engine has one order's workflow.

    ``stages_done`` counts finished stages of the stage table (a stage is finished once its
    status callback was accepted, so Medusa's metadata must be at least there); ``running``
    is True while one of this console's workers holds a job of the order.
    """

    instance_key: int
    stages_done: int = 0
    state: str = "ACTIVE"
    incident: bool = False
    running: bool = False
    source: str = "workers"

    @property
    def status(self) -> str:
        """The metadata ``workflow_status`` this truth implies (started ... completed)."""
        return WORKFLOW_SEQUENCE[min(self.stages_done, len(STAGES))]

    @property
    def cancelled(self) -> bool:
        """Cancelled, or off the stage sequence (payment declined): nothing to compare."""
        return self.state in ("TERMINATED", "CANCELED", "CANCELLED", "DECLINED")

    def advanced(self, stages_done: int, **changes: object) -> EngineTruth:
        """This truth with at least ``stages_done`` stages finished (never fewer)."""
        return replace(self, stages_done=max(self.stages_done, stages_done), **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Drift:
    """What is wrong with an order's metadata and what writing it back takes."""

    kinds: tuple[str, ...]
    detail: str
    #: Metadata keys to merge (workflow_status, workflow_message, last_updated, workflow_instance).
    status: str | None = None
    instance_key: int | None = None

    @property
    def kind(self) -> str:
        return ",".join(self.kinds)


def rank(status: object) -> int | None:
    """The position of a workflow status in the sequence, None for anything else."""
    return WORKFLOW_SEQUENCE.index(status) if status in WORKFLOW_SEQUENCE else None


def find_drift(order: OrderSummary, truth: EngineTruth | None, highest_seen: int | None = None) -> Drift | None:
    """The drift between ``order``'s metadata and ``truth``, or None when they agree.

    A cancelled workflow or order is never drift (the operator decided); neither is metadata
    ahead of the truth (a callback lands before the job completes).
    """
    if truth is None or truth.cancelled:
        return None
    meta_status = order.workflow_status
    if meta_status == CANCELLED or order.status == ORDER_CANCELED:
        return None
    kinds: list[str] = []
    notes: list[str] = []
    status = None
    have = rank(meta_status)
    want = truth.stages_done
    if meta_status is not None and have is None:
        pass  # a status off the stage sequence (payment_declined, ...) is not compared
    elif have is None or have < want:
        kinds.append(BACKWARDS if highest_seen is not None and have is not None and highest_seen > have else BEHIND)
        notes.append(f"metadata {meta_status or 'empty'}, engine {truth.status}")
        status = truth.status
    if order.status == "completed" and meta_status != WORKFLOW_SEQUENCE[-1]:
        kinds.append(UNFINISHED)
        notes.append("order completed without its final metadata")
        if want >= len(STAGES):
            status = truth.status
    instance = None
    if order.workflow_instance != truth.instance_key:
        kinds.append(INSTANCE)
        recorded = order.workflow_instance if order.workflow_instance is not None else "missing"
        notes.append(f"workflow_instance {recorded}, engine {truth.instance_key}")
        instance = truth.instance_key
    if not kinds:
        return None
    return Drift(tuple(kinds), "; ".join(notes), status=status, instance_key=instance)


def stage_message(status: str) -> str | None:
    """The stage table's message for a stage's status (the seed's ``workflow_message``)."""
    return next((stage.message for stage in STAGES if stage.status == status), None)
