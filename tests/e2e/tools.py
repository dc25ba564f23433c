"""Shared by the tool replays (tests/e2e/test_tool_*.py): a live `queuarr serve` with its
processor, driving a real qBittorrent that is added the way a user adds it (GET
/downloadclient/schema, fill in, POST), and torrents that sit in the states the tools look
for (a magnet nobody seeds stays in qBittorrent's metaDL; a .torrent whose tracker is
dead stays in stalledDL)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.daemons import QbittorrentDaemon, free_port, make_payload, make_torrent, wait_for
from tests.e2e.conftest import LiveServer, start_server, stop_server

QBITTORRENT_CLIENT = "qBittorrent (user)"


def api(server: LiveServer) -> httpx.Client:
    """An httpx client for the live server, with the API key header."""
    return httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                        timeout=30, trust_env=False)


@contextmanager
def serving(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """`queuarr serve` with its processor (a sync pass every second), no managed aria2c,
    loopback URLs allowed (the test trackers are on 127.0.0.1)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    process, server = start_server(data_dir, {
        "QUEUARR_MANAGED_ARIA2": "false",
        "QUEUARR_SYNC_INTERVAL": "1",
        "QUEUARR_DISPATCH_INTERVAL": "0.5",
        "QUEUARR_ALLOW_PRIVATE_URLS": "true",
        **(env or {}),
    })
    try:
        yield server
    finally:
        stop_server(process)


def add_qbittorrent(server: LiveServer, daemon: QbittorrentDaemon,
                    category: str = "radarr") -> dict[str, Any]:
    """Add the daemon as a download client through the API, from Radarr's schema template
    (what a person does in a Radarr-like UI, or Prowlarr/Recyclarr-like tools do)."""
    with api(server) as http:
        schema = http.get("/api/v3/downloadclient/schema")
        assert schema.status_code == 200, schema.text
        (template,) = [t for t in schema.json() if t["implementation"] == "QBittorrent"]
        values = {"host": "127.0.0.1", "port": int(daemon.url.rsplit(":", 1)[1]),
                  "username": daemon.username, "password": daemon.password,
                  "movieCategory": category}
        for entry in template["fields"]:
            if entry["name"] in values:
                entry["value"] = values[entry["name"]]
        body = {**template, "name": QBITTORRENT_CLIENT, "enable": True}
        made = http.post("/api/v3/downloadclient", json=body)
        assert made.status_code == 201, made.text
        created: dict[str, Any] = made.json()
        return created


def dead_magnet(title: str) -> tuple[str, str]:
    """A magnet nobody seeds (no tracker; DHT is off): (magnet, info hash). qBittorrent
    keeps it in metaDL."""
    info_hash = secrets.token_hex(20)
    return f"magnet:?xt=urn:btih:{info_hash}&dn={title}", info_hash


def dead_torrent(directory: Path, title: str, seed: int) -> tuple[str, str]:
    """A .torrent (base64) whose only tracker refuses connections: qBittorrent has the
    metadata and no peer, so it sits in stalledDL. Returns (base64, info hash)."""
    path, _ = make_payload(directory, f"{title}.mkv", 256 * 1024 + seed, seed)
    torrent, info_hash, _ = make_torrent(path, f"http://127.0.0.1:{free_port()}/announce")
    path.unlink()  # nobody has the data
    return base64.b64encode(torrent).decode(), info_hash


def grab(server: LiveServer, body: dict[str, Any]) -> int:
    """POST /api/v3/queue/grab; the new item's id."""
    with api(server) as http:
        made = http.post("/api/v3/queue/grab", json=body)
        assert made.status_code == 201, made.text
        return int(made.json()["id"])


def queue_item(server: LiveServer, item_id: int) -> dict[str, Any]:
    with api(server) as http:
        found = http.get(f"/api/v3/queue/{item_id}")
        assert found.status_code == 200, found.text
        item: dict[str, Any] = found.json()
        return item


def torrent_state(daemon: QbittorrentDaemon, info_hash: str) -> str | None:
    with daemon.web_client() as web:
        torrent = daemon.torrent(web, info_hash)
    return None if torrent is None else str(torrent["state"])


def wait_for_state(daemon: QbittorrentDaemon, info_hash: str, states: set[str],
                   timeout: float = 60) -> str:
    """Wait until qBittorrent shows the torrent in one of `states`."""
    found: str = wait_for(lambda: (s := torrent_state(daemon, info_hash)) in states and s,
                          timeout, f"qBittorrent to show {info_hash} in {sorted(states)}")
    return found


def wait_for_item(server: LiveServer, item_id: int, what: str, timeout: float = 60,
                  **expected: Any) -> dict[str, Any]:
    """Poll GET /queue/{id} until every `expected` field has its value."""
    def matches() -> dict[str, Any] | None:
        item = queue_item(server, item_id)
        return item if all(item.get(k) == v for k, v in expected.items()) else None

    try:
        found: dict[str, Any] = wait_for(matches, timeout, what)
    except Exception as error:
        raise AssertionError(f"{error}; the item is {queue_item(server, item_id)}") from None
    return found
