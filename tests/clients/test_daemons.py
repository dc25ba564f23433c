"""The client fixtures work on their own, with no Queuarr adapter: the daemons start, demand
their credentials, and really move bytes between peers on 127.0.0.1."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.daemons import (
    SEEDING_STATES,
    Aria2Daemon,
    Aria2RpcError,
    FileServer,
    Payload,
    QbittorrentDaemon,
    Seeder,
    ServedFile,
    sha256_file,
    wait_for,
)

TRANSFER_TIMEOUT = 60.0


def qbittorrent_download(daemon: QbittorrentDaemon, web: httpx.Client, payload: Payload) -> None:
    """Wait until `daemon` has the whole payload, then check the bytes on disk."""

    def complete() -> bool:
        torrent = daemon.torrent(web, payload.info_hash)
        return torrent is not None and torrent["progress"] == 1 and (
            torrent["state"] in SEEDING_STATES | {"pausedUP"})

    try:
        wait_for(complete, TRANSFER_TIMEOUT, f"qBittorrent to download {payload.name}")
    except Exception:
        peers = web.get("/api/v2/sync/torrentPeers", params={"hash": payload.info_hash}).json()
        trackers = web.get("/api/v2/torrents/trackers",
                           params={"hash": payload.info_hash}).json()
        pytest.fail(f"no transfer: {daemon.torrent(web, payload.info_hash)}\n"
                    f"trackers: {trackers}\npeers: {peers}\n{daemon.diagnostics()}")
    torrent = daemon.torrent(web, payload.info_hash)
    assert torrent is not None
    assert torrent["size"] == payload.size
    assert sha256_file(daemon.save_path / payload.name) == payload.sha256


def aria2_wait(daemon: Aria2Daemon, gid: str) -> dict[str, Any]:
    """Follow `gid` (and the download a magnet's metadata step hands over to) to the end."""

    def finished() -> dict[str, Any] | None:
        status = daemon.rpc("aria2.tellStatus", gid)
        while status.get("followedBy"):
            status = daemon.rpc("aria2.tellStatus", status["followedBy"][0])
        if status["status"] == "error":
            pytest.fail(f"aria2 failed: {status}\n{daemon.diagnostics()}")
        return status if status["status"] == "complete" else None

    try:
        result: dict[str, Any] = wait_for(finished, TRANSFER_TIMEOUT, f"aria2 download {gid}")
    except Exception:
        pytest.fail(f"no transfer: {daemon.rpc('aria2.tellStatus', gid)}\n"
                    f"{daemon.diagnostics()}")
    return result


# qBittorrent ----------------------------------------------------------------------------


def test_qbittorrent_requires_a_login_even_from_localhost(qbittorrent: QbittorrentDaemon) -> None:
    with httpx.Client(base_url=qbittorrent.url, trust_env=False) as client:
        assert client.get("/api/v2/app/version").status_code == 403
        wrong = client.post("/api/v2/auth/login",
                            data={"username": qbittorrent.username, "password": "wrong"})
        assert wrong.text == "Fails."
        assert client.get("/api/v2/app/version").status_code == 403


def test_qbittorrent_login_with_the_known_password_opens_the_web_api(
        qbittorrent: QbittorrentDaemon) -> None:
    with httpx.Client(base_url=qbittorrent.url, trust_env=False) as client:
        login = client.post("/api/v2/auth/login",
                            data={"username": qbittorrent.username,
                                  "password": qbittorrent.password})
        assert (login.status_code, login.text) == (200, "Ok.")
        assert "SID" in client.cookies
        api_version = client.get("/api/v2/app/webapiVersion")
        assert api_version.status_code == 200
        assert api_version.text.startswith("2.")
        assert client.get("/api/v2/app/version").text.startswith("v")
        assert client.get("/api/v2/torrents/info").json() == []


def test_qbittorrent_runs_with_the_configured_preferences(qbittorrent: QbittorrentDaemon) -> None:
    with qbittorrent.web_client() as web:
        preferences = web.get("/api/v2/app/preferences").json()
    assert preferences["save_path"].rstrip("/") == str(qbittorrent.save_path)
    assert preferences["web_ui_address"] == "127.0.0.1"
    for key, value in qbittorrent.expected_preferences().items():
        assert preferences[key] == value, key


def test_qbittorrent_keeps_its_address_and_password_across_restart_and_kill(
        qbittorrent: QbittorrentDaemon) -> None:
    url = qbittorrent.url
    qbittorrent.restart()
    with qbittorrent.web_client() as web:
        assert web.get("/api/v2/app/webapiVersion").status_code == 200
    qbittorrent.kill()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/api/v2/app/version", trust_env=False)
    qbittorrent.start()
    assert qbittorrent.url == url
    with qbittorrent.web_client() as web:
        assert web.get("/api/v2/app/webapiVersion").status_code == 200


def test_the_qbittorrent_api_library_works_against_the_daemon(
        qbittorrent: QbittorrentDaemon) -> None:
    import qbittorrentapi

    with qbittorrentapi.Client(host=qbittorrent.url, username=qbittorrent.username,
                               password=qbittorrent.password) as client:
        assert client.app.web_api_version.startswith("2.")
        assert client.torrents_info() == []


def test_the_seeder_seeds_the_payload_and_runs_a_tracker(seeder: Seeder,
                                                         payload: Payload) -> None:
    with seeder.daemon.web_client() as web:
        torrent = seeder.daemon.torrent(web, payload.info_hash)
    assert torrent is not None
    assert torrent["state"] in SEEDING_STATES
    assert torrent["progress"] == 1
    assert payload.magnet.startswith(f"magnet:?xt=urn:btih:{payload.info_hash}")
    assert "&tr=" in payload.magnet and "&xl=" in payload.magnet and "&dn=" in payload.magnet
    announce = httpx.get(seeder.tracker_url, trust_env=False,
                         params={"info_hash": b"\x00" * 20, "peer_id": b"-XX0000-000000000000",
                                 "port": 1, "left": 0, "compact": 1})
    assert announce.status_code == 200


def test_qbittorrent_downloads_the_seeded_payload_from_its_magnet(
        qbittorrent: QbittorrentDaemon, payload: Payload) -> None:
    with qbittorrent.web_client() as web:
        added = web.post("/api/v2/torrents/add", data={"urls": payload.magnet})
        assert added.text == "Ok."
        qbittorrent_download(qbittorrent, web, payload)


def test_qbittorrent_downloads_the_seeded_payload_from_its_torrent_file(
        qbittorrent: QbittorrentDaemon, payload: Payload) -> None:
    with qbittorrent.web_client() as web:
        added = web.post("/api/v2/torrents/add", files={
            "torrents": ("payload.torrent", payload.torrent, "application/x-bittorrent")})
        assert added.text == "Ok."
        qbittorrent_download(qbittorrent, web, payload)
        qbittorrent.clear()
        assert web.get("/api/v2/torrents/info").json() == []
    assert not (qbittorrent.save_path / payload.name).exists()


# aria2 ----------------------------------------------------------------------------------


def test_aria2_answers_with_its_secret_and_refuses_without_it(aria2: Aria2Daemon) -> None:
    assert aria2.rpc("aria2.getVersion")["version"]
    with pytest.raises(Aria2RpcError) as wrong:
        aria2.rpc("aria2.getVersion", secret="not-the-secret")
    assert wrong.value.message == "Unauthorized"
    bare = httpx.post(aria2.url, trust_env=False,
                      json={"jsonrpc": "2.0", "id": "1", "method": "aria2.getVersion"})
    assert bare.json()["error"]["message"] == "Unauthorized"


def test_aria2_keeps_its_address_and_secret_across_restart(aria2: Aria2Daemon) -> None:
    url = aria2.url
    aria2.restart()
    assert aria2.url == url
    assert aria2.rpc("aria2.getVersion")["version"]


def test_the_aria2p_library_works_against_the_daemon(aria2: Aria2Daemon) -> None:
    import aria2p

    api = aria2p.API(aria2p.Client(host="http://127.0.0.1", port=aria2.port,
                                   secret=aria2.secret))
    assert "version" in api.client.get_version()
    assert api.get_downloads() == []


def test_aria2_downloads_the_seeded_payload_from_its_magnet(aria2: Aria2Daemon,
                                                           payload: Payload) -> None:
    gid = aria2.rpc("aria2.addUri", [payload.magnet])
    status = aria2_wait(aria2, gid)
    assert int(status["totalLength"]) == payload.size
    assert sha256_file(aria2.download_dir / payload.name) == payload.sha256


def test_aria2_downloads_the_seeded_payload_from_its_torrent_file(aria2: Aria2Daemon,
                                                                 payload: Payload) -> None:
    gid = aria2.rpc("aria2.addTorrent", base64.b64encode(payload.torrent).decode())
    aria2_wait(aria2, gid)
    assert sha256_file(aria2.download_dir / payload.name) == payload.sha256


def test_aria2_downloads_a_file_over_http(aria2: Aria2Daemon, file_server: FileServer,
                                          served_file: ServedFile) -> None:
    gid = aria2.rpc("aria2.addUri", [served_file.url], {"split": "4",
                                                        "min-split-size": "1M"})
    status = aria2_wait(aria2, gid)
    assert int(status["totalLength"]) == served_file.size
    assert sha256_file(aria2.download_dir / served_file.name) == served_file.sha256
    assert any(method == "GET" for method, _, _ in file_server.requests)


# The file server ------------------------------------------------------------------------


def test_the_file_server_answers_head_and_range_requests(file_server: FileServer,
                                                         served_file: ServedFile) -> None:
    data = served_file.path.read_bytes()
    with httpx.Client(trust_env=False) as client:
        head = client.head(served_file.url)
        assert head.status_code == 200
        assert int(head.headers["content-length"]) == served_file.size
        assert head.headers["accept-ranges"] == "bytes"
        part = client.get(served_file.url, headers={"Range": "bytes=10-19"})
        assert part.status_code == 206
        assert part.content == data[10:20]
        assert part.headers["content-range"] == f"bytes 10-19/{served_file.size}"
        tail = client.get(served_file.url, headers={"Range": "bytes=-5"})
        assert tail.content == data[-5:]
        rest = client.get(served_file.url, headers={"Range": f"bytes={served_file.size - 3}-"})
        assert rest.content == data[-3:]
        beyond = client.get(served_file.url, headers={"Range": f"bytes={served_file.size}-"})
        assert beyond.status_code == 416
        assert client.get(file_server.url_for("missing.bin")).status_code == 404
        assert client.get(f"{file_server.url}/../etc/passwd").status_code == 404
