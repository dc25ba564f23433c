"""POST /api/v3/command against a live `queuarr serve`, as decluttarr sends it before each
pass (src/utils/shared.py get_queue, decluttarr ff035bf): answered 201 at once, then
polled at GET /api/v3/command/{id} until it completed. The process that runs the
processor syncs itself; an API-only one (--no-processor) says it woke the leader."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.radarr_schema import validate_radarr
from tests.e2e.conftest import start_server, stop_server


def run_command(server_url: str, api_key: str, name: str) -> dict[str, Any]:
    with httpx.Client(base_url=server_url, headers={"X-Api-Key": api_key}) as http:
        posted = http.post("/api/v3/command", json={"name": name})
        assert posted.status_code == 201, posted.text
        validate_radarr("CommandResource", posted.json())
        command_id = posted.json()["id"]
        for _ in range(600):  # a guard against a hang, not a measure of speed
            body: dict[str, Any] = http.get(f"/api/v3/command/{command_id}").json()
            validate_radarr("CommandResource", body)
            if body["status"] not in ("queued", "started"):
                listed = http.get("/api/v3/command", params={"apikey": api_key}).json()
                assert listed[0]["id"] == command_id  # newest first
                return body
            time.sleep(0.05)
    raise AssertionError(f"{name} never ended")


@pytest.mark.parametrize(("args", "says"), [
    ((), "synced the download clients"),
    (("--no-processor",), "does not run the processor"),
], ids=["with-the-processor", "api-only"])
def test_refresh_monitored_downloads_completes_on_a_live_server(
        tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    process, server = start_server(tmp_path, {"QUEUARR_MANAGED_ARIA2": "false"}, args)
    try:
        done = run_command(server.url, server.api_key, "RefreshMonitoredDownloads")
        assert done["status"] == "completed" and says in done["message"], done
        done = run_command(server.url, server.api_key, "ProcessMonitoredDownloads")
        assert done["status"] == "completed" and says in done["message"], done
        if not args:  # a dispatch pass after the scheduler's own (nothing was due)
            assert "sent 0 due item(s)" in done["message"], done
        refused = httpx.post(f"{server.url}/api/v3/command", json={"name": "RssSync"},
                             headers={"X-Api-Key": server.api_key})
        assert refused.status_code == 400
    finally:
        stop_server(process)
