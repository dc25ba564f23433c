"""core/dispatching.py: the pause switch every process shares, and where a wake goes (this
process's dispatcher when it leads; otherwise the leader is told)."""

from __future__ import annotations

from core.dispatching import Dispatching
from core.processor import Processor
from core.processor_base import PAUSED
from infrastructure.memory import MemoryQueueRepository, MemorySwitchRepository
from tests.fakes import FakeClients, FakeClock, FakeDownloadClient


class Runner:
    def __init__(self, leading: bool) -> None:
        self.leading = leading
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


def dispatching(told: list[str] | None = None) -> Dispatching:
    return Dispatching(MemorySwitchRepository(), FakeClock(),
                       tell_leader=None if told is None else lambda: told.append("told"))


async def test_an_api_only_process_sets_the_shared_switch_and_tells_the_leader() -> None:
    told: list[str] = []
    d = dispatching(told)
    assert not d.leading() and not await d.paused()
    await d.set_paused(True)
    assert await d.switches.get(PAUSED) == "true" and await d.paused()
    assert told == []  # pausing makes nothing sendable
    await d.set_paused(False)
    assert await d.switches.get(PAUSED) == "false" and not await d.paused()
    assert told == ["told"]  # resuming does
    d.wake()
    assert told == ["told", "told"]


async def test_the_processing_process_applies_the_switch_at_once_and_wakes_itself() -> None:
    told: list[str] = []
    d = dispatching(told)
    clock = FakeClock()
    processor = Processor(MemoryQueueRepository(clock), FakeClients(FakeDownloadClient("c")),
                          clock, "here", switches=d.switches)
    runner = Runner(leading=True)
    d.processor, d.runner = processor, runner
    assert d.leading()
    await d.set_paused(True)
    assert processor.paused and await d.switches.get(PAUSED) == "true"
    await d.switches.set(PAUSED, "false", clock.now())  # another process resumed
    assert not await d.paused() and not processor.paused  # read through the processor
    await d.set_paused(False)
    assert runner.woken == 1 and told == []


async def test_a_standby_tells_the_leader_and_one_process_alone_has_nobody_to_tell() -> None:
    told: list[str] = []
    d = dispatching(told)
    d.runner = Runner(leading=False)  # runs a processor, but another process leads
    d.wake()
    assert told == ["told"] and d.runner.woken == 0
    alone = dispatching()
    alone.wake()  # no runner, nobody to tell: nothing happens, nothing fails
