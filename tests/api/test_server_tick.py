"""Issue 18: `queuarr serve`'s uvicorn server does not wake ten times a second while
idle. Its main loop waits for the stop and ticks once a second (the Date header)."""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api.server import TICK, StoppingServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_idle_server_ticks_once_a_second_and_stops_when_told() -> None:
    app = Starlette(routes=[Route("/ping", lambda _: PlainTextResponse("pong"))])
    port = _free_port()
    stopping: list[bool] = []
    server = StoppingServer(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_config=None, lifespan="off"),
                            lambda: stopping.append(True))
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
    assert answer.text == "pong" and "date" in answer.headers
    before = ticks
    await asyncio.sleep(2.5)
    # uvicorn's own loop would have ticked 25 times; a slow machine ticks fewer, not more.
    assert ticks - before <= 2.5 / TICK + 1
    server.should_exit = True  # what uvicorn's SIGTERM handler does
    await asyncio.wait_for(serving, 10)
    assert stopping == [True]
