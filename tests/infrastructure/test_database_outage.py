"""While the database is unreachable the API answers 503 with Retry-After (never 500),
and it recovers by itself when the database is back. The outage is real: a TCP proxy
between the app and Postgres is cut and restored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from core.blocklist import BlocklistService
from core.service import QueueService
from infrastructure.bootstrap import Container
from infrastructure.db.blocklist_repository import SqlBlocklistRepository
from infrastructure.db.engine import Database, async_url
from infrastructure.db.queue_repository import SqlQueueRepository
from infrastructure.settings import Settings
from infrastructure.torrents import TorfParser
from tests.conftest import truncate_postgres
from tests.fakes import FakeClock

pytestmark = pytest.mark.postgres
KEY = "0123456789abcdef0123456789abcdef"


class Proxy:
    """Forwards 127.0.0.1:<port> to Postgres until cut; cutting drops live connections."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.pipes: set[asyncio.Task[None]] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        for task in (asyncio.create_task(self._pipe(reader, up_writer)),
                     asyncio.create_task(self._pipe(up_reader, writer))):
            self.pipes.add(task)
            task.add_done_callback(self.pipes.discard)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.pipes):
            task.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)
        await self.server.wait_closed()


@pytest.fixture
async def proxied(postgres_url: str) -> AsyncIterator[tuple[Proxy, str]]:
    url = async_url(postgres_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    with contextlib.suppress(Exception):
        await proxy.cut()


async def test_api_answers_503_during_an_outage_and_recovers(
    proxied: tuple[Proxy, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    proxy, url = proxied
    clock = FakeClock()
    db = Database(url)
    await truncate_postgres(db)
    items = SqlQueueRepository(db, clock)
    blocklist = SqlBlocklistRepository(db)
    container = Container(
        settings=Settings(data_dir=tmp_path, api_key=KEY), api_key=KEY, clock=clock,
        queue=QueueService(items, blocklist, clock, TorfParser()),
        blocklist=BlocklistService(blocklist), started_at=clock.now(), database=db,
    )
    app = create_app(container=container)
    grab = {"downloadUrl": "magnet:?xt=urn:btih:" + "ab" * 20, "title": "Outage.Test"}
    other = {"downloadUrl": "magnet:?xt=urn:btih:" + "cd" * 20, "title": "Outage.Other"}
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                  base_url="http://queuarr", headers={"X-Api-Key": KEY}) as api):
        assert (await api.post("/api/v3/queue/grab", json=grab)).status_code == 201

        await proxy.cut()
        for method, path, body in [
            ("GET", "/api/v3/queue?includeUnknownMovieItems=true", None),
            ("GET", "/api/v3/queue/status", None),
            ("POST", "/api/v3/queue/grab", other),
            ("DELETE", "/api/v3/queue/1", None),
        ]:
            response = await api.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["retry-after"] == "5"
            assert "message" in response.json()
        ping = await api.get("/ping")
        assert ping.status_code == 503

        await proxy.start()  # the database is back, on the same port
        recovered = None
        for _ in range(50):
            recovered = await api.get("/api/v3/queue?includeUnknownMovieItems=true")
            if recovered.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert recovered is not None and recovered.status_code == 200
        assert recovered.json()["totalRecords"] == 1  # nothing lost, nothing half-written
    await container.aclose()  # the lifespan closes only a container it built


def test_a_server_starting_up_counts_as_unavailable() -> None:
    """asyncpg's CannotConnectNowError (57P03) reaches us as a plain DBAPIError whose
    cause carries the SQLSTATE: it is a 503, not a 500."""
    from sqlalchemy.exc import DBAPIError

    from infrastructure.db.engine import is_unavailable

    class StartingUp(Exception):
        sqlstate = "57P03"

    class AdapterError(Exception):
        pass

    adapter = AdapterError("the database system is not yet accepting connections")
    adapter.__cause__ = StartingUp()
    assert is_unavailable(DBAPIError("SELECT 1", {}, adapter))
    plain = AdapterError("syntax error")
    plain.__cause__ = type("Syntax", (Exception,), {"sqlstate": "42601"})()
    assert not is_unavailable(DBAPIError("SELECT 1", {}, plain))
