"""The two-way Telegram bot: python-telegram-bot's Application, long polling, with the
access gate first (group -1), then the commands (commands.py) and the link and file
intake (intake.py). It polls only while this process leads (Container.leading: the
processor's leader on Postgres, always on SQLite); a background task checks every few
seconds and starts or stops the updater, so a standby takes over. Telegram being down or
slow only delays this task: nothing else waits for it. The token is in every Bot API URL,
so every telegram, httpx and httpcore logger masks it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from infrastructure.notifiers.telegram import _BOT_PATH, parse_chat_ids
from infrastructure.redact import Redact
from infrastructure.telegram import intake
from infrastructure.telegram.access import Access, parse_ids
from infrastructure.telegram.services import BotServices
from infrastructure.telegram.webhook import ALLOWED_UPDATES, Webhook

if TYPE_CHECKING:
    from telegram.ext import Application, BaseHandler

    from infrastructure.bootstrap import Container

log = logging.getLogger(__name__)

LEADER_CHECK = 3.0  # seconds between looks at whether this process leads


_MASK = Redact(_BOT_PATH)


def redact_library_logs(mask: Redact = _MASK) -> None:
    """Mask the token in every logger that may print a Bot API URL: httpx logs each
    request's URL at INFO, python-telegram-bot its base URLs and errors at DEBUG (and
    each call's parameters: the webhook's secret token, masked with its own `mask`). (A
    logger's filter sees only its own records, so each logger gets one.)"""
    import telegram.ext  # noqa: F401  (its loggers exist once it is imported)

    names = [n for n in list(logging.Logger.manager.loggerDict)
             if n.split(".")[0] in ("telegram", "httpx", "httpcore")]
    for name in {*names, "httpx", "telegram", "telegram.ext"}:
        logger = logging.getLogger(name)
        if mask not in logger.filters:
            logger.addFilter(mask)


_SECRET_MASKS: dict[str, Redact] = {}


def _secret_mask(secret: str) -> Redact:
    """One filter per secret, so that a second bot does not stack another."""
    if secret not in _SECRET_MASKS:
        _SECRET_MASKS[secret] = Redact(re.compile(f"()({re.escape(secret)})"))
    return _SECRET_MASKS[secret]


def command_module() -> Any:
    """commands.py (the commands and inline buttons), when it is there."""
    try:
        return importlib.import_module("infrastructure.telegram.commands")
    except ModuleNotFoundError as exc:
        if exc.name != "infrastructure.telegram.commands":
            raise
        return None


class TelegramBot:
    def __init__(self, token: str, services: BotServices, access: Access,
                 leading: Callable[[], bool], api_url: str = "https://api.telegram.org", *,
                 check_every: float = LEADER_CHECK, webhook_url: str = "",
                 webhook_secret: str = "") -> None:
        from telegram.ext import Application

        os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the notifier: no warnings
        redact_library_logs()
        api_url = api_url.rstrip("/")
        self.token = token
        self.services = services
        self.access = access
        self.leading = leading
        self.check_every = check_every
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder().token(token).base_url(f"{api_url}/bot")
            .base_file_url(f"{api_url}/file/bot").job_queue(None).build())
        redact_library_logs()  # again: the bot made its own loggers (ExtBot)
        self.app.add_handler(access.gate(), group=-1)
        commands = command_module()
        handlers: list[BaseHandler[Any, Any, Any]] = []
        self.commands: Sequence[tuple[str, str]] = ()
        if commands is not None:
            handlers += commands.handlers(services, access)
            self.commands = commands.COMMANDS
        handlers += intake.handlers(services, access)
        for handler in handlers:
            self.app.add_handler(handler)
        self.app.add_error_handler(self._on_error)
        self.polling = False
        # Webhook mode (QUEUARR_TELEGRAM_WEBHOOK_URL): every process runs the Application
        # for the updates it is posted (webhook.py); nobody polls; the leader calls
        # setWebhook when it starts leading.
        self.webhook_url = webhook_url
        self.webhook = Webhook(webhook_secret, self.app) if webhook_url else None
        if webhook_secret:  # setWebhook's parameters are logged at DEBUG
            redact_library_logs(_secret_mask(webhook_secret))
        self.webhook_set = False
        self._task: asyncio.Task[None] | None = None
        self._last_error = ""

    # -- lifetime ----------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                leading = self.leading()
                if self.webhook is not None:
                    await self._serve_webhook(leading)
                elif leading and not self.polling:
                    await self._start_polling()
                elif not leading and self.polling:
                    await self._stop_polling()
                    log.info("Telegram bot: stopped polling (this process no longer leads)")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Telegram down, a bad token: try again next round
                self._warn("Telegram bot could not start taking updates", exc)
            await asyncio.sleep(self.check_every)

    async def _start_polling(self) -> None:
        app = self.app
        if not app._initialized:  # getMe: fails while Telegram is unreachable
            await app.initialize()
        if not app.running:
            await app.start()
        assert app.updater is not None
        if not app.updater.running:
            await app.updater.start_polling(error_callback=self._on_polling_error)
        self.polling = True
        log.info("Telegram bot: polling for updates as @%s", app.bot.username)
        await self._set_commands()

    async def _set_commands(self) -> None:
        if self.commands:
            from telegram.error import TelegramError

            try:
                await self.app.bot.set_my_commands(list(self.commands))
            except TelegramError as exc:
                self._warn("Telegram setMyCommands failed", exc)

    async def _serve_webhook(self, leading: bool) -> None:
        app = self.app
        if not app._initialized:
            await app.initialize()
        if not app.running:
            await app.start()  # handles what the webhook route puts on its update queue
        if not leading:
            self.webhook_set = False  # a takeover sets it again
            return
        if self.webhook_set:
            return
        assert self.webhook is not None
        await app.bot.set_webhook(self.webhook_url, allowed_updates=list(ALLOWED_UPDATES),
                                  secret_token=self.webhook.secret)
        self.webhook_set = True
        log.info("Telegram bot: taking updates by webhook as @%s", app.bot.username)
        await self._set_commands()

    async def _stop_polling(self) -> None:
        self.polling = False
        app = self.app
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._stop_polling()
            if self.app._initialized:
                await self.app.shutdown()
        except Exception as exc:  # closing must not fail the container's close
            self._warn("Telegram bot did not close cleanly", exc)

    # -- errors ------------------------------------------------------------------------

    async def _on_error(self, update: object, context: Any) -> None:
        """A handler raised: log it (masked); the person is told something went wrong."""
        error = context.error
        self._warn("Telegram update failed", error, traceback=True)
        message = getattr(update, "effective_message", None)
        if message is not None:
            from telegram.error import TelegramError

            with contextlib.suppress(TelegramError):
                await message.reply_text("Something went wrong on my side; it is logged.")

    def _on_polling_error(self, error: Exception) -> None:
        self._warn("Telegram getUpdates failed (retrying)", error)

    def _warn(self, what: str, exc: BaseException | None, traceback: bool = False) -> None:
        text = self._redact(f"{type(exc).__name__}: {exc}")
        level = logging.WARNING if text != self._last_error else logging.DEBUG
        self._last_error = text
        exc_info = (type(exc), exc, exc.__traceback__) if traceback and exc else None
        log.log(level, "%s: %s", what, text, exc_info=exc_info)

    def _redact(self, text: str) -> str:
        return text.replace(self.token, "<redacted>")


def telegram_bot(container: Container) -> TelegramBot | None:
    """The bot, when QUEUARR_TELEGRAM_TOKEN is set (and python-telegram-bot installed)."""
    from core.intake import Intake

    settings = container.settings
    token = settings.telegram_token.get_secret_value().strip()
    if not token:
        return None
    try:
        import telegram.ext  # noqa: F401
    except ImportError:
        raise RuntimeError("QUEUARR_TELEGRAM_TOKEN is set but python-telegram-bot is not "
                           "installed: pip install 'queuarr[telegram]'") from None
    chats = [c for c in parse_chat_ids(settings.telegram_chat_ids) if isinstance(c, int)]
    access = Access(parse_ids(settings.telegram_allowed_users), chats,
                    parse_ids(settings.telegram_admin_ids))
    if not access.users and not access.chats:
        log.warning("Telegram bot: nobody may use it; set QUEUARR_TELEGRAM_ALLOWED_USERS "
                    "(user ids) or QUEUARR_TELEGRAM_CHAT_IDS")
    services = BotServices(queue=container.queue, intake=Intake(container.queue),
                           clock=container.clock, settings=settings,
                           dispatching=container.dispatching,
                           releases=container.releases)
    return TelegramBot(token, services, access, container.dispatching.leading,
                       settings.telegram_api_url or "https://api.telegram.org",
                       webhook_url=settings.telegram_webhook_url.strip(),
                       webhook_secret=settings.telegram_webhook_secret.get_secret_value())
