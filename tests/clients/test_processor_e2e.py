"""End to end through a running `queuarr serve`: a grab over the API is claimed, sent to
a real client, followed and completed by the processor, and the bytes are on disk.
Via the managed aria2c (a local HTTP file, a magnet from the local seeder) and via a
qBittorrent configured by settings."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx

from tests.clients.conftest import require_binary
from tests.daemons import Payload, QbittorrentDaemon, ServedFile
from tests.e2e.conftest import LiveServer, start_server


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grab_and_wait(server: LiveServer, body: dict[str, Any], timeout: float = 90
                  ) -> tuple[dict[str, Any], list[str]]:
    """Grab, then poll the item until it completes: its last resource, statuses seen."""
    with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                      trust_env=False) as http:
        made = http.post("/api/v3/queue/grab", json=body)
        assert made.status_code == 201, made.text
        item_id = made.json()["id"]
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            item = http.get(f"/api/v3/queue/{item_id}").json()
            if not seen or seen[-1] != item["status"]:
                seen.append(item["status"])
            assert item["status"] != "failed", item
            if item["status"] == "completed":
                listed = http.get("/api/v3/queue", params={
                    "pageSize": 50, "includeUnknownMovieItems": "true"}).json()
                assert item_id in [r["id"] for r in listed["records"]]
                return item, seen
            assert time.monotonic() < deadline, f"not completed after {timeout} s: {item}"
            time.sleep(0.2)


def _stop(process: Any) -> None:
    process.terminate()
    assert process.wait(timeout=20) == 0


def test_an_http_file_goes_through_the_managed_aria2c(tmp_path: Path,
                                                      served_file: ServedFile) -> None:
    require_binary("aria2c")
    process, server = start_server(tmp_path, {"QUEUARR_ALLOW_PRIVATE_URLS": "true"})
    try:
        item, seen = grab_and_wait(server, {"downloadUrl": served_file.url,
                                            "title": "Local.File.2024.1080p"})
        assert seen[0] in ("queued", "downloading") and seen[-1] == "completed"
        output = Path(item["outputPath"])
        assert output.parent == (tmp_path / "downloads").resolve()
        assert sha256(output) == served_file.sha256
        assert item["downloadClient"] == "Managed aria2"
        assert item["sizeleft"] == 0 and item["size"] == served_file.size
    finally:
        _stop(process)


def test_a_magnet_goes_through_the_managed_aria2c(tmp_path: Path, payload: Payload) -> None:
    require_binary("aria2c")
    # The seeder's tracker is on loopback: without the setting it is removed from the
    # magnet before aria2 sees it (tests/clients/test_guarded_sends.py).
    process, server = start_server(tmp_path, {"QUEUARR_ALLOW_PRIVATE_URLS": "true"})
    try:
        item, _ = grab_and_wait(server, {"downloadUrl": payload.magnet})
        output = Path(item["outputPath"])
        assert sha256(output) == payload.sha256
        # Radarr's Aria2.cs shows the info hash upper case (Queuarr follows the real
        # download's GID inside).
        assert item["downloadId"] == payload.info_hash.upper()
    finally:
        _stop(process)


def test_a_magnet_goes_through_qbittorrent_from_settings(
        tmp_path: Path, payload: Payload, qbittorrent: QbittorrentDaemon) -> None:
    process, server = start_server(tmp_path, {
        "QUEUARR_ALLOW_PRIVATE_URLS": "true",  # the seeder's tracker is on loopback
        "QUEUARR_QBITTORRENT_URL": qbittorrent.url,
        "QUEUARR_QBITTORRENT_USERNAME": qbittorrent.username,
        "QUEUARR_QBITTORRENT_PASSWORD": qbittorrent.password,
        "QUEUARR_SYNC_INTERVAL": "1",
    })
    try:
        item, _ = grab_and_wait(server, {"downloadUrl": payload.magnet})
        assert item["downloadClient"] == "qBittorrent"
        assert item["downloadId"] == payload.info_hash.upper()  # QBittorrent.cs: ToUpper()
        assert sha256(Path(item["outputPath"])) == payload.sha256
    finally:
        _stop(process)


def test_sigterm_mid_dispatch_exits_0_and_leaves_nothing_leased(
        tmp_path: Path, served_file: ServedFile) -> None:
    import sqlite3

    require_binary("aria2c")
    process, server = start_server(tmp_path, {"QUEUARR_ALLOW_PRIVATE_URLS": "true",
                                              "QUEUARR_MAX_CONCURRENT": "50"})
    try:
        with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                          trust_env=False) as http:
            for n in range(40):
                made = http.post("/api/v3/queue/grab", json={
                    "downloadUrl": f"{served_file.url}?copy={n}", "title": f"Copy.{n}"})
                assert made.status_code == 201, made.text
    finally:
        _stop(process)  # SIGTERM while the dispatcher is sending: exit code 0
    with sqlite3.connect(tmp_path / "queuarr.db") as db:
        states = dict(db.execute("SELECT state, count(*) FROM queue_item GROUP BY state"))
        leased = db.execute("SELECT count(*) FROM queue_item WHERE lease_owner IS NOT NULL"
                            ).fetchone()[0]
    assert sum(states.values()) == 40
    assert "sending" not in states and leased == 0, states
