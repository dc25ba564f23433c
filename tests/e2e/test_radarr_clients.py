"""Real Radarr client libraries against a real Queuarr process: pyarr (scripts, many
tools) and aiopyarr (Home Assistant's Radarr integration) must work unchanged."""

from __future__ import annotations

import httpx
import pytest
from aiopyarr.models.host_configuration import PyArrHostConfiguration
from aiopyarr.radarr_client import RadarrClient
from pyarr import RadarrAPI

from tests.e2e.conftest import LiveServer

MAGNETS = [
    f"magnet:?xt=urn:btih:{n:040x}&dn=Client.Test.{n}.2021.1080p.WEB-DL-GRP" for n in (1, 2, 3)
]


def grab(server: LiveServer, magnet: str, movie_id: int) -> int:
    response = httpx.post(f"{server.url}/api/v3/queue/grab", json={
        "downloadUrl": magnet, "movieId": movie_id, "indexer": "Local",
        "movie": {"title": f"Movie {movie_id}", "year": 2021, "tmdbId": 1000 + movie_id},
    }, headers={"X-Api-Key": server.api_key})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture(scope="module")
def queued(live_server: LiveServer) -> list[int]:
    return [grab(live_server, magnet, movie_id=n) for n, magnet in enumerate(MAGNETS, 1)]


def test_pyarr_reads_the_queue_status_and_system_status(
    live_server: LiveServer, queued: list[int]
) -> None:
    radarr = RadarrAPI(live_server.url, live_server.api_key)
    page = radarr.get_queue(page=1, page_size=2, sort_key="timeleft", sort_dir="ascending",
                            include_unknown_movie_items=True)
    assert page["totalRecords"] == 3 and page["pageSize"] == 2
    assert len(page["records"]) == 2
    assert {r["movieId"] for r in page["records"]} <= {1, 2, 3}
    details = radarr.get_queue_details(include_movie=True)
    assert sorted(d["id"] for d in details) == sorted(queued)
    assert all(d["movie"]["tmdbId"] == 1000 + d["movieId"] for d in details)
    assert radarr.get_queue_details(id_=2)[0]["movieId"] == 2
    assert radarr.get_queue_status()["totalCount"] == 3
    status = radarr.get_system_status()
    assert status["urlBase"] == "" and status["version"]


def test_pyarr_force_grabs_and_removes_items(live_server: LiveServer, queued: list[int]) -> None:
    radarr = RadarrAPI(live_server.url, live_server.api_key)
    assert radarr.force_grab_queue_item(queued[0]) == {}
    radarr.del_queue(queued[0], remove_from_client=True, blocklist=True)
    blocklist = radarr.get_blocklist(page=1, page_size=10, sort_key="date",
                                     sort_dir="descending")
    assert blocklist["totalRecords"] == 1
    assert blocklist["records"][0]["sourceTitle"].startswith("Client.Test.1.")
    radarr.del_blocklist(blocklist["records"][0]["id"])
    assert radarr.get_queue_status()["totalCount"] == 2


async def test_aiopyarr_as_home_assistant_uses_it(live_server: LiveServer,
                                                  queued: list[int]) -> None:
    host = PyArrHostConfiguration(api_token=live_server.api_key, url=live_server.url)
    async with RadarrClient(host_configuration=host) as client:
        status = await client.async_get_system_status()
        assert status.startTime is not None
        queue = await client.async_get_queue(page_size=50, include_unknown_movie_items=True)
        assert queue.totalRecords == len(queue.records) >= 2
        record = queue.records[0]
        assert record.title.startswith("Client.Test.")
        assert record.protocol.name == "TORRENT" and record.status == "queued"
        details = await client.async_get_queue_details(include_movie=True)
        assert {d.movieId for d in details} >= {2, 3}
        assert (await client.async_get_queue_status()).totalCount == len(details)


async def test_a_wrong_key_is_refused_the_way_clients_expect(live_server: LiveServer) -> None:
    host = PyArrHostConfiguration(api_token="0" * 32, url=live_server.url)
    async with RadarrClient(host_configuration=host) as client:
        with pytest.raises(Exception) as caught:
            await client.async_get_system_status()
    assert "Unauthorized" in type(caught.value).__name__ or "401" in str(caught.value)
