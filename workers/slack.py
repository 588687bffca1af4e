"""Slack stage notifications through an incoming webhook (graceful: never blocks a stage)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk.webhook import WebhookClient

from workers.events import EventSink, SlackFailed, SlackSent
from workers.stages import SLACK_ERROR_TITLE, Stage

log = logging.getLogger(__name__)


class SlackNotifier:
    """Posts the seed's stage messages (1/3, 2/3, 3/3, errors) to one webhook.

    The webhook URL is a secret: it is never logged, and errors are reported without it.
    """

    def __init__(
        self,
        webhook_url: str | None,
        on_event: EventSink,
        admin_url: str | None = None,
        timeout_s: float = 5.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = WebhookClient(webhook_url, timeout=int(max(1, timeout_s))) if webhook_url else None
        self._admin_url = admin_url.rstrip("/") if admin_url else None
        self._on_event = on_event
        self._now = now or (lambda: datetime.now(UTC))

    @property
    def enabled(self) -> bool:
        return self._client is not None

    async def stage_done(self, order_id: str, stage: Stage, detail: str) -> None:
        """Announce that ``stage`` finished for ``order_id``."""
        title = f"{stage.slack_title} - {stage.progress}"
        await self._post(order_id, title, detail)

    async def workflow_error(self, order_id: str, stage: Stage, error: str) -> None:
        """Announce that ``stage`` gave up for ``order_id``."""
        title = f"{SLACK_ERROR_TITLE} - {stage.label} ({stage.progress})"
        await self._post(order_id, title, error)

    def blocks(self, order_id: str, title: str, detail: str) -> list[dict]:
        """The Block Kit layout of one message (public for tests and previews)."""
        fields = [{"type": "mrkdwn", "text": f"*Order:*\n`{order_id}`"}]
        if self._admin_url:
            link = f"{self._admin_url}/orders/{order_id}"
            fields.append({"type": "mrkdwn", "text": f"*Admin:*\n<{link}|Open order>"})
        return [
            {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": detail}]},
        ]

    async def _post(self, order_id: str, title: str, detail: str) -> None:
        if self._client is None:
            return
        client = self._client
        text = f"{title}: order {order_id}. {detail}"
        blocks = self.blocks(order_id, title, detail)
        try:
            response = await asyncio.to_thread(client.send, text=text, blocks=blocks)
        except Exception as exc:  # network errors of every kind: Slack must never stop a stage
            error = f"{type(exc).__name__}: {_redact(str(exc), client.url)}"
        else:
            if 200 <= response.status_code < 300:
                self._on_event(SlackSent(at=self._now(), order_id=order_id, title=title))
                return
            error = f"HTTP {response.status_code}: {_redact(str(response.body), client.url)[:200]}"
        log.warning("slack notification failed", extra={"order_id": order_id, "error": error})
        self._on_event(SlackFailed(at=self._now(), order_id=order_id, title=title, error=error))


def _redact(text: str, secret_url: str) -> str:
    return text.replace(secret_url, "<slack-webhook>")
