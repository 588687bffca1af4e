"""Message commands of the runtime: publish, buffer for a time to live, correlate to catches."""

from __future__ import annotations

import json
from typing import Any

from .bpmn_model import FlowNode
from .changes import ELEMENT_INSTANCES, MESSAGE_SUBSCRIPTIONS, MESSAGES
from .errors import ALREADY_EXISTS, Rejection
from .feel import Expression, is_number, to_string, type_name
from .records import (
    BufferedMessage,
    ElementInstance,
    ElementState,
    ErrorType,
    MessageSubscription,
    ProcessInstance,
)
from .runtime_flow import Agenda, FlowMixin
from .runtime_state import MESSAGE_TTL, StepFailure
from .variables import encode_value


class MessagesMixin(FlowMixin):
    """Subscriptions open when a message catch activates; publishing correlates or buffers."""

    def publish_message(self, name: str, correlation_key: str, ttl_ms: int, message_id: str,
                        variables: dict[str, Any]) -> int:
        now = self.clock.now_ms()
        bucket = self.messages_by_key.get((name, correlation_key))
        if message_id and bucket:
            for message in bucket:
                if message.message_id == message_id and message.expire_ms > now:
                    raise Rejection(
                        ALREADY_EXISTS,
                        f"Expected to publish a new message with id '{message_id}', but a "
                        "message with that id was already published",
                        "PUBLISH",
                    )
        key = self.keys.next_key()
        correlated: set[str] = set()
        for sub in list(self.subscriptions_by_message.get((name, correlation_key), ())):
            if sub.bpmn_process_id in correlated:
                continue  # at most once per process definition id
            correlated.add(sub.bpmn_process_id)
            self._correlate(sub, variables)
        if ttl_ms > 0:
            message = BufferedMessage(
                key, name, correlation_key, message_id, encode_value(variables), now,
                now + ttl_ms, correlated)
            self._add_message(message)
            self.changes.upsert(MESSAGES, key, message)
            self.scheduler.schedule(message.expire_ms, MESSAGE_TTL, key)
        else:
            self.changes.touch()
        return key

    def _activate_message_catch(self, pi: ProcessInstance, ei: ElementInstance, node: FlowNode,
                                agenda: Agenda) -> None:
        """Open the subscription; a buffered message may complete the element at once."""
        definition = node.message
        assert definition is not None
        name = definition.name.static
        if definition.name.expression is not None:
            name = self._extract_string(definition.name.expression, ei.key)
        assert name is not None
        correlation_key = self._correlation_key(definition.correlation_key, ei.key)
        timers = self._boundary_timers(ei, node) if node.boundaries else None
        ei.state = ElementState.ACTIVATED
        self.changes.upsert(ELEMENT_INSTANCES, ei.key, ei)
        if timers:
            self._start_timers(pi, ei, timers)
        buffered = self._take_buffered(name, correlation_key, pi.definition.bpmn_process_id)
        if buffered is not None:
            self._write_result(pi.key, ei, node, json.loads(buffered.variables))
            self._complete(pi, ei, node, agenda)
            return
        sub = MessageSubscription(
            self.keys.next_key(), pi.key, ei.key, node.id, pi.definition.bpmn_process_id,
            name, correlation_key)
        self._add_subscription(sub)
        ei.subscription_key = sub.key
        self.changes.upsert(MESSAGE_SUBSCRIPTIONS, sub.key, sub)

    def _correlation_key(self, expression: Expression, scope_key: int) -> str:
        value = self._evaluate(expression, scope_key, ErrorType.EXTRACT_VALUE_ERROR)
        if isinstance(value, str):
            return value
        if is_number(value):
            return to_string(value) or ""
        raise StepFailure(
            ErrorType.EXTRACT_VALUE_ERROR,
            f"Failed to extract the correlation key for '{expression.source}': The value must "
            f"be either a string or a number, but was '{type_name(value)}'.",
        )

    def _take_buffered(self, name: str, correlation_key: str,
                       bpmn_process_id: str) -> BufferedMessage | None:
        """The oldest live buffered message not yet correlated to this process id."""
        bucket = self.messages_by_key.get((name, correlation_key))
        if not bucket:
            return None
        now = self.clock.now_ms()
        for message in bucket:
            if message.expire_ms > now and bpmn_process_id not in message.correlated:
                message.correlated.add(bpmn_process_id)
                self.changes.upsert(MESSAGES, message.key, message)
                return message
        return None

    def _correlate(self, sub: MessageSubscription, variables: dict[str, Any]) -> None:
        ei = self.element_instances[sub.element_instance_key]
        pi = self.instances[ei.process_instance_key]
        node = pi.definition.model.nodes[ei.element_id]
        self._close_subscription(sub.key)
        ei.subscription_key = None
        if variables:
            self._write_result(pi.key, ei, node, variables)
        agenda: Agenda = []
        self._complete_or_incident(pi, ei, node, agenda)
        self._run(pi, agenda)

    def _add_subscription(self, sub: MessageSubscription) -> None:
        self.subscriptions[sub.key] = sub
        self.subscriptions_by_message.setdefault(
            (sub.message_name, sub.correlation_key), []).append(sub)

    def _close_subscription(self, key: int) -> None:
        sub = self.subscriptions.pop(key, None)
        if sub is None:
            return
        index = (sub.message_name, sub.correlation_key)
        bucket = self.subscriptions_by_message.get(index)
        if bucket is not None:
            bucket.remove(sub)
            if not bucket:
                del self.subscriptions_by_message[index]
        self.changes.delete(MESSAGE_SUBSCRIPTIONS, key, sub)

    def _add_message(self, message: BufferedMessage) -> None:
        self.messages[message.key] = message
        self.messages_by_key.setdefault((message.name, message.correlation_key), []).append(message)

    def _on_message_expired(self, key: int, due_ms: int) -> None:
        message = self.messages.get(key)
        if message is None or message.expire_ms != due_ms:
            return
        del self.messages[key]
        index = (message.name, message.correlation_key)
        bucket = self.messages_by_key.get(index)
        if bucket is not None:
            bucket.remove(message)
            if not bucket:
                del self.messages_by_key[index]
        self.changes.delete(MESSAGES, key, message)
