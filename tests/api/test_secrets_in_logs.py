"""The API key reaches no log record, in any spelling the API edge accepts: the request
authenticates, and the records it leaves (httpx logs each request's URL) have the key
masked, as the real log handler leaves them for every handler after it."""

from __future__ import annotations

import pytest

from tests.api.conftest import API_KEY, Api
from tests.logs import real_logging


@pytest.mark.parametrize("query", [
    "apikey[0]={key}",
    "apikey%5B0%5D={key}",
    "APIKEY[]={key}",
    "apiKey={key}&apikey={key}",
    "apik%65y={key}&PageSize=5",  # the edge decodes a query it rewrites
])
async def test_an_api_key_sent_in_any_accepted_spelling_is_in_no_log_record(
        api: Api, caplog: pytest.LogCaptureFixture, query: str) -> None:
    with real_logging() as buffer:
        response = await api.anon.get(f"/api/v3/queue/status?{query.format(key=API_KEY)}")

    assert response.status_code == 200  # the edge took the key
    requests = [r for r in caplog.records if "/api/v3/queue/status" in r.getMessage()]
    assert requests, "no record of the request: this test would prove nothing"
    assert all("=<redacted>" in r.getMessage() for r in requests)
    for record in caplog.records:
        assert API_KEY not in record.getMessage()
        assert API_KEY not in str(record.msg) + repr(record.args)
    assert API_KEY not in caplog.text
    assert API_KEY not in buffer.getvalue()
