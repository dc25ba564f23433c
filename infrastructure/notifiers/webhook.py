"""Webhooks: each event a target wants is POSTed to its URL as JSON, signed with
HMAC-SHA256 when the target has a secret, retried with backoff on 5xx, 429 and network
errors. Targets are read from the store (cached a few seconds). Deliveries go through the
guarded HTTP client: private address space is refused unless QUEUARR_ALLOW_PRIVATE_WEBHOOKS
is true, checked at each connection, which goes to the address that was checked. The
notifier is always on, but httpx and the client load at the first delivery: most servers
have no webhook target (issue 18)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from core.errors import BadRequest
from core.events import QueueEvent
from core.notifications import NotificationConfig
from core.ports import NotificationRepository
from infrastructure.net.guard import PrivateAddress, UrlGuard
from infrastructure.tasks import Background

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("queuarr.webhook")
USER_AGENT = "Queuarr-Webhook"
RETRY_DELAYS = (1.0, 4.0, 15.0)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def plain_payload(event: QueueEvent) -> dict[str, Any]:
    """The payload without the queue resource (the API sets a renderer that adds it)."""
    out: dict[str, Any] = {"eventType": event.type.value, "eventId": event.id,
                           "date": event.at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if event.message is not None:
        out["message"] = event.message
    if event.client is not None:
        out["downloadClient"] = event.client
    if event.item is not None:
        out["queueItem"] = {"id": event.item.id, "title": event.item.title}
    return out


class WebhookNotifier:
    name = "webhook"

    def __init__(self, targets: NotificationRepository, guard: UrlGuard,
                 timeout: float = 10.0, delays: Sequence[float] = RETRY_DELAYS,
                 cache_seconds: float = 5.0, concurrency: int = 8,
                 max_pending: int = 1000, http: httpx.AsyncClient | None = None) -> None:
        self.targets = targets
        self.guard = guard
        self.delays = tuple(delays)
        self.cache_seconds = cache_seconds
        self.render: Callable[[QueueEvent], dict[str, Any]] = plain_payload
        self.timeout = timeout
        self._http = http  # the guarded client, built at the first delivery
        self._cached: tuple[float, list[NotificationConfig]] | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks = Background()
        self.max_pending = max_pending  # deliveries waiting or in flight; past it: dropped
        self.delivered = self.failed = self.retried = self.dropped = 0

    def invalidate(self) -> None:
        self._cached = None

    async def _enabled(self) -> list[NotificationConfig]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.cache_seconds:
            self._cached = (now, [t for t in await self.targets.list() if t.enable])
        return self._cached[1]

    async def notify(self, event: QueueEvent) -> None:
        """Start a delivery to each target that wants the event; returns at once."""
        wanted = [t for t in await self._enabled() if t.wants(event.type)]
        if not wanted:
            return
        body = orjson.dumps(self.render(event))
        for target in wanted:
            if len(self._tasks) >= self.max_pending:
                self.dropped += 1
                if self.dropped % 100 == 1:
                    log.warning("Webhooks are %d deliveries behind; event %d to %r dropped "
                                "(%d so far)", len(self._tasks), event.id, target.name,
                                self.dropped)
                continue
            self._tasks.spawn(self._deliver(target, event.type.value, event.id, body))

    async def _deliver(self, target: NotificationConfig, kind: str, event_id: int,
                       body: bytes) -> None:
        import httpx

        async with self._slots:
            for attempt, delay in enumerate((0.0, *self.delays)):
                if delay:
                    self.retried += 1
                    await asyncio.sleep(delay)
                try:
                    status = await self.post(target, kind, event_id, body)
                except BadRequest as exc:  # refused (private address): no retry
                    log.warning("Webhook %r not sent: %s", target.name, exc.message)
                    break
                except httpx.HTTPError as exc:
                    log.info("Webhook %r attempt %d: %s", target.name, attempt + 1,
                             type(exc).__name__)
                    continue
                if status < 300:
                    self.delivered += 1
                    return
                if status < 500 and status != 429:
                    log.warning("Webhook %r answered %d; not retried", target.name, status)
                    break
                log.info("Webhook %r attempt %d answered %d", target.name, attempt + 1,
                         status)
            self.failed += 1

    async def post(self, target: NotificationConfig, kind: str, event_id: int,
                   body: bytes) -> int:
        """One POST; the status code. Raises BadRequest for a private address."""
        headers = {"Content-Type": "application/json", "X-Queuarr-Event": kind,
                   "X-Queuarr-Delivery": str(event_id)}
        if target.secret:
            headers["X-Queuarr-Signature"] = sign(target.secret, body)
        try:
            response = await self.client().post(target.url, content=body, headers=headers)
        except PrivateAddress as exc:
            raise BadRequest(str(exc)) from None
        return response.status_code

    def client(self) -> httpx.AsyncClient:
        """The one guarded client of the deliveries, built at the first delivery."""
        if self._http is None:
            from infrastructure.net.http import guarded_client

            self._http = guarded_client(self.guard, self.timeout, {"User-Agent": USER_AGENT})
        return self._http

    async def drained(self) -> None:
        """Wait for the deliveries in flight (tests, a graceful stop)."""
        await self._tasks.drained()

    async def aclose(self) -> None:
        await self._tasks.cancel()
        if self._http is not None:
            await self._http.aclose()


def plugin(context: Any) -> WebhookNotifier:
    """The `webhook` entry point: always on; its targets come from /api/v3/notification."""
    settings = context.settings
    return WebhookNotifier(context.notifications, UrlGuard(
        allow_private=settings.allow_private_webhooks,
        setting="QUEUARR_ALLOW_PRIVATE_WEBHOOKS"), timeout=settings.client_timeout)
