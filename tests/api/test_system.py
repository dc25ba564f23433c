"""GET /api/v3/system/status, /api and /ping (reference §2, §10, §15.10), on the SQL stores
a real Queuarr runs on (a memory container reports no Radarr databaseType)."""

from __future__ import annotations

import pytest

from tests.api.conftest import API_KEY, Api
from tests.api.radarr_schema import (
    RADARR_DATE,
    nulls_in,
    validate_api_info,
    validate_ping,
    validate_system_status,
)
from tests.conftest import STORE_KINDS

SQL_STORES = [kind for kind in STORE_KINDS if kind != "memory"]
pytestmark = pytest.mark.parametrize("store", SQL_STORES, indirect=True)


async def test_system_status_matches_radarrs_system_resource(api: Api) -> None:
    body = await api.get_json("/api/v3/system/status", None, validate_system_status)
    assert nulls_in(body) == []


async def test_system_status_reports_the_database_it_runs_on(api: Api) -> None:
    body = await api.get_json("/api/v3/system/status", None, validate_system_status)
    expected = {"sqlite": "sqLite", "postgres": "postgreSQL"}[api.store.kind]
    assert body["databaseType"] == expected
    assert body["databaseVersion"]


async def test_system_status_has_the_fields_clients_read(api: Api) -> None:
    response = await api.client.get("/api/v3/system/status")
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert response.headers["cache-control"] == "no-cache, no-store"
    body = response.json()
    validate_system_status(body)
    assert body["appName"] == "Radarr"  # decluttarr stops unless it is (issue 13)
    assert body["instanceName"] == "Queuarr"
    assert body["version"] == response.headers["x-application-version"]
    assert body["urlBase"] == ""  # empty strings are written, not omitted
    assert RADARR_DATE.fullmatch(body["startTime"])
    assert body["startTime"] == api.container.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_system_status_needs_the_key(api: Api) -> None:
    response = await api.anon.get("/api/v3/system/status")
    assert response.status_code == 401
    assert response.content == b""
    ok = await api.anon.get("/api/v3/system/status", params={"apikey": API_KEY})
    assert ok.status_code == 200
    validate_system_status(ok.json())


async def test_api_info_and_ping_match_radarrs_resources(api: Api) -> None:
    assert await api.get_json("/api", None, validate_api_info) == {"current": "v3",
                                                                   "deprecated": []}
    ping = await api.anon.get("/ping")
    assert ping.status_code == 200
    validate_ping(ping.json())
    assert ping.json() == {"status": "OK"}


async def test_the_instance_name_is_the_configured_one(api: Api) -> None:
    api.container.settings.instance_name = "Den Queuarr"
    body = await api.get_json("/api/v3/system/status", None, validate_system_status)
    assert (body["appName"], body["instanceName"]) == ("Radarr", "Den Queuarr")
