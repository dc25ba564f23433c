"""Fixtures for the HTTP API suite: the real app (api.app.create_app) over a Container built
from the `store` fixture's repositories, driven in-process through httpx.ASGITransport
with the app's lifespan running.

`store` is overridden here so that API tests use the memory store unless a module asks
for more: `pytest.mark.parametrize("store", STORE_KINDS, indirect=True)` runs it on
memory, SQLite and Postgres."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import torf
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from core.domain import (
    DownloadProtocol,
    HistoryEvent,
    ItemState,
    MovieInfo,
    NewItem,
    QueueItem,
    SourceKind,
)
from core.ports import DownloadClients
from core.processor import Processor
from infrastructure.bootstrap import Container, assemble
from infrastructure.net.guard import UrlGuard
from infrastructure.notifiers.webhook import WebhookNotifier
from infrastructure.scheduler import ProcessorRunner
from infrastructure.settings import Settings
from tests.api.radarr_schema import (
    validate_queue_details,
    validate_queue_page,
    validate_queue_status,
)
from tests.conftest import Store, open_store
from tests.daemons import free_port
from tests.fakes import FakeClients, FakeClock, FakeDownloadClient

API_KEY = "0123456789abcdef0123456789abcdef"
BASE = "http://queuarr.test"
_DATABASE_TYPE = {"sqlite": "sqLite", "postgres": "postgreSQL"}
_serial = itertools.count(1)


def info_hash(seed: str) -> str:
    """A deterministic v1 info hash (40 lower-case hex) for a seed."""
    return hashlib.sha1(seed.encode()).hexdigest()


def ids(page_or_list: Any) -> list[int]:
    """The ids of a queue page's records, or of a /queue/details array, in order."""
    records = page_or_list["records"] if isinstance(page_or_list, dict) else page_or_list
    return [r["id"] for r in records]


def magnet(title: str, *, seed: str | None = None, size: int | None = None) -> str:
    link = f"magnet:?xt=urn:btih:{info_hash(seed or title)}&dn={quote(title)}"
    return link + (f"&xl={size}" if size is not None else "")


@pytest.fixture
async def store(request: pytest.FixtureRequest, tmp_path: Path,
                clock: FakeClock) -> AsyncIterator[Store]:
    """The memory store, unless parametrized indirectly with another kind."""
    kind = getattr(request, "param", "memory")
    opened = await open_store(kind, request, tmp_path, clock)
    try:
        yield opened
    finally:
        if opened.db is not None:
            await opened.db.dispose()


@asynccontextmanager
async def over_a_socket(app: Any) -> AsyncIterator[str]:
    """The app served by uvicorn on a loopback port (for what ASGI transport cannot do: a
    stream that never ends); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def as_listed(grabbed: dict[str, Any]) -> dict[str, Any]:
    """A grab's answer as the queue lists the item: without `routedTo` (the client it goes
    to, which only the grab's answer says)."""
    routed = grabbed.pop("routedTo", None)
    assert routed is None or isinstance(routed, str), routed
    return grabbed


@dataclass
class Api:
    """The running app, an authenticated client and an anonymous one, and helpers that
    put items into the queue (through the API) and into given states (through the
    repository, the way the download-client poller would)."""

    app: FastAPI
    container: Container
    client: httpx.AsyncClient
    anon: httpx.AsyncClient
    clock: FakeClock
    store: Store

    def attach(self, processor: Processor, runner: ProcessorRunner | None = None) -> None:
        """Run `processor` (and `runner`) in this app's process, as build() wires them:
        the container holds them and dispatching (pause, resume, wake) uses them."""
        self.container.processor = processor
        if runner is not None:
            self.container.runner = runner

    async def grab(self, title: str | None = None, *, expect: int = 201,
                   **fields: Any) -> dict[str, Any]:
        """POST /api/v3/queue/grab with a fresh magnet (unless downloadUrl or torrentFile
        is given), for movie 1 unless movieId is given (movieId=None: no movie)."""
        body: dict[str, Any] = {"movieId": 1, **fields}
        if body["movieId"] is None:
            del body["movieId"]
        if "downloadUrl" not in body and "torrentFile" not in body:
            name = title or f"Some.Movie.{next(_serial)}.2020.1080p.WEB-DL-GRP"
            body["downloadUrl"] = magnet(name, seed=f"{name}#{next(_serial)}")
        if title is not None:
            body.setdefault("title", title)
        response = await self.client.post("/api/v3/queue/grab", json=body)
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return as_listed(result) if expect == 201 else result

    async def get_json(self, url: str, params: Any = None,
                       validate: Callable[[Any], None] | None = None) -> Any:
        """GET, expect 200 JSON, optionally validate it against Radarr's schema."""
        response = await self.client.get(url, params=params)
        assert response.status_code == 200, f"{url} {params}: {response.text}"
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        if validate is not None:
            validate(body)
        return body

    async def queue(self, params: Any = None) -> dict[str, Any]:
        """GET /api/v3/queue, validated against Radarr's QueueResourcePagingResource."""
        body: dict[str, Any] = await self.get_json("/api/v3/queue", params, validate_queue_page)
        return body

    async def details(self, params: Any = None) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = await self.get_json("/api/v3/queue/details", params,
                                                          validate_queue_details)
        return body

    async def status(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.get_json("/api/v3/queue/status", None,
                                                    validate_queue_status)
        return body

    async def add_raw(self, count: int, *, movie_id: int | None = 1,
                      **fields: Any) -> list[int]:
        """Add `count` items straight through the repository (fast, for big queues)."""
        added = []
        for _ in range(count):
            n = next(_serial)
            new = NewItem(
                title=fields.get("title", f"Bulk.Release.{n:05d}"), source=SourceKind.MAGNET,
                protocol=DownloadProtocol.TORRENT, added_at=self.clock.now(),
                info_hash=info_hash(f"raw-{n}"), movie_id=movie_id,
                movie=MovieInfo(title=f"Movie {n}") if movie_id is not None else None,
                **{k: v for k, v in fields.items() if k != "title"},
            )
            stored = await self.container.queue.items.add(new, HistoryEvent("grabbed"))
            added.append(stored.id)
        return added

    async def item(self, item_id: int) -> QueueItem:
        found = await self.container.queue.items.get(item_id)
        assert found is not None
        return found

    async def set(self, item_id: int, **changes: Any) -> QueueItem:
        """Change an item in the repository (state, progress, quality, ...)."""
        repo = self.container.queue.items
        old = await self.item(item_id)
        new = old.evolve(updated_at=self.clock.now(), **changes)
        (saved,) = await repo.update([(old, new)], HistoryEvent("updated"))
        return saved

    async def downloading(self, item_id: int, *, size: int, left: int,
                          eta: int | None = None, **changes: Any) -> QueueItem:
        """Put an item into `downloading` with the given size, bytes left and ETA."""
        now = self.clock.now()
        return await self.set(
            item_id, state=ItemState.DOWNLOADING, size=size, size_left=left,
            progress=(100.0 * (size - left) / size) if size else 0.0, eta_seconds=eta,
            estimated_completion_at=now + timedelta(seconds=eta) if eta is not None else None,
            started_at=now, **changes,
        )


ApiFactory = Callable[..., AbstractAsyncContextManager[Api]]


NAMED_CLIENTS = ("qbit", "alpha", "Bravo", "charlie")


@pytest.fixture
def make_api(store: Store, clock: FakeClock, tmp_path: Path) -> ApiFactory:
    """Build and start an app; `max_size` is QUEUARR_MAX_SIZE's limit, `clients` the
    download clients (by default fakes named NAMED_CLIENTS, which receive nothing unless a
    test sends to them; `real_clients`: the registry, clients added through the API);
    `guard_urls` turns the private-address check of grabs on; other keywords are
    settings."""

    @asynccontextmanager
    async def factory(max_size: int | None = None,
                      clients: DownloadClients | None = None,
                      allow_private_webhooks: bool = True, *, real_clients: bool = False,
                      guard_urls: bool = False, **overrides: Any) -> AsyncIterator[Api]:
        settings = Settings(data_dir=tmp_path, api_key=API_KEY, max_size=max_size,
                            managed_aria2="false",
                            allow_private_webhooks=allow_private_webhooks, **overrides)
        if clients is None and not real_clients:  # clients grabs in these tests may name
            clients = FakeClients(*(FakeDownloadClient(n) for n in NAMED_CLIENTS))
        webhook = WebhookNotifier(store.notifications, UrlGuard(
            allow_private=allow_private_webhooks, setting="QUEUARR_ALLOW_PRIVATE_WEBHOOKS"),
            delays=(0.01, 0.02, 0.04))
        container = assemble(
            settings, clock, API_KEY, store.stores(), notifiers=[webhook], clients=clients,
            database=store.db, database_type=_DATABASE_TYPE.get(store.kind, "memory"),
            guard_urls=guard_urls)
        app = create_app(container=container)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url=BASE,
                                  headers={"X-Api-Key": API_KEY}) as client,
                httpx.AsyncClient(transport=transport, base_url=BASE) as anon,
            ):
                yield Api(app, container, client, anon, clock, store)
        finally:
            # The lifespan closes only a container it built; this one is ours. Left
            # open, its event-bus tasks outlived the test's loop, and one caught in a
            # database read leaked a pooled connection to the garbage collector.
            await container.aclose()

    return factory


@pytest.fixture
async def api(make_api: ApiFactory) -> AsyncIterator[Api]:
    async with make_api() as running:
        yield running


def make_torrent(directory: Path, name: str, size: int = 40_000,
                 tracker: str = "http://tracker.example/announce") -> torf.Torrent:
    """A real single-file .torrent (torf), for a file of `size` bytes named `name`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(hashlib.sha256(name.encode()).digest() * (size // 32) + b"x" * (size % 32))
    torrent = torf.Torrent(path=path, trackers=[tracker], created_by=None, creation_date=None)
    torrent.generate()
    return torrent
