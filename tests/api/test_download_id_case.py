"""downloadId the way Radarr shows it: a torrent's info hash in upper case (QBittorrent.cs:
`DownloadId = torrent.Hash.ToUpper()`; Aria2.cs: `torrent.InfoHash?.ToUpper()`, Radarr
v6.0.3.10276). decluttarr compares qBittorrent's hashes upper-cased with it. Where a
downloadId is read, any case finds it."""

from __future__ import annotations

from typing import Any

import pytest

from api.resources import event_json
from core.domain import ItemState, SourceKind
from core.events import EventType, QueueEvent
from core.processor import Processor
from tests.api.conftest import Api, ApiFactory, magnet
from tests.api.radarr_schema import validate_queue_resource
from tests.conftest import STORE_KINDS
from tests.fakes import FakeClients, FakeDownloadClient

pytestmark = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)


async def sent_torrent(api: Api, client: FakeDownloadClient) -> tuple[int, str]:
    processor = Processor(api.store.items, FakeClients(client), api.clock, "api-test",
                          switches=api.store.switches)
    item = await api.grab("Case.Movie.2024.1080p", downloadUrl=magnet("Case.Movie.2024.1080p"))
    await processor.process()
    download_id = (await api.item(item["id"])).download_id
    assert download_id is not None and download_id == download_id.lower()  # as qBittorrent
    return item["id"], download_id


async def record(api: Api, item_id: int) -> dict[str, Any]:
    page = await api.queue({"pageSize": 50})
    (found,) = [r for r in page["records"] if r["id"] == item_id]
    return found


async def test_a_torrents_download_id_is_shown_upper_case_everywhere(
        make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        item_id, download_id = await sent_torrent(api, client)
        assert (await record(api, item_id))["downloadId"] == download_id.upper()
        one = await api.get_json(f"/api/v3/queue/{item_id}")
        assert one["downloadId"] == download_id.upper()
        details = await api.details()
        assert [r["downloadId"] for r in details if r["id"] == item_id] == [
            download_id.upper()]
        history = await api.get_json("/api/v3/history", {"pageSize": 50})
        assert {r.get("downloadId") for r in history["records"]} - {None} == {
            download_id.upper()}
        # Events out (the stream, webhooks) carry the same queue resource.
        event = QueueEvent(1, EventType.SENT, api.clock.now(), await api.item(item_id))
        assert event_json(event, api.clock.now())["queueItem"]["downloadId"] == (
            download_id.upper())


@pytest.mark.parametrize("spelling", [str.upper, str.lower, lambda s: s[:20].upper() + s[20:]],
                         ids=["upper", "lower", "mixed"])
async def test_history_finds_a_download_id_in_any_case(make_api: ApiFactory,
                                                       spelling: Any) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        _, download_id = await sent_torrent(api, client)
        body = await api.get_json("/api/v3/history",
                                  {"downloadId": spelling(download_id), "pageSize": 50})
        # Every row since the grab carries the info hash (Radarr's grabbed row has it).
        assert [r["data"]["event"] for r in body["records"]] == ["sent", "claimed", "grabbed"]
        assert {r["downloadId"] for r in body["records"]} == {download_id.upper()}


async def test_an_aria2_torrent_shows_its_info_hash_and_a_direct_download_its_gid(
        api: Api) -> None:
    torrent = await api.grab("Aria.Movie.2024.1080p")
    direct = await api.grab("Direct.Movie.2024.1080p",
                            downloadUrl="https://example.org/direct.mkv")
    await api.set(torrent["id"], state=ItemState.DOWNLOADING, download_client="aria2",
                  download_id="2089b05ecca3d829")
    await api.set(direct["id"], state=ItemState.DOWNLOADING, download_client="aria2",
                  download_id="1089b05ecca3d829")
    assert (await api.item(direct["id"])).source is SourceKind.HTTP
    info_hash = (await api.item(torrent["id"])).info_hash
    assert info_hash is not None
    shown = await record(api, torrent["id"])
    validate_queue_resource(shown)
    assert shown["downloadId"] == info_hash.upper()
    assert (await record(api, direct["id"]))["downloadId"] == "1089b05ecca3d829"
    assert (await api.item(torrent["id"])).download_id == "2089b05ecca3d829"  # kept


async def test_an_aria2_torrents_history_is_found_by_the_info_hash_the_queue_shows(
        api: Api) -> None:
    """aria2 follows a torrent by its GID; the queue shows the info hash, and the history
    rows carry the same id, so history?downloadId= with what the queue showed finds them."""
    torrent = await api.grab("Aria.Movie.2024.1080p")
    await api.set(torrent["id"], state=ItemState.DOWNLOADING, download_client="aria2",
                  download_id="2089b05ecca3d829")
    shown = (await record(api, torrent["id"]))["downloadId"]
    body = await api.get_json("/api/v3/history", {"downloadId": shown, "pageSize": 50})
    assert body["totalRecords"] >= 2
    assert {r["downloadId"] for r in body["records"]} == {shown}
    assert {r["data"]["event"] for r in body["records"]} >= {"grabbed"}


async def test_an_item_no_client_had_and_with_no_info_hash_has_a_download_id_all_the_same(
        api: Api) -> None:
    """decluttarr reads downloadId of every record it acts on (src/utils/shared.py, v1.x
    ff035bf, line 114); a direct link that failed before any client took it has none in
    a client, so the queue names it queuarr-<id>, and history reads that name back."""
    direct = await api.grab("Direct.Movie.2024.1080p",
                            downloadUrl="https://example.org/direct.mkv")
    await api.set(direct["id"], state=ItemState.FAILED, error_message="404 Not Found")
    other = await api.grab("Other.Movie.2024.1080p",
                           downloadUrl="https://example.org/other.mkv")
    shown = await record(api, direct["id"])
    validate_queue_resource(shown)
    assert shown["downloadId"] == f"queuarr-{direct['id']}"
    for spelling in (shown["downloadId"], shown["downloadId"].upper()):
        body = await api.get_json("/api/v3/history", {"downloadId": spelling})
        assert body["totalRecords"] >= 1
        assert {r.get("downloadId") for r in body["records"]} == {None}
        events = await api.get_json("/api/v3/history",
                                    {"downloadId": spelling, "itemId": direct["id"]})
        assert events["totalRecords"] == body["totalRecords"]
    assert (await api.get_json("/api/v3/history", {
        "downloadId": shown["downloadId"], "itemId": other["id"]}))["totalRecords"] == 0
