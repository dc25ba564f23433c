"""Every call of the qBittorrent and aria2 adapters, made to a service that is neither (a
loopback port answering a recognisable body), fails with a DownloadClientError that says
what failed without repeating that body: these messages become items' error messages
and health entries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from core.domain import Priority, SourceKind
from core.errors import DownloadClientError
from core.ports import DownloadClient
from infrastructure.clients.aria2 import Aria2Client, Aria2Config
from infrastructure.clients.qbittorrent import QbittorrentClient, QbittorrentConfig
from tests.api.test_foreign_answers import ARIA2_CASES, QBITTORRENT_CASES
from tests.clients.harness import queue_item
from tests.listener import Listener, listening

HASH = "ab" * 20
ITEM = queue_item(SourceKind.MAGNET, url=f"magnet:?xt=urn:btih:{HASH}", info_hash=HASH)

CALLS: dict[str, Callable[[DownloadClient], Awaitable[Any]]] = {
    "test": lambda c: c.test(),
    "add": lambda c: c.add(ITEM, None),
    "statuses": lambda c: c.statuses([HASH]),
    "pause": lambda c: c.pause(HASH),
    "resume": lambda c: c.resume(HASH),
    "remove": lambda c: c.remove(HASH, False),
    "set_priority": lambda c: c.set_priority(HASH, int(Priority.VERY_HIGH)),
    "free_space": lambda c: c.free_space(),
}


@pytest.fixture
def foreign() -> Iterator[Listener]:
    with listening() as running:
        yield running


def qbittorrent(listener: Listener, username: str | None) -> DownloadClient:
    return QbittorrentClient("qbit", QbittorrentConfig(
        url=listener.url, username=username, password=SecretStr("pw"), timeout=2,
        confirm_timeout=0.2, login_cooldown=0))


def aria2(listener: Listener) -> DownloadClient:
    return Aria2Client("aria", Aria2Config(url=f"{listener.url}/jsonrpc",
                                           secret=SecretStr("s"), timeout=2))


async def fails_quietly(client: DownloadClient, listener: Listener) -> None:
    try:
        for name, call in CALLS.items():
            before = len(listener.received)
            with pytest.raises(DownloadClientError) as raised:
                await call(client)
            assert len(listener.received) > before, f"{name} never reached the service"
            assert "INTERNAL-PAGE" not in raised.value.message, (name, raised.value.message)
    finally:
        client.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", list(QBITTORRENT_CASES))
@pytest.mark.parametrize("username", ["admin", None])
async def test_every_qbittorrent_call_to_another_service_fails_without_repeating_it(
        foreign: Listener, case: str, username: str | None) -> None:
    status, content_type, body = QBITTORRENT_CASES[case]
    foreign.answer(status, body.encode(), content_type)
    await fails_quietly(qbittorrent(foreign, username), foreign)


@pytest.mark.parametrize("case", list(ARIA2_CASES))
async def test_every_aria2_call_to_another_service_fails_without_repeating_it(
        foreign: Listener, case: str) -> None:
    status, content_type, body = ARIA2_CASES[case]
    foreign.answer(status, body.encode(), content_type)
    await fails_quietly(aria2(foreign), foreign)
