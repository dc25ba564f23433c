"""uvicorn as `queuarr serve` runs it, so that a stop is clean whatever is connected.

On SIGTERM uvicorn stops listening, waits for the open responses to finish, and only
then runs the lifespan's shutdown (leases given back, the managed aria2c stopped). A live
event stream never finishes by itself, so the stop begins by ending the streams; any
other response gets STOP_GRACE seconds before it is cancelled.

An idle server does not wake (issue 18): uvicorn's main loop looks at `should_exit` ten
times a second and refreshes its Date header once a second; here the loop waits for the
stop itself, and the Date header is stamped on each response (DateHeader)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import uvicorn
from fastapi import FastAPI

from api.app import end_streams

STOP_GRACE = 3  # seconds; Docker kills 10 s after SIGTERM
STARTUP_FAILURE = 3  # uvicorn.run's exit code when the app did not start


class DateHeader:
    """The HTTP Date header on every response (RFC 9110 wants one from a server with a
    clock), formatted at most once a second, in place of uvicorn's, which its main loop
    refreshes every second whether or not anyone asks."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._second = -1
        self._value = b""

    def _now(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second, self._value = second, formatdate(second, usegmt=True).encode()
        return self._value

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", ()),
                                                 (b"date", self._now())])
            await send(message)

        await self.app(scope, receive, dated)


class StoppingServer(uvicorn.Server):
    """A uvicorn server that calls `stopping` as its shutdown begins, and whose main loop
    sleeps until the stop instead of waking ten times a second to look for it."""

    def __init__(self, config: uvicorn.Config, stopping: Callable[[], None]) -> None:
        self._exit = asyncio.Event()  # before uvicorn's __init__ sets should_exit
        super().__init__(config)
        self.stopping = stopping

    @property  # type: ignore[override]
    def should_exit(self) -> bool:
        return self._exit.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._exit.set()
        else:
            self._exit.clear()

    async def main_loop(self) -> None:
        # One tick sets uvicorn's default headers (Server; no Date: DateHeader adds it);
        # the rest of its tick is for options Queuarr does not use (limit_max_requests,
        # callback_notify).
        if await self.on_tick(0):
            return
        await self._exit.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.stopping()
        await super().shutdown(sockets)


def server_for(app: FastAPI, host: str, port: int, access_log: bool) -> StoppingServer:
    # ws="none": no route takes a WebSocket, so uvicorn need not import the websockets
    # package (issue 18: start-up); an upgrade request is answered as plain HTTP.
    config = uvicorn.Config(DateHeader(app), host=host, port=port, log_config=None,
                            access_log=access_log, proxy_headers=False, date_header=False,
                            timeout_graceful_shutdown=STOP_GRACE, ws="none")
    return StoppingServer(config, lambda: end_streams(app))


def serve(app: FastAPI, host: str, port: int, access_log: bool) -> int:
    """Serve `app` until SIGTERM or SIGINT; the exit code."""
    server = server_for(app, host, port, access_log)
    server.run()
    return 0 if server.started else STARTUP_FAILURE
