"""Slack notifications through an incoming webhook, off the stages' path in a bounded queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from slack_sdk.webhook import WebhookClient

from workers import slack_blocks
from workers.events import EventSink, SlackDropped, SlackFailed, SlackSent
from workers.stages import Stage

log = logging.getLogger(__name__)

#: slack_sdk logs each request with its URL at DEBUG: the webhook URL is a secret, so the
#: client gets a logger of its own that never emits below WARNING.
_sdk_log = logging.getLogger("workers.slack.sdk")
_sdk_log.setLevel(logging.WARNING)

#: Reads an order from Medusa for the order-created message.
OrderSource = Callable[[str], Awaitable[dict[str, Any]]]
#: Builds (text, blocks) when the message is sent, so reading the order stays off the stage.
Build = Callable[[], Awaitable[tuple[str, slack_blocks.Blocks]]]


@dataclass(frozen=True, slots=True)
class SlackStats:
    """Counters since start: posted, failed (after any 429 waits), dropped from a full queue."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0
    queued: int = 0


@dataclass(frozen=True, slots=True)
class _Post:
    order_id: str
    title: str
    build: Build


class SlackNotifier:
    """Queues the seed's messages and posts them from one background sender.

    Enqueuing never waits: when Slack is slower than the stages, the queue (``capacity``)
    drops its oldest message and counts it. A 429 answer pauses the sender for its
    ``Retry-After`` (at most ``max_retry_after_s``) and the message is tried again, up to
    ``rate_limit_attempts`` times. The webhook URL is a secret: never logged, never in errors.
    """

    def __init__(
        self,
        webhook_url: str | None,
        on_event: EventSink,
        admin_url: str | None = None,
        timeout_s: float = 5.0,
        now: Callable[[], datetime] | None = None,
        capacity: int = 1000,
        orders: OrderSource | None = None,
        max_retry_after_s: float = 30.0,
        rate_limit_attempts: int = 3,
    ) -> None:
        self._client = WebhookClient(webhook_url, timeout=int(max(1, timeout_s)), logger=_sdk_log) if webhook_url else None
        self._admin_url = admin_url.rstrip("/") if admin_url else None
        self._on_event = on_event
        self._now = now or (lambda: datetime.now(UTC))
        self._queue: deque[_Post] = deque(maxlen=max(1, capacity))
        self._orders = orders
        self._max_retry_after_s = max_retry_after_s
        self._rate_limit_attempts = max(1, rate_limit_attempts)
        self._announced: OrderedDict[str, None] = OrderedDict()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sender: asyncio.Task[None] | None = None
        self._sent = self._failed = self._dropped = 0

    @property
    def enabled(self) -> bool:
        return self._client is not None

    @property
    def stats(self) -> SlackStats:
        return SlackStats(self._sent, self._failed, self._dropped, len(self._queue))

    # ------------------------------------------------------------------ messages
    def order_created(self, order_id: str) -> None:
        """The rich order message, once per order; the order is read when it is sent."""
        if self._client is None or self._orders is None or order_id in self._announced:
            return
        self._announced[order_id] = None
        if len(self._announced) > 10_000:
            self._announced.popitem(last=False)
        orders = self._orders

        async def build() -> tuple[str, slack_blocks.Blocks]:
            return slack_blocks.order_created(await orders(order_id), self._admin_url)

        self._enqueue(_Post(order_id, "order created", build))

    def stage_done(self, order_id: str, stage: Stage, detail: str, warehouse: str | None = None) -> None:
        """Announce that ``stage`` finished for ``order_id``."""
        text, blocks = slack_blocks.stage_done(stage, order_id, self._admin_url, detail, warehouse)
        self._enqueue(_Post(order_id, blocks[0]["text"]["text"], _ready(text, blocks)))

    def workflow_error(self, order_id: str, stage: Stage, error: str) -> None:
        """Announce that ``stage`` gave up for ``order_id``."""
        text, blocks = slack_blocks.workflow_error(stage, order_id, self._admin_url, error)
        self._enqueue(_Post(order_id, blocks[0]["text"]["text"], _ready(text, blocks)))

    def order_stuck(self, order_id: str, stage: Stage, running_s: float) -> None:
        """Announce that ``order_id`` has been in ``stage`` for ``running_s`` seconds."""
        self.notice(order_id, f"⏳ Order Stuck - {stage.label} ({stage.progress})",
                    f"{stage.label} has been running for {running_s:.0f}s")

    def notice(self, order_id: str, title: str, detail: str) -> None:
        """Any other message about an order: a header, the order and one line of detail."""
        text, blocks = slack_blocks.notice(title, order_id, self._admin_url, detail)
        self._enqueue(_Post(order_id, title, _ready(text, blocks)))

    # ------------------------------------------------------------------ queue
    def _enqueue(self, post: _Post) -> None:
        if self._client is None:
            return
        if len(self._queue) == self._queue.maxlen:
            oldest = self._queue[0]
            self._dropped += 1
            self._on_event(SlackDropped(at=self._now(), order_id=oldest.order_id, title=oldest.title,
                                        dropped_total=self._dropped))
        self._queue.append(post)
        self._idle.clear()
        self._wake.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_loop(), name="slack-sender")

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every queued message was posted or given up; False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def aclose(self, timeout_s: float = 2.0) -> None:
        """Give queued messages ``timeout_s`` to go out, then stop the sender."""
        if self._sender is None:
            return
        await self.drain(timeout_s)
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._sender
        self._sender = None

    async def _send_loop(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            post = self._queue.popleft()
            try:
                await self._deliver(post)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug in a layout must not stop the sender
                log.exception("slack message for order %s could not be built", post.order_id)
                self._fail(post, f"{type(exc).__name__}")

    async def _deliver(self, post: _Post) -> None:
        client = self._client
        assert client is not None
        try:
            text, blocks = await post.build()
        except Exception as exc:
            self._fail(post, f"building the message: {_redact(str(exc), client.url)[:200]}")
            return
        for attempt in range(1, self._rate_limit_attempts + 1):
            try:
                response = await asyncio.to_thread(client.send, text=text, blocks=blocks)
            except Exception as exc:  # network errors of every kind: Slack must never stop a stage
                self._fail(post, f"{type(exc).__name__}: {_redact(str(exc), client.url)[:200]}")
                return
            if 200 <= response.status_code < 300:
                self._sent += 1
                self._on_event(SlackSent(at=self._now(), order_id=post.order_id, title=post.title))
                return
            if response.status_code == 429 and attempt < self._rate_limit_attempts:
                wait = retry_after_s(response.headers, self._now())
                if wait is not None and wait <= self._max_retry_after_s:
                    log.info("slack rate limited; waiting %.1f s (Retry-After)", wait)
                    await asyncio.sleep(wait)
                    continue
                reason = "no usable Retry-After" if wait is None else f"Retry-After {wait:g} s is over the limit"
                self._fail(post, f"HTTP 429 rate limited ({reason})")
                return
            self._fail(post, f"HTTP {response.status_code}: {_redact(str(response.body), client.url)[:200]}")
            return

    def _fail(self, post: _Post, error: str) -> None:
        self._failed += 1
        log.warning("slack notification failed", extra={"order_id": post.order_id, "error": error})
        self._on_event(SlackFailed(at=self._now(), order_id=post.order_id, title=post.title, error=error))


def _ready(text: str, blocks: slack_blocks.Blocks) -> Build:
    async def build() -> tuple[str, slack_blocks.Blocks]:
        return text, blocks

    return build


def retry_after_s(headers: dict[str, Any] | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    for name, value in (headers or {}).items():
        if name.lower() != "retry-after":
            continue
        raw = str(value[0] if isinstance(value, list | tuple) and value else value).strip()
        try:
            seconds = float(raw)
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                return None
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
            return max(0.0, seconds)
        return seconds if seconds >= 0 else None
    return None


def _redact(text: str, secret_url: str) -> str:
    return text.replace(secret_url, "<slack-webhook>")
