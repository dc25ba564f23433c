"""A fake Telegram Bot API server on loopback (real HTTP, aiohttp): sendMessage,
editMessageText, deleteMessage and getMe for one token. It keeps the messages it holds,
answers as Telegram does (401 for another token, 400 "message is not modified" for an
edit that changes nothing, 400 "... not found" for a message it does not hold), records
every call stamped with the test's clock, and can be told to answer the next call with a
429 flood limit or any other error."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from core.ports import Clock


@dataclass(frozen=True)
class Call:
    method: str
    chat_id: str | None
    text: str | None
    message_id: int | None
    status: int
    at: datetime


class FakeBotApi:
    def __init__(self, token: str, clock: Clock) -> None:
        self.token = token
        self.clock = clock
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, int], str] = {}  # (chat id, message id) -> text
        self._faults: deque[tuple[int, dict[str, Any]]] = deque()
        self._next_id = 1
        self._runner: web.AppRunner | None = None
        self.url = ""

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
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

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
        status, body = self._answer(request.match_info["token"], method, chat, message_id, text)
        self.calls.append(Call(method, chat, text, message_id, status, self.clock.now()))
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
        if method == "deleteMessage":
            if self.messages.pop(key, None) is None:
                return self._bad("message to delete not found")
            return self._result(True)
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _message(self, chat: str, message_id: int, text: str) -> dict[str, Any]:
        return {"message_id": message_id, "date": int(self.clock.now().timestamp()),
                "chat": {"id": int(chat), "type": "private"}, "text": text}

    @staticmethod
    def _result(result: Any) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _bad(description: str) -> tuple[int, dict[str, Any]]:
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}
