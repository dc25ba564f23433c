"""The API key never reaches the log, however it is sent (the server runs at DEBUG, with
the access log on)."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import LiveServer


def test_the_api_key_never_appears_in_the_server_log(live_server: LiveServer) -> None:
    key = live_server.api_key
    wrong = "f" * 32
    with httpx.Client(base_url=live_server.url) as http:
        assert http.get(f"/api/v3/queue?apikey={key}").status_code == 200
        assert http.get(f"/api/v3/queue?APIKEY={key}&pageSize=5").status_code == 200
        for query in (f"apikey[0]={key}", f"apikey%5B0%5D={key}", f"ApiKey[]={key}&page=1",
                      f"apiKey={key}&apikey={key}", f"apik%65y={key}&PageSize=5"):
            assert http.get(f"/api/v3/queue?{query}").status_code == 200, query
        assert http.get("/api/v3/queue/status", headers={"X-Api-Key": key}).status_code == 200
        assert http.get("/api", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert http.get(f"/api/v3/queue?apikey={wrong}").status_code == 401
        assert http.post(f"/api/v3/queue/grab?apikey={key}", json={"x": 1}).status_code == 400
    time.sleep(0.3)  # let the server flush its log
    log = live_server.log.read_text()
    assert "GET /api/v3/queue" in log  # the access log is on, so the test means something
    assert key not in log
    assert wrong not in log
