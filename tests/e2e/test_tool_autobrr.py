"""autobrr's Radarr action against a live `queuarr serve`.

Replayed from autobrr/autobrr commit 489d8ddf9bb3c1c0e62b8c78f8535408f78131ca
(`git describe`: v1.79.0-2, 2026-05-20):
- pkg/arr/radarr/radarr.go Test (72-90): GET /api/v3/system/status, unmarshal `version`;
- internal/action/radarr.go (36-63): the ReleasePushRequest it builds;
- pkg/arr/radarr/types.go: ReleasePushRequest (Go's encoding/json: `size` is always sent,
  0 when unknown; `downloadProtocol` and `protocol`; `publishDate` RFC 3339; omitempty
  fields left out), ReleasePushResponse (approved, rejected, temporarilyRejected,
  rejections []string), BadRequestResponse (severity, errorCode, errorMessage,
  propertyName, attemptedValue: all strings);
- pkg/arr/radarr/client.go postBody (144-192) and setHeaders (194-202): Content-Type
  application/json, User-Agent autobrr, X-Api-Key; a 400 body is handed back, other
  statuses outside 200-401 are errors;
- radarr.go Push (92-129): a 400 body must unmarshal as an array of BadRequestResponse
  (else "could not unmarshal data"); a 2xx body as an array whose first element is read.
Go's encoding/json matches keys case-insensitively and fails on a type mismatch; the
checks below mirror that."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.radarr_schema import validate_releases, validate_system_status
from tests.e2e.conftest import LiveServer

GO_TYPES = {"severity": str, "errorCode": str, "errorMessage": str, "propertyName": str,
            "attemptedValue": str}


def headers(server: LiveServer) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "autobrr",
            "X-Api-Key": server.api_key}


def push_request(title: str, magnet: str | None = None, download_url: str | None = None,
                 size: int = 0) -> bytes:
    """internal/action/radarr.go 36-48 marshalled as Go does (omitempty dropped)."""
    body: dict[str, Any] = {"title": title}
    if download_url:
        body["downloadUrl"] = download_url
    if magnet:
        body["magnetUrl"] = magnet
    body |= {"size": size, "indexer": "torrentleech", "downloadProtocol": "torrent",
             "protocol": "torrent", "publishDate": "2026-05-20T11:16:04+02:00"}
    return json.dumps(body).encode()


def go_field(record: dict[str, Any], name: str) -> Any:
    """encoding/json: the value of the key equal to `name` ignoring case, or None."""
    for key, value in record.items():
        if key.lower() == name.lower():
            return value
    return None


def push(server: LiveServer, body: bytes) -> tuple[int, Any]:
    response = httpx.post(f"{server.url}/api/v3/release/push", content=body,
                          headers=headers(server), trust_env=False)
    # client.go 185-189: only 400 and 200-401 are not transport errors.
    assert response.status_code == 400 or 200 <= response.status_code <= 401, response.text
    return response.status_code, response.json()


def bad_request_rejections(body: Any) -> list[str]:
    """radarr.go 100-111: unmarshal []BadRequestResponse, format each as autobrr logs it."""
    assert isinstance(body, list), f"could not unmarshal data: {body!r}"
    out = []
    for entry in body:
        assert isinstance(entry, dict), f"could not unmarshal data: {entry!r}"
        values = {}
        for name, kind in GO_TYPES.items():
            value = go_field(entry, name)
            assert value is None or isinstance(value, kind), (
                f"could not unmarshal data: {name}={value!r}")
            values[name] = value or ""
        out.append(f"[{values['severity']}: {values['errorCode']}] {values['propertyName']}: "
                   f"{values['errorMessage']} - got value: {values['attemptedValue']}")
    return out


def test_autobrr_tests_the_connection(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/api/v3/system/status",
                         headers={"User-Agent": "autobrr", "X-Api-Key": live_server.api_key},
                         trust_env=False)
    assert response.status_code == 200
    validate_system_status(response.json())
    assert isinstance(go_field(response.json(), "version"), str)


def test_a_valid_push_is_approved_and_autobrr_reads_no_rejections(
        live_server: LiveServer) -> None:
    title = "Collateral.2004.1080p.BluRay.x264-SPARKS"
    status, body = push(live_server, push_request(
        title, magnet=f"magnet:?xt=urn:btih:{'c' * 40}&dn={title}"))
    assert status == 200
    validate_releases(body)
    first = body[0]  # radarr.go 120 reads pushResponse[0]
    assert go_field(first, "approved") is True and go_field(first, "rejected") is False
    assert go_field(first, "temporarilyRejected") is False
    assert go_field(first, "rejections") == []
    # Radarr reads publishDate as a DateTime and writes it back in UTC.
    assert first["publishDate"] == "2026-05-20T09:16:04Z"


def test_a_push_without_a_link_is_a_400_autobrr_can_read(live_server: LiveServer) -> None:
    status, body = push(live_server, push_request("Collateral.2004.720p.WEB-DL-GRP"))
    assert status == 400
    rejections = bad_request_rejections(body)
    assert rejections and all("error" in r.lower() for r in rejections), rejections
    assert any(go_field(e, "propertyName") for e in body), body


def test_a_title_radarr_cannot_parse_is_refused_as_radarr_does(
        live_server: LiveServer) -> None:
    """pkg/arr/radarr/testdata/release_push_parse_error.json is Radarr's answer."""
    title = "Minx 1 epi 9 2160p"
    status, body = push(live_server, push_request(
        title, magnet=f"magnet:?xt=urn:btih:{'d' * 40}&dn=Minx"))
    assert status == 400, body
    (rejection,) = bad_request_rejections(body)
    assert rejection.startswith("[error: ")
    assert rejection.endswith("] Title: Unable to parse - got value: Minx 1 epi 9 2160p")
    details = httpx.get(f"{live_server.url}/api/v3/queue/details",
                        headers={"X-Api-Key": live_server.api_key}, trust_env=False).json()
    assert title not in [d["title"] for d in details]
