"""Calling a synchronous client library from the event loop.

qbittorrent-api and aria2p are built on requests: every call blocks. Each call runs on
a thread, at most `workers` at once per client, so a client that hangs only ever ties
up its own threads, never the event loop, the API or another client, and every call has
a deadline.

The threads are daemon threads of their own, not a ThreadPoolExecutor's: the
interpreter joins an executor's threads at exit, so one call stuck in a dead client
(for up to its request timeout) would hold the exit of a process that was told to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from core.errors import ClientUnavailable, DownloadClientError

T = TypeVar("T")


def _settle(future: asyncio.Future[T], result: T | None, error: Exception | None) -> None:
    if future.done():  # the caller gave up (its deadline)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


class BlockingRunner:
    def __init__(
        self,
        name: str,
        translate: Callable[[BaseException], DownloadClientError],
        deadline: float,
        workers: int = 4,
    ) -> None:
        self.name = name
        self.translate = translate
        self.deadline = deadline
        self._slots = asyncio.Semaphore(workers)  # held until the thread returns
        self.calls = 0  # threads started
        self.closed = False

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.closed:
            raise ClientUnavailable(f"{self.name}: closed")
        loop = asyncio.get_running_loop()
        await self._slots.acquire()
        done: asyncio.Future[T] = loop.create_future()

        def work() -> None:
            result, error = None, None
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, done, result, error)
                loop.call_soon_threadsafe(self._slots.release)

        try:
            threading.Thread(target=work, name=f"client-{self.name}", daemon=True).start()
        except BaseException:
            self._slots.release()
            raise
        self.calls += 1
        try:
            return await asyncio.wait_for(done, self.deadline)
        except TimeoutError as exc:
            raise ClientUnavailable(
                f"{self.name}: no answer within {self.deadline:g} s") from exc
        except DownloadClientError:
            raise
        except Exception as exc:
            raise self.translate(exc) from exc

    def close(self) -> None:
        """No new calls; those still running end on their own (their results unread)."""
        self.closed = True
