"""core.commands: Radarr's commands run in the background over the processor's passes,
one at a time, kept newest first; with no processor here, the leader is woken."""

from __future__ import annotations

import asyncio

import pytest

from core.commands import KEEP, CommandRun, CommandService, CommandStatus
from core.errors import BadRequest, IllegalTransition, NotFound, StorageUnavailable
from tests.fakes import FakeClock

Q, STARTED, DONE = CommandStatus.QUEUED, CommandStatus.STARTED, CommandStatus.COMPLETED


class FakePasses:
    """Records the passes run; a pass waits for `gate` when one is given."""

    def __init__(self, clock: FakeClock, gate: asyncio.Event | None = None,
                 error: Exception | None = None) -> None:
        self.clock = clock
        self.gate = gate
        self.error = error
        self.calls: list[str] = []

    async def _pass(self, name: str) -> None:
        self.calls.append(name)
        if self.gate is not None:
            await self.gate.wait()
        self.clock.advance(seconds=2)
        if self.error is not None:
            raise self.error

    async def sync(self) -> int:
        await self._pass("sync")
        return 3

    async def dispatch(self) -> list[int]:
        await self._pass("dispatch")
        return [7]


def service(passes: FakePasses | None, clock: FakeClock,
            woken: list[str] | None = None) -> CommandService:
    return CommandService(clock, lambda: passes,
                          lambda: woken.append("wake") if woken is not None else None)


async def finished(run: CommandRun) -> CommandRun:
    assert run._task is not None
    await run._task
    return run


async def test_a_refresh_is_queued_at_once_then_runs_one_sync_pass(clock: FakeClock) -> None:
    passes = FakePasses(clock)
    commands = service(passes, clock)
    run = commands.start("RefreshMonitoredDownloads")
    assert run.status is Q and passes.calls == []  # the caller is answered first
    await finished(run)
    assert passes.calls == ["sync"]
    assert run.status is DONE and run.message is not None and "3 item(s)" in run.message
    assert run.started_at == run.queued_at and run.ended_at is not None
    assert (run.ended_at - run.started_at).total_seconds() == 2


async def test_process_monitored_downloads_syncs_then_dispatches(clock: FakeClock) -> None:
    passes = FakePasses(clock)
    run = await finished(service(passes, clock).start("ProcessMonitoredDownloads"))
    assert passes.calls == ["sync", "dispatch"]
    assert run.status is DONE and run.message is not None and "sent 1" in run.message


@pytest.mark.parametrize("name", ["refreshmonitoreddownloads", "REFRESHMONITOREDDOWNLOADS",
                                  " RefreshMonitoredDownloads ", "CheckForFinishedDownload"])
async def test_names_are_read_in_any_case_and_the_old_name_refreshes(clock: FakeClock,
                                                                      name: str) -> None:
    passes = FakePasses(clock)
    run = await finished(service(passes, clock).start(name))
    assert passes.calls == ["sync"] and run.status is DONE


@pytest.mark.parametrize("name", ["MoviesSearch", "RssSync", "Refresh", ""])
async def test_a_command_queuarr_does_not_run_is_refused_with_the_ones_it_runs(
        clock: FakeClock, name: str) -> None:
    commands = service(FakePasses(clock), clock)
    with pytest.raises(BadRequest) as refused:
        commands.start(name)
    if name:
        assert "does not run" in refused.value.message
        assert "RefreshMonitoredDownloads" in refused.value.message
        assert "ProcessMonitoredDownloads" in refused.value.message
    assert commands.all() == []


async def test_no_name_is_refused(clock: FakeClock) -> None:
    with pytest.raises(BadRequest):
        service(FakePasses(clock), clock).start(None)


async def test_the_same_command_while_it_waits_or_runs_is_answered_with_that_one(
        clock: FakeClock) -> None:
    gate = asyncio.Event()
    passes = FakePasses(clock, gate)
    commands = service(passes, clock)
    first = commands.start("RefreshMonitoredDownloads")
    assert commands.start("refreshmonitoreddownloads") is first  # queued
    await asyncio.sleep(0)
    assert first.status is STARTED
    assert commands.start("RefreshMonitoredDownloads") is first  # running
    gate.set()
    await finished(first)
    second = await finished(commands.start("RefreshMonitoredDownloads"))
    assert second.id == first.id + 1 and passes.calls == ["sync", "sync"]


async def test_commands_run_one_at_a_time_and_a_queued_one_can_be_cancelled(
        clock: FakeClock) -> None:
    gate = asyncio.Event()
    passes = FakePasses(clock, gate)
    commands = service(passes, clock)
    running = commands.start("RefreshMonitoredDownloads")
    waiting = commands.start("ProcessMonitoredDownloads")
    await asyncio.sleep(0)
    assert running.status is STARTED and waiting.status is Q
    with pytest.raises(IllegalTransition):
        commands.cancel(running.id)
    assert commands.cancel(waiting.id).status is CommandStatus.CANCELLED
    gate.set()
    await finished(running)
    await asyncio.sleep(0)
    assert passes.calls == ["sync"]  # the cancelled one never ran
    assert waiting.status is CommandStatus.CANCELLED and waiting.started_at is None
    with pytest.raises(IllegalTransition):
        commands.cancel(running.id)  # ended
    with pytest.raises(NotFound):
        commands.cancel(999)


async def test_a_pass_that_fails_fails_the_command_with_its_reason(clock: FakeClock) -> None:
    passes = FakePasses(clock, error=StorageUnavailable("The database is down"))
    run = await finished(service(passes, clock).start("RefreshMonitoredDownloads"))
    assert run.status is CommandStatus.FAILED and run.message == "The database is down"
    assert run.exception == "StorageUnavailable: The database is down"


async def test_an_unexpected_error_fails_the_command_as_radarr_shows_it(
        clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    passes = FakePasses(clock, error=RuntimeError("boom"))
    run = await finished(service(passes, clock).start("RefreshMonitoredDownloads"))
    assert run.status is CommandStatus.FAILED and run.message == "Failed"
    assert run.exception == "RuntimeError: boom"
    assert "Command RefreshMonitoredDownloads failed" in caplog.text


async def test_without_the_processor_here_the_leader_is_woken_and_the_command_says_so(
        clock: FakeClock) -> None:
    woken: list[str] = []
    run = await finished(service(None, clock, woken).start("RefreshMonitoredDownloads"))
    assert woken == ["wake"]
    assert run.status is DONE and run.delegated
    assert run.message is not None and "does not run the processor" in run.message


async def test_the_last_hundred_are_kept_newest_first(clock: FakeClock) -> None:
    commands = service(FakePasses(clock), clock)
    runs = [await finished(commands.start("RefreshMonitoredDownloads"))
            for _ in range(KEEP + 5)]
    kept = commands.all()
    assert [r.id for r in kept] == [r.id for r in reversed(runs)][:KEEP]
    assert commands.get(runs[-1].id) is runs[-1]
    with pytest.raises(NotFound):
        commands.get(runs[0].id)


async def test_closing_stops_a_command_in_flight(clock: FakeClock) -> None:
    gate = asyncio.Event()
    commands = service(FakePasses(clock, gate), clock)
    run = commands.start("RefreshMonitoredDownloads")
    await asyncio.sleep(0)
    await commands.aclose()
    assert run._task is not None and run._task.done()
