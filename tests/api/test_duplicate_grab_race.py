"""100 identical grabs at once (perf-reliability R9) store exactly one queue item: one
answers 201 with the item, every other one 409 with {"message", "existingId"} naming it,
and the queue, its counters and its history show one item grabbed once.

In process on every store (memory, SQLite, Postgres), then against real `queuarr serve`
processes: one on SQLite, and two API replicas sharing a fresh Postgres database."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from tests.api.conftest import Api, info_hash
from tests.conftest import (
    POSTGRES_URL,
    STORE_KINDS,
    _admin,
    _plain_dsn,
    postgres_unavailable,
)
from tests.e2e.conftest import LiveServer, start_server

GRABS = 100
# Each release in two spellings that are the same release: grabs alternate between them.
HASH = info_hash("race-magnet")
RELEASES: dict[str, list[dict[str, Any]]] = {
    "magnet": [
        {"downloadUrl": f"magnet:?xt=urn:btih:{HASH}&dn=Race.Magnet.2021.1080p",
         "movieId": 5},
        {"downloadUrl": f"magnet:?dn=Race.Magnet.2021.1080p.PROPER&xt=urn:btih:{HASH.upper()}",
         "movieId": 5},
    ],
    "http file": [  # no movie: counted as unknown
        {"downloadUrl": "http://files.example/race/Race.File.2021.mkv",
         "title": "Race.File.2021"},
        {"downloadUrl": "HTTP://Files.Example:80/race/Race.File.2021.mkv?utm_source=feed",
         "title": "Race File 2021"},
    ],
    "torrent url": [
        {"downloadUrl": "http://tracker.example/get/Race.Torrent.2021.torrent", "movieId": 6},
        {"downloadUrl": "http://tracker.example/get/Race.Torrent.2021.torrent#again",
         "movieId": 6, "title": "Race.Torrent.2021.REPACK"},
    ],
}


async def grab_at_once(clients: Sequence[httpx.AsyncClient], bodies: list[dict[str, Any]]
                       ) -> list[httpx.Response]:
    """GRABS grabs of one release, all in flight together, alternating between its
    spellings and spread over `clients`."""
    return list(await asyncio.gather(*(
        clients[n % len(clients)].post("/api/v3/queue/grab", json=bodies[n % len(bodies)])
        for n in range(GRABS))))


def check_one_created(responses: list[httpx.Response]) -> int:
    """Exactly one 201; every other answer is 409 naming the created item. Its id."""
    by_status = Counter(r.status_code for r in responses)
    assert by_status == {201: 1, 409: GRABS - 1}, {
        status: [r.text for r in responses if r.status_code == status][:3]
        for status in by_status}
    (created,) = (r.json() for r in responses if r.status_code == 201)
    item_id = created["id"]
    for response in responses:
        if response.status_code == 409:
            body = response.json()
            assert set(body) == {"message", "existingId"}, body
            assert body["existingId"] == item_id, body
            assert body["message"].endswith(f"is already in the queue as item {item_id}")
    return int(item_id)


async def check_the_queue_holds_one(http: httpx.AsyncClient, item_id: int,
                                    known_movie: bool) -> None:
    """The queue lists one item, the counters count one, the item's history is one
    grab."""
    page = (await http.get("/api/v3/queue", params={
        "includeUnknownMovieItems": "true", "pageSize": 1000})).json()
    assert page["totalRecords"] == 1 and [r["id"] for r in page["records"]] == [item_id]
    details = (await http.get("/api/v3/queue/details")).json()
    assert [r["id"] for r in details] == [item_id]
    status = (await http.get("/api/v3/queue/status")).json()
    assert status["totalCount"] == 1
    assert status["unknownCount"] == (0 if known_movie else 1)
    assert status["count"] == (1 if known_movie else 0)
    statistics = (await http.get("/api/v3/queue/statistics")).json()
    assert (statistics["total"], statistics["pending"]) == (1, 1), statistics
    history = (await http.get("/api/v3/history", params={"itemId": item_id,
                                                         "pageSize": 1000})).json()
    assert [r["data"]["event"] for r in history["records"]] == ["grabbed"], history


# -- in process, on every store ------------------------------------------------------------


@pytest.mark.parametrize("store", STORE_KINDS, indirect=True)
@pytest.mark.parametrize("release", RELEASES)
async def test_identical_grabs_at_once_store_one_item(api: Api, release: str) -> None:
    bodies = RELEASES[release]
    item_id = check_one_created(await grab_at_once([api.client], bodies))
    await check_the_queue_holds_one(api.client, item_id, "movieId" in bodies[0])
    history = await api.container.queue.items.history(item_id)
    assert [h.event for h in history] == ["grabbed"]


# -- real servers ------------------------------------------------------------------------------


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_client(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers={"X-Api-Key": server.api_key}, timeout=60,
        trust_env=False, limits=httpx.Limits(max_connections=GRABS))


async def race_every_release(servers: Sequence[LiveServer]) -> list[int]:
    """Each release grabbed GRABS times at once over `servers`; after each race the queue
    holds that release once (items of earlier races are removed first)."""
    clients = [http_client(server) for server in servers]
    created = []
    try:
        for bodies in RELEASES.values():
            item_id = check_one_created(await grab_at_once(clients, bodies))
            for client in clients:  # every replica sees the same one item
                await check_the_queue_holds_one(client, item_id, "movieId" in bodies[0])
            removed = await clients[0].delete(f"/api/v3/queue/{item_id}",
                                              params={"removeFromClient": "false"})
            assert removed.status_code == 200, removed.text
            created.append(item_id)
    finally:
        for client in clients:
            await client.aclose()
    return created


# The servers send nothing (no processor, no managed aria2c); the URLs name no real host.
SERVER_ENV = {"QUEUARR_ALLOW_PRIVATE_URLS": "true", "QUEUARR_MANAGED_ARIA2": "false",
              "QUEUARR_LOG_LEVEL": "WARNING"}


async def test_identical_grabs_to_a_server_on_sqlite_store_one_item(tmp_path: Path) -> None:
    process, server = start_server(tmp_path, SERVER_ENV, args=("--no-processor",))
    try:
        created = await race_every_release([server])
    finally:
        stop(process)
    with sqlite3.connect(tmp_path / "queuarr.db") as db:
        grabbed = db.execute("SELECT item_id, count(*) FROM queue_history "
                             "WHERE event = 'grabbed' GROUP BY item_id").fetchall()
        items = db.execute("SELECT count(*) FROM queue_item").fetchone()[0]
    db.close()
    assert sorted(grabbed) == [(item_id, 1) for item_id in sorted(created)]
    assert items == 0  # each race's item was removed after it


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, empty database on the test Postgres server (the server migrates it),
    dropped afterwards."""
    name = f"queuarr_race_{uuid.uuid4().hex[:12]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any reason the server cannot be used
        postgres_unavailable(f"{type(exc).__name__}: {exc}")
    try:
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
async def test_identical_grabs_to_two_replicas_on_postgres_store_one_item(
        tmp_path: Path, postgres_database: str) -> None:
    from infrastructure.db.engine import async_url

    url = async_url(POSTGRES_URL).set(database=postgres_database).render_as_string(
        hide_password=False)
    env = {**SERVER_ENV, "QUEUARR_DATABASE_URL": url}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, server_a = start_server(tmp_path / "a", env, args=("--no-processor",))
    try:
        second, server_b = start_server(tmp_path / "b", env,
                                        args=("--no-processor", "--no-migrate"))
        try:
            created = await race_every_release([server_a, server_b])
        finally:
            stop(second)
    finally:
        stop(first)
    db = await asyncpg.connect(_plain_dsn(POSTGRES_URL, postgres_database))
    try:
        grabbed = await db.fetch("SELECT item_id, count(*) AS n FROM queue_history "
                                 "WHERE event = 'grabbed' GROUP BY item_id ORDER BY item_id")
        items = await db.fetchval("SELECT count(*) FROM queue_item")
    finally:
        await db.close()
    assert [(r["item_id"], r["n"]) for r in grabbed] == [(i, 1) for i in sorted(created)]
    assert items == 0
