"""One line of the live event log for each event worth showing (text and style)."""

from __future__ import annotations

from collections.abc import Callable

from console.events import (
    CallbackAttempt,
    DemoFaults,
    Event,
    IncidentRaised,
    IncidentResolved,
    InstanceCancelled,
    InstanceStarted,
    JobFailed,
    OperatorAction,
    OrderStuck,
    SlackFailed,
    StageCompleted,
    StartFailed,
    WorkerStatus,
)
from workers.stages import stage_label as _stage

Label = Callable[[str | None], str]


def describe_event(event: Event, label: Label) -> tuple[str, str] | None:
    """``(text, style)`` for the event log, or None for events that would only be noise."""
    match event:
        case InstanceStarted():
            return f"{label(event.order_id)} started (instance {event.process_instance_key})", ""
        case StageCompleted():
            return f"{label(event.order_id)} {_stage(event.stage)} done", "green"
        case CallbackAttempt(ok=False):
            then = "gave up" if event.next_delay_s is None else f"retry in {event.next_delay_s:g}s"
            return (f"{label(event.order_id)} callback {event.status} try {event.attempt}/{event.max_attempts}: "
                    f"{(event.error or 'failed')[:40]}, {then}", "yellow")
        case JobFailed():
            return f"{label(event.order_id)} {_stage(event.stage)} failed, {event.retries_left} retries left", "red"
        case IncidentRaised(incident_key=None):
            return f"{label(event.order_id)} incident at {_stage(event.stage)}: {event.error[-60:]}", "bold red"
        case IncidentResolved():
            return f"{label(event.order_id)} incident {event.incident_key} resolved", "green"
        case InstanceCancelled():
            return f"{label(event.order_id)} cancelled", "dim"
        case StartFailed():
            return f"{label(event.order_id)} start failed: {event.error[:60]}", "red"
        case OrderStuck():
            return (f"{label(event.order_id)} stuck in {_stage(event.stage)} for {event.running_s:.0f}s "
                    f"(threshold {event.threshold_s:.0f}s)", "bold yellow")
        case OperatorAction():
            target = f" {label(event.order_id)}" if event.order_id else ""
            return f"operator {event.action}{target}: {event.outcome}", "cyan"
        case SlackFailed():
            return f"Slack post failed: {event.error[:60]}", "yellow"
        case WorkerStatus():
            return f"workers {event.state} {event.detail}".rstrip(), "dim"
        case DemoFaults():
            return f"demo faults: {describe_faults(event) or 'none'}", "bold magenta"
    return None


def describe_faults(faults: DemoFaults | None) -> str:
    """``shop down · 20% callbacks fail · 10% payments declined · jitter ±30%``, or "" when none is on."""
    if faults is None:
        return ""
    parts = []
    if faults.callbacks_down:
        parts.append("shop down")
    if faults.callback_fail_rate > 0:
        parts.append(f"{faults.callback_fail_rate:.0%} callbacks fail")
    if faults.decline_rate > 0:
        parts.append(f"{faults.decline_rate:.0%} payments declined")
    if faults.stage_jitter > 0:
        parts.append(f"jitter ±{faults.stage_jitter:.0%}")
    return " · ".join(parts)
