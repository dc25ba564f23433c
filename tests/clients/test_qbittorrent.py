"""qBittorrent specifics against a real qbittorrent-nox: the login is never hammered, the
Web API version is read once per session, adds carry the category, tag and save path,
and statuses come from incremental sync/maindata."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core.errors import ClientUnavailable
from infrastructure.clients.qbittorrent import QbittorrentClient, QbittorrentConfig, item_tag
from tests.clients.harness import qbittorrent_client, unseeded_torrent
from tests.daemons import QbittorrentDaemon


async def test_a_refused_login_is_not_retried_until_the_cooldown_passes(
        qbittorrent: QbittorrentDaemon) -> None:
    now = [1000.0]
    client = QbittorrentClient("qBittorrent", QbittorrentConfig(
        url=qbittorrent.url, username=qbittorrent.username,
        password=SecretStr("wrong-password"), login_cooldown=60), monotonic=lambda: now[0])
    try:
        for _ in range(5):
            with pytest.raises(ClientUnavailable, match="login"):
                await client.test()
        assert client.login_attempts == 1  # one refusal, then no more tries
        now[0] += 61
        with pytest.raises(ClientUnavailable):
            await client.statuses(["ab" * 20])
        assert client.login_attempts == 2
    finally:
        client.close()


async def test_the_web_api_version_is_read_once_and_adds_carry_tag_category_and_path(
        qbittorrent: QbittorrentDaemon, tmp_path: Path) -> None:
    client = qbittorrent_client(qbittorrent, category="movies-hd")
    try:
        info = await client.test()
        assert client.web_api_version is not None
        assert client.web_api_version in info.version
        release = unseeded_torrent(tmp_path, as_magnet=False)
        download_id = await client.add(release.item, release.torrent)
        with qbittorrent.web_client() as web:
            (torrent,) = web.get("/api/v2/torrents/info",
                                 params={"hashes": download_id}).json()
            categories = web.get("/api/v2/torrents/categories").json()
        assert torrent["category"] == "movies-hd" and "movies-hd" in categories
        assert item_tag(release.item.id) in torrent["tags"]
        assert Path(torrent["save_path"]) == qbittorrent.save_path
        assert client.login_attempts == 1
    finally:
        client.close()


async def test_statuses_use_incremental_sync(qbittorrent: QbittorrentDaemon,
                                             tmp_path: Path) -> None:
    client = qbittorrent_client(qbittorrent)
    answers: list[tuple[int, dict[str, Any]]] = []
    real = client._api.sync_maindata

    def recording(rid: int = 0, **kwargs: Any) -> Any:
        answer = real(rid=rid, **kwargs)
        answers.append((rid, answer))
        return answer

    client._api.sync_maindata = recording  # type: ignore[method-assign]
    try:
        releases = [unseeded_torrent(tmp_path, as_magnet=False) for _ in range(3)]
        ids = [await client.add(r.item, r.torrent) for r in releases]
        assert set(await client.statuses(ids)) == set(ids)
        await client.pause(ids[0])
        await client.statuses(ids)
        await client.statuses(ids)
        rids = [rid for rid, _ in answers]
        assert rids[0] == 0 and all(b > a for a, b in itertools.pairwise(rids))
        assert answers[0][1].get("full_update") is True
        for _, later in answers[1:]:  # one call per cycle, each only what changed
            assert not later.get("full_update")
            assert set(later.get("torrents") or {}) <= {ids[0]}
    finally:
        client.close()


async def test_removing_a_download_removes_the_tag_queuarr_gave_it(
        qbittorrent: QbittorrentDaemon, tmp_path: Path) -> None:
    """qBittorrent keeps a tag in its list after its last torrent is gone: without this,
    every item ever sent left a queuarr-<id> tag behind (seen with decluttarr's run).
    Tags that are not Queuarr's item tags stay."""
    client = qbittorrent_client(qbittorrent)
    try:
        kept, gone = (unseeded_torrent(tmp_path, as_magnet=False) for _ in range(2))
        kept_id = await client.add(kept.item, kept.torrent)
        gone_id = await client.add(gone.item, gone.torrent)
        with qbittorrent.web_client() as web:
            web.post("/api/v2/torrents/addTags",
                     data={"hashes": gone_id, "tags": "Don't Kill"}).raise_for_status()
        await client.remove(gone_id, delete_data=True)
        await client.remove(gone_id, delete_data=True)  # already gone: no error
        with qbittorrent.web_client() as web:
            tags = web.get("/api/v2/torrents/tags").json()
        assert item_tag(gone.item.id) not in tags
        assert item_tag(kept.item.id) in tags and "Don't Kill" in tags
        assert kept_id in await client.statuses([kept_id, gone_id])
    finally:
        client.close()
