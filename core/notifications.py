"""Notification targets (webhooks): what is stored and checked; delivery lives in
infrastructure/notifiers."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import BadRequest
from core.events import EventType
from core.links import check_http_url
from core.masking import MASK, check_kept_secrets
from core.text import refuse_nul

WEBHOOK = "Webhook"


@dataclass(frozen=True, slots=True)
class NotificationConfig:
    """A webhook: POST each wanted event to `url`; with a `secret`, the body is signed
    (HMAC-SHA256, header X-Queuarr-Signature: sha256=<hex>). No events: every event."""

    id: int
    name: str
    url: str
    secret: str | None = None
    events: frozenset[EventType] = field(default_factory=frozenset)
    enable: bool = True
    implementation: str = WEBHOOK

    def wants(self, event: EventType) -> bool:
        return self.enable and (not self.events or event in self.events)


def parse_events(names: list[str]) -> frozenset[EventType]:
    folded = {e.value.lower(): e for e in EventType}
    unknown = [n for n in names if n.strip().lower() not in folded]
    if unknown:
        raise BadRequest(f"Unknown events {unknown}; known: "
                         f"{', '.join(e.value for e in EventType)}")
    return frozenset(folded[n.strip().lower()] for n in names)


def check_notification(config: NotificationConfig,
                       previous: NotificationConfig | None = None) -> NotificationConfig:
    """The config with its URL normalised, and a secret sent as ******** replaced by the
    stored one of `previous` (only while the URL stays the same); BadRequest (400) when
    it cannot be used."""
    if not config.name.strip():
        raise BadRequest("A notification needs a name")
    refuse_nul("A notification's name", config.name)
    if config.implementation != WEBHOOK:
        raise BadRequest(f"Unknown implementation {config.implementation!r}; use Webhook "
                         "(Telegram is configured by QUEUARR_TELEGRAM_* settings)")
    try:
        url = check_http_url(config.url)
    except BadRequest as exc:
        raise BadRequest(f"url: {exc.message}") from None
    secret = config.secret
    if secret == MASK:
        secret = previous.secret if previous is not None else None
        check_kept_secrets(["secret"] if secret else [], url,
                           previous.url if previous is not None else None, "URL")
    return NotificationConfig(config.id, config.name.strip(), url, secret or None,
                              config.events, config.enable)
