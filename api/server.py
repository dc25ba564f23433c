"""uvicorn as `queuarr serve` runs it, so that a stop is clean whatever is connected.

On SIGTERM uvicorn stops listening, waits for the open responses to finish, and only
then runs the lifespan's shutdown (leases given back, the managed aria2c stopped). A live
event stream never finishes by itself, so the stop begins by ending the streams; any
other response gets STOP_GRACE seconds before it is cancelled."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from api.app import end_streams

STOP_GRACE = 3  # seconds; Docker kills 10 s after SIGTERM
STARTUP_FAILURE = 3  # uvicorn.run's exit code when the app did not start


class StoppingServer(uvicorn.Server):
    """A uvicorn server that calls `stopping` as its shutdown begins."""

    def __init__(self, config: uvicorn.Config, stopping: Callable[[], None]) -> None:
        super().__init__(config)
        self.stopping = stopping

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
