"""A fake Telegram Bot API server on loopback (real HTTP, aiohttp): sendMessage,
editMessageText, deleteMessage and getMe for one token (and answerCallbackQuery and
editMessageReplyMarkup for inline buttons). It keeps the messages it holds (and their
inline keyboards, `markups`),
answers as Telegram does (401 for another token, 400 "message is not modified" for an
edit that changes nothing, 400 "... not found" for a message it does not hold), records
every call stamped with the test's clock, and can be told to answer the next call with a
429 flood limit or any other error.

For a bot that listens (python-telegram-bot's Application): getUpdates long-polls the
updates a test scripts (`push_message`, `push_update`) with Telegram's offset semantics
(an update at or past the offset is confirmed, never sent again), setWebhook and
deleteWebhook (the webhook set, `webhook`),
setMyCommands (kept in `commands`), getFile, and the files' bytes under
/file/bot<token>/<path> (`add_file`), sendDocument (kept in `documents`).

Several processes can share one fake: each gets `url_for(name)` as its API URL, and its
calls are recorded with `via=name`. `ThreadedBotApi` runs the fake on a loop of its own
in a thread, for tests (and bench/telegram.py) that block while it serves."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

from core.ports import Clock
from infrastructure.clock import SystemClock

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    method: str
    chat_id: str | None
    text: str | None
    message_id: int | None
    status: int
    at: datetime
    markup: Any = None  # the reply_markup sent with it (parsed), if any
    via: str = ""  # the path prefix it came by (`url_for`): which process called


class FakeBotApi:
    def __init__(self, token: str, clock: Clock) -> None:
        self.token = token
        self.clock = clock
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, int], str] = {}  # (chat id, message id) -> text
        self.markups: dict[tuple[str, int], Any] = {}  # the inline keyboard a message shows
        self._faults: deque[tuple[int, dict[str, Any]]] = deque()
        self._next_id = 1
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.updates: list[dict[str, Any]] = []  # not yet confirmed
        self.served: list[int] = []  # update ids handed out by getUpdates, in order
        self.commands: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters, until deleted
        self.files: dict[str, tuple[str, bytes]] = {}  # file id -> (path, bytes)
        self.documents: list[tuple[str, str, bytes]] = []  # (chat, file name, bytes)
        self._next_update = 1
        self._new_update = asyncio.Event()

    # -- faults ------------------------------------------------------------------------

    def fail_next(self, status: int, description: str, **parameters: Any) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self._faults.append((status, body))

    def rate_limit_next(self, retry_after: int) -> None:
        self.fail_next(429, f"Too Many Requests: retry after {retry_after}",
                       retry_after=retry_after)

    def not_modified_next(self) -> None:
        self.fail_next(400, "Bad Request: message is not modified: specified new message "
                            "content and reply markup are exactly the same")

    # -- what happened -----------------------------------------------------------------

    def ok(self, method: str | None = None) -> list[Call]:
        """The calls answered 200 (of one method)."""
        return [c for c in self.calls if c.status == 200 and method in (None, c.method)]

    def texts(self, chat_id: int | str) -> list[str]:
        """The texts of the messages a chat holds now, oldest first."""
        return [text for (chat, _), text in sorted(self.messages.items(), key=lambda m: m[0][1])
                if chat == str(chat_id)]

    # -- serving -----------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        # The same API under a caller's prefix (`url_for`): several processes share one
        # fake, and each call records which one made it.
        app.router.add_post("/via/{via}/bot{token}/{method}", self._handle)
        app.router.add_get("/via/{via}/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def url_for(self, caller: str) -> str:
        """This API's URL for one caller: its calls are recorded with `via=caller`."""
        return f"{self.url}/via/{caller}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            params: dict[str, Any] = await request.json()
        else:
            params = dict(await request.post())
        method = request.match_info["method"]
        chat = None if params.get("chat_id") is None else str(params["chat_id"])
        message_id = None if params.get("message_id") is None else int(params["message_id"])
        text = None if params.get("text") is None else str(params["text"])
        listening = await self._listening(request.match_info["token"], method, params)
        status, body = listening or self._answer(request.match_info["token"], method, chat,
                                                 message_id, text)
        markup = params.get("reply_markup")
        markup = json.loads(markup) if isinstance(markup, str) else markup
        if status == 200 and method in ("sendMessage", "editMessageText",
                                        "editMessageReplyMarkup"):
            result = body["result"]
            self.markups[str(result["chat"]["id"]), result["message_id"]] = markup
        self.calls.append(Call(method, chat, text, message_id, status, self.clock.now(),
                               markup, request.match_info.get("via", "")))
        return web.Response(status=status, text=json.dumps(body),
                            content_type="application/json")

    def _answer(self, token: str, method: str, chat: str | None, message_id: int | None,
                text: str | None) -> tuple[int, dict[str, Any]]:
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if self._faults:
            return self._faults.popleft()
        if method == "getMe":
            return self._result({"id": 1, "is_bot": True, "first_name": "Fake",
                                 "username": "fake_bot"})
        if method == "sendMessage" and chat is not None and text is not None:
            message_id, self._next_id = self._next_id, self._next_id + 1
            self.messages[chat, message_id] = text
            return self._result(self._message(chat, message_id, text))
        key = (chat or "", message_id or 0)
        if method == "editMessageText" and text is not None:
            if key not in self.messages:
                return self._bad("message to edit not found")
            if self.messages[key] == text:
                return self._bad("message is not modified: specified new message content "
                                 "and reply markup are exactly the same")
            self.messages[key] = text
            return self._result(self._message(key[0], key[1], text))
        if method == "answerCallbackQuery":
            return self._result(True)
        if method == "editMessageReplyMarkup":
            if key not in self.messages:
                return self._bad("message to edit not found")
            return self._result(self._message(key[0], key[1], self.messages[key]))
        if method == "deleteMessage":
            if self.messages.pop(key, None) is None:
                return self._bad("message to delete not found")
            return self._result(True)
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    # -- the listening side ------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update (its update_id is set here); returns the id."""
        update_id, self._next_update = self._next_update, self._next_update + 1
        self.updates.append({**update, "update_id": update_id})
        self._new_update.set()
        return update_id

    def push_message(self, user: int, text: str | None = None, *, chat: int | None = None,
                     document: dict[str, Any] | None = None, caption: str | None = None
                     ) -> int:
        """A message from `user` in `chat` (their private chat by default)."""
        chat = user if chat is None else chat
        message: dict[str, Any] = {
            "message_id": 10_000 + self._next_update,
            "date": int(self.clock.now().timestamp()),
            "chat": {"id": chat, "type": "private" if chat == user else "group"},
            "from": {"id": user, "is_bot": False, "first_name": f"User{user}"}}
        if text is not None:
            message["text"] = text
        if document is not None:
            message["document"] = document
        if caption is not None:
            message["caption"] = caption
        return self.push_update({"message": message})

    def add_file(self, name: str, data: bytes, mime_type: str | None = None
                 ) -> dict[str, Any]:
        """Hold a file for getFile; returns the Document to put in a message."""
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = (f"documents/{file_id}_{name}", data)
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                    "file_name": name, "file_size": len(data)}
        if mime_type:
            document["mime_type"] = mime_type
        return document

    def sent_to(self, chat: int | str) -> list[str]:
        """The texts sent to a chat (sendMessage answered 200), in order."""
        return [c.text or "" for c in self.ok("sendMessage") if c.chat_id == str(chat)]

    async def _listening(self, token: str, method: str, params: dict[str, Any]
                         ) -> tuple[int, dict[str, Any]] | None:
        if token != self.token:
            return None
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates:
                self._new_update.clear()
                timeout = min(float(params.get("timeout") or 0), 1.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), timeout)
            batch = self.updates[: int(params.get("limit") or 100)]
            self.served += [u["update_id"] for u in batch]
            return self._result(batch)
        if method == "deleteWebhook":
            self.webhook = None
            return self._result(True)
        if method == "setWebhook":
            self.webhook = params
            return self._result(True)
        if method == "setMyCommands":
            commands = params.get("commands")
            self.commands = json.loads(commands) if isinstance(commands, str) else commands
            return self._result(True)
        if method == "getFile":
            held = self.files.get(str(params.get("file_id")))
            if held is None:
                return self._bad("wrong file_id or the file is temporarily unavailable")
            return self._result({"file_id": params["file_id"], "file_unique_id":
                                 f"u{params['file_id']}", "file_size": len(held[1]),
                                 "file_path": held[0]})
        if method == "sendDocument":
            document = params.get("document")
            name = getattr(document, "filename", "") or ""
            data = document.file.read() if hasattr(document, "file") else b""
            chat = str(params.get("chat_id"))
            self.documents.append((chat, name, data))
            message_id, self._next_id = self._next_id, self._next_id + 1
            return self._result(self._message(chat, message_id, ""))
        return None

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for path, data in self.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data)
        return web.Response(status=404)

    def _message(self, chat: str, message_id: int, text: str) -> dict[str, Any]:
        return {"message_id": message_id, "date": int(self.clock.now().timestamp()),
                "chat": {"id": int(chat), "type": "private"}, "text": text}

    @staticmethod
    def _result(result: Any) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _bad(description: str) -> tuple[int, dict[str, Any]]:
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


class ThreadedBotApi:
    """The fake Bot API on an event loop of its own, in a thread, so that the test can
    block (start processes, wait_for) while it serves. Reads of its records are plain
    list reads; pushes go through its loop."""

    def __init__(self, token: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-bot-api",
                                        daemon=True)
        self.api = FakeBotApi(token, SystemClock())

    def __enter__(self) -> ThreadedBotApi:
        self._thread.start()
        self._run(self.api.start)
        return self

    def __exit__(self, *_: object) -> None:
        self._run(self.api.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def _run(self, make: Callable[[], Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout=30)

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on the fake's loop (its state is the loop's)."""
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(function(*args))
            except BaseException as exc:
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return done.result(timeout=10)

    def push(self, user: int, text: str) -> int:
        return self.call(self.api.push_message, user, text)

    def calls(self) -> list[Call]:
        return self.call(lambda: list(self.api.calls))

    def polls(self) -> Counter[str]:
        """getUpdates calls answered, per calling process."""
        return Counter(c.via for c in self.calls() if c.method == "getUpdates"
                       and c.status == 200)

    def answers(self, chat: int) -> list[Call]:
        """The messages sent to `chat` (sendMessage, 200), in order."""
        return [c for c in self.calls() if c.method == "sendMessage" and c.status == 200
                and c.chat_id == str(chat)]
