"""Who may use the bot, flood control, and the token kept out of every log line."""

from __future__ import annotations

import hashlib
import logging

import pytest

from core.ratelimit import RateLimiter
from infrastructure.telegram.access import FLOOD_LIMIT, FLOOD_WINDOW, SLOW_DOWN, Access
from tests.telegram.conftest import ADMIN, STRANGER, TOKEN, USER, MakeBot


def magnet(name: str) -> str:
    return f"magnet:?xt=urn:btih:{hashlib.sha1(name.encode()).hexdigest()}&dn={name}"


async def test_a_stranger_gets_one_polite_refusal_nothing_queued_and_an_info_line_with_their_id(
        make_bot: MakeBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "infrastructure.telegram")
    bot = await make_bot()
    for n in range(3):
        bot.api.push_message(STRANGER, magnet(f"Stranger.{n}"))
    await bot.settle()
    (refusal,) = bot.api.sent_to(STRANGER)
    assert refusal.startswith("Sorry, this is a private bot.") and str(STRANGER) in refusal
    assert (await bot.container.queue.counts()).total() == 0
    refused = [r for r in caplog.records if "refused user" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.INFO
    assert str(STRANGER) in refused[0].getMessage()


async def test_admins_may_use_the_bot_without_being_listed_as_users(make_bot: MakeBot) -> None:
    bot = await make_bot(access=Access([], [], [ADMIN]))
    bot.api.push_message(ADMIN, magnet("Admin.Movie"))
    assert (await bot.answers(ADMIN)) == ["✅ Queued #1 Admin.Movie (position 1)"]


async def test_a_burst_of_50_links_is_served_but_a_flood_is_dropped_with_one_notice(
        make_bot: MakeBot) -> None:
    now = [0.0]
    bot = await make_bot(access=Access([USER], [], [ADMIN], monotonic=lambda: now[0]))
    for n in range(50):
        bot.api.push_message(USER, magnet(f"Burst.{n}"))
    await bot.answers(USER, 50)
    assert (await bot.container.queue.counts()).total() == 50
    for _ in range(FLOOD_LIMIT + 100):
        bot.api.push_message(USER, "spam")
    await bot.settle()
    answers = bot.api.sent_to(USER)
    assert len(answers) == FLOOD_LIMIT + 1  # the limit, then one notice, then nothing
    assert answers[-1] == SLOW_DOWN
    now[0] += FLOOD_WINDOW  # a minute later they are served again
    bot.api.push_message(USER, magnet("Later"))
    assert (await bot.answers(USER, FLOOD_LIMIT + 2))[-1].startswith("✅ Queued #51 Later")


def test_the_rate_limiter_lets_the_limit_through_per_key_and_again_when_the_window_passes(
) -> None:
    now = [0.0]
    limiter = RateLimiter(3, 60, lambda: now[0])
    assert [limiter.allow("a") for _ in range(5)] == [True, True, True, False, False]
    assert limiter.allow("b")
    now[0] = 60.0
    assert limiter.allow("a")


async def test_the_token_appears_in_no_log_line_even_at_debug(
        make_bot: MakeBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await make_bot()
    bot.api.push_message(USER, magnet("Logged.Movie"))
    document = bot.api.add_file("links.txt", magnet("From.File").encode(), "text/plain")
    bot.api.push_message(USER, document=document)
    bot.api.fail_next(400, "Bad Request: chat not found")  # an error that names a URL
    bot.api.push_message(USER, "no link")
    bot.api.push_message(USER, "still no link")
    await bot.answers(USER, 3)
    await bot.bot.aclose()
    secret = TOKEN.split(":", 1)[1]
    lines = [caplog.handler.format(r) for r in caplog.records]
    assert any("/bot<redacted>/getUpdates" in line for line in lines)  # httpx logged URLs
    assert any("/file/bot<redacted>/" in line for line in lines)
    assert not [line for line in lines if secret in line]
