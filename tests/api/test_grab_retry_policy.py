"""A grab's own `retryPolicy`: stored with the item (memory, SQLite, Postgres), checked
at the door."""

from __future__ import annotations

from typing import Any

import pytest

from core.retry import RetryPolicy
from tests.api.conftest import Api
from tests.api.failures import failures_of
from tests.conftest import STORE_KINDS


@pytest.mark.parametrize("store", STORE_KINDS, indirect=True)
async def test_the_policy_is_stored_with_the_item(api: Api) -> None:
    made = await api.grab("Own.Policy.2024", retryPolicy={
        "delays": [5, 60], "maxAttempts": 6, "factor": 3, "cap": 900, "jitter": 0.1})
    item = await api.item(made["id"])
    assert item.retry_policy == RetryPolicy(delays=(5.0, 60.0), max_attempts=6, factor=3.0,
                                            cap=900.0, jitter=0.1)
    plain = await api.item((await api.grab("Default.Policy.2024"))["id"])
    assert plain.retry_policy is None  # QUEUARR_RETRY_DELAYS applies


@pytest.mark.parametrize("policy", [
    {"delays": [-1]}, {"delays": ["soon"]}, {"delays": [8 * 86400]},
    {"maxAttempts": 0}, {"factor": 0.5}, {"jitter": 2}, {"cap": 0}, {"delays": [0] * 51},
    {"unknown": 1}, "0,120",
])
async def test_a_bad_policy_is_a_400_and_nothing_is_stored(api: Api, policy: Any) -> None:
    response = await api.client.post("/api/v3/queue/grab", json={
        "downloadUrl": "magnet:?xt=urn:btih:" + "ab" * 20, "retryPolicy": policy})
    failures = failures_of(response)  # Radarr's array, each naming the policy
    assert all(f["propertyName"].startswith("RetryPolicy") for f in failures), failures
    assert (await api.status())["totalCount"] == 0


async def test_an_infinite_delay_is_a_400(api: Api) -> None:
    body = ('{"downloadUrl": "magnet:?xt=urn:btih:' + "cd" * 20 + '", '
            '"retryPolicy": {"delays": [1e999]}}')
    response = await api.client.post("/api/v3/queue/grab", content=body,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert (await api.status())["totalCount"] == 0
