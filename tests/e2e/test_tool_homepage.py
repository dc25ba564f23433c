"""Homepage's Radarr widget against a live `queuarr serve`.

Replayed from gethomepage/homepage commit b2a52ff2a9df1b7e7bc612178f66539606311b84
(`git describe`: v1.12.3-43, 2026-04-30): src/widgets/radarr/widget.js builds
`{url}/api/v3/{endpoint}?apikey={key}` (api, line 5; no headers) for the endpoints
`movie`, `queue/status` and `queue/details` that component.jsx (lines 19-21) requests;
src/utils/proxy/handlers/generic.js turns any status >= 400 into the widget's error box
(lines 75-90), and src/utils/proxy/validate-widget-data.js checks `totalCount` is present
in queue/status (widget.js `validate`). The maps below mirror widget.js lines 10-57 and
component.jsx lines 49-71, field for field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.radarr_schema import validate_queue_details, validate_queue_status
from tests.e2e.conftest import LiveServer

GRABS = [
    ("Heat.1995.1080p.BluRay.x264-SPARKS", 11, {"title": "Heat", "year": 1995, "tmdbId": 949}),
    ("Ronin.1998.2160p.UHD.BluRay.x265-TERMiNAL", 12,
     {"title": "Ronin", "year": 1998, "tmdbId": 8195, "imdbId": "tt0122690"}),
]


def homepage_get(server: LiveServer, endpoint: str) -> Any:
    """What Homepage's proxy does: GET with ?apikey=, no header; >= 400 is an error box."""
    response = httpx.get(f"{server.url}/api/v3/{endpoint}?apikey={server.api_key}",
                         trust_env=False)
    assert response.status_code < 400, (endpoint, response.status_code, response.text)
    assert response.status_code == 200, response.status_code
    return response.json()


@pytest.fixture(scope="module")
def grabbed(live_server: LiveServer) -> list[int]:
    ids = []
    for n, (title, movie_id, movie) in enumerate(GRABS, 1):
        made = httpx.post(f"{live_server.url}/api/v3/queue/grab", json={
            "downloadUrl": f"magnet:?xt=urn:btih:{n:040x}&dn={title}", "movieId": movie_id,
            "movie": movie}, headers={"X-Api-Key": live_server.api_key}, trust_env=False)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


def test_the_movie_endpoint_gives_the_widget_its_counts_and_titles(
        live_server: LiveServer, grabbed: list[int]) -> None:
    data = homepage_get(live_server, "movie")
    assert isinstance(data, list)
    for entry in data:
        for key in ("monitored", "hasFile", "isAvailable"):
            assert isinstance(entry[key], bool), (key, entry)
        assert isinstance(entry["id"], int) and isinstance(entry["title"], str)
    # widget.js 10-18
    wanted = [e for e in data if e["monitored"] and not e["hasFile"] and e["isAvailable"]]
    have = [e for e in data if e["hasFile"]]
    missing = [e for e in data if e["monitored"] and not e["hasFile"]]
    titles = {e["id"]: e["title"] for e in data}
    assert titles == {11: "Heat", 12: "Ronin"}
    assert have == [] and len(missing) == 2 and len(wanted) <= 2


def test_queue_status_carries_total_count(live_server: LiveServer, grabbed: list[int]) -> None:
    data = homepage_get(live_server, "queue/status")
    validate_queue_status(data)
    assert data["totalCount"] == len(grabbed)


def test_queue_details_gives_every_field_the_queue_rows_read(
        live_server: LiveServer, grabbed: list[int]) -> None:
    data = homepage_get(live_server, "queue/details")
    validate_queue_details(data)
    titles = {e["id"]: e["title"] for e in homepage_get(live_server, "movie")}
    rows = [{
        "trackedDownloadState": e.get("trackedDownloadState"),
        "trackedDownloadStatus": e.get("trackedDownloadStatus"),
        "timeLeft": e.get("timeleft"),
        "size": e["size"], "sizeLeft": e["sizeleft"],
        "movieId": e.get("movieId", e["id"]),
        "status": e["status"],
    } for e in data]  # widget.js 28-38
    assert sorted(r["movieId"] for r in rows) == [11, 12]
    for row in rows:
        assert isinstance(row["size"], int) and isinstance(row["sizeLeft"], int)
        assert row["status"] == "queued"
        # component.jsx 68: the row's title comes from /movie by movieId.
        assert titles[row["movieId"]] in ("Heat", "Ronin")


def test_a_wrong_apikey_is_an_error_box_not_data(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/api/v3/queue/status?apikey={'0' * 32}",
                         trust_env=False)
    assert response.status_code == 401
