"""CPU-bound work of one request, off the event loop: worker threads of this process, a
few per kind of work (so that a flood of heavy requests queues there instead of taking
every thread asyncio.to_thread shares), and a time budget for a request's share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

from core.errors import OverBudget

T = TypeVar("T")


@cache
def _pool(name: str, workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"queuarr-{name}")


async def off_loop(name: str, workers: int, fn: Callable[..., T], *args: object) -> T:
    """fn(*args) in the `name` pool of `workers` threads; the caller's loop stays free.
    Cancelling the caller does not stop fn: give it a Budget to check."""
    return await asyncio.get_running_loop().run_in_executor(_pool(name, workers), fn, *args)


class Budget:
    """A deadline for a piece of work, counted from when the request asked for it (time
    spent waiting for a worker counts). Work that can run long calls check() between
    steps; past the deadline, check() raises OverBudget."""

    __slots__ = ("_deadline", "_monotonic", "seconds", "what")

    def __init__(self, seconds: float, what: str,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.what = what
        self._monotonic = monotonic
        self._deadline = monotonic() + seconds

    def check(self) -> None:
        if self._monotonic() > self._deadline:
            raise OverBudget(f"{self.what} took longer than the {self.seconds:g} s one "
                             "request may take")
