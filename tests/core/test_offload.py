"""core.offload: work in worker threads, and a budget counted on an injected clock."""

from __future__ import annotations

import threading

import pytest

from core.errors import BadRequest, OverBudget
from core.offload import Budget, off_loop


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_budget_allows_work_until_its_deadline_and_refuses_it_after() -> None:
    ticks = Ticks()
    budget = Budget(5.0, "Scoring 3 release(s)", ticks)

    ticks.now += 5.0
    budget.check()  # at the deadline: still allowed
    ticks.now += 0.001
    with pytest.raises(OverBudget) as refused:
        budget.check()

    assert refused.value.message == ("Scoring 3 release(s) took longer than the 5 s one "
                                     "request may take")
    assert isinstance(refused.value, BadRequest)  # a 400


async def test_off_loop_runs_the_work_on_another_thread_and_returns_its_result() -> None:
    def work(a: int, b: int) -> tuple[int, int]:
        return a + b, threading.get_ident()

    total, thread = await off_loop("test", 1, work, 2, 3)

    assert total == 5
    assert thread != threading.get_ident()
    assert (await off_loop("test", 1, work, 0, 0))[1] == thread  # the pool's one worker
