"""Webhooks to a local receiver (a real HTTP server on loopback): /api/v3/notification
CRUD, signed deliveries carrying the queue resource, retries on 500, the test action,
private targets refused unless allowed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.notifications import NotificationConfig
from tests.api.conftest import Api, ApiFactory

NOTIFICATIONS = "/api/v3/notification"
SECRET = "s3cret-for-hmac"


@dataclass
class Receiver:
    url: str
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to give, then 200
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: Request) -> Response:
        self.calls.append((dict(request.headers), await request.body()))
        self.arrived.set()
        return Response(status_code=self.answers.pop(0) if self.answers else 200)

    async def wait(self, count: int) -> None:
        async def enough() -> None:
            while len(self.calls) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(enough(), 5)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.calls]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box: list[Receiver] = []

    async def hook(request: Request) -> Response:
        return await box[0].handle(request)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    box.append(Receiver(f"http://127.0.0.1:{port}/hook"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield box[0]
    finally:
        server.should_exit = True
        await task


async def add_hook(api: Api, url: str, **extra: Any) -> dict[str, Any]:
    response = await api.client.post(NOTIFICATIONS, json={"name": "hook", "url": url,
                                                          **extra})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def settle(api: Api) -> None:
    assert api.container.events is not None and api.container.webhook is not None
    await asyncio.wait_for(api.container.events.drained(), 5)
    await asyncio.wait_for(api.container.webhook.drained(), 5)


async def test_a_grab_is_posted_signed_with_the_queue_resource(
        api: Api, receiver: Receiver) -> None:
    hook = await add_hook(api, receiver.url, secret=SECRET, events=["grabbed", "paused"])
    assert {f["name"]: f["value"] for f in hook["fields"]}["secret"] == "********"
    item = await api.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
    await api.client.delete(f"/api/v3/queue/{item['id']}")  # removed: not wanted
    await settle(api)
    await receiver.wait(1)
    assert len(receiver.calls) == 1
    headers, body = receiver.calls[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-queuarr-signature"], expected)
    assert headers["x-queuarr-event"] == "grabbed"
    payload = json.loads(body)
    assert payload["eventType"] == "grabbed"
    assert payload["queueItem"]["id"] == item["id"]
    assert payload["queueItem"]["quality"]["quality"]["name"] == "Bluray-1080p"


async def test_a_delivery_is_retried_on_500_until_it_succeeds(
        api: Api, receiver: Receiver) -> None:
    await add_hook(api, receiver.url)
    receiver.answers = [500, 502]
    await api.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
    await settle(api)
    assert len(receiver.calls) == 3
    assert len({body for _, body in receiver.calls}) == 1  # the same body each time
    assert api.container.webhook is not None
    assert (api.container.webhook.delivered, api.container.webhook.retried) == (1, 2)


async def test_a_4xx_answer_is_not_retried(api: Api, receiver: Receiver) -> None:
    await add_hook(api, receiver.url)
    receiver.answers = [410]
    await api.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
    await settle(api)
    assert len(receiver.calls) == 1
    assert api.container.webhook is not None and api.container.webhook.failed == 1


async def test_the_test_action_posts_once_and_reports_a_failure(
        api: Api, receiver: Receiver) -> None:
    response = await api.client.post(f"{NOTIFICATIONS}/test",
                                     json={"name": "hook", "url": receiver.url})
    assert response.status_code == 200, response.text
    assert receiver.bodies()[0]["eventType"] == "test"
    receiver.answers = [500]
    response = await api.client.post(f"{NOTIFICATIONS}/test",
                                     json={"name": "hook", "url": receiver.url})
    assert response.status_code == 400
    assert "500" in response.json()["message"]
    assert (await api.client.get(NOTIFICATIONS)).json() == []


async def test_crud_keeps_the_secret_and_refuses_bad_input(api: Api, receiver: Receiver
                                                           ) -> None:
    hook = await add_hook(api, receiver.url, secret=SECRET)
    renamed = dict(hook, name="renamed")
    response = await api.client.put(f"{NOTIFICATIONS}/{hook['id']}", json=renamed)
    assert response.status_code == 202, response.text
    assert api.store.notifications is not None
    (stored,) = await api.store.notifications.list()
    assert (stored.name, stored.secret) == ("renamed", SECRET)
    for bad in ({"name": "x", "url": "ftp://example.com/"},
                {"name": "x", "url": receiver.url, "events": ["exploded"]},
                {"name": "renamed", "url": receiver.url},
                {"name": "x", "url": receiver.url, "implementation": "Email"}):
        response = await api.client.post(NOTIFICATIONS, json=bad)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["message"]
    assert len(await api.store.notifications.list()) == 1
    assert (await api.client.delete(f"{NOTIFICATIONS}/{hook['id']}")).status_code == 200
    assert (await api.client.get(f"{NOTIFICATIONS}/{hook['id']}")).status_code == 404


async def test_private_targets_are_refused_unless_allowed(make_api: ApiFactory,
                                                          receiver: Receiver) -> None:
    async with make_api(allow_private_webhooks=False) as api:
        for url in (receiver.url, "http://10.0.0.5/hook", "http://169.254.169.254/latest"):
            response = await api.client.post(NOTIFICATIONS, json={"name": "x", "url": url})
            assert response.status_code == 400, url
            assert "QUEUARR_ALLOW_PRIVATE_WEBHOOKS" in response.json()["message"]
        response = await api.client.post(f"{NOTIFICATIONS}/test",
                                         json={"name": "x", "url": receiver.url})
        assert response.status_code == 400
        assert receiver.calls == []
        assert await api.store.notifications.list() == []


async def test_a_target_that_became_private_is_not_posted_to(
        make_api: ApiFactory, receiver: Receiver) -> None:
    # Stored while allowed (or resolving elsewhere), refused at delivery now.
    async with make_api(allow_private_webhooks=False) as api:
        await api.store.notifications.add(NotificationConfig(0, "lan", receiver.url))
        await api.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
        await settle(api)
        assert receiver.calls == []
        assert api.container.webhook is not None and api.container.webhook.failed == 1

