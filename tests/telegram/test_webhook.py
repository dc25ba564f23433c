"""The webhook mode (QUEUARR_TELEGRAM_WEBHOOK_URL): the real Application behind Queuarr's
own app (POST /telegram/webhook through httpx.ASGITransport), the fake Bot API for what
the bot calls. The leader sets the webhook; nobody polls; the secret token header is
checked on every request."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from api.app import create_app
from core.intake import Intake
from core.ratelimit import MAX_FAILURES
from infrastructure.bootstrap import Container, Stores, assemble
from infrastructure.settings import Settings
from infrastructure.telegram.access import Access
from infrastructure.telegram.bot import TelegramBot, telegram_bot
from infrastructure.telegram.services import BotServices
from tests.fakes import FakeClock
from tests.notifiers.fake_bot_api import FakeBotApi
from tests.telegram.conftest import (
    ADMIN,
    API_KEY,
    GROUP,
    TOKEN,
    USER,
    MakeBot,
    settings_for,
    until,
)

HOOK_URL = "https://queuarr.example.org/telegram/webhook"
SECRET = "s3cret-Token_for-the-webhook"
PATH = "/telegram/webhook"


def magnet(name: str) -> str:
    return f"magnet:?xt=urn:btih:{hashlib.sha1(name.encode()).hexdigest()}&dn={name}"


def message(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": 500 + update_id, "date": 1_700_000_000,
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": f"User{user}"}, "text": text}}


@dataclass
class Hooked:
    api: FakeBotApi
    container: Container
    bot: TelegramBot
    http: httpx.AsyncClient

    async def post(self, body: Any, secret: str | None = SECRET) -> httpx.Response:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.post(PATH, content=content,
                                    headers={**headers, "Content-Type": "application/json"})


@pytest.fixture
async def hooked(api: FakeBotApi, clock: FakeClock, tmp_path: Path
                 ) -> AsyncIterator[Callable[..., Any]]:
    async with AsyncExitStack() as stack:

        async def make(leading: Callable[[], bool] = lambda: True) -> Hooked:
            settings = settings_for(api.url, tmp_path, telegram_webhook_url=HOOK_URL,
                                    telegram_webhook_secret=SECRET)
            container = assemble(settings, clock, API_KEY, Stores.memory(clock),
                                 guard_urls=False)
            await container.housekeeping.ensure_defaults()
            services = BotServices(container.queue, Intake(container.queue), clock,
                                   container.settings, container.dispatching,
                                   container.releases)
            bot = TelegramBot(TOKEN, services, Access([USER], [GROUP], [ADMIN]), leading,
                              api.url, check_every=0.05, webhook_url=HOOK_URL,
                              webhook_secret=SECRET)
            container.telegram = bot
            stack.push_async_callback(container.aclose)
            app = create_app(container=container)
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://queuarr.test"))
            await until(lambda: bot.app.running, "the Application running")
            return Hooked(api, container, bot, http)

        yield make


async def test_the_leader_sets_the_webhook_with_its_url_and_secret_and_never_polls(
        hooked: Callable[..., Any]) -> None:
    h: Hooked = await hooked()
    await until(lambda: h.api.webhook is not None, "setWebhook")
    assert h.api.webhook is not None
    assert h.api.webhook["url"] == HOOK_URL and h.api.webhook["secret_token"] == SECRET
    allowed = h.api.webhook["allowed_updates"]
    allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
    assert set(allowed) == {"message", "callback_query"}
    response = await h.post(message(1, USER, magnet("Hooked")))
    assert response.status_code == 200, response.text
    await until(lambda: h.api.sent_to(USER), "an answer")
    assert h.api.sent_to(USER) == ["✅ Queued #1 Hooked (position 1)"]
    assert (await h.container.queue.get(1)).title == "Hooked"
    assert not h.bot.polling
    assert h.bot.app.updater is None or not h.bot.app.updater.running
    assert not [c for c in h.api.calls if c.method in ("getUpdates", "deleteWebhook")]
    assert len(h.api.ok("setWebhook")) == 1  # once, not every round


async def test_a_process_that_does_not_lead_takes_posted_updates_but_never_sets_the_webhook(
        hooked: Callable[..., Any]) -> None:
    lead = [False]
    h: Hooked = await hooked(lambda: lead[0])
    response = await h.post(message(7, USER, magnet("Standby")))
    assert response.status_code == 200, response.text
    await until(lambda: h.api.sent_to(USER), "an answer")
    assert h.api.webhook is None and not h.api.ok("setWebhook")
    lead[0] = True  # a takeover: it sets the webhook
    await until(lambda: h.api.webhook is not None, "setWebhook on takeover")


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1]])
async def test_a_request_without_the_right_secret_is_refused_and_nothing_is_queued(
        hooked: Callable[..., Any], secret: str | None, caplog: pytest.LogCaptureFixture
        ) -> None:
    caplog.set_level(logging.DEBUG)
    h: Hooked = await hooked()
    response = await h.post(message(3, USER, magnet("Intruder")), secret=secret)
    assert response.status_code == (401 if secret is None else 403)
    assert "Secret-Token" in response.json()["message"]
    # The same update with the right secret afterwards is taken: the refused one did
    # not mark it as seen, and it is the only thing queued.
    ok = await h.post(message(3, USER, magnet("Rightful")))
    assert ok.status_code == 200
    await until(lambda: h.api.sent_to(USER), "an answer")
    assert h.api.sent_to(USER) == ["✅ Queued #1 Rightful (position 1)"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused a request" in logged
    assert SECRET not in logged and TOKEN not in logged
    if secret:
        assert secret not in logged


async def test_a_repeated_update_id_is_handled_once(hooked: Callable[..., Any]) -> None:
    h: Hooked = await hooked()
    first = await h.post(message(42, USER, magnet("Once")))
    again = await h.post(message(42, USER, magnet("Once")))
    assert first.status_code == again.status_code == 200
    assert "already" in again.json()["message"]
    later = await h.post(message(43, ADMIN, "witness"))  # handled in order: after 42
    assert later.status_code == 200
    await until(lambda: h.api.sent_to(ADMIN), "the witness answered")
    assert h.api.sent_to(USER) == ["✅ Queued #1 Once (position 1)"]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"{}", b'{"update_id": "1"}',
                                  b'{"update_id": true}', b"", b"\xff\xfe",
                                  b'{"update_id": 9, "message": "not a message"}'])
async def test_a_body_that_is_not_an_update_is_a_400_and_nothing_is_handled(
        hooked: Callable[..., Any], body: bytes) -> None:
    h: Hooked = await hooked()
    response = await h.post(body)
    assert response.status_code == 400, response.text
    assert "Update" in response.json()["message"]
    assert h.bot.app.update_queue.empty()


async def test_a_body_larger_than_an_update_is_refused(hooked: Callable[..., Any]) -> None:
    h: Hooked = await hooked()
    response = await h.post(b"{" + b" " * (2 << 20) + b"}")
    assert response.status_code == 413
    assert h.bot.app.update_queue.empty()


async def test_the_webhook_is_off_without_its_setting(api: FakeBotApi, clock: FakeClock,
                                                      tmp_path: Path) -> None:
    container = assemble(settings_for(api.url, tmp_path), clock, API_KEY,
                         Stores.memory(clock), guard_urls=False)
    app = create_app(container=container)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://q.test") as http:
            response = await http.post(PATH, json=message(1, USER, "hi"),
                                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert response.status_code == 404
            assert "QUEUARR_TELEGRAM_WEBHOOK_URL" in response.json()["message"]
    finally:
        await container.aclose()


def test_the_webhook_settings_reach_the_bot(tmp_path: Path, clock: FakeClock,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUARR_TELEGRAM_WEBHOOK_URL", HOOK_URL)
    monkeypatch.setenv("QUEUARR_TELEGRAM_WEBHOOK_SECRET", SECRET)
    settings = Settings(data_dir=tmp_path, api_key=API_KEY, telegram_token=TOKEN)
    bot = telegram_bot(assemble(settings, clock, API_KEY, Stores.memory(clock)))
    assert bot is not None and bot.webhook is not None
    assert bot.webhook_url == HOOK_URL and bot.webhook.secret == SECRET
    plain = Settings(data_dir=tmp_path, api_key=API_KEY, telegram_token=TOKEN,
                     telegram_webhook_url="")
    polling = telegram_bot(assemble(plain, clock, API_KEY, Stores.memory(clock)))
    assert polling is not None and polling.webhook is None


@pytest.mark.parametrize(("url", "secret", "complaint"), [
    (HOOK_URL, "", "QUEUARR_TELEGRAM_WEBHOOK_SECRET is required"),
    (HOOK_URL, "has spaces in it", "QUEUARR_TELEGRAM_WEBHOOK_SECRET is required"),
    (HOOK_URL, "x" * 257, "QUEUARR_TELEGRAM_WEBHOOK_SECRET is required"),
    ("http://queuarr.example.org/telegram/webhook", SECRET, "must be an https URL"),
    ("queuarr.example.org", SECRET, "must be an https URL"),
])
def test_queuarr_refuses_to_start_with_a_webhook_url_and_no_usable_secret(
        tmp_path: Path, url: str, secret: str, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint) as raised:
        Settings(data_dir=tmp_path, api_key=API_KEY, telegram_webhook_url=url,
                 telegram_webhook_secret=secret)
    if secret:
        assert secret not in str(raised.value)


async def test_back_in_polling_mode_the_bot_deletes_the_webhook_before_it_polls(
        make_bot: MakeBot, api: FakeBotApi) -> None:
    api.webhook = {"url": HOOK_URL}  # left from an earlier run in webhook mode
    await make_bot()
    await until(lambda: api.ok("getUpdates"), "polling")
    assert api.webhook is None
    methods = [c.method for c in api.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")


async def test_wrong_secrets_are_limited_per_address_like_wrong_api_keys(
        hooked: Callable[..., Any]) -> None:
    """Past MAX_FAILURES wrong secrets from one address, every webhook request from it
    (a right secret too) and every /api request is 429 with Retry-After until the window
    passes: one limiter for every secret a caller may guess."""
    h: Hooked = await hooked()
    for n in range(MAX_FAILURES):
        refused = await h.post(message(100 + n, USER, magnet(f"Guess {n}")),
                               secret=f"guess-{n}")
        assert refused.status_code == 403
    limited = await h.post(message(200, USER, magnet("Right")))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    api = await h.http.get("/api/v3/system/status", headers={"X-Api-Key": API_KEY})
    assert api.status_code == 429
    assert (await h.container.queue.counts()).total() == 0  # nothing was queued
