"""`queuarr serve` with aria2c on the PATH and no client configured starts a managed
aria2c (loopback only, random secret, downloads under the data dir), lists it at
/api/v3/downloadclient, tests it, and stops it with the server. And secrets of
configured clients never reach the log."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.clients.conftest import require_binary
from tests.e2e.conftest import start_server


def _aria2c_children(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True)
            if p.name().startswith("aria2c")]


def test_serve_starts_tests_and_stops_a_managed_aria2c(tmp_path: Path) -> None:
    require_binary("aria2c")
    process, server = start_server(tmp_path)
    try:
        (aria2c,) = _aria2c_children(process.pid)
        command = aria2c.cmdline()
        assert "--rpc-listen-all=false" in command
        secret = next(a.split("=", 1)[1] for a in command if a.startswith("--rpc-secret="))
        assert len(secret) >= 24
        assert f"--dir={(tmp_path / 'downloads').resolve()}" in command
        listening = [c for c in aria2c.net_connections(kind="tcp") if c.status == "LISTEN"]
        assert listening and all(c.laddr.ip in ("127.0.0.1", "::1") for c in listening)

        with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key}) as http:
            # The managed aria2c, and Queuarr's own yt-dlp client (yt-dlp is installed).
            client, video = http.get("/api/v3/downloadclient").json()
            assert client["name"] == "Managed aria2" and client["implementation"] == "Aria2"
            assert (video["name"], video["implementation"], video["protocol"],
                    video["priority"]) == ("yt-dlp", "YtDlp", "unknown", 50)
            fields = {f["name"]: f["value"] for f in client["fields"]}
            assert fields["host"] == "127.0.0.1"
            assert fields["port"] in {c.laddr.port for c in listening}
            assert fields["secretToken"] == "********"
            assert http.put(f"/api/v3/downloadclient/{client['id']}",
                            json=client).status_code == 400  # read-only
            results = http.post("/api/v3/downloadclient/testall").json()
            assert results == [{"id": c["id"], "isValid": True, "validationFailures": []}
                               for c in (client, video)]
        assert secret not in server.log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert not aria2c.is_running() or aria2c.status() == psutil.STATUS_ZOMBIE
    assert (tmp_path / "aria2" / "aria2.session").exists()


@pytest.mark.parametrize("env", [
    {"QUEUARR_MANAGED_ARIA2": "false"},
    {"QUEUARR_QBITTORRENT_URL": "http://127.0.0.1:9", "QUEUARR_QBITTORRENT_USERNAME": "u",
     "QUEUARR_QBITTORRENT_PASSWORD": "hunter2-qbit-password"},
], ids=["turned-off", "a-client-is-configured"])
def test_no_managed_aria2c_when_off_or_not_needed(tmp_path: Path, env: dict[str, str]) -> None:
    require_binary("aria2c")
    process, server = start_server(tmp_path, env)
    try:
        assert _aria2c_children(process.pid) == []
        with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key}) as http:
            names = [c["name"] for c in http.get("/api/v3/downloadclient").json()]
        # yt-dlp's own client is there either way: it is no aria2c stand-in.
        assert names == (["qBittorrent", "yt-dlp"] if "QUEUARR_QBITTORRENT_URL" in env
                         else ["yt-dlp"])
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_client_secrets_never_reach_the_log(tmp_path: Path) -> None:
    qbit_password, aria2_secret = "qbit-pass-5f1e2d", "aria2-secret-9c8b7a"
    api_password = "api-made-password-3a4b"
    process, server = start_server(tmp_path, {
        "QUEUARR_QBITTORRENT_URL": "http://127.0.0.1:9",
        "QUEUARR_QBITTORRENT_USERNAME": "admin",
        "QUEUARR_QBITTORRENT_PASSWORD": qbit_password,
        "QUEUARR_ARIA2_URL": "http://127.0.0.1:9/jsonrpc",
        "QUEUARR_ARIA2_SECRET": aria2_secret,
        "QUEUARR_YTDLP": "false",  # the two settings clients only
    })
    try:
        with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key}) as http:
            listed = http.get("/api/v3/downloadclient")
            assert listed.status_code == 200 and len(listed.json()) == 2
            tested = http.post("/api/v3/downloadclient/testall").json()
            assert [r["isValid"] for r in tested] == [False, False]  # nothing on port 9
            made = http.post("/api/v3/downloadclient", json={
                "name": "other", "implementation": "QBittorrent", "fields": [
                    {"name": "host", "value": "127.0.0.1"}, {"name": "port", "value": 9},
                    {"name": "username", "value": "admin"},
                    {"name": "password", "value": api_password}]})
            assert made.status_code == 400  # its test failed, and says so
            for body in (listed.text, made.text, str(tested)):
                for secret in (qbit_password, aria2_secret, api_password):
                    assert secret not in body
        time.sleep(0.3)
        log = server.log.read_text()
        assert "POST /api/v3/downloadclient" in log
        for secret in (qbit_password, aria2_secret, api_password):
            assert secret not in log
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_aria2c_is_installed_where_ci_runs() -> None:
    """CI installs aria2 and qbittorrent-nox (.ci/run); the real-daemon tests need them."""
    for binary in ("aria2c", "qbittorrent-nox"):
        require_binary(binary)
