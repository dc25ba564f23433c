"""Webhook delivery goes through the guarded client (issue 12, finding 1): each delivery
connects to the address its one lookup checked, so a name that answers a public address
to the check and loopback to a second lookup (DNS rebinding) still reaches only the public
host; a name that resolves into private space is not connected to at all."""

from __future__ import annotations

import pytest

from core.errors import BadRequest
from core.notifications import NotificationConfig
from infrastructure.memory_release import MemoryNotificationRepository
from infrastructure.notifiers.webhook import WebhookNotifier
from tests.pretend_net import PretendInternet, Site

PUBLIC = "93.184.216.34"


async def test_a_delivery_connects_to_the_address_it_checked(
        web: Site, internal: Site) -> None:
    web.routes["/hook"] = (204, {}, b"")
    net = PretendInternet()
    net.host("hooks.example", PUBLIC, web)
    answers = [[PUBLIC], ["127.0.0.1"]]
    resolve = net.resolve

    async def rebinding(host: str, port: int) -> list[object]:
        net.dns["hooks.example"] = answers.pop(0) if answers else ["127.0.0.1"]
        return await resolve(host, port)  # type: ignore[return-value]

    guard = net.guard()
    guard.resolver = rebinding  # type: ignore[assignment]
    webhook = WebhookNotifier(MemoryNotificationRepository(), guard,
                              http=net.client(guard))
    target = NotificationConfig(1, "hook", f"http://hooks.example:{internal.port}/hook")
    try:
        assert await webhook.post(target, "grabbed", 1, b"{}") == 204
    finally:
        await webhook.aclose()
    assert net.lookups == ["hooks.example"]
    assert net.dialed == [(PUBLIC, internal.port)]
    assert [hit[2] for hit in web.hits] == ["/hook"]
    assert internal.hits == []


async def test_a_delivery_into_private_space_is_refused_before_connecting(
        internal: Site) -> None:
    net = PretendInternet()
    net.dns["evil.example"] = ["127.0.0.1"]
    guard = net.guard()
    guard.setting = "QUEUARR_ALLOW_PRIVATE_WEBHOOKS"
    webhook = WebhookNotifier(MemoryNotificationRepository(), guard, http=net.client(guard))
    target = NotificationConfig(1, "hook", f"http://evil.example:{internal.port}/hook")
    try:
        with pytest.raises(BadRequest, match="QUEUARR_ALLOW_PRIVATE_WEBHOOKS"):
            await webhook.post(target, "grabbed", 1, b"{}")
    finally:
        await webhook.aclose()
    assert net.dialed == [] and internal.hits == []
