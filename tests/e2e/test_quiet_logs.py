"""A live `queuarr serve` at INFO writes nothing while idle, however many scheduler passes
run, and for one download writes exactly what a person reads later: the grab, the send and
the completion (the managed aria2c fetching a local http file)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.clients.conftest import require_binary
from tests.daemons import FileServer, wait_for
from tests.e2e.conftest import start_server, stop_server

IDLE_SECONDS = 30.0
SETTLE_SECONDS = 3.0  # several sync (1 s) and dispatch (0.5 s) passes after the completion
TITLE = "Quiet.Logs.2024.1080p.WEB-DL"


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def idle_for(seconds: float) -> None:
    """The window in which the server is left alone: its length is what is tested."""
    time.sleep(seconds)


def test_an_idle_server_logs_nothing_and_a_download_logs_grab_send_and_completion(
        tmp_path: Path) -> None:
    require_binary("aria2c")
    with FileServer(tmp_path / "served") as files:
        served = files.add("quiet.mkv", 512 * 1024, seed=17)
        (tmp_path / "data").mkdir()
        process, server = start_server(tmp_path / "data", {
            "QUEUARR_LOG_LEVEL": "INFO",
            "QUEUARR_SYNC_INTERVAL": "1",
            "QUEUARR_DISPATCH_INTERVAL": "0.5",
            "QUEUARR_ALLOW_PRIVATE_URLS": "true",
            "QUEUARR_YTDLP": "false",
        })
        try:
            start = lines(server.log)
            assert start[0].split(" ", 2)[2].startswith("INFO queuarr: Queuarr "), start[0]
            assert " starting (serve)" in start[0]
            assert "Uvicorn running on" in start[-1], start[-1]  # start-up is over

            idle_for(IDLE_SECONDS)
            assert lines(server.log)[len(start):] == []

            with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                              timeout=30) as http:
                made = http.post("/api/v3/queue/grab",
                                 json={"downloadUrl": served.url, "title": TITLE})
                assert made.status_code == 201, made.text
                item_id = int(made.json()["id"])
            wait_for(lambda: any(" completed: " in line for line in lines(server.log)), 60,
                     "the completion line")
            idle_for(SETTLE_SECONDS)
            written = [line.split(" ", 2)[2] for line in lines(server.log)[len(start):]]
        finally:
            stop_server(process)

    saved = (tmp_path / "data" / "downloads" / served.name).resolve()
    assert saved.stat().st_size == served.size
    assert written == [
        f"INFO core.service: Grabbed {TITLE!r} as item {item_id} (http)",
        f"INFO core.processor_base: Item {item_id} sent to Managed aria2 as "
        f"{written[1].rsplit(' as ', 1)[-1]}",
        f"INFO core.processor_base: Item {item_id} completed: {saved}",
    ], "\n".join(written)
    assert len(written[1].rsplit(" as ", 1)[-1]) == 16  # aria2's GID
