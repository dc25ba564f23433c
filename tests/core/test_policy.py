"""The processor's pure policies (core.policy): classifying client errors, retry delays,
per-client backoff and stall detection. Everything runs on a fixed clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from core.clients import ClientState
from core.errors import (
    ClientRejected,
    ClientUnavailable,
    DownloadClientError,
    TransientClientError,
)
from core.policy import (
    CLIENT_BACKOFF,
    DEFAULT_DELAYS,
    ClientBackoff,
    FailureClass,
    RetryPolicy,
    StallPolicy,
    classify,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)


# -- classify() ------------------------------------------------------------------------


class _SubUnavailable(ClientUnavailable):
    """A more specific unavailability (say, a login refused)."""


class _SubRejected(ClientRejected):
    """A more specific rejection."""


@pytest.mark.parametrize(("error", "expected"), [
    (ClientUnavailable(), FailureClass.UNAVAILABLE),
    (ClientUnavailable("connection refused"), FailureClass.UNAVAILABLE),
    (_SubUnavailable(), FailureClass.UNAVAILABLE),
    (ClientRejected(), FailureClass.PERMANENT),
    (ClientRejected("not a valid torrent"), FailureClass.PERMANENT),
    (_SubRejected(), FailureClass.PERMANENT),
    (TransientClientError(), FailureClass.TRANSIENT),
    (DownloadClientError(), FailureClass.TRANSIENT),
    (DownloadClientError("something odd"), FailureClass.TRANSIENT),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_classify(error: DownloadClientError, expected: FailureClass) -> None:
    assert classify(error) is expected


# -- RetryPolicy: the default ----------------------------------------------------------


def test_default_policy_is_four_attempts() -> None:
    policy = RetryPolicy()
    assert policy.delays == DEFAULT_DELAYS == (0, 120, 480)
    assert policy.attempts == 4  # the first send plus three retries


@pytest.mark.parametrize(("failures", "expected"), [
    (-1, None),  # nonsense: nothing to wait for
    (0, None),  # no failure yet: delay() has nothing to say
    (1, timedelta(0)),  # tried, failed: retry at once
    (2, timedelta(minutes=2)),  # failed again: wait 2 min
    (3, timedelta(minutes=8)),  # failed a third time: wait 8 min
    (4, None),  # the fourth failure is final
    (5, None),
    (100, None),
])
def test_default_delays(failures: int, expected: timedelta | None) -> None:
    assert RetryPolicy().delay(failures) == expected


@pytest.mark.parametrize(("delays", "expected"), [
    ((5, 60), [timedelta(seconds=5), timedelta(minutes=1), None]),
    ((30,), [timedelta(seconds=30), None, None]),
    ((1.5, 2.25, 10), [timedelta(seconds=1.5), timedelta(seconds=2.25),
                       timedelta(seconds=10), None]),
    ((), [None, None]),  # no delays: the first failure is final
], ids=["two", "one", "fractional", "none"])
def test_custom_delays(delays: tuple[float, ...], expected: list[timedelta | None]) -> None:
    policy = RetryPolicy(delays=delays)
    assert policy.attempts == len(delays) + 1
    assert [policy.delay(n) for n in range(1, len(expected) + 1)] == expected


def test_max_attempts_below_the_list_cuts_it_short() -> None:
    policy = RetryPolicy(max_attempts=2)
    assert policy.attempts == 2
    assert [policy.delay(n) for n in (1, 2, 3)] == [timedelta(0), None, None]


# -- RetryPolicy.parse() -----------------------------------------------------------------


@pytest.mark.parametrize(("text", "delays"), [
    ("0,120,480", (0.0, 120.0, 480.0)),
    (" 0 , 120 ,480 ", (0.0, 120.0, 480.0)),
    ("0,,120,", (0.0, 120.0)),
    (",  ,60", (60.0,)),
    ("1.5,2e2", (1.5, 200.0)),
    ("  ", ()),
    ("", ()),
], ids=["plain", "spaces", "empty-parts", "leading-empties", "floats", "blank", "empty"])
def test_parse_good(text: str, delays: tuple[float, ...]) -> None:
    policy = RetryPolicy.parse(text)
    assert policy.delays == delays
    assert policy.attempts == len(delays) + 1
    # Only the delays come from the text; the rest keeps its defaults.
    assert policy == RetryPolicy(delays=delays)


def test_parse_of_the_default_text_is_the_default_policy() -> None:
    parsed = RetryPolicy.parse("0,120,480")
    assert parsed == RetryPolicy()
    assert [parsed.delay(n) for n in range(5)] == [RetryPolicy().delay(n) for n in range(5)]


@pytest.mark.parametrize("text", ["0,abc,480", "2m", "0;120;480", "0 120", "one"])
def test_parse_rejects_non_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="seconds separated by commas") as info:
        RetryPolicy.parse(text)
    assert repr(text) in str(info.value)  # the message shows what was given


@pytest.mark.parametrize("text", ["-1", "0,-120,480", "0, -0.5"])
def test_parse_rejects_negatives(text: str) -> None:
    with pytest.raises(ValueError, match="not negative"):
        RetryPolicy.parse(text)


# -- RetryPolicy: geometric extension ------------------------------------------------


@pytest.mark.parametrize(("policy", "expected"), [
    # 480 doubles: 960, 1920, then 3840 is capped at the default 3600; 7 attempts in all.
    (RetryPolicy(max_attempts=7),
     [0, 120, 480, 960, 1920, 3600, None, None]),
    # A low cap flattens the growth at once.
    (RetryPolicy(max_attempts=6, cap=1000),
     [0, 120, 480, 960, 1000, None]),
    (RetryPolicy(max_attempts=6, factor=3),
     [0, 120, 480, 1440, 3600, None]),
    # No list: growth starts from 1 s.
    (RetryPolicy(delays=(), max_attempts=4),
     [2, 4, 8, None]),
    # A last delay of 0 also grows from 1 s rather than staying at 0.
    (RetryPolicy(delays=(0,), max_attempts=4, factor=10),
     [0, 10, 100, None]),
], ids=["doubling-capped", "low-cap", "factor-3", "empty-list", "zero-last"])
def test_geometric_extension(policy: RetryPolicy, expected: list[float | None]) -> None:
    assert policy.attempts == policy.max_attempts
    got = [policy.delay(n) for n in range(1, len(expected) + 1)]
    assert got == [None if s is None else timedelta(seconds=s) for s in expected]


# -- RetryPolicy: jitter -----------------------------------------------------------------


def test_jitter_stays_within_bounds_and_varies() -> None:
    jitter = 0.25
    policy = RetryPolicy(max_attempts=6, jitter=jitter)
    plain = RetryPolicy(max_attempts=6)
    rng = random.Random(1234)
    for failures in (2, 3, 4, 5):
        nominal = plain.delay(failures)
        assert nominal is not None and nominal > timedelta(0)
        samples = [policy.delay(failures, rng) for _ in range(200)]
        assert all(s is not None for s in samples)
        low, high = nominal * (1 - jitter), nominal * (1 + jitter)
        assert all(low <= s <= high for s in samples if s is not None), failures
        assert len(set(samples)) > 1
        # Spread on both sides of the nominal delay, not only one way.
        assert any(s < nominal for s in samples if s is not None)
        assert any(s > nominal for s in samples if s is not None)


def test_jitter_is_reproducible_with_the_same_seed() -> None:
    policy = RetryPolicy(jitter=0.5)
    first = [policy.delay(n, random.Random(7)) for n in (2, 3)]
    again = [policy.delay(n, random.Random(7)) for n in (2, 3)]
    assert first == again
    assert first != [timedelta(minutes=2), timedelta(minutes=8)]


def test_jitter_leaves_a_zero_delay_and_the_final_failure_alone() -> None:
    policy = RetryPolicy(jitter=0.5)
    rng = random.Random(0)
    assert [policy.delay(1, rng) for _ in range(20)] == [timedelta(0)] * 20
    assert policy.delay(4, rng) is None


def test_jitter_without_rng_uses_module_random_within_bounds() -> None:
    policy = RetryPolicy(jitter=0.1)
    samples = [policy.delay(3) for _ in range(50)]
    nominal = timedelta(minutes=8)
    assert all(s is not None and nominal * 0.9 <= s <= nominal * 1.1 for s in samples)


# -- ClientBackoff ---------------------------------------------------------------------

# Radarr's EscalationBackOff: 0, 1 min, 5 min, 15 min, 30 min, 1 h, 3 h, 6 h, 12 h, 24 h.
ESCALATION = [
    timedelta(0), timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
    timedelta(minutes=30), timedelta(hours=1), timedelta(hours=3), timedelta(hours=6),
    timedelta(hours=12), timedelta(hours=24),
]


def test_steps_are_radarrs() -> None:
    assert [timedelta(seconds=s) for s in CLIENT_BACKOFF] == ESCALATION


def test_fresh_backoff_is_available_and_ready() -> None:
    backoff = ClientBackoff()
    assert backoff.available
    assert backoff.ready(NOW)
    assert (backoff.failures, backoff.until, backoff.last_error) == (0, None, None)


def test_failures_while_backing_off_are_one_outage_not_several() -> None:
    """Calls failing together (a batch sent to a client that just died) escalate once:
    the first failure's step is 0 (ready again at once), the next is 1 min, and further
    failures before that minute is up change nothing but the error."""
    backoff = ClientBackoff()
    assert backoff.failed(NOW, "error 1") == NOW
    assert backoff.failed(NOW, "error 2") == NOW + timedelta(minutes=1)
    for n in range(3, 13):
        assert backoff.failed(NOW + timedelta(seconds=n), f"error {n}") == (
            NOW + timedelta(minutes=1))
        assert backoff.failures == 2
        assert backoff.last_error == f"error {n}"
    assert not backoff.available


def test_escalation_when_each_failure_comes_once_ready() -> None:
    backoff = ClientBackoff()
    now = NOW
    untils = []
    for n in range(12):
        assert backoff.ready(now)
        until = backoff.failed(now, f"error {n}")
        untils.append(until)
        now = until
    offsets = [0, 60, 360, 1260, 3060, 6660, 17460, 39060, 82260, 168660, 255060, 341460]
    assert untils == [NOW + timedelta(seconds=s) for s in offsets]


def test_first_failure_is_ready_at_once() -> None:
    backoff = ClientBackoff()
    assert backoff.failed(NOW, "refused") == NOW
    assert backoff.ready(NOW)
    assert not backoff.available  # ready, but still counted as failing


@pytest.mark.parametrize(("at", "ready"), [
    (NOW, False),
    (NOW + timedelta(minutes=1) - timedelta(microseconds=1), False),
    (NOW + timedelta(minutes=1), True),
    (NOW + timedelta(minutes=1) + S, True),
    (NOW + timedelta(days=1), True),
], ids=["when-failed", "just-before", "at-until", "just-after", "long-after"])
def test_ready_around_until(at: datetime, ready: bool) -> None:
    backoff = ClientBackoff()
    backoff.failed(NOW, "first")
    backoff.failed(NOW, "second")  # escalates to 1 min
    assert backoff.until == NOW + timedelta(minutes=1)
    assert backoff.ready(at) is ready


def test_last_error_is_the_latest() -> None:
    backoff = ClientBackoff()
    backoff.failed(NOW, "connection refused")
    assert backoff.last_error == "connection refused"
    backoff.failed(NOW, "login failed")
    assert backoff.last_error == "login failed"


def test_succeeded_resets_and_says_whether_it_was_failing() -> None:
    backoff = ClientBackoff()
    assert backoff.succeeded() is False  # never failed: nothing came back

    for _ in range(4):  # each failure comes once the client is ready again
        backoff.failed(backoff.until or NOW, "down")
    assert backoff.until == NOW + timedelta(minutes=6, seconds=900)  # 0 + 1 + 5 min, then 15
    assert not backoff.ready(NOW)

    assert backoff.succeeded() is True
    assert backoff.failures == 0
    assert backoff.until is None
    assert backoff.last_error is None
    assert backoff.available
    assert backoff.ready(NOW)
    assert backoff.succeeded() is False  # a second success is not a recovery

    # After a reset, escalation starts over from the first step.
    assert backoff.failed(NOW, "again") == NOW
    assert backoff.failed(NOW, "again") == NOW + timedelta(minutes=1)


def test_succeeded_after_a_single_zero_step_failure_is_a_recovery() -> None:
    backoff = ClientBackoff()
    backoff.failed(NOW, "blip")
    assert backoff.succeeded() is True


def test_custom_steps_cap_at_their_last() -> None:
    backoff = ClientBackoff(steps=(10, 20))
    offsets = []
    at = NOW
    for _ in range(4):
        until = backoff.failed(at, "x")
        offsets.append(until - at)
        at = until
    assert offsets == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=20),
                       timedelta(seconds=20)]


# -- StallPolicy ----------------------------------------------------------------------

NEVER_STALLED = [s for s in ClientState
                 if s not in (ClientState.DOWNLOADING, ClientState.STALLED, ClientState.METADATA)]


@pytest.mark.parametrize(("state", "idle", "reason"), [
    # Data: 30 minutes without a byte.
    (ClientState.DOWNLOADING, timedelta(0), None),
    (ClientState.DOWNLOADING, 5 * MIN, None),
    (ClientState.DOWNLOADING, 30 * MIN - S, None),
    (ClientState.DOWNLOADING, 30 * MIN, "no data for 30 min (limit 30 min)"),
    (ClientState.DOWNLOADING, 45 * MIN, "no data for 45 min (limit 30 min)"),
    (ClientState.STALLED, 29 * MIN, None),
    (ClientState.STALLED, 30 * MIN, "no data for 30 min (limit 30 min)"),
    (ClientState.STALLED, 90 * MIN, "no data for 90 min (limit 30 min)"),
    # Metadata: its own, shorter limit.
    (ClientState.METADATA, 14 * MIN, None),
    (ClientState.METADATA, 15 * MIN - S, None),
    (ClientState.METADATA, 15 * MIN,
     "metadata has not arrived after 15 min (limit 15 min)"),
    (ClientState.METADATA, 20 * MIN,
     "metadata has not arrived after 20 min (limit 15 min)"),
    (ClientState.METADATA, 40 * MIN,
     "metadata has not arrived after 40 min (limit 15 min)"),
    # 20 minutes is past the metadata limit but not the data one.
    (ClientState.DOWNLOADING, 20 * MIN, None),
    (ClientState.STALLED, 20 * MIN, None),
])
def test_default_stall_policy(state: ClientState, idle: timedelta, reason: str | None) -> None:
    assert StallPolicy().stalled(state, NOW - idle, NOW) == reason


@pytest.mark.parametrize("state", NEVER_STALLED, ids=str)
def test_other_states_never_stall(state: ClientState) -> None:
    policy = StallPolicy()
    assert policy.stalled(state, NOW - timedelta(days=3), NOW) is None
    assert policy.stalled(state, NOW - 30 * MIN, NOW) is None


@pytest.mark.parametrize("state", list(ClientState), ids=str)
def test_no_progress_time_is_never_stalled(state: ClientState) -> None:
    assert StallPolicy().stalled(state, None, NOW) is None


@pytest.mark.parametrize("state", [ClientState.DOWNLOADING, ClientState.STALLED,
                                   ClientState.METADATA], ids=str)
def test_progress_in_the_future_is_not_stalled(state: ClientState) -> None:
    assert StallPolicy().stalled(state, NOW + timedelta(hours=1), NOW) is None


def test_metadata_uses_only_its_own_limit() -> None:
    # With a metadata limit longer than the data one, the data limit does not apply to
    # a magnet still fetching metadata.
    policy = StallPolicy(stall=30 * MIN, metadata=60 * MIN)
    assert policy.stalled(ClientState.METADATA, NOW - 45 * MIN, NOW) is None
    assert policy.stalled(ClientState.DOWNLOADING, NOW - 45 * MIN, NOW) == (
        "no data for 45 min (limit 30 min)")
    assert policy.stalled(ClientState.METADATA, NOW - 60 * MIN, NOW) == (
        "metadata has not arrived after 60 min (limit 60 min)")


@pytest.mark.parametrize(("policy", "state", "idle", "limit"), [
    (StallPolicy(stall=5 * MIN), ClientState.DOWNLOADING, 5 * MIN, "limit 5 min"),
    (StallPolicy(stall=timedelta(seconds=90)), ClientState.STALLED, 2 * MIN,
     "limit 1.5 min"),
    (StallPolicy(metadata=2 * MIN), ClientState.METADATA, 3 * MIN, "limit 2 min"),
    (StallPolicy(stall=2 * timedelta(hours=1)), ClientState.DOWNLOADING,
     timedelta(hours=2), "limit 120 min"),
])
def test_reason_mentions_the_configured_limit(
    policy: StallPolicy, state: ClientState, idle: timedelta, limit: str
) -> None:
    reason = policy.stalled(state, NOW - idle, NOW)
    assert reason is not None
    assert reason.endswith(f"({limit})")
    assert policy.stalled(state, NOW - idle + (idle // 2), NOW) is None
