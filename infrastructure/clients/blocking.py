"""Calling a synchronous client library from the event loop.

qbittorrent-api and aria2p are built on requests: every call blocks. Each client gets
its own small thread pool, so a client that hangs only ever ties up its own threads,
never the event loop, the API or another client, and every call has a deadline.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from core.errors import ClientUnavailable, DownloadClientError

T = TypeVar("T")


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
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"client-{name}")

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        try:
            return await asyncio.wait_for(future, self.deadline)
        except TimeoutError as exc:
            raise ClientUnavailable(
                f"{self.name}: no answer within {self.deadline:g} s") from exc
        except DownloadClientError:
            raise
        except Exception as exc:
            raise self.translate(exc) from exc

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
