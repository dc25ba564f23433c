"""Calls into the synchronous client libraries (infrastructure/clients/blocking.py): a
deadline per call, a bound on the calls running at once per client, and a call stuck in
a dead client never holds the process's exit (`queuarr serve` must stop within seconds
of SIGTERM whatever its download clients do)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from core.errors import ClientRejected, ClientUnavailable
from infrastructure.clients.blocking import BlockingRunner

REPO = Path(__file__).resolve().parents[2]


def _unavailable(exc: BaseException) -> ClientUnavailable:
    return ClientUnavailable(f"translated {type(exc).__name__}")


async def test_a_call_past_its_deadline_is_the_client_unavailable() -> None:
    release = threading.Event()
    run = BlockingRunner("slow", _unavailable, deadline=0.05)
    try:
        with pytest.raises(ClientUnavailable, match=r"no answer within 0\.05 s"):
            await run(release.wait, 30)
    finally:
        release.set()
        run.close()


async def test_results_come_back_and_errors_are_translated_at_the_boundary() -> None:
    run = BlockingRunner("c", _unavailable, deadline=10)
    try:
        assert await run(sum, [1, 2, 3]) == 6
        with pytest.raises(ClientUnavailable, match="translated ZeroDivisionError"):
            await run(lambda: 1 / 0)
        with pytest.raises(ClientRejected):  # already a client error: as it is
            await run(_reject)
    finally:
        run.close()


def _reject() -> None:
    raise ClientRejected("no")


async def test_at_most_workers_calls_of_one_client_run_at_once() -> None:
    release = threading.Event()
    inside: list[int] = []

    def call(n: int) -> int:
        inside.append(n)
        release.wait(30)
        return n

    run = BlockingRunner("c", _unavailable, deadline=60, workers=2)
    calls = [asyncio.create_task(run(call, n)) for n in range(5)]
    try:
        while len(inside) < 2:  # noqa: ASYNC110 (the calls run on threads)
            await asyncio.sleep(0.01)
        for _ in range(20):  # room for a third to start, if one could
            await asyncio.sleep(0.01)
        assert len(inside) == 2
        release.set()
        assert sorted(await asyncio.wait_for(asyncio.gather(*calls), 30)) == [0, 1, 2, 3, 4]
    finally:
        release.set()
        run.close()


def test_a_call_stuck_in_a_dead_client_does_not_hold_the_process_exit() -> None:
    script = textwrap.dedent("""
        import asyncio, threading
        from core.errors import ClientUnavailable
        from infrastructure.clients.blocking import BlockingRunner

        async def main():
            run = BlockingRunner("dead", ClientUnavailable, deadline=0.2)
            try:
                await run(threading.Event().wait, 600)  # a client that never answers
            except ClientUnavailable as exc:
                print("gave up:", exc.message)
            run.close()

        asyncio.run(main())
        print("exiting")
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=30)  # a hang guard, not a timing
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the process waited for the stuck call at exit: {output.decode()}")
    assert process.returncode == 0, output.decode()
    assert output.decode().splitlines() == ["gave up: dead: no answer within 0.2 s",
                                            "exiting"]
