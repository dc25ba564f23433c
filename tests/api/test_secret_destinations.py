"""A stored secret goes only where it was stored for. ******** (or, for a download client,
a secret left out) keeps the stored qBittorrent password, aria2 secret or webhook secret
only while the destination is unchanged: host, port, SSL and URL base (RPC path) of a
client, the URL of a webhook. Otherwise the test or the change is a 400 asking for the
secret, and a listener on loopback at the new destination receives nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.clients import ClientConfig, ClientKind, ClientSource
from core.masking import MASK
from infrastructure.clients.managed_aria2 import NAME as MANAGED_NAME
from tests.api.conftest import Api
from tests.api.test_downloadclient import (
    ARIA2_SECRET,
    NEW_PASSWORD,
    QBIT_PASSWORD,
    URL,
    aria2,
    create,
    field,
    free_port,
    listed,
    qbit,
    refused,
    stored,
    with_field,
    without_field,
)
from tests.listener import Listener, listening

NOTIFICATIONS = "/api/v3/notification"
HOOK_SECRET = "hook-s3cret-Do-Not-Leak"
MANAGED_SECRET = "managed-s3cret-Do-Not-Leak"


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening(404, b"nothing here") as running:
        yield running


def moved(resource: dict[str, Any], listener: Listener) -> dict[str, Any]:
    """The resource pointed at the listener (its port; the host stays 127.0.0.1)."""
    return with_field(resource, "port", listener.port)


def assert_nothing_arrived(listener: Listener) -> None:
    assert listener.received == [], [r.text() for r in listener.received]


# -- download clients ----------------------------------------------------------------


@pytest.mark.parametrize("make, secret", [(qbit, "password"), (aria2, "secretToken")])
async def test_testing_a_stored_client_at_a_new_port_with_its_masked_secret_is_refused(
        api: Api, listener: Listener, make: Any, secret: str) -> None:
    created = await create(api, make(port=free_port()))
    assert field(created, secret) == MASK
    message = await refused(api.client.post(f"{URL}/test", json=moved(created, listener)))
    assert secret in message and "again" in message, message
    assert_nothing_arrived(listener)


@pytest.mark.parametrize("make, secret", [(qbit, "password"), (aria2, "secretToken")])
async def test_testing_a_stored_client_at_a_new_port_without_its_secret_is_refused(
        api: Api, listener: Listener, make: Any, secret: str) -> None:
    created = await create(api, make(port=free_port()))
    body = without_field(moved(created, listener), secret)
    message = await refused(api.client.post(f"{URL}/test", json=body))
    assert secret in message and "again" in message, message
    assert_nothing_arrived(listener)


@pytest.mark.parametrize("make, secret", [(qbit, "password"), (aria2, "secretToken")])
async def test_a_change_to_a_new_port_with_the_masked_secret_is_refused_and_nothing_changes(
        api: Api, listener: Listener, make: Any, secret: str) -> None:
    created = await create(api, make(port=free_port()))
    before = await stored(api)
    for force in (None, {"forceSave": "true"}):
        message = await refused(api.client.put(f"{URL}/{created['id']}",
                                               json=moved(created, listener), params=force))
        assert secret in message and "again" in message, message
    assert_nothing_arrived(listener)
    assert await stored(api) == before
    assert await listed(api) == [created]


async def test_a_secret_sent_again_may_go_to_a_new_port(api: Api, listener: Listener) -> None:
    # The listener sees what is sent to it: the password typed in again reaches it.
    created = await create(api, qbit(port=free_port()))
    body = with_field(moved(created, listener), "password", NEW_PASSWORD)
    message = await refused(api.client.post(f"{URL}/test", json=body))
    assert "failed" in message
    assert listener.saw(NEW_PASSWORD)
    assert not listener.saw(QBIT_PASSWORD)


async def test_a_change_that_keeps_the_destination_keeps_the_masked_secret(
        api: Api) -> None:
    created = await create(api, aria2(port=free_port()))
    response = await api.client.put(
        f"{URL}/{created['id']}", params={"forceSave": "true"},
        json=with_field(dict(created, name="renamed", priority=5), "directory", ""))
    assert response.status_code == 202, response.text
    assert (await stored(api))["renamed"].fields["secretToken"] == ARIA2_SECRET


async def test_the_managed_aria2_secret_is_not_sent_to_another_port(
        api: Api, listener: Listener) -> None:
    registry = api.container.clients
    assert registry is not None
    await registry.sync_configured([ClientConfig(
        name=MANAGED_NAME, kind=ClientKind.ARIA2, source=ClientSource.MANAGED,
        fields={"host": "127.0.0.1", "port": free_port(), "useSsl": False,
                "rpcPath": "/jsonrpc", "secretToken": MANAGED_SECRET, "directory": ""})])
    (managed,) = await listed(api)
    assert field(managed, "secretToken") == MASK
    message = await refused(api.client.post(f"{URL}/test", json=moved(managed, listener)))
    assert "secretToken" in message and "again" in message, message
    assert_nothing_arrived(listener)
    # At its own address, the masked secret is still the stored one (and is tested).
    message = await refused(api.client.post(f"{URL}/test", json=managed))
    assert "failed" in message and "cannot reach aria2" in message, message


# -- webhooks ------------------------------------------------------------------------


async def add_hook(api: Api, url: str, secret: str | None = HOOK_SECRET) -> dict[str, Any]:
    response = await api.client.post(NOTIFICATIONS, json={"name": "hook", "url": url,
                                                          "secret": secret})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def with_url(hook: dict[str, Any], url: str) -> dict[str, Any]:
    return {**hook, "fields": [dict(f, value=url) if f["name"] == "url" else f
                               for f in hook["fields"]]}


async def test_testing_a_stored_webhook_at_a_new_url_with_its_masked_secret_is_refused(
        api: Api, listener: Listener) -> None:
    hook = await add_hook(api, f"http://127.0.0.1:{free_port()}/hook")
    body = with_url(hook, f"{listener.url}/steal")
    message = await refused(api.client.post(f"{NOTIFICATIONS}/test", json=body))
    assert "secret" in message and "again" in message, message
    assert_nothing_arrived(listener)


async def test_a_webhook_change_to_a_new_url_with_its_masked_secret_is_refused(
        api: Api, listener: Listener) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    hook = await add_hook(api, url)
    message = await refused(api.client.put(f"{NOTIFICATIONS}/{hook['id']}",
                                           json=with_url(hook, f"{listener.url}/steal")))
    assert "secret" in message and "again" in message, message
    assert api.store.notifications is not None
    (kept,) = await api.store.notifications.list()
    assert (kept.url, kept.secret) == (url, HOOK_SECRET)
    assert_nothing_arrived(listener)


async def test_a_webhook_may_move_with_a_new_secret_or_none(
        api: Api, listener: Listener) -> None:
    hook = await add_hook(api, f"http://127.0.0.1:{free_port()}/hook")
    assert api.store.notifications is not None
    for secret, expected in (("another-secret", "another-secret"), ("", None)):
        body = {**with_url(hook, f"{listener.url}/moved"), "secret": secret}
        response = await api.client.put(f"{NOTIFICATIONS}/{hook['id']}", json=body)
        assert response.status_code == 202, response.text
        (moved_hook,) = await api.store.notifications.list()
        assert (moved_hook.url, moved_hook.secret) == (f"{listener.url}/moved", expected)


async def test_a_webhook_change_that_keeps_the_url_keeps_the_masked_secret(
        api: Api) -> None:
    hook = await add_hook(api, f"http://127.0.0.1:{free_port()}/hook")
    response = await api.client.put(f"{NOTIFICATIONS}/{hook['id']}",
                                    json={**hook, "name": "renamed", "events": ["grabbed"]})
    assert response.status_code == 202, response.text
    assert api.store.notifications is not None
    (kept,) = await api.store.notifications.list()
    assert (kept.name, kept.secret) == ("renamed", HOOK_SECRET)


async def test_testing_a_webhook_with_a_secret_sent_again_signs_for_the_new_url(
        api: Api) -> None:
    # The listener sees a signature when one is sent: this is what the refusals prevent.
    with listening(200, b"") as receiver:
        hook = await add_hook(api, f"http://127.0.0.1:{free_port()}/hook")
        body = {**with_url(hook, f"{receiver.url}/new"), "secret": "typed-again"}
        response = await api.client.post(f"{NOTIFICATIONS}/test", json=body)
        assert response.status_code == 200, response.text
        assert receiver.saw("X-Queuarr-Signature") or receiver.saw("x-queuarr-signature")
