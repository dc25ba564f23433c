"""uvicorn as `queuarr serve` runs it, so that a stop is clean whatever is connected.

On SIGTERM uvicorn stops listening, waits for the open responses to finish, and only
then runs the lifespan's shutdown (leases given back, the managed aria2c stopped). A live
event stream never finishes by itself, so the stop begins by ending the streams; any
other response gets STOP_GRACE seconds before it is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from api.app import end_streams

STOP_GRACE = 3  # seconds; Docker kills 10 s after SIGTERM
TICK = 1.0  # seconds between the idle server's wake-ups
STARTUP_FAILURE = 3  # uvicorn.run's exit code when the app did not start


class StoppingServer(uvicorn.Server):
    """A uvicorn server that calls `stopping` as its shutdown begins, and that does not
    wake ten times a second while idle (issue 18): uvicorn's main loop sleeps 0.1 s
    between looks at `should_exit`; this one waits for the stop itself and wakes once a
    second for the rest of uvicorn's tick (the Date header's once-a-second refresh)."""

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
        counter = 0  # uvicorn's on_tick does its once-a-second work when counter % 10 == 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), TICK)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.stopping()
        await super().shutdown(sockets)


def serve(app: FastAPI, host: str, port: int, access_log: bool) -> int:
    """Serve `app` until SIGTERM or SIGINT; the exit code."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None,
                            access_log=access_log, proxy_headers=False,
                            timeout_graceful_shutdown=STOP_GRACE)
    server = StoppingServer(config, lambda: end_streams(app))
    server.run()
    return 0 if server.started else STARTUP_FAILURE
