"""infrastructure.tasks.Background: tasks kept until done, drained together (a task
started by another included), cancelled together."""

from __future__ import annotations

import asyncio

from infrastructure.tasks import Background


async def test_drained_waits_for_every_task_and_the_tasks_they_start() -> None:
    tasks, done = Background(), []

    async def second() -> None:
        await asyncio.sleep(0)
        done.append("second")

    async def first() -> None:
        await asyncio.sleep(0)
        tasks.spawn(second())
        done.append("first")

    tasks.spawn(first())
    assert len(tasks) == 1
    await tasks.drained()
    assert done == ["first", "second"] and len(tasks) == 0


async def test_cancel_ends_every_task_without_raising() -> None:
    tasks, started = Background(), asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    spawned = [tasks.spawn(forever()) for _ in range(3)]
    await started.wait()
    await tasks.cancel()
    assert all(t.cancelled() for t in spawned) and len(tasks) == 0
