"""Wrong API keys are limited per client address (core.ratelimit): after 10 within 60 s
the address gets 429, with Retry-After and a {"message"} body, for every /api request
until its window passes, a right key included. Other addresses are not touched, a
missing key is not counted, and the limit is logged at WARNING without the key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from core.ratelimit import MAX_FAILURES, WINDOW, FailureLimiter
from tests.api.conftest import API_KEY, BASE, Api

WRONG = "f" * 32
STATUS = "/api/v3/queue/status"


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks(api: Api) -> Ticks:
    clock = Ticks()
    api.app.state.auth_failures = FailureLimiter(monotonic=clock)
    return clock


@pytest.fixture
async def elsewhere(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A client from another address."""
    transport = httpx.ASGITransport(app=api.app, client=("192.0.2.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def wrong_keys(api: Api, count: int) -> None:
    for _ in range(count):
        response = await api.anon.get(STATUS, headers={"X-Api-Key": WRONG})
        assert response.status_code == 401


async def test_an_address_that_sent_too_many_wrong_keys_gets_429_even_with_the_right_key(
    api: Api, ticks: Ticks,
) -> None:
    await wrong_keys(api, MAX_FAILURES)

    for headers in ({"X-Api-Key": API_KEY}, {"X-Api-Key": WRONG}, {}):
        response = await api.anon.get(STATUS, headers=headers)
        assert response.status_code == 429, headers
        assert response.headers["retry-after"] == str(int(WINDOW))
        assert response.headers["content-type"] == "application/json"
        assert "Too many failed API keys" in response.json()["message"]
    assert (await api.anon.get("/ping")).status_code == 200  # only /api is limited


async def test_nine_wrong_keys_leave_the_right_key_working(api: Api, ticks: Ticks) -> None:
    await wrong_keys(api, MAX_FAILURES - 1)

    assert (await api.client.get(STATUS)).status_code == 200


async def test_the_limit_lifts_when_the_oldest_failure_is_a_window_old(
    api: Api, ticks: Ticks,
) -> None:
    await wrong_keys(api, 1)
    ticks.now += 30
    await wrong_keys(api, MAX_FAILURES - 1)

    ticks.now += 29
    limited = await api.client.get(STATUS)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    ticks.now += 1.5
    assert (await api.client.get(STATUS)).status_code == 200


async def test_another_address_is_not_limited(api: Api, ticks: Ticks,
                                              elsewhere: httpx.AsyncClient) -> None:
    await wrong_keys(api, MAX_FAILURES)

    response = await elsewhere.get(STATUS, headers={"X-Api-Key": API_KEY})
    assert response.status_code == 200
    assert (await api.client.get(STATUS)).status_code == 429


async def test_requests_without_a_key_are_not_counted(api: Api, ticks: Ticks) -> None:
    for _ in range(3 * MAX_FAILURES):
        assert (await api.anon.get(STATUS)).status_code == 401

    assert (await api.client.get(STATUS)).status_code == 200


async def test_the_limit_is_logged_once_at_warning_without_the_key(
    api: Api, ticks: Ticks, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await wrong_keys(api, MAX_FAILURES)
    await api.anon.get(STATUS, headers={"X-Api-Key": WRONG})

    limited = [r for r in caplog.records if "wrong API keys" in r.getMessage()]
    assert [r.levelno for r in limited] == [logging.WARNING]
    assert "127.0.0.1" in limited[0].getMessage()
    assert all(WRONG not in r.getMessage() for r in caplog.records)
