"""core.ratelimit.FailureLimiter: failed authentications per address, a sliding window,
on a clock the test moves."""

from __future__ import annotations

from core.ratelimit import FailureLimiter


class Ticks:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def limiter(ticks: Ticks, **kwargs: int) -> FailureLimiter:
    return FailureLimiter(limit=kwargs.pop("limit", 3), window=60.0, monotonic=ticks,
                          **kwargs)


def test_an_address_is_refused_from_the_failure_that_reaches_the_limit() -> None:
    ticks = Ticks()
    limits = limiter(ticks)

    assert [limits.failed("a") for _ in range(3)] == [False, False, True]

    assert limits.retry_after("a") == 60.0


def test_failures_below_the_limit_refuse_nothing() -> None:
    ticks = Ticks()
    limits = limiter(ticks)
    limits.failed("a")
    limits.failed("a")

    assert limits.retry_after("a") is None
    assert limits.retry_after("never-failed") is None


def test_the_refusal_lasts_until_the_oldest_failure_is_a_window_old() -> None:
    ticks = Ticks()
    limits = limiter(ticks)
    limits.failed("a")
    ticks.now += 20
    limits.failed("a")
    limits.failed("a")

    ticks.now += 39
    assert limits.retry_after("a") == 1.0
    ticks.now += 1
    assert limits.retry_after("a") is None


def test_failures_older_than_the_window_no_longer_count() -> None:
    ticks = Ticks()
    limits = limiter(ticks)
    limits.failed("a")
    limits.failed("a")
    ticks.now += 60

    assert limits.failed("a") is False
    assert limits.retry_after("a") is None


def test_addresses_are_counted_apart() -> None:
    ticks = Ticks()
    limits = limiter(ticks)
    for _ in range(3):
        limits.failed("a")

    assert limits.retry_after("b") is None
    assert limits.failed("b") is False


def test_the_table_of_addresses_stays_bounded_and_forgets_the_stalest_first() -> None:
    ticks = Ticks()
    limits = limiter(ticks, limit=2, max_addresses=3)
    for _ in range(2):
        limits.failed("limited")
    for n in range(10):
        ticks.now += 1
        limits.failed(f"flood-{n}")

    assert len(limits) == 3
    assert limits.retry_after("limited") is None  # forgotten: it failed least recently
