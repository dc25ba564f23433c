"""Issue 18: `queuarr serve`'s uvicorn server does not wake while idle. Its main loop
waits for the stop instead of looking for it ten times a second, and the Date header is
stamped per response (DateHeader) instead of refreshed every second by that loop."""

from __future__ import annotations

import asyncio
import socket
import time
from email.utils import parsedate_to_datetime

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api.server import server_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_idle_server_does_not_tick_and_stops_when_told() -> None:
    app = Starlette(routes=[Route("/ping", lambda _: PlainTextResponse("pong"))])
    port = _free_port()
    server = server_for(app, "127.0.0.1", port, access_log=False)  # type: ignore[arg-type]
    server.config.lifespan = "off"
    ticks = 0
    on_tick = server.on_tick

    async def counted(counter: int) -> bool:
        nonlocal ticks
        ticks += 1
        return await on_tick(counter)

    server.on_tick = counted  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/ping")
    assert answer.text == "pong"
    # One Date header, now (to the minute: the test only checks it is a real clock's).
    assert len(answer.headers.get_list("date")) == 1
    stamped = parsedate_to_datetime(answer.headers["date"]).timestamp()
    assert abs(stamped - time.time()) < 60
    before = ticks
    await asyncio.sleep(2.5)
    assert ticks == before  # uvicorn's own loop ticks 25 times in 2.5 s
    server.should_exit = True  # what uvicorn's SIGTERM handler does
    await asyncio.wait_for(serving, 10)


async def test_the_date_header_follows_the_clock() -> None:
    app = Starlette(routes=[Route("/ping", lambda _: PlainTextResponse("pong"))])
    dated = server_for(app, "127.0.0.1", 0, access_log=False).config.app  # type: ignore[arg-type]
    seen: list[bytes] = []

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            seen.extend(v for k, v in message["headers"] if k == b"date")  # type: ignore[attr-defined]

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/ping", "headers": [],
             "query_string": b"", "root_path": "", "scheme": "http", "server": ("x", 80)}
    await dated(scope, receive, send)
    await asyncio.sleep(1.1)
    await dated(scope, receive, send)
    assert len(seen) == 2 and seen[0] != seen[1]


async def test_a_websocket_upgrade_is_answered_as_plain_http() -> None:
    """No route takes a WebSocket, so the server loads no WebSocket protocol: an upgrade
    request gets the HTTP answer, not a 101 (and uvicorn does not import websockets)."""
    app = Starlette(routes=[Route("/ping", lambda _: PlainTextResponse("pong"))])
    port = _free_port()
    server = server_for(app, "127.0.0.1", port, access_log=False)  # type: ignore[arg-type]
    server.config.lifespan = "off"
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.01)
    assert server.config.ws_protocol_class is None
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/ping", headers=upgrade)
    assert (answer.status_code, answer.text) == (200, "pong")
    server.should_exit = True
    await asyncio.wait_for(serving, 10)
