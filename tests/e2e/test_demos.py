"""The demos in examples/ run against a real `queuarr serve` and end where they say:
queue_demo.py downloads its files through the managed aria2c; integration_demo.py grabs,
pauses, resumes, removes and blocklists through a real qBittorrent, added by its flags
or configured by settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.clients.conftest import require_binary
from tests.daemons import ARIA2_BINARY, QbittorrentDaemon
from tests.e2e.conftest import LiveServer, start_server

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, *args: str, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QUEUARR_")}
    return subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**environment, **(env or {})})


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    assert process.wait(timeout=20) == 0


def api(server: LiveServer, path: str, api_key: str | None = None) -> Any:
    response = httpx.get(f"{server.url}{path}", headers={"X-Api-Key": api_key or
                                                         server.api_key}, trust_env=False)
    assert response.status_code == 200, response.text
    return response.json()


def torrents(daemon: QbittorrentDaemon) -> list[dict[str, Any]]:
    with daemon.web_client() as web:
        found: list[dict[str, Any]] = web.get("/api/v2/torrents/info").raise_for_status().json()
    return found


# -- queue_demo.py -----------------------------------------------------------------------------


def test_the_queue_demo_downloads_its_files_through_the_managed_aria2c(tmp_path: Path) -> None:
    require_binary(ARIA2_BINARY)
    # No configured key: the server writes one to its data dir, where the demo finds it.
    process, server = start_server(tmp_path, {"QUEUARR_API_KEY": "",
                                              "QUEUARR_ALLOW_PRIVATE_URLS": "true",
                                              "QUEUARR_SYNC_INTERVAL": "1"})
    try:
        done = run("queue_demo.py", "--url", server.url, "--data-dir", str(tmp_path),
                   "--files", "3", "--size", str(2 * 1024 * 1024 + 5), "--rate", "1024")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count("sha256 matches") == 3, done.stdout
        assert "all downloads completed" in done.stdout
        key = (tmp_path / "api_key").read_text().strip()
        items = api(server, "/api/v3/queue/details", key)
    finally:
        stop(process)
    assert sorted(i["title"] for i in items) == [f"Queuarr.Demo.File.{n}" for n in (1, 2, 3)]
    for item in items:
        assert (item["status"], item["downloadClient"], item["sizeleft"]) == (
            "completed", "Managed aria2", 0), item
        output = Path(item["outputPath"])
        assert output.parent == (tmp_path / "downloads").resolve()
        assert output.stat().st_size == 2 * 1024 * 1024 + 5


def test_the_queue_demo_says_how_to_allow_local_urls(tmp_path: Path) -> None:
    require_binary(ARIA2_BINARY)
    process, server = start_server(tmp_path)  # QUEUARR_ALLOW_PRIVATE_URLS unset: false
    try:
        done = run("queue_demo.py", "--url", server.url, "--files", "1",
                   env={"QUEUARR_API_KEY": server.api_key}, timeout=60)
        assert api(server, "/api/v3/queue/status")["totalCount"] == 0
    finally:
        stop(process)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "QUEUARR_ALLOW_PRIVATE_URLS=true" in done.stderr


# -- integration_demo.py ---------------------------------------------------------------------


STEPS = ("1. grabbed a .torrent upload", "1. grabbed a magnet link", "2. both sent to",
         "3. paused item", "3. resumed item", "4. removed item", "5. removed item",
         "6. grabbing it again is refused (422)", "all steps done")


def test_the_integration_demo_adds_its_qbittorrent_and_walks_the_lifecycle(
        tmp_path: Path, qbittorrent: QbittorrentDaemon) -> None:
    process, server = start_server(tmp_path, {"QUEUARR_ALLOW_PRIVATE_URLS": "true",
                                              "QUEUARR_MANAGED_ARIA2": "false",
                                              "QUEUARR_SYNC_INTERVAL": "1"})
    try:
        done = run("integration_demo.py", "--url", server.url, f"--api-key={server.api_key}",
                   "--qbt-url", qbittorrent.url, "--qbt-username", qbittorrent.username,
                   f"--qbt-password={qbittorrent.password}", "--keep-blocklist", timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        for step in STEPS:
            assert step in done.stdout, (step, done.stdout)
        assert "added qBittorrent at" in done.stdout
        queue = api(server, "/api/v3/queue/details")
        blocklist = api(server, "/api/v3/blocklist")["records"]
        clients = api(server, "/api/v3/downloadclient")
    finally:
        stop(process)
    assert queue == []  # both removed
    (entry,) = blocklist  # the first release only
    assert entry["sourceTitle"].startswith("Queuarr.Demo.First.")
    # The demo deleted the client it added; Queuarr's own yt-dlp client stays.
    assert [c["name"] for c in clients] == ["yt-dlp"]
    assert torrents(qbittorrent) == []  # both removed from qBittorrent too
    assert qbittorrent.password not in server.log.read_text()


def test_the_integration_demo_uses_a_qbittorrent_from_settings(
        tmp_path: Path, qbittorrent: QbittorrentDaemon) -> None:
    process, server = start_server(tmp_path, {
        "QUEUARR_ALLOW_PRIVATE_URLS": "true", "QUEUARR_SYNC_INTERVAL": "1",
        "QUEUARR_QBITTORRENT_URL": qbittorrent.url,
        "QUEUARR_QBITTORRENT_USERNAME": qbittorrent.username,
        "QUEUARR_QBITTORRENT_PASSWORD": qbittorrent.password,
    })
    try:
        done = run("integration_demo.py", "--url", server.url,
                   env={"QUEUARR_API_KEY": server.api_key}, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        for step in STEPS:
            assert step in done.stdout, (step, done.stdout)
        assert "using the server's qBittorrent client 'qBittorrent'" in done.stdout
        queue = api(server, "/api/v3/queue/details")
        blocklist = api(server, "/api/v3/blocklist")["records"]
        clients = [c["name"] for c in api(server, "/api/v3/downloadclient")]
    finally:
        stop(process)
    assert queue == [] and blocklist == []  # the demo removed its blocklist entry
    assert clients == ["qBittorrent", "yt-dlp"]  # yt-dlp: Queuarr's own, for videos
    assert torrents(qbittorrent) == []
